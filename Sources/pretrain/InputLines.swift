import Foundation
import Glibc
import Tokenizer

/// The lines of a text file, or of standard input when `path` is nil, read with getline: any length, the bytes as
/// they are, without the line break. `body` gets each line's number (from 1), its byte offset in the input, and
/// its bytes (valid until the next line).
enum InputLines {
    static func forEach(in path: String?,
                        _ body: (_ number: Int, _ offset: Int, _ bytes: UnsafeRawBufferPointer) throws -> Void) throws {
        let file: UnsafeMutablePointer<FILE>
        if let path {
            try InputFile.checkReadable(path)
            // A file or a pipe; a device such as /dev/zero would be read without end (standard input, the default,
            // serves for a terminal).
            if InputFile.isDevice(path) { throw TokenizerError.notARegularInput(path: path) }
            guard let opened = fopen(path, "rb") else {
                throw TokenizerError.unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            file = opened
        } else {
            file = stdin
        }
        defer { if path != nil { fclose(file) } }
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        var number = 0, offset = 0
        while true {
            let length = getline(&buffer, &capacity, file)
            if length < 0 { break }
            number += 1
            let count = length > 0 && buffer![length - 1] == 0x0A ? length - 1 : length
            try body(number, offset, UnsafeRawBufferPointer(start: buffer, count: count))
            offset += length
        }
        if ferror(file) != 0 { throw TokenizerError.unreadable(path: path ?? "<stdin>", reason: "read error") }
    }
}
