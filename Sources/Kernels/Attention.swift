import Synchronization

// Gathering a head reads hs floats from each of T rows (of qkv 3C floats apart, of dO and O C apart), which the previous kernels
// left in L3 or memory: the gathers prefetch `prefetchRows` rows ahead (the loads of a gather were about 40%
// of the backward's samples in perf, nearly all on cache misses). The backward's dS tiles prefetch the saved P
// the next tile needs (`ScoreGradientRows`).
private let prefetchRows = 8

/// Causal multi-head scaled dot-product attention.
///
/// qkv [B, T, 3C] holds q | k | v along each row (GPT-2's c_attn output); head h uses columns [h*hs, (h+1)*hs)
/// of each part, hs = C / heads. out [B, T, C], heads concatenated. Per (batch, head), with s = 1/sqrt(hs):
///   forward:  S = s Q K^T (only key j <= query i);  P = softmax_rows(S);  O = P V
///   backward: dV = P^T dO;  dP = dO V^T;  dS = P * (dP - D), D_i = sum_j P_ij dP_ij = dO_i . O_i
///             dQ = s dS K;  dK = s dS^T Q
///
/// With dropout on the attention weights (training; GPT-2's attn_pdrop), O = P' V with P' = P * M / (1 - p),
/// M the mask of `DropoutMask` at element index ((b * heads + h) * T + i) * T + j. Then dV = P'^T dO,
/// dP' = dO V^T, and since P * dP = P' * dP' elementwise, dS = P' * dP' - P * D with D_i = dO_i . O_i as before.
/// P' is kept beside P (a second buffer of the same size, allocated only when `dropsWeights`).
///
/// Saved for the backward: the probabilities P, [B, heads, Tp, Tp] with Tp = T rounded up to whole 6-row tiles
/// and then to 16 (only the lower triangle, padded to the tiles, is meaningful): maxBatch * heads * Tp^2 * 4
/// bytes, 14.2 MB at B=8, T=256 (Tp=272), 6 heads. Keeping P instead of the row log-sum-exp saves recomputing
/// S and its exps in the backward.
///
/// Blocking: one (batch, head) is one unit of work; each worker thread gathers that head's Q (pre-scaled by s),
/// K (pre-scaled too in the backward, so that dQ = dS (s K)), V (and K^T, V^T, dO) into contiguous zero-padded
/// scratch of its own (Tp x hsp, hsp = hs rounded up to 16; 68 KB each at T=256, hs=64 (Tp = 272), so a head's K/V stay in
/// L2 while all its query tiles pass), then runs 6-row tiles through `AttentionTile` (6 x 64, 6 x 32 or 6 x 16
/// register-blocked SIMD16 products, and 6 x 48 for whole rows). The query tiles go in groups whose rows of P (or
/// dS) stay in L2 (`groupFloats`; one group up to T of about 310), one phase at a time: the forward computes the
/// scores of the whole group, then its softmax rows, then P V; the backward dP, turned into dS as each tile leaves
/// the registers (`ScoreGradientRows`), then dQ; dK and dV run over all tiles at the end. With AVX-512, query
/// tiles whose scores are at most 64 keys (the first ten; all at T <= 64) take them in one tile product each,
/// with the softmax done in registers (`SoftmaxRows`). Inside a phase, blocks of 64 columns are the outer loop
/// (`AttentionTile.rowTiles`), so a block of K^T, V, V^T or K is reused by the group's tiles while it is still in
/// L1 (or L2). Query tile i0..i0+5 only touches key columns below i0+6 (rounded up to 16, and at most T rounded
/// up to 16): the masked half is skipped, and the entries of P and dS above the diagonal inside a tile are
/// stored as zeros so the tile products can run over whole tiles. O, dQ, dK and dV of whole tiles go straight
/// into the output rows when hs is a multiple of 16 (`splitTiles`); the rest through the scratch.
public final class CausalSelfAttention {
    public let maxBatch: Int
    public let maxTime: Int
    public let channels: Int
    public let heads: Int
    public let headSize: Int
    let pool: ThreadPool

