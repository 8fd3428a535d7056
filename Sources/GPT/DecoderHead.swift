import Kernels

/// The tied LM head for a decoding step with many rows: logits[M, V] = x[M, C] · wte[V, C]^T, reading wte
/// once for all rows (the packed GEMM would repack all of wte for every step). Threads own ranges of wte's
/// rows; each row (C floats, in L1) is dotted with every row of x.
enum DecoderHead {
    static func logits(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, wte: UnsafePointer<Float>,
                       rows M: Int, width C: Int, vocab V: Int, pool: ThreadPool) {
        pool.parallelFor(V, minimumChunk: max(1, 16_384 / max(1, C)), chunksPerThread: 4) { range in
            for j in range {
                let w = UnsafeRawPointer(wte + j * C)
                for i in 0..<M {
                    // The same summation as GEMM's matrix-vector dot (four SIMD16 sums 64 floats apart, then
                    // 16 at a time, then single floats), so a row's logits do not depend on the batch size.
                    let xi = UnsafeRawPointer(x + i * C)
                    var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
                    var p = 0
                    while p + 64 <= C {
                        let o = p * 4
                        s0 = s0.addingProduct(xi.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self),
                                              w.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
                        s1 = s1.addingProduct(xi.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self),
                                              w.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
                        s2 = s2.addingProduct(xi.loadUnaligned(fromByteOffset: o + 128, as: SIMD16<Float>.self),
                                              w.loadUnaligned(fromByteOffset: o + 128, as: SIMD16<Float>.self))
                        s3 = s3.addingProduct(xi.loadUnaligned(fromByteOffset: o + 192, as: SIMD16<Float>.self),
                                              w.loadUnaligned(fromByteOffset: o + 192, as: SIMD16<Float>.self))
                        p += 64
                    }
                    while p + 16 <= C {
                        s0 = s0.addingProduct(xi.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self),
                                              w.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self))
                        p += 16
                    }
                    var s = ((s0 + s1) + (s2 + s3)).sum()
                    while p < C { s += x[i * C + p] * wte[j * C + p]; p += 1 }
                    y[i * V + j] = s
                }
            }
        }
    }
}
