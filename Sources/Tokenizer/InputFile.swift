import CSentencePiece
import Foundation
import Kernels

/// Checks on input files before SentencePiece sees them, so that every problem becomes a clear error that
/// names the file instead of a crash or a message from deep inside the library.
public enum InputFile {
    /// The file exists, is a regular file (not a directory) and can be opened for reading.
    public static func checkReadable(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw TokenizerError.fileNotFound(path: path) }
            throw TokenizerError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw TokenizerError.notAFile(path: path) }
        // Non-blocking: opening a FIFO without a writer would otherwise wait for one.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw TokenizerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        close(fd)
    }

    /// What a scan of a text corpus found.
    public struct Summary: Equatable, Sendable {
        public var bytes: Int
        public var lines: Int
        /// Lines SentencePiece can train on: 1 to `maxTrainingLineBytes` bytes long (without the line break).
        public var trainableLines: Int
        /// 64-bit FNV-1a of the contents, as 16 hex digits: identifies an unchanged corpus.
        public var contentHash: String
        /// Modification time, seconds since 1970.
        public var modified: Double
        /// NUL bytes: valid UTF-8, but no text holds them (a binary file, or one padded with zeros).
        public var nulBytes = 0
        /// U+2581 characters ("▁"), the mark SentencePiece writes for a space: they decode as spaces.
        public var spaceMarks = 0
        /// Lines longer than `maxTrainingLineBytes`: SentencePiece leaves them out of a tokenizer's training.
        public var longLines = 0
        /// Carriage returns not followed by a line feed: line breaks of classic Mac OS, which SentencePiece does not
        /// take for line breaks.
        public var loneCarriageReturns = 0
    }

    /// SentencePiece's `max_sentence_length`: training skips longer lines.
    public static let maxTrainingLineBytes = 4192

    /// Whether `path` exists and is neither a regular file nor a directory (a pipe, a FIFO, a device, a socket):
    /// something that cannot be read twice, or not to an end.
    public static func isPipeOrDevice(_ path: String) -> Bool { isNot(path, any: [S_IFREG, S_IFDIR]) }

    /// Whether `path` exists and is a device or a socket (not a regular file, a directory or a pipe): an input
    /// read once may be a pipe, but /dev/zero would be read without end.
    public static func isDevice(_ path: String) -> Bool { isNot(path, any: [S_IFREG, S_IFDIR, S_IFIFO]) }

    /// Whether `path` exists and its file type is none of `kinds`.
    private static func isNot(_ path: String, any kinds: [mode_t]) -> Bool {
        var kind = stat()
        return stat(path, &kind) == 0 && !kinds.contains(kind.st_mode & S_IFMT)
    }

    /// The encoding a file's first bytes name by their byte-order mark, when it is UTF-16 or UTF-32 (whose marks are
    /// no UTF-8): "UTF-32" for FF FE 00 00 and 00 00 FE FF (the first also starts as UTF-16LE's), "UTF-16" for FF FE
    /// and FE FF.
    static func byteOrderMarkEncoding(_ bytes: UnsafeRawBufferPointer) -> String? {
        let start = Array(bytes.prefix(4))
        if start == [0xFF, 0xFE, 0, 0] || start == [0, 0, 0xFE, 0xFF] { return "UTF-32" }
        if start.starts(with: [0xFF, 0xFE]) || start.starts(with: [0xFE, 0xFF]) { return "UTF-16" }
        return nil
    }

    /// A file's modification time, in seconds since 1970 (what a corpus's summary records).
    public static func modificationTime(_ info: stat) -> Double {
        Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }

    /// Reads a corpus once, in bounded chunks: checks it is a readable, non-empty, valid UTF-8 file and
    /// fingerprints its contents. Throws `invalidUTF8` with the line of the first bad byte.
    public static func scanCorpus(_ path: String, chunkBytes: Int = 1 << 20) throws -> Summary {
        // Before anything opens it: opening a FIFO with no writer waits for one.
        if isPipeOrDevice(path) { throw TokenizerError.notARegularFile(path: path) }
        try checkReadable(path)
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw TokenizerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        let modified = modificationTime(info)

        // Keep up to 3 bytes of an unfinished UTF-8 sequence from one read to the next.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunkBytes + 4, alignment: 16)
        defer { buffer.deallocate() }
        var carried = 0, total = 0, lines = 0, trainableLines = 0, lineBytes = 0, nulBytes = 0, spaceMarks = 0
        var longLines = 0, loneCarriageReturns = 0
        var lastThree: UInt32 = 0   // the last three bytes, to find U+2581 (E2 96 81) and lone "\r" across reads
        var hash = FNV1a()
        while true {
            let got = read(fd, buffer + carried, chunkBytes)
            if got < 0 { throw TokenizerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
            let available = carried + got
            let bytes = UnsafeRawBufferPointer(start: buffer, count: available)
            // Hash and count only the new bytes (carried bytes were counted with their read).
            let linesBefore = lines
            for byte in bytes[carried...] {
                hash.add(byte)
                if byte == 0 { nulBytes += 1 }
                lastThree = (lastThree << 8 | UInt32(byte)) & 0xFF_FFFF
                if lastThree == 0xE2_9681 { spaceMarks += 1 }
                if lastThree & 0xFF00 == 0x0D00 && byte != 0x0A { loneCarriageReturns += 1 }
                if byte == 0x0A {
                    lines += 1
                    if lineBytes >= 1 && lineBytes <= maxTrainingLineBytes { trainableLines += 1 }
                    if lineBytes > maxTrainingLineBytes { longLines += 1 }
                    lineBytes = 0
                } else {
                    lineBytes += 1
                }
            }
            let checkedLength = got == 0 ? available : completeUTF8Prefix(bytes)
            let bad = spm_first_invalid_utf8(buffer.assumingMemoryBound(to: CChar.self), checkedLength)
            if bad != checkedLength {
                if total == 0, let encoding = byteOrderMarkEncoding(bytes) {
                    throw TokenizerError.notUTF8(path: path, encoding: encoding)
                }
                // Carried bytes belong to a multi-byte sequence, so they hold no line break.
                let line = linesBefore + bytes[..<bad].lazy.filter { $0 == 0x0A }.count + 1
                throw TokenizerError.invalidUTF8(path: path, line: line, byteOffset: total - carried + bad)
            }
            total += got
            if got == 0 { break }
            carried = available - checkedLength
            if carried > 0 { (buffer).copyMemory(from: buffer + checkedLength, byteCount: carried) }
        }
        if total == 0 { throw TokenizerError.emptyFile(path: path) }
        if lineBytes >= 1 && lineBytes <= maxTrainingLineBytes { trainableLines += 1 }   // a last line without "\n"
        if lineBytes > maxTrainingLineBytes { longLines += 1 }
        if lastThree & 0xFF == 0x0D { loneCarriageReturns += 1 }
        return Summary(bytes: total, lines: lines, trainableLines: trainableLines, contentHash: hash.hex,
                       modified: modified, nulBytes: nulBytes, spaceMarks: spaceMarks, longLines: longLines,
                       loneCarriageReturns: loneCarriageReturns)
    }

    /// 64-bit FNV-1a of any file's bytes, as 16 hex digits (for binary files such as a .model).
    public static func contentHash(of path: String) throws -> String {
        try checkReadable(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadable(path: path, reason: "read failed")
        }
        return FNV1a.hex(of: data)
    }

    /// Offset of the first byte that is not valid UTF-8, or nil when all of `bytes` is valid.
    public static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress else { return nil }
        let offset = spm_first_invalid_utf8(base.assumingMemoryBound(to: CChar.self), bytes.count)
        return offset == bytes.count ? nil : offset
    }

    /// Length of the prefix that does not end inside a multi-byte UTF-8 sequence (at most 3 bytes cut).
    static func completeUTF8Prefix(_ bytes: UnsafeRawBufferPointer) -> Int {
        var i = bytes.count
        var back = 0
        while i > 0 && back < 4 {
            let byte = bytes[i - 1]
            if byte & 0xC0 != 0x80 {   // a lead byte or ASCII
                let need = byte < 0x80 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return back + 1 >= need ? bytes.count : i - 1
            }
            i -= 1
            back += 1
        }
        return bytes.count
    }
}