    let paddedHead: Int          // hsp: hs rounded up to 16
    let paddedMaxTime: Int       // paddedStride(maxTime)
    let probabilities: UnsafeMutablePointer<Float>
    /// P' (the dropped probabilities) of the last forward with dropout; nil unless made with `dropsWeights`.
    let droppedProbabilities: UnsafeMutablePointer<Float>?
    let probabilitiesCount: Int
    let workers: Int
    let workspaceFloats: Int
    let workspace: UnsafeMutablePointer<Float>
    private let nextItem = Atomic<Int>(0)
    private var savedBatch = -1
    private var savedTime = -1
    private var savedDropout = false

    /// `dropsWeights`: reserve the buffer that forward passes with a dropout mask need.
    public init(maxBatch: Int, maxTime: Int, channels: Int, heads: Int, dropsWeights: Bool = false,
                pool: ThreadPool = .shared) {
        precondition(maxBatch >= 1 && maxTime >= 1 && heads >= 1 && channels % heads == 0,
                     "attention needs positive sizes and heads dividing channels")
        self.maxBatch = maxBatch
        self.maxTime = maxTime
        self.channels = channels
        self.heads = heads
        self.headSize = channels / heads
        self.pool = pool
        paddedHead = (headSize + 15) / 16 * 16
        paddedMaxTime = CausalSelfAttention.paddedStride(maxTime)
        probabilitiesCount = maxBatch * heads * paddedMaxTime * paddedMaxTime
        probabilities = LargeBuffer.allocateFloats(probabilitiesCount)
        droppedProbabilities = dropsWeights ? LargeBuffer.allocateFloats(probabilitiesCount) : nil
        workers = pool.threadCount
        let tp = paddedMaxTime, hp = paddedHead
        // q, k, v, dO, O/dQ, dK, dV: [Tp, hsp]; K^T, V^T: [hsp, Tp]; dP then dS: [Tp, Tp]; D [Tp].
        workspaceFloats = 9 * tp * hp + tp * tp + tp
        workspace = LargeBuffer.allocateFloats(workers * workspaceFloats)
    }

    deinit {
        LargeBuffer.deallocate(probabilities)
        if let droppedProbabilities { LargeBuffer.deallocate(droppedProbabilities) }
        LargeBuffer.deallocate(workspace)
    }

    public var allocatedBytes: Int {
        let saved = probabilitiesCount * (droppedProbabilities == nil ? 1 : 2)
        return (saved + workers * workspaceFloats) * MemoryLayout<Float>.size
    }

    /// Rows of a query tile (the register block of `AttentionTile`).
    private let R = AttentionTile.rows

    /// Row stride of P and the scratch at sequence length `time`: T rounded up to whole tiles, then to 16
    /// columns, so every tile's last 16-column block stays inside the row.
    public static func paddedStride(_ time: Int) -> Int {
        let r = AttentionTile.rows
        return ((time + r - 1) / r * r + 15) / 16 * 16
    }

    /// Key columns of query tile `tile`'s scores: whole 16-column blocks up to its last query (the masked half
    /// beyond is skipped), and no block wholly past the last position. Columns from `time` on are above the
    /// diagonal of every real query; they are read only for padding keys (the last key tile's rows past T),
    /// whose gradients are never copied out, so they need not be written.
    @inline(__always)
    private func scoreColumns(_ tile: Int, time: Int) -> Int {
        Swift.min((tile * R + R + 15) / 16 * 16, (time + 15) / 16 * 16)
    }

    /// The first query tiles whose scores are at most `AttentionTile.wholeRowColumns` keys: the forward takes
    /// each of them in one tile product with the softmax in registers (`SoftmaxRows`). All tiles at T <= 64.
    private func wholeRowTiles(_ tiles: Int, time: Int) -> Int {
        var n = 0
        while n < tiles && scoreColumns(n, time: time) <= AttentionTile.wholeRowColumns { n += 1 }
        return n
    }

