import CIntrinsics

/// What an attention tile does with its six accumulated rows before they leave the registers: `finish` turns
/// them into the tile's output and stores its rows at c, ldc apart. Tile `tile` holds queries 6 tile ..< 6 tile + 6;
/// `column` is the first key column of the block.
protocol AttentionTileEpilogue {
    func finish<Row: AttentionTileRow>(_ rows: inout AttentionTileRows<Row>, c: UnsafeMutablePointer<Float>, ldc: Int,
                                       tile: Int, column: Int)
}

/// An epilogue that treats each row on its own: `finishRow` turns the row of query i into its output and stores
/// it at `out`.
protocol AttentionRowEpilogue: AttentionTileEpilogue {
    func finishRow<Row: AttentionTileRow>(_ row: inout Row, query i: Int, column: Int,
                                          out: UnsafeMutablePointer<Float>)
}

extension AttentionRowEpilogue {
    /// The six rows, spelled out: a loop over the row index, or a closure per row, kept the rows in memory (and
    /// LLVM called the closure rather than inline it).
    @inline(__always)
    func finish<Row: AttentionTileRow>(_ rows: inout AttentionTileRows<Row>, c: UnsafeMutablePointer<Float>, ldc: Int,
                                       tile: Int, column: Int) {
        let i0 = tile * AttentionTile.rows
        finishRow(&rows.r0, query: i0, column: column, out: c)
        finishRow(&rows.r1, query: i0 + 1, column: column, out: c + ldc)
        finishRow(&rows.r2, query: i0 + 2, column: column, out: c + 2 * ldc)
        finishRow(&rows.r3, query: i0 + 3, column: column, out: c + 3 * ldc)
        finishRow(&rows.r4, query: i0 + 4, column: column, out: c + 4 * ldc)
        finishRow(&rows.r5, query: i0 + 5, column: column, out: c + 5 * ldc)
    }
}

/// The product itself: C = the accumulated rows.
struct StoreTile: AttentionRowEpilogue {
    @inline(__always)
    func finishRow<Row: AttentionTileRow>(_ row: inout Row, query i: Int, column: Int,
                                          out: UnsafeMutablePointer<Float>) {
        row.store(out)
    }
}

/// The forward's scores S (whole rows: `AttentionTile.wholeRows`) into P = softmax over keys j <= i, exact zeros
/// for j > i; a padding query (i >= time) gets a zero row. The same operations as
/// `CausalSelfAttention.softmaxTile` on rows in memory (so the same bits): a lane maximum, exps of whole 16-lane
/// blocks with the last one masked, summed even blocks into s0 and odd ones into s1, then a multiplication by
/// 1 / sum. Kept in registers, the row costs no loads and one store instead of three passes over memory: at
/// T = 64 the softmax had been a third of the forward.
struct SoftmaxRows: AttentionTileEpilogue {
    let time: Int
    // The mask tables, read here once: a lazy global's first-use check inside the epilogue is a call, around
    // which the 24 accumulators went through the stack.
    let ones = UnsafePointer(LayerVector.onesThenZeros)
    let negativeInfinities = UnsafePointer(LayerVector.zerosThenNegativeInfinity)

    /// Stage by stage over the six rows (the six maxima, then the exps and sums, then the scalings), as
    /// `softmaxTile` does: one row at a time, each stage waits on the last (horizontal max, exps, horizontal sum,
    /// division), and the fused forward ran slower than the separate pass. A padding query has no valid column:
    /// its row comes out zero.
    @inline(__always)
    func finish<Row: AttentionTileRow>(_ rows: inout AttentionTileRows<Row>, c: UnsafeMutablePointer<Float>, ldc: Int,
                                       tile: Int, column: Int) {
        let i0 = tile * AttentionTile.rows
        func valid(_ r: Int) -> Int { i0 + r < time ? i0 + r + 1 : 0 }
        let m0 = rows.r0.maximum(valid: valid(0), negativeInfinities: negativeInfinities)
        let m1 = rows.r1.maximum(valid: valid(1), negativeInfinities: negativeInfinities)
        let m2 = rows.r2.maximum(valid: valid(2), negativeInfinities: negativeInfinities)
        let m3 = rows.r3.maximum(valid: valid(3), negativeInfinities: negativeInfinities)
        let m4 = rows.r4.maximum(valid: valid(4), negativeInfinities: negativeInfinities)
        let m5 = rows.r5.maximum(valid: valid(5), negativeInfinities: negativeInfinities)
        let s0 = rows.r0.exponentiate(maximum: m0, valid: valid(0), ones: ones)
        let s1 = rows.r1.exponentiate(maximum: m1, valid: valid(1), ones: ones)
        let s2 = rows.r2.exponentiate(maximum: m2, valid: valid(2), ones: ones)
        let s3 = rows.r3.exponentiate(maximum: m3, valid: valid(3), ones: ones)
        let s4 = rows.r4.exponentiate(maximum: m4, valid: valid(4), ones: ones)
        let s5 = rows.r5.exponentiate(maximum: m5, valid: valid(5), ones: ones)
        rows.r0.scale(by: 1 / s0, valid: valid(0)); rows.r0.store(c)
        rows.r1.scale(by: 1 / s1, valid: valid(1)); rows.r1.store(c + ldc)
        rows.r2.scale(by: 1 / s2, valid: valid(2)); rows.r2.store(c + 2 * ldc)
        rows.r3.scale(by: 1 / s3, valid: valid(3)); rows.r3.store(c + 3 * ldc)
        rows.r4.scale(by: 1 / s4, valid: valid(4)); rows.r4.store(c + 4 * ldc)
        rows.r5.scale(by: 1 / s5, valid: valid(5)); rows.r5.store(c + 5 * ldc)
    }
}

