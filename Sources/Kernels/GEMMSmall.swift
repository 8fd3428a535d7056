/// GEMM with very few rows of C (the matrix-vector products of generation, a few sequences decoded
/// together): B is streamed once, straight from its storage, with no packing. These products are bound by
/// the bandwidth of reading B, so the kernels keep enough independent accumulators to stay ahead of memory
/// and split the columns of C over the threads.
enum GEMMSmall {
    /// Largest M that takes this path.
    static let maxRows = 4

    /// C[m, n] (=|+=) op(A)[m, k] · B[k, n] (+ bias), B stored [k, n] (not transposed).
    /// op(A)[i, p] = a[i * aRowStride + p * aStepStride].
    static func timesMatrix(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRowStride: Int, aStepStride: Int,
                            b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                            bias: UnsafePointer<Float>?, accumulate: Bool, pool: ThreadPool) {
        // Column chunks of 128 floats: 512 contiguous bytes of each row of B per step.
        let tiles = ceilDiv(n, 128)
        pool.parallelFor(tiles, minimumChunk: max(1, 16_384 / max(1, k))) { range in
            for tile in range {
                let j0 = tile * 128
                let width = min(128, n - j0)
                for i in 0..<m {
                    let aRow = a + i * aRowStride
                    let cRow = c + i * ldc + j0
                    if width == 128 {
                        columns128(k: k, a: aRow, aStride: aStepStride, b: b + j0, ldb: ldb, c: cRow,
                                   bias: bias.map { $0 + j0 }, accumulate: accumulate)
                    } else {
                        columnsAny(width: width, k: k, a: aRow, aStride: aStepStride, b: b + j0, ldb: ldb,
                                   c: cRow, bias: bias.map { $0 + j0 }, accumulate: accumulate)
                    }
                }
            }
        }
    }

    /// c[0..<128] (=|+=) sum_p a[p*aStride] * b[p*ldb + 0..<128] (+ bias): 8 SIMD16 accumulators.
    @inline(never)
    static func columns128(k: Int, a: UnsafePointer<Float>, aStride: Int, b: UnsafePointer<Float>, ldb: Int,
                           c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool) {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        var s4 = SIMD16<Float>(), s5 = SIMD16<Float>(), s6 = SIMD16<Float>(), s7 = SIMD16<Float>()
        var row = UnsafeRawPointer(b)
        var pa = a
        let rowBytes = ldb * 4
        for _ in 0..<k {
            let x = SIMD16<Float>(repeating: pa.pointee)
            s0 = s0.addingProduct(x, row.loadUnaligned(fromByteOffset: 0, as: SIMD16<Float>.self))
            s1 = s1.addingProduct(x, row.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self))
            s2 = s2.addingProduct(x, row.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self))
            s3 = s3.addingProduct(x, row.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self))
            s4 = s4.addingProduct(x, row.loadUnaligned(fromByteOffset: 256, as: SIMD16<Float>.self))
            s5 = s5.addingProduct(x, row.loadUnaligned(fromByteOffset: 320, as: SIMD16<Float>.self))
            s6 = s6.addingProduct(x, row.loadUnaligned(fromByteOffset: 384, as: SIMD16<Float>.self))
            s7 = s7.addingProduct(x, row.loadUnaligned(fromByteOffset: 448, as: SIMD16<Float>.self))
            row += rowBytes
            pa += aStride
        }
        let out = UnsafeMutableRawPointer(c)
        @inline(__always) func put(_ v: Int, _ sum: SIMD16<Float>) {
            var s = sum
            if let bias { s += UnsafeRawPointer(bias).loadUnaligned(fromByteOffset: v * 64, as: SIMD16<Float>.self) }
            if accumulate { s += out.loadUnaligned(fromByteOffset: v * 64, as: SIMD16<Float>.self) }
            out.storeBytes(of: s, toByteOffset: v * 64, as: SIMD16<Float>.self)
        }
        put(0, s0); put(1, s1); put(2, s2); put(3, s3); put(4, s4); put(5, s5); put(6, s6); put(7, s7)
    }

    /// The same for fewer than 128 columns (the last tile): SIMD16 steps, then single floats.
    static func columnsAny(width: Int, k: Int, a: UnsafePointer<Float>, aStride: Int, b: UnsafePointer<Float>,
                           ldb: Int, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool) {
        var j = 0
        while j + 16 <= width {
            var s = SIMD16<Float>()
            var row = UnsafeRawPointer(b + j)
            var pa = a
            for _ in 0..<k {
                s = s.addingProduct(SIMD16<Float>(repeating: pa.pointee), row.loadUnaligned(as: SIMD16<Float>.self))
                row += ldb * 4
                pa += aStride
            }
            let out = UnsafeMutableRawPointer(c + j)
            if let bias { s += UnsafeRawPointer(bias + j).loadUnaligned(as: SIMD16<Float>.self) }
            if accumulate { s += out.loadUnaligned(as: SIMD16<Float>.self) }
            out.storeBytes(of: s, as: SIMD16<Float>.self)
            j += 16
        }
        while j < width {
            var s: Float = 0
            for p in 0..<k { s += a[p * aStride] * b[p * ldb + j] }
            if let bias { s += bias[j] }
            c[j] = accumulate ? c[j] + s : s
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