    /// Query tiles processed together, phase by phase (scores, softmax, P V): as many as keep their rows of P
    /// (or dS) within `groupFloats`, at least one. The default, 384 KB, stays in L2 beside the head's Q, K and
    /// V: all of a head's tiles at T = 256, 15 tiles at T = 1024. (Tests lower it to run several groups.)
    var groupFloats = 98_304
    private func tilesPerGroup(tp: Int) -> Int { Swift.max(1, groupFloats / (R * tp)) }

    /// One worker's scratch, carved out of `workspace`.
    struct Scratch {
        let q, k, v, dout, o, dk, dv, kT, vT, ds, rowDot: UnsafeMutablePointer<Float>
        init(_ base: UnsafeMutablePointer<Float>, tp: Int, hp: Int) {
            let block = tp * hp
            q = base; k = q + block; v = k + block; dout = v + block; o = dout + block
            dk = o + block; dv = dk + block; kT = dv + block; vT = kT + block
            ds = vT + block; rowDot = ds + tp * tp
        }
    }

    /// Runs `body(b, h, scratch)` for every (batch, head), spread over the pool; a worker keeps its own scratch.
    private func forEachHead(batch: Int, _ body: (Int, Int, Scratch) -> Void) {
        let items = batch * heads
        let tasks = min(workers, items)
        nextItem.store(0, ordering: .relaxed)
        pool.run(tasks: tasks) { worker in
            let scratch = Scratch(workspace + worker * workspaceFloats, tp: paddedMaxTime, hp: paddedHead)
            while true {
                let item = nextItem.add(1, ordering: .relaxed).oldValue
                if item >= items { break }
                body(item / heads, item % heads, scratch)
            }
        }
    }

    @inline(__always)
    private func probabilityBlock(_ b: Int, _ h: Int, tp: Int) -> UnsafeMutablePointer<Float> {
        probabilities + (b * heads + h) * tp * tp
    }

    /// P' of (b, h) when the last forward dropped weights, else P itself.
    @inline(__always)
    private func droppedBlock(_ b: Int, _ h: Int, tp: Int) -> UnsafeMutablePointer<Float> {
        guard savedDropout, let dropped = droppedProbabilities else { return probabilityBlock(b, h, tp: tp) }
        return dropped + (b * heads + h) * tp * tp
    }

    // MARK: - Forward

    /// `dropout`: drop attention weights with this mask (training); needs `dropsWeights` at init.
    public func forward(out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, batch: Int, time: Int,
                        dropout: DropoutMask? = nil) {
        precondition(batch >= 1 && batch <= maxBatch && time >= 1 && time <= maxTime,
                     "attention sized for \(maxBatch) x \(maxTime), called with \(batch) x \(time)")
        precondition(dropout == nil || droppedProbabilities != nil, "attention made without dropsWeights")
        savedBatch = batch
        savedTime = time
        savedDropout = dropout != nil
        forEachHead(batch: batch) { b, h, s in
            forwardHead(out: out, qkv: qkv, b: b, h: h, time: time, dropout: dropout, s: s)
        }
    }