/// The backward's dP' = dO V^T block into dS = P * (dP - D) (without dropout) or P' * dP' - P * D (with it),
/// D_i = dO_i . O_i, for keys j <= i and 0 above the diagonal and on padding queries, as the block leaves the
/// registers (the same operations as a pass over dS's rows, which it replaces). P and P' are [Tp, Tp] with row
/// stride `stride`, like dS.
struct ScoreGradientRows: AttentionRowEpilogue {
    let probabilities: UnsafePointer<Float>
    let dropped: UnsafePointer<Float>?
    let rowDot: UnsafePointer<Float>
    let time: Int
    let stride: Int
    let ones = UnsafePointer(LayerVector.onesThenZeros)   // read once (see `SoftmaxRows`)

    @inline(__always)
    func finishRow<Row: AttentionTileRow>(_ row: inout Row, query i: Int, column: Int,
                                          out: UnsafeMutablePointer<Float>) {
        if i < time {
            let offset = i * stride + column
            // P (and P') come from L3 or memory: fetch the next tile's block of this row's column
            if i + AttentionTile.rows < time {
                let ahead = offset + AttentionTile.rows * stride
                for q in 0..<Row.vectors { swiftlet_prefetch(probabilities + ahead + 16 * q) }
                if let dropped { for q in 0..<Row.vectors { swiftlet_prefetch(dropped + ahead + 16 * q) } }
            }
            row.scoreGradient(probabilities: probabilities + offset, dropped: dropped.map { $0 + offset },
                              rowDot: rowDot[i], valid: i + 1 - column, ones: ones)
        } else {
            row = Row()
        }
        row.store(out)
    }
}

extension AttentionTileRow {
    // Softmax of the row's scores over its first `valid` columns (0 ... 16 * vectors), zeros after them, in three
    // stages. `negativeInfinities`, `ones`: `LayerVector.zerosThenNegativeInfinity` and `.onesThenZeros`.
    // `@inline(always)`: with `@inline(__always)` the tiles called them, the rows passing through memory.

    /// The maximum of the first `valid` scores (-inf for none).
    @inline(always)
    func maximum(valid: Int, negativeInfinities: UnsafePointer<Float>) -> Float {
        var m = Vector16(repeating: -.infinity)
        for q in 0..<Self.vectors where 16 * q < valid {
            // Lanes at or past `valid` become -inf (adding -inf to a finite score).
            let x = 16 * q + 16 <= valid
                ? self[q] : self[q] + LayerVector.load(negativeInfinities + 16 - (valid - 16 * q))
            m = LayerVector.laneMaximum(m, x)
        }
        return LayerVector.max(m)
    }

    /// exp(score - maximum) over whole 16-lane blocks, the last one masked, zeros past it; returns their sum
    /// (even blocks summed into one vector, odd ones into another).
    @inline(always)
    mutating func exponentiate(maximum: Float, valid: Int, ones: UnsafePointer<Float>) -> Float {
        let shift = Vector16(repeating: maximum)
        var s0 = Vector16(), s1 = Vector16()
        for q in 0..<Self.vectors {
            let j = 16 * q
            guard j < valid else { self[q] = Vector16(); continue }
            var e = LayerVector.exp(self[q] - shift)
            if j + 16 > valid { e *= LayerVector.load(ones + 16 - (valid - j)) }
            self[q] = e
            if q & 1 == 0 { s0 += e } else { s1 += e }
        }
        return LayerVector.sum(s0 + s1)
    }

    @inline(always)
    mutating func scale(by inverse: Float, valid: Int) {
        let factor = Vector16(repeating: inverse)
        for q in 0..<Self.vectors where 16 * q < valid { self[q] = self[q] * factor }
    }

    /// The row holds dP (dP' with dropout) of one query; `valid` = the query's keys left in this block (i + 1 -
    /// the block's first column; at most 0 when the block is all above the diagonal).
    @inline(__always)
    mutating func scoreGradient(probabilities p: UnsafePointer<Float>, dropped: UnsafePointer<Float>?,
                                rowDot dot: Float, valid: Int, ones: UnsafePointer<Float>) {
        for q in 0..<Self.vectors {
            let j = 16 * q
            var v = if let dropped {
                LayerVector.load(dropped + j) * self[q] - LayerVector.load(p + j) * dot
            } else {
                LayerVector.load(p + j) * (self[q] - dot)
            }
            if j + 16 > valid {
                v *= LayerVector.load(ones + 16 - Swift.max(0, valid - j))
            }
            self[q] = v
        }
    }
}
