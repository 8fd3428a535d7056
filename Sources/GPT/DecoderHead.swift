import Kernels

/// The tied LM head for a decoding step with many rows: logits[M, V] = x[M, C] · wte[V, C]^T, reading wte
/// once for all rows (the packed GEMM would repack all of wte for every step). Threads own ranges of wte's
/// rows; each row (C floats, in L1) is dotted with every row of x.
enum DecoderHead {
    static func logits(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, wte: UnsafePointer<Float>,
                       rows M: Int, width C: Int, vocab V: Int, pool: ThreadPool) {
        pool.parallelFor(V, minimumChunk: max(1, 16_384 / max(1, C)), chunksPerThread: 4) { range in
            for j in range {
                for i in 0..<M {
                    // GEMM's matrix-vector dot, so a row's logits do not depend on the batch size.
                    y[i * V + j] = GEMM.dot(x + i * C, wte + j * C, count: C)
                }
            }
        }
    }
}