    private func forwardHead(out: UnsafeMutablePointer<Float>, qkv: UnsafePointer<Float>, b: Int, h: Int,
                             time: Int, dropout: DropoutMask?, s: Scratch) {
        let c = channels, hs = headSize, hp = paddedHead
        let tp = CausalSelfAttention.paddedStride(time)
        let tiles = (time + R - 1) / R
        let scale = 1 / Float(hs).squareRoot()
        let p = probabilityBlock(b, h, tp: tp), pd = droppedBlock(b, h, tp: tp)
        // Gather Q (scaled), K^T and V of this head, zero-padded to [tp, hp] / [hp, tp].
        gather(s.q, from: qkv, b: b, part: 0, h: h, time: time, tp: tp, scale: scale)
        gather(s.v, from: qkv, b: b, part: 2, h: h, time: time, tp: tp, scale: 1)
        gatherTransposed(s.kT, from: qkv, b: b, part: 1, h: h, time: time, tp: tp)
        let groupTiles = tilesPerGroup(tp: tp), wholeRows = wholeRowTiles(tiles, time: time)
        let columns = { (tile: Int) in self.scoreColumns(tile, time: time) }
        var first = 0
        while first < tiles {
            let group = first..<Swift.min(tiles, first + groupTiles)
            // S = Qs K^T over keys 0..<columns(tile), P = softmax(S): the tiles of whole rows in one product each,
            // the softmax in registers; the rest in blocks of columns, then a pass over their rows of P
            let split = Swift.min(group.upperBound, Swift.max(group.lowerBound, wholeRows))
            for tile in group.lowerBound..<split {
                AttentionTile.wholeRows(tile: tile, columns: columns(tile), a: s.q + tile * R * hp, rowStride: hp,
                                        b: s.kT, ldb: tp, kRange: 0..<hp, c: p + tile * R * tp, ldc: tp,
                                        epilogue: SoftmaxRows(time: time))
            }
            AttentionTile.rowTiles(split..<group.upperBound, columns: columns, a: { s.q + $0 * R * hp }, rowStride: hp,
                                   kStride: 1, b: s.kT, ldb: tp, kRange: { _ in 0..<hp }, c: { p + $0 * R * tp },
                                   ldc: tp)
            for tile in split..<group.upperBound {
                softmaxTile(p + tile * R * tp, firstQuery: tile * R, time: time, columns: columns(tile), stride: tp)
            }
            // P' rows (zero rows stay zero; entries past the diagonal are zero in P, whatever their mask)
            if let dropout {
                for i in group.lowerBound * R..<group.upperBound * R {
                    dropout.apply(out: pd + i * tp, input: p + i * tp, count: columns(i / R),
                                  firstIndex: ((b * heads + h) * time + i) * time)
                }
            }
            // O = P' V over keys 0..<min(i0+6, T)  (P' = P without dropout): whole tiles into `out`'s rows when
            // the head is whole 16-float blocks, the rest into the scratch
            func output(_ tiles: Range<Int>, _ o: UnsafeMutablePointer<Float>, _ ldo: Int) {
                AttentionTile.rowTiles(tiles, columns: { _ in hp }, a: { pd + $0 * R * tp }, rowStride: tp, kStride: 1,
                                       b: s.v, ldb: hp, kRange: { 0..<Swift.min($0 * R + R, time) },
                                       c: { o + $0 * R * ldo }, ldc: ldo)
            }
            let (own, rest) = splitTiles(group, time: time, direct: hs == hp)
            output(own, out + b * time * c + h * hs, c)
            output(rest, s.o, hp)
            first = group.upperBound
        }
        for t in (hs == hp ? time / R * R : 0)..<time {
            if t + prefetchRows < time { LayerVector.prefetch(out + (b * time + t + prefetchRows) * c + h * hs, count: hs) }
            LayerVector.scaledCopy(out + (b * time + t) * c + h * hs, s.o + t * hp, hs, scale: 1)
        }
    }

    /// Tiles of `tiles` whose R rows are all positions below `time` (when `direct`), and the rest. The first
    /// write their output rows straight into the layer's buffer (a head's hs columns of each row, hs a multiple
    /// of 16, so the tile's stores cover exactly those columns); the rest go through the scratch and are copied
    /// (the padding rows past T must not be written). Writing in place spares a copy that waited on the
    /// buffer's cache lines: at the `tiny` shard shape (`bench layers --preset tiny --batch-size 6`, one thread)
    /// the backward went from 0.298-0.317 to 0.273-0.276 ms, the forward from 0.217-0.225 to 0.207-0.213.
    @inline(__always)
    private func splitTiles(_ tiles: Range<Int>, time: Int, direct: Bool) -> (Range<Int>, Range<Int>) {
        let end = direct ? Swift.min(tiles.upperBound, Swift.max(tiles.lowerBound, time / R)) : tiles.lowerBound
        return (tiles.lowerBound..<end, end..<tiles.upperBound)
    }

