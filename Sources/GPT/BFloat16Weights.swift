import Kernels

/// How the decoding steps read the weight matrices.
public enum DecoderWeights: Sendable {
    /// The model's own fp32 parameters.
    case float32
    /// A bfloat16 copy (the top 16 bits of each float, rounded to nearest even) of the four matrices of every
    /// block and of the tied embedding: half the bytes to stream per token, converted back to fp32 in
    /// registers (a 16-bit shift). Biases, layer norms, the position embedding and the prefill stay fp32.
    case bfloat16
}

/// bfloat16 copies of the matrices a decoding step reads, and the two products over them.
final class BFloat16Weights {
    let storage: UnsafeMutablePointer<UInt16>
    let count: Int
    /// Per block: c_attn [C, 3C], attn.c_proj [C, C], c_fc [C, 4C], mlp.c_proj [4C, C] (offsets into storage).
    let blocks: [(attention: Int, attentionProjection: Int, fullyConnected: Int, mlpProjection: Int)]
    /// wte [V, C].
    let tokenEmbedding: Int

    init(model: GPT) {
        let C = model.config.width, V = model.config.vocabSize
        let p = model.parameters.pointer
        var sources: [(Int, Int)] = []   // (offset in parameters, count)
        var cursor = 0
        func place(_ offset: Int, _ n: Int) -> Int {
            sources.append((offset, n))
            defer { cursor += n }
            return cursor
        }
        tokenEmbedding = place(model.layout.tokenEmbedding, V * C)
        blocks = model.layout.blocks.map { w in
            (place(w.attentionWeight, 3 * C * C), place(w.attentionProjectionWeight, C * C),
             place(w.fullyConnectedWeight, 4 * C * C), place(w.mlpProjectionWeight, 4 * C * C))
        }
        count = cursor
        storage = .allocate(capacity: max(1, cursor))
        var out = 0
        for (offset, n) in sources {
            for i in 0..<n { storage[out + i] = Self.bfloat16(p[offset + i]) }
            out += n
        }
    }

    deinit { storage.deallocate() }

    var bytes: Int { count * 2 }

    /// fp32 -> bf16 with round-to-nearest-even (NaN stays NaN).
    static func bfloat16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }

    @inline(__always)
    static func widen(_ v: SIMD16<UInt16>) -> SIMD16<Float> {
        unsafeBitCast(SIMD16<UInt32>(truncatingIfNeeded: v) &<< 16, to: SIMD16<Float>.self)
    }

    /// y[M, n] (+)= x[M, k] · W[k, n] (+ bias), W bf16 stored [k, n]. Threads own column ranges (multiples of
    /// 16); each walks down the rows of W once, widening 16 weights at a time and adding them, scaled, into
    /// every row of y (M rows x 16 columns stay in L1).
    static func timesMatrix(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<UInt16>,
                            bias: UnsafePointer<Float>?, rows M: Int, inputs k: Int, outputs n: Int,
                            accumulate: Bool, pool: ThreadPool) {
        let groups = (n + 15) / 16
        pool.parallelFor(groups, minimumChunk: max(1, 2048 / max(1, k)), chunksPerThread: 2) { range in
            let j0 = range.lowerBound * 16, j1 = min(n, range.upperBound * 16)
            for i in 0..<M {
                let row = y + i * n
                for j in j0..<j1 {
                    let start: Float = bias?[j] ?? 0
                    row[j] = accumulate ? row[j] + start : start
                }
            }
            let fullEnd = j0 + (j1 - j0) / 16 * 16
            for p in 0..<k {
                let wRow = UnsafeRawPointer(w + p * n)
                var j = j0
                while j < fullEnd {
                    let wv = widen(wRow.loadUnaligned(fromByteOffset: j * 2, as: SIMD16<UInt16>.self))
                    for i in 0..<M {
                        let out = UnsafeMutableRawPointer(y + i * n + j)
                        let s = out.loadUnaligned(as: SIMD16<Float>.self)
                        out.storeBytes(of: s.addingProduct(SIMD16(repeating: x[i * k + p]), wv), as: SIMD16<Float>.self)
                    }
                    j += 16
                }
                while j < j1 {
                    let wj = Float(bitPattern: UInt32(w[p * n + j]) << 16)
                    for i in 0..<M { y[i * n + j] += x[i * k + p] * wj }
                    j += 1
                }
            }
        }
    }

    /// y[M, n] = x[M, k] · W^T with W bf16 stored [n, k] (the tied head: logits = wte · x). Threads own
    /// ranges of W's rows; each row (k values) is dotted with every row of x while it is in L1.
    static func timesTransposedMatrix(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<UInt16>,
                                      rows M: Int, inputs k: Int, outputs n: Int, pool: ThreadPool) {
        pool.parallelFor(n, minimumChunk: max(1, 16_384 / max(1, k)), chunksPerThread: 4) { range in
            for j in range {
                let wRow = UnsafeRawPointer(w + j * k)
                for i in 0..<M {
                    let xi = UnsafeRawPointer(x + i * k)
                    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
                    var p = 0
                    while p + 32 <= k {
                        s0 = s0.addingProduct(widen(wRow.loadUnaligned(fromByteOffset: p * 2, as: SIMD16<UInt16>.self)),
                                              xi.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self))
                        s1 = s1.addingProduct(widen(wRow.loadUnaligned(fromByteOffset: p * 2 + 32, as: SIMD16<UInt16>.self)),
                                              xi.loadUnaligned(fromByteOffset: p * 4 + 64, as: SIMD16<Float>.self))
                        p += 32
                    }
                    while p + 16 <= k {
                        s0 = s0.addingProduct(widen(wRow.loadUnaligned(fromByteOffset: p * 2, as: SIMD16<UInt16>.self)),
                                              xi.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self))
                        p += 16
                    }
                    var s = (s0 + s1).sum()
                    while p < k { s += Float(bitPattern: UInt32(w[j * k + p]) << 16) * x[i * k + p]; p += 1 }
                    y[i * n + j] = s
                }
            }
        }
    }
}
