import CIntrinsics
import Glibc

/// The register-blocked micro-kernels of the GEMM: one MR x NR tile of C from an MR x kc block of A and a
/// packed B micro-panel.
///
///   A block (`PanelLayout`): a packed panel, kc steps of MR floats (a[p*MR + i] = op(A)[i, p]), or MR rows
///            of a row-major op(A) read where they are (a[i*lda + p] = op(A)[i, p])
///   packed B panel: kc steps of NR floats   (b[p*NR + j] = op(B)[p, j])
///   C tile [MR, NR] with row stride ldc:  C (= | +=) sum_p A[:, p] b[p, :]  (+ bias[j])
///
/// When adding to C: `tile6x32` accumulates from zero, prefetches the C tile before the k loop and adds it at
/// the end. (Starting the accumulators from C held every FMA chain until C arrived from L3 or memory; on the
/// Intel Xeon of session 10, 2048x1536x384 on one thread gained 8-11%.) `tile6x16`, measured on an AVX2 machine
/// that is no longer available, still starts from the C tile loaded before the loop. Each tile is stored once.
/// Both kernels keep 12 vector accumulators, enough independent FMA chains to cover the FMA latency on two
/// pipes, and fill the register file without spilling:
/// - 6 x 32 (`tile6x32`) for CPUs with AVX-512: 12 `SIMD16` accumulators in zmm registers (32 of them);
///   each step loads two `SIMD16` of B, broadcasts 6 floats of A and issues 12 zmm FMAs.
/// - 6 x 16 (`tile6x16`) for AVX2 CPUs (16 ymm registers): 6 `SIMD16` accumulators that LLVM splits into 12
///   ymm registers; each step loads one `SIMD16` of B (two ymm), broadcasts 6 floats of A, 12 ymm FMAs.
/// - The last 1 to 4 rows of an M that is not a multiple of six, with NR = 32: `tile2x32` and `tile4x32` (4 and 8
///   accumulators), written straight to C (`shortTile32`). Other partial tiles run the full kernel into a
///   scratch tile (`edgeTile`).
/// Machine code (BENCHMARKS.md, "GEMM", has the command): built for an AVX2-only CPU, tile6x16's loop is 24
/// `vfmadd231ps` on ymm (unrolled twice), no stack spills; built for AVX-512 (the Zen 4 of session 9, the Intel
/// Xeon of session 10), tile6x32 has 36 `vfmadd231ps` on zmm, none on ymm, no spills (session 14: in both of its
/// specialisations, for `PackedWalk` and `RowsWalk`); tile4x32 and tile2x32 (session 23, Zen 4): 40 and 36 zmm
/// FMAs (unrolled), no spills. (Zen 4 runs a zmm FMA as two 256-bit halves, 32 flops a cycle; the
/// Xeon has two full 512-bit FMA pipes, 64.)
enum GEMMMicroKernel {
    static let mr = 6
    static let maxNR = 32

