/// Single-precision matrix products on row-major buffers: the general product, the three products of a
/// linear layer's training step, and the matrix-vector products of generation.
///
/// Products with more than a few rows run the cache-blocked, packed, threaded kernel (GEMMBlocked.swift);
/// products with at most `GEMMSmall.maxRows` rows stream B once without packing (GEMMSmall.swift).
public enum GEMM {
    /// C[m,n] (= or +=) op(A)[m,k] · op(B)[k,n] (+ bias[n] broadcast over rows, added once).
    /// op(A) = A stored [m,k] with row stride lda, or (transposeA) A stored [k,m] with row stride lda.
    /// op(B) = B stored [k,n] with row stride ldb, or (transposeB) B stored [n,k] with row stride ldb.
    /// `packedB`: op(B) already packed (`PackedPanels` of this k x n op(B)); the blocked kernel then reads its
    /// panels instead of packing B (the same bits).
    public static func multiply(m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                                b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                                c: UnsafeMutablePointer<Float>, ldc: Int,
                                bias: UnsafePointer<Float>? = nil, accumulate: Bool = false,
                                pool: ThreadPool = .shared, packedB: PackedPanels? = nil) {
        multiply(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                 c: c, ldc: ldc, bias: bias, accumulate: accumulate, pool: pool, tileColumns: GEMMMicroKernel.nr,
                 packedB: packedB)
    }

    /// `multiply` with the micro-tile width (16 or 32) chosen by the caller (the tests run both).
    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                         b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                         c: UnsafeMutablePointer<Float>, ldc: Int,
                         bias: UnsafePointer<Float>?, accumulate: Bool,
                         pool: ThreadPool, tileColumns: Int, packedB: PackedPanels? = nil) {
        assert(m >= 0 && n >= 0 && k >= 0, "GEMM: negative size")
        assert(lda >= (transposeA ? m : k) && ldb >= (transposeB ? k : n) && ldc >= n, "GEMM: stride below width")
        if m == 0 || n == 0 { return }
        if k == 0 {
            // An empty sum: C = bias (or C += bias).
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n {
                    let v: Float = bias?[j] ?? 0
                    row[j] = accumulate ? row[j] + v : v
                }
            }
            return
        }
        if m <= GEMMSmall.maxRows {
            if !transposeB {
                GEMMSmall.timesMatrix(m: m, n: n, k: k, a: a,
                                      aRowStride: transposeA ? 1 : lda, aStepStride: transposeA ? lda : 1,
                                      b: b, ldb: ldb, c: c, ldc: ldc, bias: bias, accumulate: accumulate, pool: pool)
                return
            }
            if !transposeA {
                GEMMSmall.timesTransposedMatrix(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                                                bias: bias, accumulate: accumulate, pool: pool)
                return
            }
            // Both transposed with few rows: rare; the packed path gathers A's strided rows.
        }
        GEMMBlocked.multiply(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA,
                             b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc,
                             bias: bias, accumulate: accumulate, pool: pool, nr: tileColumns, prepacked: packedB)
    }

    // MARK: - The three products of a linear layer (W stored [in, out], GPT-2's Conv1D layout)

    /// Forward: Y[rows,out] (+)= X[rows,in] · W[in,out] (+ bias[out]). `packedW`: W packed (op(B) = W).
    public static func forward(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, rows: Int, inputs: Int, outputs: Int,
                               accumulate: Bool = false, pool: ThreadPool = .shared, packedW: PackedPanels? = nil) {
        multiply(m: rows, n: outputs, k: inputs, a: x, lda: inputs, b: w, ldb: outputs,
                 c: y, ldc: outputs, bias: bias, accumulate: accumulate, pool: pool, packedB: packedW)
    }

    /// Gradient of the input: dX[rows,in] (+)= dY[rows,out] · W[in,out]^T. `packedWT`: W^T packed (op(B) = W^T).
    public static func backwardInput(dx: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>,
                                     w: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                                     accumulate: Bool, pool: ThreadPool = .shared, packedWT: PackedPanels? = nil) {
        multiply(m: rows, n: inputs, k: outputs, a: dy, lda: outputs, b: w, ldb: outputs, transposeB: true,
                 c: dx, ldc: inputs, accumulate: accumulate, pool: pool, packedB: packedWT)
    }

    /// Gradient of the weight: dW[in,out] += X[rows,in]^T · dY[rows,out] (a parameter gradient: always adds).
    public static func backwardWeight(dw: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                      dy: UnsafePointer<Float>, rows: Int, inputs: Int, outputs: Int,
                                      pool: ThreadPool = .shared) {
        multiply(m: inputs, n: outputs, k: rows, a: x, lda: inputs, transposeA: true, b: dy, ldb: outputs,
                 c: dw, ldc: outputs, accumulate: true, pool: pool)
    }

    // MARK: - Matrix-vector products (one token of generation)

    /// y[out] (+)= x[in] · W[in,out] (+ bias[out]). W is read once, as stored (rows of `outputs` floats).
    public static func vectorTimesMatrix(y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                                         w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                         inputs: Int, outputs: Int, accumulate: Bool = false,
                                         pool: ThreadPool = .shared) {
        multiply(m: 1, n: outputs, k: inputs, a: x, lda: inputs, b: w, ldb: outputs,
                 c: y, ldc: outputs, bias: bias, accumulate: accumulate, pool: pool)
    }

    /// y[out] (+)= W[out,in] · x[in] (+ bias[out]), W stored [out, in] (the tied LM head: logits = wte · x).
    public static func matrixTimesVector(y: UnsafeMutablePointer<Float>, w: UnsafePointer<Float>,
                                         x: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                                         outputs: Int, inputs: Int, accumulate: Bool = false,
                                         pool: ThreadPool = .shared) {
        multiply(m: 1, n: outputs, k: inputs, a: x, lda: inputs, b: w, ldb: inputs, transposeB: true,
                 c: y, ldc: outputs, bias: bias, accumulate: accumulate, pool: pool)
    }
}
