/// GEMM with very few rows of C (M <= 4: matrix-vector products such as the prefill's LM head on the last
/// position; decoding steps use `PanelProduct` instead): B is streamed once, straight from its storage, with
/// no packing. These products are bound by
/// the bandwidth of reading B, so the kernels keep enough independent accumulators to stay ahead of memory
/// and split the columns of C over the threads.
enum GEMMSmall {
    /// Largest M that takes this path.
    static let maxRows = 4

    /// C[m, n] (=|+=) op(A)[m, k] · B[k, n] (+ bias), B stored [k, n] (not transposed).
    /// op(A)[i, p] = a[i * aRowStride + p * aStepStride].
    ///
    /// Each thread owns a range of columns and walks down the rows of B through it, four rows a pass:
    /// c_i[cols] += a_i[p] B[p, cols] + ... + a_i[p+3] B[p+3, cols]. Every row of B is read as long contiguous
    /// segments (up to 8 KiB, which the hardware prefetchers follow), and the rows of C being summed (at most
    /// 4 x 8 KiB) stay in cache.
    static func timesMatrix(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRowStride: Int, aStepStride: Int,
                            b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                            bias: UnsafePointer<Float>?, accumulate: Bool, pool: ThreadPool) {
        let groups = ceilDiv(n, 16)   // columns are handed out 16 at a time
        pool.parallelFor(groups, minimumChunk: max(1, 2048 / k)) { range in
            let end = min(n, range.upperBound * 16)
            var j0 = range.lowerBound * 16
            while j0 < end {
                let width = min(2048, end - j0)
                for i in 0..<m {
                    let row = c + i * ldc + j0
                    for j in 0..<width {
                        let start: Float = bias?[j0 + j] ?? 0
                        row[j] = accumulate ? row[j] + start : start
                    }
                }
                var p = 0
                while p + 4 <= k {
                    let b0 = b + p * ldb + j0
                    for i in 0..<m {
                        let ai = a + i * aRowStride + p * aStepStride
                        addFourScaledRows(c + i * ldc + j0, count: width,
                                          ai[0], b0, ai[aStepStride], b0 + ldb,
                                          ai[2 * aStepStride], b0 + 2 * ldb, ai[3 * aStepStride], b0 + 3 * ldb)
                    }
                    p += 4
                }
                while p < k {
                    let bp = b + p * ldb + j0
                    for i in 0..<m {
                        let x = a[i * aRowStride + p * aStepStride]
                        let row = c + i * ldc + j0
                        for j in 0..<width { row[j] += x * bp[j] }
                    }
                    p += 1
                }
                j0 += width
            }
        }
    }

    /// y[0..<count] += x0 r0 + x1 r1 + x2 r2 + x3 r3 (rows r of B), SIMD16 steps then single floats.
    @inline(__always)
    static func addFourScaledRows(_ y: UnsafeMutablePointer<Float>, count: Int,
                                  _ x0: Float, _ r0: UnsafePointer<Float>, _ x1: Float, _ r1: UnsafePointer<Float>,
                                  _ x2: Float, _ r2: UnsafePointer<Float>, _ x3: Float, _ r3: UnsafePointer<Float>) {
        let v0 = SIMD16<Float>(repeating: x0), v1 = SIMD16<Float>(repeating: x1)
        let v2 = SIMD16<Float>(repeating: x2), v3 = SIMD16<Float>(repeating: x3)
        let out = UnsafeMutableRawPointer(y)
        let p0 = UnsafeRawPointer(r0), p1 = UnsafeRawPointer(r1), p2 = UnsafeRawPointer(r2), p3 = UnsafeRawPointer(r3)
        var j = 0
        while j + 16 <= count {
            let o = j * 4
            var s = out.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self)
            s = s.addingProduct(v0, p0.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            s = s.addingProduct(v1, p1.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            s = s.addingProduct(v2, p2.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            s = s.addingProduct(v3, p3.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            out.storeBytes(of: s, toByteOffset: o, as: SIMD16<Float>.self)
            j += 16
        }
        while j < count {
            y[j] += x0 * r0[j] + x1 * r1[j] + x2 * r2[j] + x3 * r3[j]
            j += 1
        }
    }

    /// C[m, n] (=|+=) A[m, k] · op(B) (+ bias) with B stored [n, k] (transposed): each element of C is a dot
    /// product of a row of A (contiguous) with a row of B (contiguous).
    static func timesTransposedMatrix(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                      b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                      bias: UnsafePointer<Float>?, accumulate: Bool, pool: ThreadPool) {
        pool.parallelFor(n, minimumChunk: max(1, 16_384 / max(1, k)), chunksPerThread: 4) { range in
            for j in range {
                let bRow = b + j * ldb
                for i in 0..<m {
                    var s = dot(a + i * lda, bRow, count: k)
                    if let bias { s += bias[j] }
                    let out = c + i * ldc + j
                    out.pointee = accumulate ? out.pointee + s : s
                }
            }
        }
    }

    /// sum_p x[p] * y[p] with four SIMD16 accumulators (64 floats a step), then the remainder.
    @inline(__always)
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
        var p = 0
        while p + 64 <= count {
            let o = p * 4
            s0 = s0.addingProduct(rx.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self),
                                  ry.loadUnaligned(fromByteOffset: o, as: SIMD16<Float>.self))
            s1 = s1.addingProduct(rx.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self),
                                  ry.loadUnaligned(fromByteOffset: o + 64, as: SIMD16<Float>.self))
            s2 = s2.addingProduct(rx.loadUnaligned(fromByteOffset: o + 128, as: SIMD16<Float>.self),
                                  ry.loadUnaligned(fromByteOffset: o + 128, as: SIMD16<Float>.self))
            s3 = s3.addingProduct(rx.loadUnaligned(fromByteOffset: o + 192, as: SIMD16<Float>.self),
                                  ry.loadUnaligned(fromByteOffset: o + 192, as: SIMD16<Float>.self))
            p += 64
        }
        while p + 16 <= count {
            s0 = s0.addingProduct(rx.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self),
                                  ry.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self))
            p += 16
        }
        var s = ((s0 + s1) + (s2 + s3)).sum()
        while p < count { s += x[p] * y[p]; p += 1 }
        return s
    }
}