    /// Whether this CPU executes AVX-512 (Linux: the `avx512f` flag of /proc/cpuinfo).
    static let cpuHasAVX512: Bool = {
        guard let file = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            if text.hasPrefix("flags") { return text.contains(" avx512f") }
        }
        return false
    }()

    /// Columns of the micro-tile on this CPU: 32 with AVX-512, else 16. (The tests run both widths through
    /// `GEMM.multiply(..., tileColumns:)`.)
    static let nr: Int = cpuHasAVX512 ? 32 : 16

    /// Full tile with `nr` (16 or 32) columns. `loadC`: add the existing C tile; `bias`: nr floats or nil.
    @inline(__always)
    static func tile(nr: Int, kc: Int, a: UnsafePointer<Float>, layout: PanelLayout, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?) {
        switch (nr, layout.inPlace) {
        case (32, false): tile6x32(kc: kc, a: PackedWalk(a), b: b, c: c, ldc: ldc, loadC: loadC, bias: bias)
        case (32, true): tile6x32(kc: kc, a: RowsWalk(a, lda: layout.rowStride), b: b, c: c, ldc: ldc, loadC: loadC, bias: bias)
        case (_, false): tile6x16(kc: kc, a: PackedWalk(a), b: b, c: c, ldc: ldc, loadC: loadC, bias: bias)
        case (_, true): tile6x16(kc: kc, a: RowsWalk(a, lda: layout.rowStride), b: b, c: c, ldc: ldc, loadC: loadC, bias: bias)
        }
    }

    // Each kernel is generic over the layout of A (`PanelWalk`), so the compiler emits one specialised copy for
    // packed panels and one for rows read in place: with the row stride a run-time value in a single copy, the
    // packed panels' loads went through an index register and the products over them ran 3-5% slower.

    @inline(never)
    static func tile6x16<A: PanelWalk>(kc: Int, a: A, b: UnsafePointer<Float>,
                                       c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?) {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>()
        var c3 = SIMD16<Float>(), c4 = SIMD16<Float>(), c5 = SIMD16<Float>()
        let out = UnsafeMutableRawPointer(c)
        let rowBytes = ldc * 4
        if loadC {
            c0 = out.loadUnaligned(as: SIMD16<Float>.self)
            c1 = (out + rowBytes).loadUnaligned(as: SIMD16<Float>.self)
            c2 = (out + 2 * rowBytes).loadUnaligned(as: SIMD16<Float>.self)
            c3 = (out + 3 * rowBytes).loadUnaligned(as: SIMD16<Float>.self)
            c4 = (out + 4 * rowBytes).loadUnaligned(as: SIMD16<Float>.self)
            c5 = (out + 5 * rowBytes).loadUnaligned(as: SIMD16<Float>.self)
        }
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let bv = pb.loadUnaligned(as: SIMD16<Float>.self)
            c0 = c0.addingProduct(SIMD16<Float>(repeating: pa.row0), bv)
            c1 = c1.addingProduct(SIMD16<Float>(repeating: pa.row1), bv)
            c2 = c2.addingProduct(SIMD16<Float>(repeating: pa.row2), bv)
            c3 = c3.addingProduct(SIMD16<Float>(repeating: pa.row3), bv)
            c4 = c4.addingProduct(SIMD16<Float>(repeating: pa.row4), bv)
            c5 = c5.addingProduct(SIMD16<Float>(repeating: pa.row5), bv)
            pa.step()
            pb += 64
        }
        if let bias {
            let v = UnsafeRawPointer(bias).loadUnaligned(as: SIMD16<Float>.self)
            c0 += v; c1 += v; c2 += v; c3 += v; c4 += v; c5 += v
        }
        @inline(__always) func put(_ row: Int, _ v: SIMD16<Float>) {
            (out + row * rowBytes).storeBytes(of: v, as: SIMD16<Float>.self)
        }
        put(0, c0); put(1, c1); put(2, c2); put(3, c3); put(4, c4); put(5, c5)
    }

    @inline(never)
    static func tile6x32<A: PanelWalk>(kc: Int, a: A, b: UnsafePointer<Float>,
                                       c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
        var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
        var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
        var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
        let out = UnsafeMutableRawPointer(c)
        let rowBytes = ldc * 4
        // The C tile is fetched while the k loop runs and added at the end: accumulators that started from C
        // would hold every FMA chain until C arrived (from L3 or memory in a large product).
        for row in 0..<6 {
            swiftlet_prefetch(out + row * rowBytes)
            swiftlet_prefetch(out + row * rowBytes + 64)
        }
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: SIMD16<Float>.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let a0 = SIMD16<Float>(repeating: pa.row0)
            c00 = c00.addingProduct(a0, b0); c01 = c01.addingProduct(a0, b1)
            let a1 = SIMD16<Float>(repeating: pa.row1)
            c10 = c10.addingProduct(a1, b0); c11 = c11.addingProduct(a1, b1)
            let a2 = SIMD16<Float>(repeating: pa.row2)
            c20 = c20.addingProduct(a2, b0); c21 = c21.addingProduct(a2, b1)
            let a3 = SIMD16<Float>(repeating: pa.row3)
            c30 = c30.addingProduct(a3, b0); c31 = c31.addingProduct(a3, b1)
            let a4 = SIMD16<Float>(repeating: pa.row4)
            c40 = c40.addingProduct(a4, b0); c41 = c41.addingProduct(a4, b1)
            let a5 = SIMD16<Float>(repeating: pa.row5)
            c50 = c50.addingProduct(a5, b0); c51 = c51.addingProduct(a5, b1)
            pa.step()
            pb += 128
        }
        let bias32 = Bias32(bias)
        bias32.put(out, c00, c01, loadC: loadC); bias32.put(out + rowBytes, c10, c11, loadC: loadC)
        bias32.put(out + 2 * rowBytes, c20, c21, loadC: loadC); bias32.put(out + 3 * rowBytes, c30, c31, loadC: loadC)
        bias32.put(out + 4 * rowBytes, c40, c41, loadC: loadC); bias32.put(out + 5 * rowBytes, c50, c51, loadC: loadC)
    }

    /// The last 1 to 4 rows of an M that is not a multiple of six, across all NR = 32 columns, written straight
    /// to C: `rows` rows of a packed, zero-padded A panel (MR floats a step). The 6 x 32 kernel would compute six
    /// rows for them, into a scratch tile then copied: with M = 128 (the weight gradients of a 128-wide layer)
    /// that was 4 wasted rows in every 132. Each element sums its products in the same order as `tile6x32`, so
    /// the bits are the same.
    static func shortTile32(rows: Int, kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?) {
        if rows <= 2 {
            tile2x32(rows: rows, kc: kc, a: a, b: b, c: c, ldc: ldc, loadC: loadC, bias: bias)
        } else {
            tile4x32(rows: rows, kc: kc, a: a, b: b, c: c, ldc: ldc, loadC: loadC, bias: bias)
        }
    }

    /// Rows 0 ..< `rows` (3 or 4) of a 4 x 32 tile: 8 accumulators.
    @inline(never)
    static func tile4x32(rows: Int, kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                         c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var c20 = SIMD16<Float>(), c21 = SIMD16<Float>(), c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: SIMD16<Float>.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let a0 = SIMD16<Float>(repeating: pa[0])
            c00 = c00.addingProduct(a0, b0); c01 = c01.addingProduct(a0, b1)
            let a1 = SIMD16<Float>(repeating: pa[1])
            c10 = c10.addingProduct(a1, b0); c11 = c11.addingProduct(a1, b1)
            let a2 = SIMD16<Float>(repeating: pa[2])
            c20 = c20.addingProduct(a2, b0); c21 = c21.addingProduct(a2, b1)
            let a3 = SIMD16<Float>(repeating: pa[3])
            c30 = c30.addingProduct(a3, b0); c31 = c31.addingProduct(a3, b1)
            pa += mr
            pb += 128
        }
        let out = UnsafeMutableRawPointer(c), rowBytes = ldc * 4, bias32 = Bias32(bias)
        bias32.put(out, c00, c01, loadC: loadC); bias32.put(out + rowBytes, c10, c11, loadC: loadC)
        bias32.put(out + 2 * rowBytes, c20, c21, loadC: loadC)
        if rows > 3 { bias32.put(out + 3 * rowBytes, c30, c31, loadC: loadC) }
    }

    /// Rows 0 ..< `rows` (1 or 2) of a 2 x 32 tile: 4 accumulators.
    @inline(never)
    static func tile2x32(rows: Int, kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                         c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?) {
        var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: SIMD16<Float>.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            let a0 = SIMD16<Float>(repeating: pa[0])
            c00 = c00.addingProduct(a0, b0); c01 = c01.addingProduct(a0, b1)
            let a1 = SIMD16<Float>(repeating: pa[1])
            c10 = c10.addingProduct(a1, b0); c11 = c11.addingProduct(a1, b1)
            pa += mr
            pb += 128
        }
        let out = UnsafeMutableRawPointer(c), bias32 = Bias32(bias)
        bias32.put(out, c00, c01, loadC: loadC)
        if rows > 1 { bias32.put(out + ldc * 4, c10, c11, loadC: loadC) }
    }

    /// A partial tile (rows < MR or columns < NR at the edges of C): the full tile is computed into `scratch`
    /// (MR x NR floats; the B panel is zero-padded, and so is A's when it has fewer than MR rows) and only its
    /// valid part is written to C.
    static func edgeTile(nr: Int, kc: Int, a: UnsafePointer<Float>, layout: PanelLayout, b: UnsafePointer<Float>,
                         c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, columns: Int,
                         loadC: Bool, bias: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Float>) {
        tile(nr: nr, kc: kc, a: a, layout: layout, b: b, c: scratch, ldc: nr, loadC: false, bias: nil)
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

/// The end of a 32-column tile row: the sums plus the bias (when there is one), stored, or added to C (`loadC`).
struct Bias32 {
    let v0: SIMD16<Float>?
    let v1: SIMD16<Float>?
    @inline(__always) init(_ bias: UnsafePointer<Float>?) {
        let raw = bias.map(UnsafeRawPointer.init)
        v0 = raw?.loadUnaligned(as: SIMD16<Float>.self)
        v1 = raw?.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
    }

    @inline(__always)
    func put(_ p: UnsafeMutableRawPointer, _ s0: SIMD16<Float>, _ s1: SIMD16<Float>, loadC: Bool) {
        var s0 = s0, s1 = s1
        if let v0, let v1 { s0 += v0; s1 += v1 }
        if loadC {
            p.storeBytes(of: p.loadUnaligned(as: SIMD16<Float>.self) + s0, as: SIMD16<Float>.self)
            p.storeBytes(of: p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) + s1,
                         toByteOffset: 64, as: SIMD16<Float>.self)
        } else {
            p.storeBytes(of: s0, as: SIMD16<Float>.self)
            p.storeBytes(of: s1, toByteOffset: 64, as: SIMD16<Float>.self)
        }
    }
}