    /// Turns the R rows of S of the query tile starting at query i0 (row r at rows + r * stride, its scores in
    /// 0..<columns) into P in place: softmax over keys j <= i, exact zeros for j > i; a padding query (i >= T)
    /// gets a zero row. The rows go stage by stage (all maxima, then all exps and sums, then all scalings):
    /// a row alone is a chain of dependent steps (a horizontal max, exps, a horizontal sum, a division), and
    /// with T = 64 its rows are one to four vectors long, so one row at a time left each stage waiting on the
    /// last. Each row's arithmetic is the same as when it ran alone.
    @inline(__always)
    private func softmaxTile(_ rows: UnsafeMutablePointer<Float>, firstQuery i0: Int, time: Int, columns: Int,
                             stride: Int) {
        let live = Swift.max(0, Swift.min(R, time - i0))   // rows of real queries
        var maxima = SIMD8<Float>(), sums = SIMD8<Float>()
        for r in 0..<live {
            let row = rows + r * stride, valid = i0 + r + 1
            var m = Vector16(repeating: -.infinity)
            var j = 0
            while j + 16 <= valid { m = LayerVector.laneMaximum(m, LayerVector.load(row + j)); j += 16 }
            if j < valid {
                // Lanes at or past `valid` become -inf (adding -inf to a finite score).
                let x = LayerVector.load(row + j)
                    + LayerVector.load(LayerVector.zerosThenNegativeInfinity + 16 - (valid - j))
                m = LayerVector.laneMaximum(m, x)
            }
            maxima[r] = LayerVector.max(m)
        }
        // Exps over whole 16-lane blocks, exact zeros from `valid` on (the last block times a 1/0 mask), summed
        // as they are stored: even blocks into s0, odd ones into s1.
        for r in 0..<live {
            let row = rows + r * stride, valid = i0 + r + 1
            let maximum = Vector16(repeating: maxima[r])
            let end = (valid + 15) / 16 * 16
            var s0 = Vector16(), s1 = Vector16()
            var j = 0
            while j < end {
                var e = LayerVector.exp(LayerVector.load(row + j) - maximum)
                if j + 16 > valid { e *= LayerVector.keepFirst(valid - j, table: LayerVector.onesThenZeros) }
                LayerVector.store(e, row + j)
                if j & 16 == 0 { s0 += e } else { s1 += e }
                j += 16
            }
            while j < columns { LayerVector.store(Vector16(), row + j); j += 16 }
            sums[r] = LayerVector.sum(s0 + s1)
        }
        for r in 0..<live {
            let row = rows + r * stride, end = (i0 + r + 1 + 15) / 16 * 16
            let inverse = Vector16(repeating: 1 / sums[r])
            var j = 0
            while j < end { LayerVector.store(LayerVector.load(row + j) * inverse, row + j); j += 16 }
        }
        for r in live..<R { (rows + r * stride).update(repeating: 0, count: columns) }
    }

    // MARK: - Backward

    public func backward(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>,
                         out: UnsafePointer<Float>, batch: Int, time: Int, accumulate: Bool) {
        precondition(batch == savedBatch && time == savedTime,
                     "attention backward must follow a forward of the same shape")
        forEachHead(batch: batch) { b, h, s in
            backwardHead(dqkv: dqkv, dout: dout, qkv: qkv, out: out, b: b, h: h, time: time,
                         accumulate: accumulate, s: s)
        }
    }

