/// The register-blocked product behind every attention matmul: an 8 x 32 (or 8 x 16) output tile
///   C[r, 0..<32] = sum_{k in kRange} A(r, k) * B[k, 0..<32]        r in 0..<8
/// with A(r, k) = a[r * rowStride + k * kStride] (so it reads A either row-wise, kStride = 1, or transposed,
/// rowStride = 1) and B rows of stride ldb. 16 SIMD16 accumulators stay in registers over the k loop; each step
/// loads two vectors of B and broadcasts eight scalars of A into fused multiply-adds. C is overwritten.
enum AttentionTile {
    @inline(__always)
    static func rows8x32(a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                         b: UnsafePointer<Float>, ldb: Int, kRange: Range<Int>,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c00 = Vector16(), c01 = Vector16(), c10 = Vector16(), c11 = Vector16()
        var c20 = Vector16(), c21 = Vector16(), c30 = Vector16(), c31 = Vector16()
        var c40 = Vector16(), c41 = Vector16(), c50 = Vector16(), c51 = Vector16()
        var c60 = Vector16(), c61 = Vector16(), c70 = Vector16(), c71 = Vector16()
        let rs = rowStride
        var pa = a + kRange.lowerBound * kStride
        var pb = b + kRange.lowerBound * ldb
        for _ in kRange {
            let b0 = LayerVector.load(pb), b1 = LayerVector.load(pb + 16)
            let a0 = pa[0], a1 = pa[rs], a2 = pa[2 * rs], a3 = pa[3 * rs]
            c00 = c00.addingProduct(a0, b0); c01 = c01.addingProduct(a0, b1)
            c10 = c10.addingProduct(a1, b0); c11 = c11.addingProduct(a1, b1)
            c20 = c20.addingProduct(a2, b0); c21 = c21.addingProduct(a2, b1)
            c30 = c30.addingProduct(a3, b0); c31 = c31.addingProduct(a3, b1)
            let a4 = pa[4 * rs], a5 = pa[5 * rs], a6 = pa[6 * rs], a7 = pa[7 * rs]
            c40 = c40.addingProduct(a4, b0); c41 = c41.addingProduct(a4, b1)
            c50 = c50.addingProduct(a5, b0); c51 = c51.addingProduct(a5, b1)
            c60 = c60.addingProduct(a6, b0); c61 = c61.addingProduct(a6, b1)
            c70 = c70.addingProduct(a7, b0); c71 = c71.addingProduct(a7, b1)
            pa += kStride
            pb += ldb
        }
        LayerVector.store(c00, c); LayerVector.store(c01, c + 16)
        LayerVector.store(c10, c + ldc); LayerVector.store(c11, c + ldc + 16)
        LayerVector.store(c20, c + 2 * ldc); LayerVector.store(c21, c + 2 * ldc + 16)
        LayerVector.store(c30, c + 3 * ldc); LayerVector.store(c31, c + 3 * ldc + 16)
        LayerVector.store(c40, c + 4 * ldc); LayerVector.store(c41, c + 4 * ldc + 16)
        LayerVector.store(c50, c + 5 * ldc); LayerVector.store(c51, c + 5 * ldc + 16)
        LayerVector.store(c60, c + 6 * ldc); LayerVector.store(c61, c + 6 * ldc + 16)
        LayerVector.store(c70, c + 7 * ldc); LayerVector.store(c71, c + 7 * ldc + 16)
    }

    /// The same for a 16-column tile (the last, half-width column block of a causal row tile).
    @inline(__always)
    static func rows8x16(a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                         b: UnsafePointer<Float>, ldb: Int, kRange: Range<Int>,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c0 = Vector16(), c1 = Vector16(), c2 = Vector16(), c3 = Vector16()
        var c4 = Vector16(), c5 = Vector16(), c6 = Vector16(), c7 = Vector16()
        let rs = rowStride
        var pa = a + kRange.lowerBound * kStride
        var pb = b + kRange.lowerBound * ldb
        for _ in kRange {
            let b0 = LayerVector.load(pb)
            c0 = c0.addingProduct(pa[0], b0); c1 = c1.addingProduct(pa[rs], b0)
            c2 = c2.addingProduct(pa[2 * rs], b0); c3 = c3.addingProduct(pa[3 * rs], b0)
            c4 = c4.addingProduct(pa[4 * rs], b0); c5 = c5.addingProduct(pa[5 * rs], b0)
            c6 = c6.addingProduct(pa[6 * rs], b0); c7 = c7.addingProduct(pa[7 * rs], b0)
            pa += kStride
            pb += ldb
        }
        LayerVector.store(c0, c); LayerVector.store(c1, c + ldc)
        LayerVector.store(c2, c + 2 * ldc); LayerVector.store(c3, c + 3 * ldc)
        LayerVector.store(c4, c + 4 * ldc); LayerVector.store(c5, c + 5 * ldc)
        LayerVector.store(c6, c + 6 * ldc); LayerVector.store(c7, c + 7 * ldc)
    }

    /// C[8, columns] over `columns` (a multiple of 16) in 32- and 16-wide tiles.
    @inline(__always)
    static func rows8(a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                      b: UnsafePointer<Float>, ldb: Int, kRange: Range<Int>,
                      c: UnsafeMutablePointer<Float>, ldc: Int, columns: Int) {
        var col = 0
        while col + 32 <= columns {
            rows8x32(a: a, rowStride: rowStride, kStride: kStride, b: b + col, ldb: ldb, kRange: kRange,
                     c: c + col, ldc: ldc)
            col += 32
        }
        if col < columns {
            rows8x16(a: a, rowStride: rowStride, kStride: kStride, b: b + col, ldb: ldb, kRange: kRange,
                     c: c + col, ldc: ldc)
        }
    }
}
