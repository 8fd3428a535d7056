/// The register-blocked product behind every attention matmul: a 6 x W output tile (W = 16, 32, 48 or 64)
///   C[r, 0..<W] = sum_{k in kRange} A(r, k) * B[k, 0..<W]        r in 0..<6
/// with A(r, k) = a[r * rowStride + k * kStride]: A read row-wise (kStride = 1) or transposed (rowStride = 1)
/// and B rows of stride ldb. C is overwritten by the tile's epilogue (`AttentionTileEpilogue`): the product itself,
/// or the softmax of whole rows, or dS from dP.
///
/// Widths: 6 x 16 fits AVX2's 16 ymm registers (the six SIMD16 accumulators are twelve ymm registers; each
/// k step loads one SIMD16 of B, two ymm, and broadcasts six scalars of A into twelve FMAs, without spilling).
/// With AVX-512 (32 zmm registers), `rowTiles` runs 6 x 64 tiles (`Row64`, 24 accumulators) and 6 x 32 and
/// 6 x 16 ones for the rest of a row's columns; `wholeRows` also 6 x 48, so that a row of up to 64 scores is one
/// tile.
enum AttentionTile {
    static let rows = 6

    /// One tile product, `Row` giving its width; `epilogue` turns the six accumulated rows into the tile's output
    /// and stores it at c (tile `tile`, its first column `column` in the whole product). `@inline(never)`, and
    /// so specialised for each width and epilogue: inlined into the head functions, LLVM ran out of registers
    /// and reloaded the row stride from the stack for every broadcast; on its own the loop keeps everything in
    /// registers (`objdump`: 36, 72 and 48 zmm FMAs in the 16, 32 and 64 wide loops, the stack untouched).
    @inline(never)
    static func product<Row: AttentionTileRow, E: AttentionTileEpilogue>(
        _ row: Row.Type, a: UnsafePointer<Float>, rowStride: Int, kStride: Int, b: UnsafePointer<Float>, ldb: Int,
        kRange: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, tile: Int, column: Int, epilogue: E
    ) {
        var rows = AttentionTileRows<Row>()
        var pb = b + kRange.lowerBound * ldb
        if kStride == 1 {
            // A row-wise: two pointers (rows 0 and 3) walking along k; rows 1, 2 and 4, 5 are at +rs and +2 rs,
            // which x86 addresses as base + index * 4 or * 8. (Six row pointers indexed by k made LLVM chain the
            // six addresses through dependent `lea`s each step.)
            let rs = rowStride
            var p = a + kRange.lowerBound, q = a + 3 * rs + kRange.lowerBound
            for _ in kRange {
                let bk = Row.load(pb)
                rows.r0.add(p[0], bk); rows.r1.add(p[rs], bk); rows.r2.add(p[2 * rs], bk)
                rows.r3.add(q[0], bk); rows.r4.add(q[rs], bk); rows.r5.add(q[2 * rs], bk)
                p += 1; q += 1
                pb += ldb
            }
        } else {
            // A transposed (rowStride 1): the six scalars of step k are contiguous.
            precondition(rowStride == 1)
            var pa = a + kRange.lowerBound * kStride
            for _ in kRange {
                let bk = Row.load(pb)
                rows.r0.add(pa[0], bk); rows.r1.add(pa[1], bk); rows.r2.add(pa[2], bk)
                rows.r3.add(pa[3], bk); rows.r4.add(pa[4], bk); rows.r5.add(pa[5], bk)
                pa += kStride
                pb += ldb
            }
        }
        epilogue.finish(&rows, c: c, ldc: ldc, tile: tile, column: column)
    }

    /// Whether `rowTiles` takes 64 and 32 columns at a time (AVX-512: 32 vector registers hold the accumulators).
    static let wideTiles = GEMMMicroKernel.cpuHasAVX512

