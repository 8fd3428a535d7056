import JSON

/// What an `--out-dir`'s settings.json records of the prompts its samples were made from: how many there were and
/// a hash of them in order, so that `--resume` refuses another prompts file. A 64-bit FNV-1a over every prompt's
/// UTF-8 length (8 bytes, little-endian) and bytes: it tells an accidental change, not a forged one.
struct PromptsFingerprint: Equatable {
    let count: Int
    /// 16 lowercase hex digits.
    let hash: String

    static let key = "prompts"

    init(_ prompts: some Collection<PromptRecord>) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        for record in prompts {
            let length = UInt64(record.prompt.utf8.count)
            for shift in stride(from: 0, to: 64, by: 8) { mix(UInt8(truncatingIfNeeded: length >> UInt64(shift))) }
            for byte in record.prompt.utf8 { mix(byte) }
        }
        count = prompts.count
        let digits = String(hash, radix: 16)
        self.hash = String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// The settings.json member: `"prompts": {"count": 3, "fnv1a64": "..."}`.
    var field: JSONField {
        JSONField(key: Self.key, value: .object([JSONField(key: "count", value: .number(String(count))),
                                                 JSONField(key: "fnv1a64", value: .string(hash))]))
    }

    /// The fingerprint a settings.json records (nil when it records none: written before it was recorded).
    /// Throws a message when the member is there but not one this program writes.
    static func recorded(in fields: [JSONField]) throws -> PromptsFingerprint? {
        guard let value = fields.last(where: { $0.key == key })?.value else { return nil }
        guard case .object(let members) = value,
              case .number(let countText)? = members.last(where: { $0.key == "count" })?.value,
              let count = Int(countText), count >= 0,
              case .string(let hash)? = members.last(where: { $0.key == "fnv1a64" })?.value,
              hash.count == 16, hash.allSatisfy(\.isHexDigit) else {
            throw BatchOutputError(message: "\"prompts\" is not the {\"count\", \"fnv1a64\"} object this program writes")
        }
        return PromptsFingerprint(count: count, hash: hash.lowercased())
    }

    private init(count: Int, hash: String) {
        self.count = count
        self.hash = hash
    }
}
