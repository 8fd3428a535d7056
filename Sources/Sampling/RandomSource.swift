/// xoshiro256** (Blackman & Vigna), seeded through splitmix64 so that any 64-bit seed, including 0,
/// gives a well-mixed state. Deterministic across platforms and releases: same seed, same stream.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = Xoshiro256StarStar.splitMix64(&sm)
        s1 = Xoshiro256StarStar.splitMix64(&sm)
        s2 = Xoshiro256StarStar.splitMix64(&sm)
        s3 = Xoshiro256StarStar.splitMix64(&sm)
    }

    /// splitmix64: advances `state` by the golden-ratio increment and returns a mixed value.
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}

@inline(__always)
private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

public enum SeedDerivation {
    /// The seed of sample `sampleIndex` of prompt `promptIndex` in a batch run with base seed `base`:
    /// independent streams per sample, and the same text whether a prompt is generated alone or in a batch.
    public static func seed(base: UInt64, promptIndex: Int, sampleIndex: Int) -> UInt64 {
        var state = base ^ (UInt64(truncatingIfNeeded: promptIndex) &* 0xD1B5_4A32_D192_ED03)
        _ = Xoshiro256StarStar.splitMix64(&state)
        state ^= UInt64(truncatingIfNeeded: sampleIndex) &* 0x8CB9_2BA7_2F3D_8DD7
        return Xoshiro256StarStar.splitMix64(&state)
    }

    /// A fresh random seed from the system generator (for `seed: nil`).
    public static func randomSeed() -> UInt64 {
        var g = SystemRandomNumberGenerator()
        return g.next()
    }
}
