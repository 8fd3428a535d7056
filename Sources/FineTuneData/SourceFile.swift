import Foundation

/// A data file split into physical lines (by LF; a CR before the LF is dropped, so CRLF files read the same).
/// Line numbers are 1-based physical lines, so an editor's "go to line" finds what an error names.
struct SourceFile {
    let path: String
    let bytes: [UInt8]
    /// Byte range of each line, without its line break; lines[i] is line i + 1.
    let lines: [Range<Int>]

    /// Reads the file; missing files, directories, unreadable and empty files are typed errors.
    static func load(path: String) throws -> SourceFile {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LabelledDataError.fileNotFound(file: path)
        }
        if isDirectory.boolValue { throw LabelledDataError.isDirectory(file: path) }
        // A regular file or a pipe; a device (a link to /dev/zero) would be read without end.
        var kind = stat()
        if stat(path, &kind) == 0 && ![S_IFREG, S_IFIFO].contains(kind.st_mode & S_IFMT) {
            throw LabelledDataError.unreadable(file: path, reason: "a device, not a data file")
        }
        // Through a file handle, read to its end: `Data(contentsOf:)` refused a pipe (`--input <(zcat x.gz)`) as
        // a permission problem.
        let data: Data
        do {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw LabelledDataError.unreadable(file: path, reason: String(cString: strerror(errno)))
            }
            defer { try? handle.close() }
            data = try handle.readToEnd() ?? Data()
        } catch let error as LabelledDataError {
            throw error
        } catch {
            throw LabelledDataError.unreadable(file: path, reason: error.localizedDescription)
        }
        var bytes = [UInt8](data)
        // A UTF-8 byte order mark (as some spreadsheet programs write) is not part of the first field.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            throw LabelledDataError.emptyFile(file: path)
        }
        return SourceFile(path: path, bytes: bytes, lines: splitLines(bytes))
    }

    static func splitLines(_ bytes: [UInt8]) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            lines.append(start..<(i > start && bytes[i - 1] == 0x0D ? i - 1 : i))
            start = i + 1
        }
        if start < bytes.count {  // a last line without a line break
            let end = bytes[bytes.count - 1] == 0x0D ? bytes.count - 1 : bytes.count
            lines.append(start..<end)
        }
        return lines
    }

    /// The bytes of line `number` (1-based).
    func line(_ number: Int) -> ArraySlice<UInt8> { bytes[lines[number - 1]] }

    func isValidUTF8(line number: Int) -> Bool {
        String(validating: line(number), as: UTF8.self) != nil
    }

    func isBlank(line number: Int) -> Bool {
        line(number).allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }
}
