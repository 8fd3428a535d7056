import TerminalUI
import ArgumentParser
import Foundation
import Tokenizer

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the ids (or pieces) of every input line, one line each, as spm_encode does."
    )

    @Option(help: "A SentencePiece .model file.")
    var tokenizer: String

    @Option(help: "Text file to encode (default: standard input).")
    var input: String?

    enum Format: String, CaseIterable, ExpressibleByArgument { case ids, pieces }

    @Option(help: "Print the ids or the pieces.")
    var format: Format = .ids

    func run() throws {
        try reportingErrors {
            let model = try SentencePieceTokenizer(contentsOf: tokenizer)
            let name = input ?? "<stdin>"
            let file: UnsafeMutablePointer<FILE>
            if let input {
                try InputFile.checkReadable(input)
                guard let opened = fopen(input, "rb") else {
                    throw TokenizerError.unreadable(path: input, reason: String(cString: strerror(errno)))
                }
                file = opened
            } else {
                file = stdin
            }
            defer { if input != nil { fclose(file) } }

            var lineBuffer: UnsafeMutablePointer<CChar>?
            var capacity = 0
            defer { free(lineBuffer) }
            var lineNumber = 0
            var fileOffset = 0
            var output = ""
            while true {
                let length = getline(&lineBuffer, &capacity, file)
                if length < 0 { break }
                lineNumber += 1
                var count = length
                if count > 0 && lineBuffer![count - 1] == 0x0A { count -= 1 }
                let bytes = UnsafeRawBufferPointer(start: lineBuffer, count: count)
                if let bad = InputFile.firstInvalidUTF8(bytes) {
                    writeText(output, to: stdout)   // the lines before it, as spm_encode prints them
                    throw TokenizerError.invalidUTF8(path: name, line: lineNumber, byteOffset: fileOffset + bad)
                }
                fileOffset += length
                let line = String(decoding: bytes, as: UTF8.self)
                switch format {
                case .ids: output += try model.encode(utf8: bytes).map(String.init).joined(separator: " ")
                case .pieces: output += try model.encodeToPieces(line).joined(separator: " ")
                }
                output += "\n"
                if output.utf8.count > 1 << 16 { writeText(output, to: stdout); output = "" }
            }
            if ferror(file) != 0 { throw TokenizerError.unreadable(path: name, reason: "read error") }
            writeText(output, to: stdout)
        }
    }
}
