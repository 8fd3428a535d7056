import CIntrinsics

/// The matrix products of a decoding step: y[M, N] (=|+=) x[M, K] · W[K, N] (+ bias[N]) for a few rows
/// (M = sequences decoded together, usually 1..8), W a `PanelMatrix` in fp32 or bf16.
///
/// Blocking: threads split W's 16-column panels into contiguous ranges, so each thread streams its part of
/// W once. Register tiles (each output element one SIMD lane of an accumulator):
///   - M = 1: 1 row x 1 panel, a thread's panels in order: one sequential stream, no software prefetch;
///   - M = 2 (bandwidth-bound): 2 rows x 1 panel, panel by panel: one sequential stream, no software prefetch;
///   - M = 3, 4: 4 rows x 1 panel, panel by panel (3 rows: one repeated, its results dropped);
///   - M > 4: panel by panel, 4 rows x 1 panel tiles over all the rows while the panel is in cache.
/// Software prefetch (the out-of-order window alone keeps too few misses in flight to reach the memory
/// bandwidth, worst for the tiles that spend many FMAs per byte): the M = 3, 4 tiles prefetch their panels 64
/// rows ahead; with M > 4, tile j of the T tiles of a panel prefetches the j-th T-th of the next panel into
/// L2, so memory is read during all of them. The M = 1, 2 tiles leave their streams to the hardware
/// prefetcher.
/// Every tile keeps, for each output element, one accumulator that starts at 0 and takes x[i, k] * W[k, j]
/// by fused multiply-add for k = 0, 1, ..., K-1 in that order; the epilogue then computes
/// y = (y +) (acc + bias). So an element's value does not depend on M, on the tile that computed it or on the
/// thread count: decoding a sequence in a batch gives bit-identical logits to decoding it alone.
/// A bf16 W is widened to fp32 as it is loaded (16 values: vpmovzxwd + vpslld, twice).
public enum PanelProduct {
    /// fp32 weights.
    public static func multiply(y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, ldx: Int,
                                w: PanelMatrix<Float>, bias: UnsafePointer<Float>?, rows: Int, accumulate: Bool,
                                pool: ThreadPool = .shared) {
        run(y: y, ldy: ldy, x: x, ldx: ldx, w: w, bias: bias, rows: rows, accumulate: accumulate, pool: pool)
    }

    /// bf16 weights.
    public static func multiply(y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, ldx: Int,
                                w: PanelMatrix<BFloat16>, bias: UnsafePointer<Float>?, rows: Int, accumulate: Bool,
                                pool: ThreadPool = .shared) {
        run(y: y, ldy: ldy, x: x, ldx: ldx, w: w, bias: bias, rows: rows, accumulate: accumulate, pool: pool)
    }

    /// Panels a thread takes at least (a hand-off costs a few microseconds; 4 panels of K = 288 fp32 are 72 KB).
    static let minimumPanelsPerThread = 4

    @inline(__always)
    static func run<E: PanelElement>(y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, ldx: Int,
                                     w: PanelMatrix<E>, bias: UnsafePointer<Float>?, rows M: Int, accumulate: Bool,
                                     pool: ThreadPool) {
        if M <= 0 || w.columns <= 0 { return }
        pool.parallelFor(w.panelCount, minimumChunk: minimumPanelsPerThread) { range in
            panels(range, y: y, ldy: ldy, x: x, ldx: ldx, w: w, bias: bias, rows: M, accumulate: accumulate)
        }
    }