    private func backwardHead(dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              qkv: UnsafePointer<Float>, out: UnsafePointer<Float>, b: Int, h: Int, time: Int,
                              accumulate: Bool, s: Scratch) {
        let c = channels, hs = headSize, hp = paddedHead
        let tp = CausalSelfAttention.paddedStride(time)
        let tiles = (time + R - 1) / R
        let scale = 1 / Float(hs).squareRoot()
        let p = probabilityBlock(b, h, tp: tp), pd = droppedBlock(b, h, tp: tp), dropped = savedDropout
        gather(s.q, from: qkv, b: b, part: 0, h: h, time: time, tp: tp, scale: scale)
        gather(s.k, from: qkv, b: b, part: 1, h: h, time: time, tp: tp, scale: scale)
        // Whole tiles write dQ, dK and dV into dqkv's rows themselves (see `splitTiles`)
        let direct = hs == hp && !accumulate
        let rows = dqkv + b * time * 3 * c + h * hs
        gatherTransposed(s.vT, from: qkv, b: b, part: 2, h: h, time: time, tp: tp)
        // dO of this head, and D_i = dO_i . O_i
        for t in 0..<tp {
            let dst = s.dout + t * hp
            if t < time {
                let g = dout + (b * time + t) * c + h * hs, o = out + (b * time + t) * c + h * hs
                if t + prefetchRows < time {
                    LayerVector.prefetch(g + prefetchRows * c, count: hs)
                    LayerVector.prefetch(o + prefetchRows * c, count: hs)
                }
                LayerVector.scaledCopy(dst, g, hs, scale: 1)
                for d in hs..<hp { dst[d] = 0 }
                s.rowDot[t] = LayerVector.dot(g, o, hs)
            } else {
                dst.update(repeating: 0, count: hp)
                s.rowDot[t] = 0
            }
        }
        let groupTiles = tilesPerGroup(tp: tp)
        // dS = P * (dP - D), or P' * dP' - P * D with dropout, for j <= i; 0 above the diagonal and on padding
        // queries: formed from each tile of dP' as it leaves the registers
        let scoreGradient = ScoreGradientRows(probabilities: p, dropped: dropped ? UnsafePointer(pd) : nil,
                                              rowDot: s.rowDot, time: time, stride: tp)
        var first = 0
        while first < tiles {
            let group = first..<Swift.min(tiles, first + groupTiles)
            // dP' = dO V^T (dP without dropout), each tile stored as dS (`scoreGradient`) into the rows of dS
            AttentionTile.rowTiles(group, columns: { self.scoreColumns($0, time: time) }, a: { s.dout + $0 * R * hp },
                                   rowStride: hp, kStride: 1, b: s.vT, ldb: tp, kRange: { _ in 0..<hp },
                                   c: { s.ds + $0 * R * tp }, ldc: tp, epilogue: scoreGradient)
            // dQ = dS (s K) over keys 0..<min(i0+6, T)
            func queryGradients(_ tiles: Range<Int>, _ dq: UnsafeMutablePointer<Float>, _ ldq: Int) {
                AttentionTile.rowTiles(tiles, columns: { _ in hp }, a: { s.ds + $0 * R * tp }, rowStride: tp,
                                       kStride: 1, b: s.k, ldb: hp, kRange: { 0..<Swift.min($0 * R + R, time) },
                                       c: { dq + $0 * R * ldq }, ldc: ldq)
            }
            let (own, rest) = splitTiles(group, time: time, direct: direct)
            queryGradients(own, rows, 3 * c)
            queryGradients(rest, s.o, hp)
            first = group.upperBound
        }
        // dK = dS^T Qs and dV = P'^T dO, each key tile j0..<j0+6 over queries j0..<T
        func keyGradients(_ keys: Range<Int>, _ dk: UnsafeMutablePointer<Float>, _ dv: UnsafeMutablePointer<Float>,
                          _ ld: Int) {
            AttentionTile.rowTiles(keys, columns: { _ in hp }, a: { s.ds + $0 * R }, rowStride: 1, kStride: tp,
                                   b: s.q, ldb: hp, kRange: { $0 * R..<time }, c: { dk + $0 * R * ld }, ldc: ld)
            AttentionTile.rowTiles(keys, columns: { _ in hp }, a: { pd + $0 * R }, rowStride: 1, kStride: tp,
                                   b: s.dout, ldb: hp, kRange: { $0 * R..<time }, c: { dv + $0 * R * ld }, ldc: ld)
        }
        let (ownKeys, restKeys) = splitTiles(0..<tiles, time: time, direct: direct)
        keyGradients(ownKeys, rows + c, rows + 2 * c, 3 * c)
        keyGradients(restKeys, s.dk, s.dv, hp)
        for t in (direct ? time / R * R : 0)..<time {
            let row = dqkv + (b * time + t) * 3 * c + h * hs
            if t + prefetchRows < time {
                let ahead = UnsafePointer(row + prefetchRows * 3 * c)
                LayerVector.prefetch(ahead, count: hs)
                LayerVector.prefetch(ahead + c, count: hs)
                LayerVector.prefetch(ahead + 2 * c, count: hs)
            }
            let dq = s.o + t * hp, dk = s.dk + t * hp, dv = s.dv + t * hp
            LayerVector.scaledCopy(row, dq, hs, scale: 1, accumulate: accumulate)
            LayerVector.scaledCopy(row + c, dk, hs, scale: 1, accumulate: accumulate)
            LayerVector.scaledCopy(row + 2 * c, dv, hs, scale: 1, accumulate: accumulate)
        }
    }

