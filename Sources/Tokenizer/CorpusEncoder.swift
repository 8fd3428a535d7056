import Foundation
import Kernels

/// Encodes a whole text file fast and in bounded memory.
///
/// The file is read in batches of `threads * chunksPerThread` chunks of about `chunkBytes` each, cut at line
/// breaks (a line never straddles two chunks). The chunks of a batch are encoded in parallel on a
/// `ThreadPool` of `threads` threads (which claim chunks one at a time) and handed to the sink in file
/// order, so the output equals `tokenizer.encode(wholeFile)`. At most one batch of text and its ids are
/// held at a time. Each worker keeps its own segment cache (see `SentencePieceTokenizer.usesSegmentCache`),
/// emptied at the start and end of every file.
public struct CorpusEncoder: Sendable {
    public let tokenizer: SentencePieceTokenizer
    public let threads: Int
    public let chunkBytes: Int
    public let chunksPerThread: Int

    public init(tokenizer: SentencePieceTokenizer, threads: Int = 2, chunkBytes: Int = 256 << 10,
                chunksPerThread: Int = 4) {
        self.tokenizer = tokenizer
        self.threads = max(1, threads)
        self.chunkBytes = max(64, chunkBytes)
        self.chunksPerThread = max(1, chunksPerThread)
    }

    public struct Statistics: Equatable, Sendable {
        public var bytes = 0
        public var tokens = 0
        /// Line breaks seen (a last line without one is not counted).
        public var lineBreaks = 0
    }

    /// Encodes the file and calls `sink` with consecutive runs of ids, in order.
    @discardableResult
    public func encode(file path: String, _ sink: (UnsafeBufferPointer<Int32>) throws -> Void) throws -> Statistics {
        // A regular file or a pipe (`--corpus <(zcat x.gz)`: one pass reads it); a device such as /dev/zero
        // would be read without end.
        if InputFile.isDevice(path) { throw TokenizerError.notARegularInput(path: path) }
        try InputFile.checkReadable(path)
        // Opened without blocking, then read blocking: a FIFO that no program writes reads as empty at once
        // instead of waiting for a writer in `open`.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw TokenizerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)

        let batchCapacity = threads * chunksPerThread * chunkBytes
        var text = [UInt8](repeating: 0, count: batchCapacity)
        var filled = 0          // bytes of `text` in use (carried partial line first)
        var atEnd = false
        var statistics = Statistics()
        var batchOffset = 0     // file offset of text[0]
        let outputs = (0..<(threads * chunksPerThread)).map { _ in IdBuffer() }
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        tokenizer.resetSegmentCaches()
        defer { tokenizer.resetSegmentCaches() }

        while !atEnd || filled > 0 {
            // Fill the buffer; a single line longer than the buffer grows it (the only unbounded case).
            while !atEnd && filled < text.count {
                let got = text.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
                if got < 0 { throw TokenizerError.unreadable(path: path, reason: String(cString: strerror(errno))) }
                if got == 0 { atEnd = true } else { filled += got; statistics.bytes += got }
            }
            // Cut chunks that end just after a line break; the rest waits for the next batch unless at the end.
            var chunks: [Range<Int>] = []
            var start = 0
            text.withUnsafeBytes { bytes in
                while start < filled && chunks.count < outputs.count {
                    let limit = min(filled, start + chunkBytes)
                    var end = limit
                    if !(atEnd && limit == filled) {
                        // Last line break at or before the limit, else the first one after it.
                        if let cut = lastLineBreak(bytes, from: start, to: limit) { end = cut + 1 }
                        else if let cut = firstLineBreak(bytes, from: limit, to: filled) { end = cut + 1 }
                        else if atEnd { end = filled }
                        else { break }   // an unfinished line: read more first
                    }
                    chunks.append(start..<end)
                    start = end
                }
            }
            if chunks.isEmpty {   // one line longer than the buffer: grow it and read on
                text.append(contentsOf: [UInt8](repeating: 0, count: text.count))
                continue
            }
            let firstLine = statistics.lineBreaks + 1
            let results = try encodeParallel(text, chunks, outputs, pool: pool, path: path, firstLine: firstLine,
                                             fileOffset: batchOffset)
            for (index, _) in chunks.enumerated() {
                statistics.lineBreaks += results[index]
                try outputs[index].withIds { ids in
                    statistics.tokens += ids.count
                    try sink(ids)
                }
            }
            // Move the unconsumed tail to the front.
            let consumed = chunks.last!.upperBound
            if consumed < filled {
                text.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: $0.baseAddress! + consumed, byteCount: filled - consumed) }
            }
            filled -= consumed
            batchOffset += consumed
        }
        return statistics
    }

    /// Encodes all of a file into one array (convenience for small files and tests).
    public func encode(file path: String) throws -> [Int32] {
        var all: [Int32] = []
        try encode(file: path) { all.append(contentsOf: $0) }
        return all
    }

    /// Encodes the chunks on `threads` workers; returns the line-break count of each chunk.
    private func encodeParallel(_ text: [UInt8], _ chunks: [Range<Int>], _ outputs: [IdBuffer], pool: ThreadPool,
                                path: String, firstLine: Int, fileOffset: Int) throws -> [Int] {
        let state = ChunkState(count: chunks.count)
        text.withUnsafeBytes { bytes in
            let work = { (index: Int) in
                outputs[index].clear()
                do {
                    let newlines = try tokenizer.encodeLines(UnsafeRawBufferPointer(rebasing: bytes[chunks[index]]),
                                                             appendingTo: outputs[index], name: path, firstLine: 1)
                    state.newlines[index] = newlines
                } catch {
                    state.errors[index] = error
                }
            }
            // The pool hands out chunk indices one at a time, so uneven chunks balance themselves.
            pool.run(tasks: chunks.count) { index in work(index) }
        }
        // Report the first failing chunk, with its line counted from the start of the file.
        var linesBefore = firstLine - 1
        for index in chunks.indices {
            if let error = state.errors[index] {
                if case TokenizerError.invalidUTF8(let name, let line, let offset) = error {
                    throw TokenizerError.invalidUTF8(path: name, line: linesBefore + line,
                                                     byteOffset: fileOffset + chunks[index].lowerBound + offset)
                }
                throw error
            }
            linesBefore += state.newlines[index]
        }
        return Array(state.newlines)
    }
}

/// Per-batch results written by the workers (each slot by exactly one task; plain memory, no array
/// copy-on-write checks racing between threads).
private final class ChunkState: @unchecked Sendable {
    let newlines: UnsafeMutableBufferPointer<Int>
    let errors: UnsafeMutableBufferPointer<Error?>
    init(count: Int) {
        newlines = .allocate(capacity: count)
        newlines.initialize(repeating: 0)
        errors = .allocate(capacity: count)
        errors.initialize(repeating: nil)
    }
    deinit {
        newlines.deallocate()
        _ = errors.deinitialize()
        errors.deallocate()
    }
}

private func lastLineBreak(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
    var i = end - 1
    while i >= start {   // lines are short: this walks back a few dozen bytes
        if bytes[i] == 0x0A { return i }
        i -= 1
    }
    return nil
}

private func firstLineBreak(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
    guard end > start, let found = memchr(bytes.baseAddress! + start, 0x0A, end - start) else { return nil }
    return bytes.baseAddress!.distance(to: UnsafeRawPointer(found))
}
