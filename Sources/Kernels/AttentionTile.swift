/// The register-blocked product behind every attention matmul: a 6 x 16 output tile
///   C[r, 0..<16] = sum_{k in kRange} A(r, k) * B[k, 0..<16]        r in 0..<6
/// with A(r, k) = a[r * rowStride + k * kStride]: A read row-wise (kStride = 1) or transposed (rowStride = 1)
/// and B rows of stride ldb. C is overwritten.
///
/// Sized to fit AVX2's 16 ymm registers: the six SIMD16 accumulators are twelve ymm registers, each k step loads
/// one SIMD16 of B (two ymm) and broadcasts six scalars of A into twelve FMAs, without spilling. With AVX-512
/// (this Zen 4) the same code uses six zmm accumulators: six independent FMA chains, more than the four that
/// cover the FMA latency at one zmm FMA a cycle.
enum AttentionTile {
    static let rows = 6

    /// Not inlined: inside the large head functions LLVM ran out of registers and reloaded the row stride from
    /// the stack for every broadcast; on its own the loop keeps everything in registers.
    @inline(never)
    static func rows6x16(a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                         b: UnsafePointer<Float>, ldb: Int, kRange: Range<Int>,
                         c: UnsafeMutablePointer<Float>, ldc: Int) {
        var c0 = Vector16(), c1 = Vector16(), c2 = Vector16()
        var c3 = Vector16(), c4 = Vector16(), c5 = Vector16()
        var pb = b + kRange.lowerBound * ldb
        if kStride == 1 {
            // A row-wise: two pointers (rows 0 and 3) walking along k; rows 1, 2 and 4, 5 are at +rs and +2 rs,
            // which x86 addresses as base + index * 4 or * 8. (Six row pointers indexed by k made LLVM chain the
            // six addresses through dependent `lea`s each step.)
            let rs = rowStride
            var p = a + kRange.lowerBound, q = a + 3 * rs + kRange.lowerBound
            for _ in kRange {
                let bv = LayerVector.load(pb)
                c0 = c0.addingProduct(Vector16(repeating: p[0]), bv)
                c1 = c1.addingProduct(Vector16(repeating: p[rs]), bv)
                c2 = c2.addingProduct(Vector16(repeating: p[2 * rs]), bv)
                c3 = c3.addingProduct(Vector16(repeating: q[0]), bv)
                c4 = c4.addingProduct(Vector16(repeating: q[rs]), bv)
                c5 = c5.addingProduct(Vector16(repeating: q[2 * rs]), bv)
                p += 1; q += 1
                pb += ldb
            }
        } else {
            // A transposed (rowStride 1): the six scalars of step k are contiguous.
            precondition(rowStride == 1)
            var pa = a + kRange.lowerBound * kStride
            for _ in kRange {
                let bv = LayerVector.load(pb)
                c0 = c0.addingProduct(Vector16(repeating: pa[0]), bv)
                c1 = c1.addingProduct(Vector16(repeating: pa[1]), bv)
                c2 = c2.addingProduct(Vector16(repeating: pa[2]), bv)
                c3 = c3.addingProduct(Vector16(repeating: pa[3]), bv)
                c4 = c4.addingProduct(Vector16(repeating: pa[4]), bv)
                c5 = c5.addingProduct(Vector16(repeating: pa[5]), bv)
                pa += kStride
                pb += ldb
            }
        }
        LayerVector.store(c0, c); LayerVector.store(c1, c + ldc)
        LayerVector.store(c2, c + 2 * ldc); LayerVector.store(c3, c + 3 * ldc)
        LayerVector.store(c4, c + 4 * ldc); LayerVector.store(c5, c + 5 * ldc)
    }

    /// C[6, columns] over `columns` (a multiple of 16), one 16-column tile at a time.
    @inline(__always)
    static func rows6(a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                      b: UnsafePointer<Float>, ldb: Int, kRange: Range<Int>,
                      c: UnsafeMutablePointer<Float>, ldc: Int, columns: Int) {
        var col = 0
        while col < columns {
            rows6x16(a: a, rowStride: rowStride, kStride: kStride, b: b + col, ldb: ldb, kRange: kRange,
                     c: c + col, ldc: ldc)
            col += 16
        }
    }
}