    // MARK: - Gathering a head

    /// dst[t, d] = scale * qkv[b, t, part*C + h*hs + d], zero for d >= hs and t >= time (dst is [tp, hsp]).
    private func gather(_ dst: UnsafeMutablePointer<Float>, from qkv: UnsafePointer<Float>, b: Int, part: Int,
                        h: Int, time: Int, tp: Int, scale: Float) {
        let c = channels, hs = headSize, hp = paddedHead
        for t in 0..<tp {
            let d0 = dst + t * hp
            if t < time {
                let src = qkv + (b * time + t) * 3 * c + part * c + h * hs
                if t + prefetchRows < time { LayerVector.prefetch(src + prefetchRows * 3 * c, count: hs) }
                LayerVector.scaledCopy(d0, src, hs, scale: scale)
                for d in hs..<hp { d0[d] = 0 }
            } else {
                d0.update(repeating: 0, count: hp)
            }
        }
    }

    /// dst[d, t] = qkv[b, t, part*C + h*hs + d], zero-padded (dst is [hsp, tp]).
    private func gatherTransposed(_ dst: UnsafeMutablePointer<Float>, from qkv: UnsafePointer<Float>, b: Int,
                                  part: Int, h: Int, time: Int, tp: Int) {
        let c = channels, hs = headSize, hp = paddedHead
        for d in hs..<hp { (dst + d * tp).update(repeating: 0, count: tp) }
        let rowStride = 3 * c
        let base = qkv + b * time * rowStride + part * c + h * hs
        // Blocks of 8 positions x 8 columns: 8 row pieces loaded as vectors, transposed in registers, stored as
        // 8 vectors along t; the positions past the last whole 8 (and columns past the last whole 8) one by one.
        var t0 = 0
        while t0 + 8 <= time {
            let src = base + t0 * rowStride
            for l in 0..<8 where t0 + 8 + l < time { LayerVector.prefetch(src + (8 + l) * rowStride, count: hs) }
            var d0 = 0
            while d0 + 8 <= hs {
                GEMMPacking.transposeBlock8(from: src + d0, stride: rowStride, to: dst + d0 * tp + t0, outStride: tp)
                d0 += 8
            }
            for d in d0..<hs { for l in 0..<8 { dst[d * tp + t0 + l] = src[l * rowStride + d] } }
            t0 += 8
        }
        for t in t0..<time {
            let src = base + t * rowStride
            for d in 0..<hs { dst[d * tp + t] = src[d] }
        }
        for d in 0..<hs { (dst + d * tp + time).update(repeating: 0, count: tp - time) }
    }
}
