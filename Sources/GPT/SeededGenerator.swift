import Foundation

/// xoshiro256** (Blackman and Vigna): a small, fast, deterministic generator whose whole state is four words,
/// so a training run can save it in a checkpoint and resume the exact same stream. Seeded through splitmix64.
public struct SeededGenerator: RandomNumberGenerator, Equatable, Sendable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64) {
        var x = seed
        var words: [UInt64] = []
        for _ in 0..<4 {
            // splitmix64: spreads any seed (0 included) over the four words.
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        state = words
    }

    /// Restores a saved state; nil if it is not four words or is all zero (a state xoshiro cannot leave).
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotl(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotl(state[3], 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Standard normal by Box-Muller (two uniforms per sample; the second value is discarded so the state
    /// alone determines the stream).
    public mutating func nextNormal() -> Double {
        let u1 = 1.0 - nextUniform()   // (0, 1]: log is finite
        let u2 = nextUniform()
        return (-2.0 * Foundation.log(u1)).squareRoot() * Foundation.cos(2.0 * Double.pi * u2)
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
