import Foundation

/// Writes a 1-D token array as a NumPy .npy file, streaming: ids are appended in runs and the header (which
/// holds the count) is written by `finish()` into room reserved at the start. NumPy pads a 1-D header to
/// 128 bytes for any count below 10^19, so the reserved room always fits.
public final class TokenFileWriter {
    public let path: String
    /// The name errors give the file: `path`, or where it will be once moved into place (a preparation writes into
    /// a hidden temporary directory, which a user looking for "DIR/train.npy" would not recognise).
    public let name: String
    public let dtype: TokenDType
    public private(set) var count = 0
    private var file: UnsafeMutablePointer<FILE>?
    private let headerBytes: Int
    private var staging = [UInt8]()

    public init(path: String, dtype: TokenDType, shownAs name: String? = nil) throws {
        self.path = path
        self.name = name ?? path
        self.dtype = dtype
        headerBytes = NumPyHeader.encode(dtype: dtype, count: Int.max).count
        guard let file = fopen(path, "w+b") else {
            throw TokenFileError.writeFailed(path: self.name, reason: String(cString: strerror(errno)))
        }
        self.file = file
        try write([UInt8](repeating: 0x20, count: headerBytes))
    }

    deinit { if let file { fclose(file) } }

    /// Appends ids; each must be within the dtype (ids are never negative).
    public func append(_ ids: UnsafeBufferPointer<Int32>) throws {
        let width = dtype.byteWidth
        if staging.count < ids.count * width { staging = [UInt8](repeating: 0, count: ids.count * width) }
        try staging.withUnsafeMutableBytes { out in
            for (i, id) in ids.enumerated() {
                if id < 0 || Int64(id) > dtype.maximumId {
                    throw TokenFileError.idTooLarge(path: name, id: Int64(id), dtype: dtype.rawValue)
                }
                if width == 2 {
                    out.storeBytes(of: UInt16(truncatingIfNeeded: id).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                } else {
                    out.storeBytes(of: UInt32(bitPattern: id).littleEndian, toByteOffset: 4 * i, as: UInt32.self)
                }
            }
        }
        try staging.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<(ids.count * width)])) }
        count += ids.count
    }

    public func append(_ ids: [Int32]) throws { try ids.withUnsafeBufferPointer { try append($0) } }

    /// Moves the ids after the first `keep` into `other` (appending them there) and drops them from this
    /// file. Used to split the validation tail off a corpus encoded in one pass.
    public func moveTail(after keep: Int, to other: TokenFileWriter) throws {
        // Real checks (-Ounchecked removes preconditions): a wrong keep or dtype wrote a broken file.
        guard other.dtype == dtype else {
            throw TokenFileError.writeFailed(path: other.name, reason: "its dtype is not \(name)'s, whose tail it would take")
        }
        guard keep >= 0 && keep <= count else {
            throw TokenFileError.writeFailed(path: name, reason: "cannot keep \(keep) of its \(count) ids")
        }
        guard let file else { throw TokenFileError.writeFailed(path: name, reason: "already finished") }
        guard fflush(file) == 0 else { throw TokenFileError.writeFailed(path: name, reason: String(cString: strerror(errno))) }
        let width = dtype.byteWidth
        var position = headerBytes + keep * width
        let end = headerBytes + count * width
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while position < end {
            let n = min(buffer.count, end - position)
            let got = buffer.withUnsafeMutableBytes { pread(fileno(file), $0.baseAddress, n, off_t(position)) }
            guard got == n else { throw TokenFileError.writeFailed(path: name, reason: "short read while splitting") }
            try buffer.withUnsafeBytes { try other.writeRaw(UnsafeRawBufferPointer(rebasing: $0[0..<n]), elements: n / width) }
            position += n
        }
        guard ftruncate(fileno(file), off_t(headerBytes + keep * width)) == 0 else {
            throw TokenFileError.writeFailed(path: name, reason: String(cString: strerror(errno)))
        }
        count = keep
        fseeko(file, 0, SEEK_END)
    }

    /// Writes the header, flushes to disk and closes the file.
    public func finish() throws {
        guard let file else { return }
        let header = NumPyHeader.encode(dtype: dtype, count: count)
        guard header.count == headerBytes else {
            throw TokenFileError.writeFailed(path: name, reason: "header length \(header.count) differs from the reserved \(headerBytes)")
        }
        guard fflush(file) == 0, fseeko(file, 0, SEEK_SET) == 0 else {
            throw TokenFileError.writeFailed(path: name, reason: String(cString: strerror(errno)))
        }
        try write(header)
        let ok = fflush(file) == 0 && fsync(fileno(file)) == 0
        fclose(file)
        self.file = nil
        if !ok { throw TokenFileError.writeFailed(path: name, reason: String(cString: strerror(errno))) }
    }

    /// Writes a whole array to `path` in one go.
    public static func write(_ ids: [Int32], to path: String, dtype: TokenDType) throws {
        let writer = try TokenFileWriter(path: path, dtype: dtype)
        try writer.append(ids)
        try writer.finish()
    }

    private func writeRaw(_ bytes: UnsafeRawBufferPointer, elements: Int) throws {
        try write(bytes)
        count += elements
    }

    private func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let file else { throw TokenFileError.writeFailed(path: name, reason: "already finished") }
        if bytes.isEmpty { return }
        guard fwrite(bytes.baseAddress, 1, bytes.count, file) == bytes.count else {
            throw TokenFileError.writeFailed(path: name, reason: String(cString: strerror(errno)))
        }
    }
}