/// How a macro-kernel's A blocks are laid out: packed panels (`GEMMPacking.packA`), or the rows of a row-major
/// op(A) read in place (`rowStride` = lda). The block of rows i*MR ..< i*MR + MR starts i * panelStride
/// floats on.
struct PanelLayout {
    let rowStride: Int
    let panelStride: Int
    /// Rows read in place: a last block of fewer than MR rows must be packed first (the kernel reads MR rows).
    let inPlace: Bool

    /// Panels packed by `GEMMPacking.packA`: kc steps of MR floats each.
    static func packed(kc: Int) -> PanelLayout {
        PanelLayout(rowStride: 1, panelStride: kc * GEMMMicroKernel.mr, inPlace: false)
    }

    /// The rows of a row-major op(A), `lda` floats apart.
    static func rows(lda: Int) -> PanelLayout {
        PanelLayout(rowStride: lda, panelStride: GEMMMicroKernel.mr * lda, inPlace: true)
    }
}

/// A micro-kernel's walk along k over the six rows of its A block: the six values of the current step, then on
/// to the next.
protocol PanelWalk {
    var row0: Float { get }
    var row1: Float { get }
    var row2: Float { get }
    var row3: Float { get }
    var row4: Float { get }
    var row5: Float { get }
    mutating func step()
}