    /// The row tiles `tiles` of a product: tile t is C[t*6 ..< t*6+6, 0 ..< columns(t)] (columns a multiple of 16)
    /// from A(t) and B over kRange(t). Blocks of 64 columns (16 without AVX-512) are the outer loop: each block of
    /// B (kRange x 64 floats) is reused by every tile that covers it while it is still in L1 (or L2), instead of
    /// each tile streaming all of its B from L2; inside a block a tile takes 6 x 64, 6 x 32 and 6 x 16
    /// products. Every element is one tile's sum over k in order, so neither the order of the tiles nor the tile
    /// width changes any bits. (The scores Qs K^T at T = 256, hs = 64, one thread, with 32-column blocks, the two
    /// loop orders interleaved call by call: 94-98 -> 105-113 GFLOP/s.)
    @inline(__always)
    static func rowTiles<E: AttentionTileEpilogue>(
        _ tiles: Range<Int>, columns: (Int) -> Int, a: (Int) -> UnsafeMutablePointer<Float>, rowStride: Int,
        kStride: Int, b: UnsafePointer<Float>, ldb: Int, kRange: (Int) -> Range<Int>,
        c: (Int) -> UnsafeMutablePointer<Float>, ldc: Int, epilogue: E = StoreTile()
    ) {
        let block = wideTiles ? 64 : 16
        var widest = 0
        for t in tiles { widest = Swift.max(widest, columns(t)) }
        var col = 0
        while col < widest {
            for t in tiles where col < columns(t) {
                var j = col
                let end = Swift.min(columns(t), col + block)
                while j < end {
                    if block == 64 && end - j >= 64 {
                        product(Row64.self, a: a(t), rowStride: rowStride, kStride: kStride, b: b + j, ldb: ldb,
                                kRange: kRange(t), c: c(t) + j, ldc: ldc, tile: t, column: j, epilogue: epilogue)
                        j += 64
                    } else if block >= 32 && end - j >= 32 {
                        product(Row32.self, a: a(t), rowStride: rowStride, kStride: kStride, b: b + j, ldb: ldb,
                                kRange: kRange(t), c: c(t) + j, ldc: ldc, tile: t, column: j, epilogue: epilogue)
                        j += 32
                    } else {
                        product(Row16.self, a: a(t), rowStride: rowStride, kStride: kStride, b: b + j, ldb: ldb,
                                kRange: kRange(t), c: c(t) + j, ldc: ldc, tile: t, column: j, epilogue: epilogue)
                        j += 16
                    }
                }
            }
            col += block
        }
    }

    /// Widest row a `wholeRows` tile takes: 64 columns with AVX-512, none without (its 6 x 16 tile would do, but
    /// the softmax of a whole row in registers was measured only on the 32 zmm registers).
    static let wholeRowColumns = wideTiles ? 64 : 0

    /// One tile whose `columns` (16, 32, 48 or 64, at most `wholeRowColumns`) are the whole of its rows, in one
    /// product, so that `epilogue` sees complete rows (the forward's softmax).
    @inline(__always)
    static func wholeRows<E: AttentionTileEpilogue>(
        tile: Int, columns: Int, a: UnsafePointer<Float>, rowStride: Int, b: UnsafePointer<Float>, ldb: Int,
        kRange: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: E
    ) {
        func run<Row: AttentionTileRow>(_ row: Row.Type) {
            product(row, a: a, rowStride: rowStride, kStride: 1, b: b, ldb: ldb, kRange: kRange, c: c, ldc: ldc,
                    tile: tile, column: 0, epilogue: epilogue)
        }
        switch columns {
        case 16: run(Row16.self)
        case 32: run(Row32.self)
        case 48: run(Row48.self)
        default:
            precondition(columns == 64 && wholeRowColumns == 64, "a whole-row tile is 16, 32, 48 or 64 columns")
            run(Row64.self)
        }
    }
}

/// The six accumulated rows of a tile (`AttentionTile.rows` of them).
struct AttentionTileRows<Row: AttentionTileRow> {
    var r0 = Row(), r1 = Row(), r2 = Row(), r3 = Row(), r4 = Row(), r5 = Row()
}

/// One row of a 6-row attention tile: a SIMD16 accumulator for every 16 columns. `load` reads the row of B that
/// a k step multiplies (`Columns`, the same vectors for all six rows); `add` takes that row times one scalar of
/// A into the accumulators, one FMA each, so every output element sums its k steps in order whatever the width.
/// `vectors` and the subscript (vector q holds columns 16 q ..< 16 q + 16) let an epilogue work on the row.
protocol AttentionTileRow {
    associatedtype Columns
    static var vectors: Int { get }
    init()
    static func load(_ b: UnsafePointer<Float>) -> Columns
    mutating func add(_ x: Float, _ b: Columns)
    subscript(q: Int) -> Vector16 { get set }
}

extension AttentionTileRow {
    @inline(__always)
    func store(_ c: UnsafeMutablePointer<Float>) {
        for q in 0..<Self.vectors { LayerVector.store(self[q], c + 16 * q) }
    }
}