    /// One thread's panels, in order, with the row tiles of the type's comment.
    static func panels<E: PanelElement>(_ range: Range<Int>, y: UnsafeMutablePointer<Float>, ldy: Int,
                                        x: UnsafePointer<Float>, ldx: Int, w: PanelMatrix<E>,
                                        bias: UnsafePointer<Float>?, rows M: Int, accumulate: Bool) {
        let K = w.rows, N = w.columns
        func store(_ acc: SIMD16<Float>, row i: Int, panel q: Int) {
            storeTile(acc, y: y + i * ldy, panel: q, columns: N, bias: bias, accumulate: accumulate)
        }
        if M > 4 {
            // Many rows: panel by panel, every 4-row tile against the panel while it is in cache (the first tile
            // streams it from memory, the others reuse it).
            // Tile j of the T tiles of a panel prefetches the j-th T-th of the next panel, so memory is read
            // during all of them, into L2 (`prefetcht1`): fetched into L1, the next panel (18-72 KB) pushed
            // the current one out of the 32 KB L1 before its later tiles had read it. On the Zen 4 of session 9,
            // batch 8, alternating (BENCHMARKS.md, "Generation" > "Session 9"): 2,760-2,830 -> 3,730-3,760 greedy
            // tokens/s.
            let tiles = (M + 3) / 4
            let rowsPerTile = (K + tiles - 1) / tiles
            let step = (rowsPerTile << 16) / max(1, K)   // prefetch row first + (k * rowsPerTile) / K, 16.16
            for q in range {
                let (next, nextStride) = w.panel(min(q + 1, w.panelCount - 1))
                for j in 0..<tiles {
                    let first = min(j * rowsPerTile, K - 1)
                    fourRows(q, r: 4 * j, mr: min(4, M - 4 * j), prefetch: next + first * nextStride,
                             prefetchStride: nextStride, prefetchStep: step, prefetchToL2: true)
                }
            }
            return
        }
        // Rows r..<r+mr against one panel with the 4-row tile (rows past mr repeat the last one); by default
        // it prefetches its own panel prefetchRows ahead (in a packed matrix, past the end of the panel is the
        // start of the next one).
        @inline(__always) func fourRows(_ q: Int, r: Int, mr: Int, prefetch: UnsafePointer<E>? = nil,
                                        prefetchStride: Int = 0, prefetchStep: Int = 1 << 16,
                                        prefetchToL2: Bool = false) {
            let (wq, sq) = w.panel(q)
            let x0 = x + r * ldx, last = x0 + (mr - 1) * ldx
            let a = tile4x1(K, x0, mr > 1 ? x0 + ldx : last, mr > 2 ? x0 + 2 * ldx : last, last, wq, sq,
                            prefetch ?? wq + prefetchRows * sq, prefetch == nil ? sq : prefetchStride, prefetchStep,
                            prefetchToL2)
            store(a.0, row: r, panel: q)
            if mr > 1 { store(a.1, row: r + 1, panel: q) }
            if mr > 2 { store(a.2, row: r + 2, panel: q) }
            if mr > 3 { store(a.3, row: r + 3, panel: q) }
        }
        // M = 1..4: one tile covers every row; panel by panel, in order.
        for q in range {
            switch M {
            case 1:
                let (wq, sq) = w.panel(q)
                store(tile1x1(K, x, wq, sq), row: 0, panel: q)
            case 2:
                let (wq, sq) = w.panel(q)
                let a = tile2x1(K, x, x + ldx, wq, sq)
                store(a.0, row: 0, panel: q); store(a.1, row: 1, panel: q)
            default:
                fourRows(q, r: 0, mr: M)
            }
        }
    }

    /// y[16q ..< 16q+16] (clipped to N) (=|+=) acc + bias.
    @inline(__always)
    static func storeTile(_ acc: SIMD16<Float>, y: UnsafeMutablePointer<Float>, panel q: Int, columns N: Int,
                          bias: UnsafePointer<Float>?, accumulate: Bool) {
        let j0 = 16 * q
        if j0 + 16 <= N {
            var s = acc
            if let bias { s += UnsafeRawPointer(bias + j0).loadUnaligned(as: SIMD16<Float>.self) }
            let out = UnsafeMutableRawPointer(y + j0)
            if accumulate { s = out.loadUnaligned(as: SIMD16<Float>.self) + s }
            out.storeBytes(of: s, as: SIMD16<Float>.self)
        } else {
            for j in 0..<(N - j0) {
                var s = acc[j]
                if let bias { s += bias[j0 + j] }
                y[j0 + j] = accumulate ? y[j0 + j] + s : s
            }
        }
    }