/// A packed panel: the six values of a step are adjacent, and steps follow each other.
struct PackedWalk: PanelWalk {
    var p: UnsafePointer<Float>
    init(_ p: UnsafePointer<Float>) { self.p = p }
    var row0: Float { @inline(__always) get { p[0] } }
    var row1: Float { @inline(__always) get { p[1] } }
    var row2: Float { @inline(__always) get { p[2] } }
    var row3: Float { @inline(__always) get { p[3] } }
    var row4: Float { @inline(__always) get { p[4] } }
    var row5: Float { @inline(__always) get { p[5] } }
    @inline(__always) mutating func step() { p += 6 }
}

/// Six rows of a row-major op(A) read where they are, through two pointers (rows 0 and 3): rows 1, 2 and 4, 5
/// are at + lda and + 2 lda, which x86 addresses as base + index * 4 or * 8. (Six row pointers made LLVM chain
/// their addresses through dependent `lea`s in the attention tiles.)
struct RowsWalk: PanelWalk {
    var p: UnsafePointer<Float>
    var q: UnsafePointer<Float>
    let lda: Int
    init(_ a: UnsafePointer<Float>, lda: Int) { p = a; q = a + 3 * lda; self.lda = lda }
    var row0: Float { @inline(__always) get { p[0] } }
    var row1: Float { @inline(__always) get { p[lda] } }
    var row2: Float { @inline(__always) get { p[2 * lda] } }
    var row3: Float { @inline(__always) get { q[0] } }
    var row4: Float { @inline(__always) get { q[lda] } }
    var row5: Float { @inline(__always) get { q[2 * lda] } }
    @inline(__always) mutating func step() { p += 1; q += 1 }
}
