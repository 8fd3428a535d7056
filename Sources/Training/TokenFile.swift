import Foundation

/// A token file (.npy, 1-D uint16 or uint32) mapped read-only into memory. The header is checked when it is
/// opened; ids are read straight from the mapping.
public final class TokenFile: @unchecked Sendable {
    public let path: String
    public let dtype: TokenDType
    /// Number of tokens.
    public let count: Int
    private let mapping: UnsafeMutableRawPointer?
    private let mappedBytes: Int
    /// The first token's bytes (little-endian, `dtype.byteWidth` each).
    public let data: UnsafeRawPointer

    public init(path: String) throws {
        self.path = path
        // Non-blocking, so a FIFO in a token file's place is refused below instead of waiting for a writer.
        let fd = open(path, O_RDONLY | O_NONBLOCK)
        guard fd >= 0 else { throw TokenFileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw TokenFileError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw TokenFileError.cannotOpen(path: path, reason: "it is a directory") }
        if (info.st_mode & S_IFMT) != S_IFREG { throw TokenFileError.cannotOpen(path: path, reason: "it is not a regular file") }
        let size = Int(info.st_size)
        guard size >= 10 else { throw TokenFileError.notNumPy(path: path, reason: "only \(size) bytes long") }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw TokenFileError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        do {
            let header = try NumPyHeader.parse(UnsafeRawBufferPointer(start: map, count: size), path: path)
            // A damaged header may promise up to Int.max ids: multiply with a check.
            let (bytes, tooMany) = header.count.multipliedReportingOverflow(by: header.dtype.byteWidth)
            guard !tooMany, bytes <= Int.max - header.dataOffset else {
                throw TokenFileError.notNumPy(path: path, reason: "its header promises \(header.count) tokens, more than any file holds")
            }
            let expected = header.dataOffset + bytes
            guard expected == size else { throw TokenFileError.sizeMismatch(path: path, expectedBytes: expected, actualBytes: size) }
            dtype = header.dtype
            count = header.count
            data = UnsafeRawPointer(map + header.dataOffset)
        } catch {
            munmap(map, size)
            throw error
        }
        mapping = map
        mappedBytes = size
        madvise(map, size, MADV_WILLNEED)
    }

    deinit { if let mapping { munmap(mapping, mappedBytes) } }

    /// Throws `TrainingError.vocabularyMismatch` naming the file when an id is `vocabularySize` or more.
    public func requireIds(below vocabularySize: Int) throws {
        let largest = largestId
        if largest >= vocabularySize {
            throw TrainingError.vocabularyMismatch(path: path, maxId: Int(largest), vocabularySize: vocabularySize)
        }
    }

    /// The largest id in the file (0 when it is empty), read as the unsigned number it is (a uint32 id of 2^31
    /// or more stays large). A loop over typed lanes, which LLVM vectorises: 2 GB of uint16 ids take about
    /// 0.15 s instead of the 1.5 s of a subscript loop (perf, a `pretrain --data` start).
    public var largestId: Int64 {
        func largest<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) -> Int64 {
            var best = T.zero
            if Int(bitPattern: data) % MemoryLayout<T>.alignment == 0 {
                let ids = UnsafeBufferPointer(start: data.assumingMemoryBound(to: T.self), count: count)
                for id in ids { best = Swift.max(best, T(littleEndian: id)) }
            } else {
                for i in 0..<count {
                    best = Swift.max(best, T(littleEndian: data.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)))
                }
            }
            return Int64(best)
        }
        return dtype == .uint16 ? largest(UInt16.self) : largest(UInt32.self)
    }

    /// A 64-bit fingerprint of the ids, as 16 hex digits: a resumed run checks with it that its data is still the
    /// data it started on. FNV-1a over the bytes taken eight at a time in 32 interleaved lanes (word w goes to
    /// lane w mod 32: four chains of 8-lane multiplies run side by side, where one chain waited on each
    /// multiply's latency), the lanes then folded into one hash with the last bytes: about 0.25 s for 2 GB. After
    /// each multiply the high half is folded into the low one (`mix`): a multiply carries bits only upwards, so
    /// without it two changes of a word's top bit cancelled.
    public var fingerprint: String {
        typealias Lanes = SIMD8<UInt64>
        let bytes = count * dtype.byteWidth, prime: UInt64 = 0x0000_0100_0000_01b3, basis: UInt64 = 0xcbf2_9ce4_8422_2325
        var l0 = Lanes(repeating: basis), l1 = l0, l2 = l0, l3 = l0, offset = 0
        func words(_ at: Int) -> Lanes { data.loadUnaligned(fromByteOffset: at, as: Lanes.self) }
        @inline(__always) func mix(_ h: Lanes, _ w: Lanes) -> Lanes { let p = (h ^ w) &* prime; return p ^ (p &>> 32) }
        while offset + 256 <= bytes {
            l0 = mix(l0, words(offset))
            l1 = mix(l1, words(offset + 64))
            l2 = mix(l2, words(offset + 128))
            l3 = mix(l3, words(offset + 192))
            offset += 256
        }
        var hash = basis
        for lanes in [l0, l1, l2, l3] {
            for i in 0..<8 { hash = (hash ^ lanes[i]) &* prime; hash ^= hash >> 32 }
        }
        while offset < bytes {
            hash = (hash ^ UInt64(data.load(fromByteOffset: offset, as: UInt8.self))) &* prime
            offset += 1
        }
        return String(format: "%016llx", hash)
    }

    /// The id at `index` (0 ..< count).
    @inline(__always)
    public subscript(index: Int) -> Int32 {
        precondition(index >= 0 && index < count, "token index out of range")
        if dtype == .uint16 {
            return Int32(UInt16(littleEndian: data.loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)))
        }
        return Int32(bitPattern: UInt32(littleEndian: data.loadUnaligned(fromByteOffset: 4 * index, as: UInt32.self)))
    }

    /// Copies `length` ids starting at `start` into `destination` as Int32 (for batches of (B, T+1) ids).
    public func copy(from start: Int, count length: Int, into destination: UnsafeMutablePointer<Int32>) {
        precondition(start >= 0 && length >= 0 && start + length <= count, "token range out of bounds")
        if dtype == .uint16 {
            let source = (data + 2 * start).assumingMemoryBound(to: UInt16.self)
            for i in 0..<length { destination[i] = Int32(UInt16(littleEndian: source[i])) }
        } else {
            let source = (data + 4 * start).assumingMemoryBound(to: UInt32.self)
            for i in 0..<length { destination[i] = Int32(bitPattern: UInt32(littleEndian: source[i])) }
        }
    }

    /// All ids as an array (for tests and small files).
    public func allTokens() -> [Int32] {
        [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { copy(from: 0, count: count, into: buffer.baseAddress!) }
            initialized = count
        }
    }
}