    /// 1 row of x against 1 panel: acc[0..<16] = sum_k x[k] W[k, 0..<16].
    ///
    /// One FMA chain (a zmm FMA's 4-cycle latency per 64 bytes: about 59 GB/s a core, more than memory gives
    /// a core) reading one sequential stream, a thread's panels one after the other, with no software
    /// prefetch: the hardware prefetcher follows one stream best. On the Zen 4 of session 9, one thread
    /// (BENCHMARKS.md, "Generation" > "Session 9"): the earlier 1 x 4 tile, four streams prefetched 64 rows ahead,
    /// 346-358 tokens/s; the same without the prefetch 427-439; this tile 477-518. Two panels at a time (two
    /// chains, two streams) helped bf16 by 1.14x on the Intel Xeon of session 10, whose 300 MiB L3 held the
    /// weights, so that the one chain's latency bounded; where the weights come from memory it cost, on the Zen 4
    /// of session 24 (2 threads, greedy tokens/s over the C fp32 reference's in the same run, medians of
    /// alternating pairs): fp32 0.955 -> 1.085 (6 pairs), bf16 1.73 -> 2.27 (4 pairs) (BENCHMARKS.md,
    /// "Generation" > "Session 24").
    @inline(__always)
    static func tile1x1<E: PanelElement>(_ K: Int, _ x: UnsafePointer<Float>, _ w: UnsafePointer<E>, _ s: Int)
        -> SIMD16<Float> {
        var a = SIMD16<Float>()
        for k in 0..<K { a = a.addingProduct(SIMD16<Float>(repeating: x[k]), E.load16(w, k * s)) }
        return a
    }

    /// 2 rows of x against 1 panel, one sequential stream without software prefetch, as `tile1x1` (two FMA
    /// chains a panel). On the Zen 4 of session 9 it replaced a 2 row x 2 panel tile that prefetched both panels
    /// 64 rows ahead: batch 2 greedy 1,025-1,189 -> 1,312-1,483 tokens/s, three alternating pairs
    /// (BENCHMARKS.md, "Generation" > "Session 9").
    @inline(__always)
    static func tile2x1<E: PanelElement>(_ K: Int, _ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>,
                                         _ w: UnsafePointer<E>, _ s: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        for k in 0..<K {
            let c = E.load16(w, k * s)
            a0 = a0.addingProduct(SIMD16<Float>(repeating: x0[k]), c)
            a1 = a1.addingProduct(SIMD16<Float>(repeating: x1[k]), c)
        }
        return (a0, a1)
    }

    /// Rows ahead the 4-row tile prefetches.
    static let prefetchRows = 64

    /// 4 rows of x against 1 panel.
    @inline(__always)
    static func tile4x1<E: PanelElement>(_ K: Int, _ x0: UnsafePointer<Float>, _ x1: UnsafePointer<Float>,
                                         _ x2: UnsafePointer<Float>, _ x3: UnsafePointer<Float>,
                                         _ w: UnsafePointer<E>, _ s: Int,
                                         _ prefetch: UnsafePointer<E>, _ prefetchStride: Int, _ prefetchStep: Int,
                                         _ prefetchToL2: Bool)
        -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var ahead = 0   // 16.16 fixed point: the row of `prefetch` to fetch at this k
        for k in 0..<K {
            // This tile spends 8 FMAs on every 64 bytes of W, too slowly for the out-of-order window alone to
            // keep enough loads in flight when W comes from memory: software prefetch.
            let line = prefetch + (ahead >> 16) * prefetchStride
            if prefetchToL2 { swiftlet_prefetch_l2(line) } else { swiftlet_prefetch(line) }
            ahead &+= prefetchStep
            let c = E.load16(w, k * s)
            a0 = a0.addingProduct(SIMD16<Float>(repeating: x0[k]), c)
            a1 = a1.addingProduct(SIMD16<Float>(repeating: x1[k]), c)
            a2 = a2.addingProduct(SIMD16<Float>(repeating: x2[k]), c)
            a3 = a3.addingProduct(SIMD16<Float>(repeating: x3[k]), c)
        }
        return (a0, a1, a2, a3)
    }
}
