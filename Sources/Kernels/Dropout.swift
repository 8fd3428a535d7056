/// Inverted dropout with a counter-based mask.
///
/// Element i of a tensor at dropout site s is kept when the top 24 bits of hash(key, s, i) are >= p * 2^24
/// (probability 1 - p, p in steps of 2^-24), and a
/// kept element is scaled by 1 / (1 - p), so the expected value is unchanged and evaluation needs no rescaling.
/// The mask is a pure function of (key, site, i): the backward pass regenerates it instead of storing it, and
/// a training run that derives the key from (seed, step, micro-batch) draws the same masks after a resume.
///
/// The hash: h = i * 0x9E3779B1 + k_s (k_s: 32 bits of SplitMix64(key, site)), then MurmurHash3's 32-bit
/// finaliser (xor-shift, multiply, xor-shift, multiply, xor-shift), eight lanes at a time.
public enum Dropout {
    /// Forward, x [count]: out = x ⊙ mask / (1 - p) (out may alias x).
    public static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int,
                               mask: DropoutMask, pool: ThreadPool = .shared) {
        applyMask(mask, out: out, input: input, count: count, pool: pool)
    }

    /// Backward: dinput = dout ⊙ mask / (1 - p), with the forward call's mask (dinput may alias dout).
    public static func backward(dinput: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, count: Int,
                                mask: DropoutMask, pool: ThreadPool = .shared) {
        applyMask(mask, out: dinput, input: dout, count: count, pool: pool)
    }

    private static func applyMask(_ mask: DropoutMask, out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                                  count: Int, pool: ThreadPool) {
        pool.parallelFor(ceilDiv(count, 8), minimumChunk: 2048) { range in
            let start = range.lowerBound * 8, end = min(count, range.upperBound * 8)
            mask.apply(out: out + start, input: input + start, count: end - start, firstIndex: start)
        }
    }

    /// p * 2^24, rounded down (p in [0, 1)): the keep threshold on the top 24 bits of the hash. 24 bits so the
    /// vector path compares them as exact Floats (AVX2 has no unsigned 32-bit compare, and Swift's lane-wise
    /// UInt32 `.>=` compiles to a scalar loop through the stack).
    static func threshold(_ probability: Float) -> UInt32 {
        UInt32(min(Double(probability) * 16_777_216, 16_777_215))
    }

    /// 32 bits of SplitMix64 over the key and the site.
    static func siteKey(key: UInt64, site: Int) -> UInt32 {
        var z = key &+ UInt64(truncatingIfNeeded: site) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32(truncatingIfNeeded: (z ^ (z >> 31)) >> 32)
    }

    @inline(__always)
    static func hash(_ index: SIMD8<UInt32>, siteKey: UInt32) -> SIMD8<UInt32> {
        var h = index &* 0x9E37_79B1 &+ siteKey
        h ^= h &>> 16
        h = h &* 0x85EB_CA6B
        h ^= h &>> 13
        h = h &* 0xC2B2_AE35
        return h ^ (h &>> 16)
    }

    @inline(__always)
    static func hash(_ index: UInt32, siteKey: UInt32) -> UInt32 {
        var h = index &* 0x9E37_79B1 &+ siteKey
        h ^= h >> 16
        h = h &* 0x85EB_CA6B
        h ^= h >> 13
        h = h &* 0xC2B2_AE35
        return h ^ (h >> 16)
    }
}

/// The mask of one dropout site in one training pass (probability, key, site). `Dropout` applies it to a
/// whole tensor over the threads; `apply` does a span on the calling thread, for kernels that drop inside
/// their own loops (the attention weights).
///
/// `offset` is added to every element index: a pass over one shard of a batch (its sequences `s0..<s1`) passes
/// the elements before the shard (s0 times a sequence's elements), so it draws the whole batch's mask.
public struct DropoutMask: Sendable, Equatable {
    public let probability: Float
    public let key: UInt64
    public let site: Int
    public let offset: Int
    let limit: UInt32
    let siteKey: UInt32

    public init(probability: Float, key: UInt64, site: Int, offset: Int = 0) {
        self.probability = probability
        self.key = key
        self.site = site
        self.offset = offset
        limit = Dropout.threshold(probability)
        siteKey = Dropout.siteKey(key: key, site: site)
    }

    /// Whether element `index` is kept (one element at a time; for tests and references).
    public func isKept(index: Int) -> Bool {
        Dropout.hash(UInt32(truncatingIfNeeded: offset + index), siteKey: siteKey) >> 8 >= limit
    }

    /// out[j] = input[j] · mask(firstIndex + j) / (1 - p) for j in 0..<count (out may alias input).
    @inline(__always)
    public func apply(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int, firstIndex: Int) {
        let firstIndex = offset + firstIndex
        let scale = 1 / (1 - probability)
        let lanes = SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)
        let floatLimit = SIMD8<Float>(repeating: Float(limit))   // exact: limit < 2^24
        var j = 0
        while j + 8 <= count {
            let index = SIMD8<UInt32>(repeating: UInt32(truncatingIfNeeded: firstIndex + j)) &+ lanes
            let top = SIMD8<Int32>(truncatingIfNeeded: Dropout.hash(index, siteKey: siteKey) &>> 8)
            let kept = SIMD8<Float>(top) .>= floatLimit
            let x = UnsafeRawPointer(input + j).loadUnaligned(as: SIMD8<Float>.self) * scale
            UnsafeMutableRawPointer(out + j).storeBytes(of: SIMD8<Float>(repeating: 0).replacing(with: x, where: kept),
                                                        as: SIMD8<Float>.self)
            j += 8
        }
        while j < count {
            let kept = Dropout.hash(UInt32(truncatingIfNeeded: firstIndex + j), siteKey: siteKey) >> 8 >= limit
            out[j] = kept ? input[j] * scale : 0
            j += 1
        }
    }
}