/// The 6 x 16 tile: six accumulators (twelve ymm registers with AVX2, six zmm with AVX-512).
struct Row16: AttentionTileRow {
    static let vectors = 1
    var v0 = Vector16()
    @inline(__always) static func load(_ b: UnsafePointer<Float>) -> Vector16 { LayerVector.load(b) }
    @inline(__always) mutating func add(_ x: Float, _ b: Vector16) { v0 = v0.addingProduct(Vector16(repeating: x), b) }
    @inline(__always) subscript(q: Int) -> Vector16 {
        get { v0 }
        set { v0 = newValue }
    }
}

/// The 6 x 32 tile for CPUs with AVX-512 (32 zmm registers): twelve accumulators, so each k step loads two
/// SIMD16 of B and broadcasts six scalars of A into twelve FMAs. The 6 x 16 tile's six FMA chains cannot keep
/// two zmm FMA pipes of 4-cycle latency busy (eight chains needed), and it spends 7 loads on 6 FMAs; on the Intel
/// Xeon with two FMA pipes (session 10), attention forward + backward at the small shape on one thread went from
/// 90 to 108-109 GFLOP/s (BENCHMARKS.md, "Layer kernels").
struct Row32: AttentionTileRow {
    static let vectors = 2
    var v0 = Vector16(), v1 = Vector16()
    @inline(__always)
    static func load(_ b: UnsafePointer<Float>) -> (Vector16, Vector16) {
        (LayerVector.load(b), LayerVector.load(b + 16))
    }
    @inline(__always)
    mutating func add(_ x: Float, _ b: (Vector16, Vector16)) {
        let s = Vector16(repeating: x)
        v0 = v0.addingProduct(s, b.0); v1 = v1.addingProduct(s, b.1)
    }
    @inline(__always) subscript(q: Int) -> Vector16 {
        get { q == 0 ? v0 : v1 }
        set { if q == 0 { v0 = newValue } else { v1 = newValue } }
    }
}

/// The 6 x 48 tile (AVX-512): only for whole rows of 48 scores (`AttentionTile.wholeRows`).
struct Row48: AttentionTileRow {
    static let vectors = 3
    var v0 = Vector16(), v1 = Vector16(), v2 = Vector16()
    @inline(__always)
    static func load(_ b: UnsafePointer<Float>) -> (Vector16, Vector16, Vector16) {
        (LayerVector.load(b), LayerVector.load(b + 16), LayerVector.load(b + 32))
    }
    @inline(__always)
    mutating func add(_ x: Float, _ b: (Vector16, Vector16, Vector16)) {
        let s = Vector16(repeating: x)
        v0 = v0.addingProduct(s, b.0); v1 = v1.addingProduct(s, b.1); v2 = v2.addingProduct(s, b.2)
    }
    @inline(__always) subscript(q: Int) -> Vector16 {
        get { q == 0 ? v0 : (q == 1 ? v1 : v2) }
        set {
            switch q {
            case 0: v0 = newValue
            case 1: v1 = newValue
            default: v2 = newValue
            }
        }
    }
}

/// The 6 x 64 tile (AVX-512): 24 zmm accumulators; each k step loads four SIMD16 of B and broadcasts six scalars
/// of A into 24 FMAs, half the loads of A and half the calls of the 6 x 32 tile on the same columns (29 of the 32
/// registers). Attention at the small shape, one thread, against 6 x 32 blocks (the two builds alternating, the
/// new one first in each of 6 pairs): forward 1.08-1.12x, backward 0.94-1.19x, medians about 1.08.
struct Row64: AttentionTileRow {
    static let vectors = 4
    var v0 = Vector16(), v1 = Vector16(), v2 = Vector16(), v3 = Vector16()
    @inline(__always)
    static func load(_ b: UnsafePointer<Float>) -> (Vector16, Vector16, Vector16, Vector16) {
        (LayerVector.load(b), LayerVector.load(b + 16), LayerVector.load(b + 32), LayerVector.load(b + 48))
    }
    @inline(__always)
    mutating func add(_ x: Float, _ b: (Vector16, Vector16, Vector16, Vector16)) {
        let s = Vector16(repeating: x)
        v0 = v0.addingProduct(s, b.0); v1 = v1.addingProduct(s, b.1)
        v2 = v2.addingProduct(s, b.2); v3 = v3.addingProduct(s, b.3)
    }
    @inline(__always) subscript(q: Int) -> Vector16 {
        get {
            switch q {
            case 0: v0
            case 1: v1
            case 2: v2
            default: v3
            }
        }
        set {
            switch q {
            case 0: v0 = newValue
            case 1: v1 = newValue
            case 2: v2 = newValue
            default: v3 = newValue
            }
        }
    }
}
