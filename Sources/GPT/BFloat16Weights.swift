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

    /// out[i] = the float whose top 16 bits are w[i] (a plain loop: LLVM widens it to vpmovzxwd + vpslld).
    @inline(__always)
    static func widen(_ w: UnsafePointer<UInt16>, into out: UnsafeMutablePointer<Float>, count: Int) {
        let bits = UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt32.self)
        for i in 0..<count { bits[i] = UInt32(w[i]) &<< 16 }
    }

    /// y[M, n] (+)= x[M, k] · W[k, n] (+ bias), W bf16 stored [k, n]. Threads own column ranges (multiples of
    /// 16); each walks down the rows of W once, widening its segment of a row into an fp32 buffer on the
    /// stack and adding it, scaled, into every row of y (M rows of the segment stay in L1).
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
            let width = j1 - j0
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, width)) { segmentBuffer in
                let segment = segmentBuffer.baseAddress!
                for p in 0..<k {
                    widen(w + p * n + j0, into: segment, count: width)
                    for i in 0..<M {
                        let a = x[i * k + p], out = y + i * n + j0
                        for j in 0..<width { out[j] += a * segment[j] }
                    }
                }
            }
        }
    }

    /// y[M, n] = x[M, k] · W^T with W bf16 stored [n, k] (the tied head: logits = wte · x). Threads own
    /// ranges of W's rows; each row (k values) is widened into an fp32 buffer on the stack and dotted with
    /// every row of x.
    static func timesTransposedMatrix(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<UInt16>,
                                      rows M: Int, inputs k: Int, outputs n: Int, pool: ThreadPool) {
        pool.parallelFor(n, minimumChunk: max(1, 16_384 / max(1, k)), chunksPerThread: 4) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { rowBuffer in
                let row = rowBuffer.baseAddress!
                for j in range {
                    widen(w + j * k, into: row, count: k)
                    for i in 0..<M {
                        let xi = UnsafeRawPointer(x + i * k), wr = UnsafeRawPointer(row)
                        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
                        var p = 0
                        while p + 32 <= k {
                            s0 = s0.addingProduct(wr.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self),
                                                  xi.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self))
                            s1 = s1.addingProduct(wr.loadUnaligned(fromByteOffset: p * 4 + 64, as: SIMD16<Float>.self),
                                                  xi.loadUnaligned(fromByteOffset: p * 4 + 64, as: SIMD16<Float>.self))
                            p += 32
                        }
                        while p + 16 <= k {
                            s0 = s0.addingProduct(wr.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self),
                                                  xi.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self))
                            p += 16
                        }
                        var s = (s0 + s1).sum()
                        while p < k { s += row[p] * x[i * k + p]; p += 1 }
                        y[i * n + j] = s
                    }
                }
            }
        }
    }
}
