/// 64-bit FNV-1a: a fingerprint of a file's bytes (is this the same corpus, tokenizer, data file?), not a
/// cryptographic hash. Fed byte by byte (`add`), so a large file can be hashed as it streams past; `hex` is the
/// 16-digit form the manifests and checkpoints record.
public struct FNV1a: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    @inline(__always)
    public mutating func add(_ byte: UInt8) { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }

    public mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 { for byte in bytes { add(byte) } }

    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The fingerprint of `bytes`.
    public static func hex<S: Sequence>(of bytes: S) -> String where S.Element == UInt8 {
        var hash = FNV1a()
        hash.add(bytes)
        return hash.hex
    }
}
