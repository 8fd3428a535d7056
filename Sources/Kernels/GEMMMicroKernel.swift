/// The register-blocked micro-kernel of the GEMM: one MR x NR tile of C from a packed A micro-panel and a
/// packed B micro-panel.
///
///   packed A panel: kc steps of MR floats   (a[p*MR + i] = op(A)[i, p])
///   packed B panel: kc steps of NR floats   (b[p*NR + j] = op(B)[p, j])
///   C tile [MR, NR] with row stride ldc:  C (= | +=) sum_p a[p, :]^T b[p, :]  (+ bias[j])
///
/// 6 x 32 floats of C live in 12 `SIMD16<Float>` accumulators; each step loads two unaligned `SIMD16` of B,
/// broadcasts 6 floats of A and issues 12 fused multiply-adds. Written this way (accumulators in locals,
/// `addingProduct`, loads through `loadUnaligned`, C stored once at the end), `-target-cpu native` compiles the
/// loop to 512-bit code: `objdump` of the release `bench` binary shows the k loop as 12
/// `vfmadd231ps` on zmm registers with embedded `{1to16}` broadcasts of A, and no ymm FMA in this kernel
/// (see BENCHMARKS.md, "GEMM", for the command and the count).
enum GEMMMicroKernel {
    static let mr = 6
    static let nr = 16

    /// Full-tile kernel. `loadC`: add the existing C tile; `bias`: NR floats added to every row (or nil).
    @inline(never)
    static func tile(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?) {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>()
        var c3 = SIMD16<Float>(), c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let bv = pb.loadUnaligned(as: SIMD16<Float>.self)
            c0 = c0.addingProduct(SIMD16<Float>(repeating: pa[0]), bv)
            c1 = c1.addingProduct(SIMD16<Float>(repeating: pa[1]), bv)
            c2 = c2.addingProduct(SIMD16<Float>(repeating: pa[2]), bv)
            c3 = c3.addingProduct(SIMD16<Float>(repeating: pa[3]), bv)
            c4 = c4.addingProduct(SIMD16<Float>(repeating: pa[4]), bv)
            c5 = c5.addingProduct(SIMD16<Float>(repeating: pa[5]), bv)
            pa += 6
            pb += 64
        }
        if let bias {
            let v = UnsafeRawPointer(bias).loadUnaligned(as: SIMD16<Float>.self)
            c0 += v; c1 += v; c2 += v; c3 += v; c4 += v; c5 += v
        }
        let out = UnsafeMutableRawPointer(c)
        let rowBytes = ldc * 4
        @inline(__always) func put(_ row: Int, _ v: SIMD16<Float>) {
            let p = out + row * rowBytes
            p.storeBytes(of: loadC ? v + p.loadUnaligned(as: SIMD16<Float>.self) : v, as: SIMD16<Float>.self)
        }
        put(0, c0); put(1, c1); put(2, c2); put(3, c3); put(4, c4); put(5, c5)
    }

    /// A partial tile (rows < MR or columns < NR at the edges of C): the full tile is computed into `scratch`
    /// (MR x NR floats; the packed panels are zero-padded) and only its valid part is written to C.
    static func edgeTile(kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                         c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int,
                         loadC: Bool, bias: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Float>) {
        tile(kc: kc, a: a, b: b, c: scratch, ldc: nr, loadC: false, bias: nil)
        for i in 0..<rows {
            let src = scratch + i * nr
            let dst = c + i * ldc
            for j in 0..<columns {
                var v = src[j]
                if let bias { v += bias[j] }
                dst[j] = loadC ? dst[j] + v : v
            }
        }
    }
}
