/// The cache-blocked GEMM (Goto / BLIS loop structure), for all but the smallest M.
///
///   for jc in N by NC:                      B block of KC x NC lives in L3 (shared by the threads)
///     for pc in K by KC:
///       pack op(B)[pc, jc] -> packed B      (NR-wide panels; the threads pack panels in parallel)
///       parallel over tasks (M block, N range):
///         pack op(A)[ic, pc] -> packed A    (MR-high panels, MC x KC: stays in this core's L2)
///         for jr over the NR panels of the range:      B micro-panel KC x NR stays in L1
///           for ir over the MR panels of the M block:  A micro-panel streams from L2
///             micro-kernel: C[MR, NR] (+)= A panel · B panel
///
/// The first KC step writes C (or adds to it when accumulating) and adds the bias; later steps add.
/// Threads split M into blocks of equal numbers of MR panels (a multiple of the thread count), so each core
/// keeps its own A block in its own L2 and the shared packed B is read by both; when M has too few blocks
/// for 4 tasks a thread, the N panels are split as well, and the A blocks are then packed once, in the shared
/// pass with B (else every part of a block would pack the same A block).
///
/// Small M (the whole of op(A)[:, pc] fits in `streamBLimit`, an eighth of the Intel Xeon's 2 MiB L2 and a
/// quarter of the Zen 4's 1 MiB: the weight gradients of narrow layers, a shard's forward with K = 128): A is
/// packed whole in the shared pass and the tasks split only N; a task packs each of its B micro-panels just
/// before use, into L1, and runs it against every row. B then never goes through a
/// packed buffer in L2 or L3, and each of its elements is packed once. op(A) is packed for as many K steps as
/// the shared buffer holds (usually all) in one pass, and a task runs those K steps on its N panel
/// (`streamBSteps`).
///
/// Row-major op(A) (not transposed) whose K-step slices fit in a quarter of L2 and whose rows are at most 2 KiB
/// apart (every product of a `tiny` training shard but the weight gradients): as for small M, but A is not
/// packed at all. The micro-kernel reads its six rows where they are (`PanelLayout.rows`), and only a last block
/// of fewer than six rows is packed. Packing A cost most where few N panels share it: a shard's forward and
/// input-gradient products ran 3-9% faster without it (BENCHMARKS.md, "Training" > "Session 14").
///
/// Few M blocks and a long K on several threads (the weight gradient of a narrow layer over many rows): the
/// threads split K instead, each running its range alone, and C adds up their partial sums (`multiplySplitK`).
enum GEMMBlocked {
    /// KC: K steps of at most 256. A K that fits in one step spares a pass of loads and stores over C. The B
    /// micro-panel (KC x NR floats) is read once per MR rows and should stay in L1: 32 KiB for NR = 32, two
    /// thirds of the 48 KiB L1 of the Intel Xeon (AVX-512, two FMA pipes) of sessions 10-22, all of the 32 KiB
    /// L1 of the AMD EPYC (Zen 4) of session 23. On the Xeon the 6 x 32 kernel alone, over a 144-row A block in
    /// L2, ran at 238 GFLOP/s with KC = 256 and at 201 with KC = 384 (a 48 KiB panel); on the Zen 4 of session 9
    /// (32 KiB L1, half the FMA rate) 384 had been faster (BENCHMARKS.md, "GEMM" > "Session 10"). Not re-tuned
    /// for the Zen 4 of session 23: there the forward and input-gradient
    /// products of a `tiny` shard run at 98-100% of the FMA reference on one thread, the weight gradients at 92-97%.
    static let kcMax = 256
    /// K in nearly equal steps of at most KC: the depth of every step but the last.
    static func kcStep(_ k: Int) -> Int { ceilDiv(k, ceilDiv(k, kcMax)) }
    /// MC: rows of A per block (an MR multiple; 72 x 256 floats = 72 KiB of packed A, well inside L2).
    /// Small blocks give the threads more M blocks to share, so fewer products need the N split. Against 144,
    /// alternating in the same minutes (2 threads): `tiny` training steps 1.12-1.13x (median of 10 pairs),
    /// `small` 0.99-1.09x; GEMM shapes mostly within noise.
    static let mcMax = 72
    static let ncMax = 4096  // a multiple of both NR: kcMax x 4096 floats = 4 MiB of packed B, in L3
    /// Small M: packed A of at most this many floats a K step (256 KiB: half of L2 on the 512 KiB-L2 machine it was
    /// chosen on, an eighth of the Xeon's 2 MiB, a quarter of the Zen 4's 1 MiB).
    static let streamBLimit = 65_536
    /// Row-major A read in place: at most this many floats of it a K step (512 KiB, a quarter of the Xeon's 2 MiB L2, half of the Zen 4's 1 MiB), which every
    /// N panel reads again.
    static let rowsALimit = 131_072
    /// ... and rows at most 2 KiB apart. The kernel's six rows, kc floats each, then share L1's sets at most three at
    /// a time, beside the B micro-panel's eight of the twelve ways; rows a multiple of 4 KiB apart (the logits'
    /// gradient over a vocabulary of 4096: 16 KiB) all fall into the same sets and evict each other.
    static let rowsAStrideLimit = 512

    /// Per task: the packed A block, an MR x NR edge tile, and one B micro-panel (packed in the task).
    static let packedAScratch = GEMMScratch(capacity: mcMax * kcMax + GEMMMicroKernel.mr * GEMMMicroKernel.maxNR
                                                + kcMax * GEMMMicroKernel.maxNR)
    static let packedBScratch = GEMMScratch(capacity: kcMax * ncMax)
    /// op(A)[:, pc] packed whole in the shared pass: small M, or M blocks whose N panels are split (that happens
    /// below 4 M blocks a thread; room for 16 blocks, else the tasks pack their own).
    static let sharedPackedAScratch = GEMMScratch(capacity: 16 * mcMax * kcMax)

    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                         b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                         c: UnsafeMutablePointer<Float>, ldc: Int,
                         bias: UnsafePointer<Float>?, accumulate: Bool, pool: ThreadPool, nr: Int,
                         prepacked: PackedPanels? = nil) {
        assert(nr == 16 || nr == 32, "micro-tile width must be 16 or 32")
        assert(prepacked?.fits(k: k, n: n, nr: nr) ?? true, "packed panels of another shape")
        let mr = GEMMMicroKernel.mr
        let threads = pool.threadCount

        // K in nearly equal steps of at most KC; N in steps of at most NC (NR multiples).
        let kcStep = kcStep(k)
        let kSteps = ceilDiv(k, kcStep)
        let nSteps = ceilDiv(n, ncMax)
        let ncStep = ceilDiv(ceilDiv(n, nSteps), nr) * nr

        // M in blocks of equal numbers of MR panels, a multiple of the thread count when there are enough.
        let mPanels = ceilDiv(m, mr)
        var mBlocks = ceilDiv(mPanels * mr, mcMax)
        if threads > 1 { mBlocks = min(mPanels, ceilDiv(mBlocks, threads) * threads) }
        func firstPanel(_ block: Int) -> Int { mPanels * block / mBlocks }  // block == mBlocks gives mPanels

        let readsARows = !transposeA && lda <= rowsAStrideLimit && m * kcStep <= rowsALimit
        let streamB = readsARows || mPanels * mr * kcStep <= streamBLimit
        if threads > 1 && !streamB && mBlocks < 4 * threads && k >= threads * kcMax && m * n <= splitKLimit {
            multiplySplitK(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                           transposeB: transposeB, c: c, ldc: ldc, bias: bias, accumulate: accumulate, pool: pool, nr: nr)
            return
        }
        let packedB = streamB || prepacked != nil ? nil : packedBScratch.take()
        var sharedA: UnsafeMutablePointer<Float>? = nil
        defer {
            if let packedB { packedBScratch.give(back: packedB) }
            if let sharedA { sharedPackedAScratch.give(back: sharedA) }
        }

        var jc = 0
        while jc < n {
            let nc = min(ncStep, n - jc)
            if readsARows {
                streamBSteps(0..<kSteps, m: m, k: k, a: a, lda: lda, transposeA: false, b: b, ldb: ldb,
                             transposeB: transposeB, c: c, ldc: ldc, bias: bias, accumulate: accumulate, pool: pool,
                             nr: nr, j0: jc, columns: nc, kcStep: kcStep, mBlocks: mBlocks, packedA: nil,
                             prepacked: prepacked)
                jc += nc
                continue
            }
            if streamB {
                // As many K steps a pass as the shared buffer holds (at least 4: 16 x mcMax x kcMax floats over a
                // step of at most streamBLimit); usually all of them.
                if sharedA == nil { sharedA = sharedPackedAScratch.take() }
                let stepsPerPass = sharedPackedAScratch.capacity / (mPanels * mr * kcStep)
                var step = 0
                while step < kSteps {
                    let steps = step..<min(kSteps, step + stepsPerPass)
                    streamBSteps(steps, m: m, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                                 transposeB: transposeB, c: c, ldc: ldc, bias: bias, accumulate: accumulate,
                                 pool: pool, nr: nr, j0: jc, columns: nc, kcStep: kcStep, mBlocks: mBlocks,
                                 packedA: sharedA!, prepacked: prepacked)
                    step = steps.upperBound
                }
                jc += nc
                continue
            }
            let nPanels = ceilDiv(nc, nr)
            // N parts: with several threads, at least 4 tasks a thread (so a thread the OS delays is made up
            // for by the others); the N panels are split only when M has too few blocks for that.
            let nSplit = threads == 1 || mBlocks >= 4 * threads ? 1
                : max(1, min(nPanels / 2, ceilDiv(4 * threads, mBlocks)))
            let shareA = nSplit > 1 && mPanels * mr * kcStep <= sharedPackedAScratch.capacity
            if shareA && sharedA == nil { sharedA = sharedPackedAScratch.take() }
            var pc = 0
            while pc < k {
                let kc = min(kcStep, k - pc)
                let loadC = accumulate || pc > 0
                let stepBias = pc == 0 ? bias : nil

                // The shared pass: packed B in one run of panels a thread (2 panels at least; none when B came
                // packed), then, when A is shared, one task an M block.
                let stepB = prepacked?.panels(step: pc / kcStep, from: jc / nr) ?? UnsafePointer(packedB!)
                let bTasks = prepacked == nil ? max(1, min(threads, nPanels / 2)) : 0
                let aTasks = shareA ? mBlocks : 0
                pool.run(tasks: bTasks + aTasks) { task in
                    if task < bTasks {
                        GEMMPacking.packB(b, ldb: ldb, transposed: transposeB, nr: nr, p0: pc, kc: kc, j0: jc,
                                          columns: nc, panels: (nPanels * task / bTasks)..<(nPanels * (task + 1) / bTasks),
                                          into: packedB!)
                    } else {
                        let first = firstPanel(task - bTasks), end = firstPanel(task - bTasks + 1)
                        GEMMPacking.packA(a, lda: lda, transposed: transposeA, i0: first * mr,
                                          rows: min(end * mr, m) - first * mr, p0: pc, kc: kc,
                                          into: sharedA! + first * mr * kc)
                    }
                }

                pool.run(tasks: mBlocks * nSplit) { task in
                    let block = task / nSplit, part = task % nSplit
                    let i0 = firstPanel(block) * mr
                    let rows = min(firstPanel(block + 1) * mr, m) - i0
                    packedAScratch.with { ownA in
                        let packedA: UnsafeMutablePointer<Float>
                        if shareA {
                            packedA = sharedA! + i0 * kc
                        } else {
                            GEMMPacking.packA(a, lda: lda, transposed: transposeA, i0: i0, rows: rows,
                                              p0: pc, kc: kc, into: ownA)
                            packedA = ownA
                        }
                        macroKernel(nr: nr, kc: kc, a: packedA, layout: .packed(kc: kc), rows: rows, packedB: stepB,
                                    panels: (nPanels * part / nSplit)..<(nPanels * (part + 1) / nSplit),
                                    columns: nc, c: c + i0 * ldc + jc, ldc: ldc, loadC: loadC,
                                    bias: stepBias.map { $0 + jc }, scratch: ownA + mcMax * kcMax, edgeA: nil)
                    }
                }
                pc += kc
            }
            jc += nc
        }
    }

    /// Most floats of C that a K split keeps a partial sum of, per thread past the first (64 MiB).
    static let splitKLimit = 16 << 20
    /// The partial sums of a K split, one buffer per thread past the first.
    static let partialSums = GEMMGrowingScratch()
    /// A pool that runs its tasks on the calling thread: each part of a K split is a single-threaded product.
    static let callingThread = ThreadPool(threads: 1)

    /// Few M blocks and a long K (the weight gradient of a layer with few inputs: M = inputs, K = rows): the
    /// M-block split would leave the threads sharing N panels of one packed B, so instead each thread takes
    /// a contiguous range of K and runs that product alone, packing its own A and B into its own caches.
    /// Thread 0 adds its part to C (with the bias, and to the old C when accumulating); each other thread
    /// writes its part to a partial-sum buffer [m, n], and the partial sums are then added to C in part order,
    /// rows split over the threads. Same inputs and thread count give the same bits.
    /// (The weight gradient of 2048 x 384 x 1152 on 2 threads against OpenBLAS, like for like: 0.89 -> 0.97-0.99;
    /// BENCHMARKS.md, "GEMM" > "Session 10".)
    static func multiplySplitK(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                               b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                               c: UnsafeMutablePointer<Float>, ldc: Int,
                               bias: UnsafePointer<Float>?, accumulate: Bool, pool: ThreadPool, nr: Int) {
        let parts = pool.threadCount
        let buffers = (1..<parts).map { _ in partialSums.take(floats: m * n) }
        defer { for buffer in buffers { partialSums.give(back: buffer) } }
        let partials = buffers.map(\.pointer)
        pool.run(tasks: parts) { part in
            let k0 = k * part / parts, k1 = k * (part + 1) / parts
            let aPart = transposeA ? a + k0 * lda : a + k0
            let bPart = transposeB ? b + k0 : b + k0 * ldb
            let first = part == 0
            multiply(m: m, n: n, k: k1 - k0, a: aPart, lda: lda, transposeA: transposeA, b: bPart, ldb: ldb,
                     transposeB: transposeB, c: first ? c : partials[part - 1], ldc: first ? ldc : n,
                     bias: first ? bias : nil, accumulate: first && accumulate, pool: callingThread, nr: nr)
        }
        pool.parallelFor(m) { rows in
            for i in rows {
                let row = c + i * ldc
                for partial in partials { LayerVector.scaledCopy(row, partial + i * n, n, scale: 1, accumulate: true) }
            }
        }
    }

    /// Small M, the K steps `steps`: one pass packs their op(A) whole (a task per K step and M block; none when
    /// `packedA` is nil: then A is read in place, row-major), then each task takes one N panel of the columns
    /// j0 ..< j0 + columns and runs those K steps on it, packing the panel's B micro-panel into L1 before each
    /// step (or reading it from `prepacked`). The threads meet twice a pass instead of twice a K step, and a C panel (rows x NR) stays in this
    /// core's cache across the steps; each element of C sums the K steps in order. (The weight gradient of
    /// `tiny`'s 768 x 128 x 384 on 2 threads, against one pass a K step: 158-164 -> 184-190 GFLOP/s.)
    ///
    ///   packedA: K step s at offset (s - steps.lowerBound) * (mPanels * MR * kcStep), its M blocks in order
    ///            inside (MR panels)
    static func streamBSteps(_ steps: Range<Int>, m: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             transposeA: Bool, b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                             c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?,
                             accumulate: Bool, pool: ThreadPool, nr: Int, j0: Int, columns: Int, kcStep: Int,
                             mBlocks: Int, packedA: UnsafeMutablePointer<Float>?, prepacked: PackedPanels?) {
        let mr = GEMMMicroKernel.mr
        let mPanels = ceilDiv(m, mr)
        let stepFloats = mPanels * mr * kcStep
        func firstPanel(_ block: Int) -> Int { mPanels * block / mBlocks }
        if let packedA {
            pool.run(tasks: mBlocks * steps.count) { task in
                let step = steps.lowerBound + task / mBlocks, block = task % mBlocks
                let pc = step * kcStep, kc = min(kcStep, k - pc)
                let first = firstPanel(block), end = firstPanel(block + 1)
                GEMMPacking.packA(a, lda: lda, transposed: transposeA, i0: first * mr,
                                  rows: min(end * mr, m) - first * mr, p0: pc, kc: kc,
                                  into: packedA + (step - steps.lowerBound) * stepFloats + first * mr * kc)
            }
        }
        pool.run(tasks: ceilDiv(columns, nr)) { panel in
            packedAScratch.with { scratch in
                // scratch: a packed last block of A (when A is read in place), the edge tile, the B micro-panel
                let edge = scratch + mcMax * kcMax, panelB = edge + mr * GEMMMicroKernel.maxNR
                let j = j0 + panel * nr
                let width = min(nr, columns - panel * nr)
                for step in steps {
                    let pc = step * kcStep, kc = min(kcStep, k - pc)
                    let stepB: UnsafePointer<Float>
                    if let prepacked {
                        stepB = prepacked.panels(step: step, from: j / nr)
                    } else {
                        GEMMPacking.packB(b, ldb: ldb, transposed: transposeB, nr: nr, p0: pc, kc: kc,
                                          j0: j, columns: width, panels: 0..<1, into: panelB)
                        stepB = UnsafePointer(panelB)
                    }
                    let stepA = packedA.map { UnsafePointer($0 + (step - steps.lowerBound) * stepFloats) } ?? a + pc
                    macroKernel(nr: nr, kc: kc, a: stepA, layout: packedA == nil ? .rows(lda: lda) : .packed(kc: kc),
                                rows: m, packedB: stepB, panels: 0..<1, columns: width, c: c + j, ldc: ldc,
                                loadC: accumulate || step > 0, bias: step == 0 ? bias.map { $0 + j } : nil,
                                scratch: edge, edgeA: scratch)
                }
            }
        }
    }

    /// C[rows, panels of NR columns] from an A block (`layout`: packed panels, or rows read in place) and the
    /// packed B panels `panels`. `edgeA` (MR x kc floats): where a last in-place block of fewer than MR rows is
    /// packed, zero-padded, before its tiles.
    @inline(__always)
    static func macroKernel(nr: Int, kc: Int, a: UnsafePointer<Float>, layout: PanelLayout, rows: Int,
                            packedB: UnsafePointer<Float>, panels: Range<Int>, columns: Int,
                            c: UnsafeMutablePointer<Float>, ldc: Int, loadC: Bool, bias: UnsafePointer<Float>?,
                            scratch: UnsafeMutablePointer<Float>, edgeA: UnsafeMutablePointer<Float>?) {
        let mr = GEMMMicroKernel.mr
        let fullRows = rows / mr * mr
        if layout.inPlace && fullRows < rows {
            GEMMPacking.packA(a, lda: layout.rowStride, transposed: false, i0: fullRows, rows: rows - fullRows,
                              p0: 0, kc: kc, into: edgeA!)
        }
        for panel in panels {
            let j = panel * nr
            let width = min(nr, columns - j)
            let bPanel = packedB + panel * kc * nr
            let panelBias = bias.map { $0 + j }
            var i = 0
            var aPanel = a
            while i < rows {
                let height = min(mr, rows - i)
                if height == mr && width == nr {
                    GEMMMicroKernel.tile(nr: nr, kc: kc, a: aPanel, layout: layout, b: bPanel, c: c + i * ldc + j,
                                         ldc: ldc, loadC: loadC, bias: panelBias)
                } else if nr == 32 && width == nr && height <= 4 {
                    // The last rows, packed (an in-place block of fewer than MR rows was packed into edgeA).
                    GEMMMicroKernel.shortTile32(rows: height, kc: kc, a: layout.inPlace ? UnsafePointer(edgeA!) : aPanel,
                                                b: bPanel, c: c + i * ldc + j, ldc: ldc, loadC: loadC, bias: panelBias)
                } else {
                    let (block, blockLayout) = height < mr && layout.inPlace
                        ? (UnsafePointer(edgeA!), PanelLayout.packed(kc: kc)) : (aPanel, layout)
                    GEMMMicroKernel.edgeTile(nr: nr, kc: kc, a: block, layout: blockLayout, b: bPanel,
                                             c: c + i * ldc + j, ldc: ldc, rows: height, columns: width,
                                             loadC: loadC, bias: panelBias, scratch: scratch)
                }
                i += mr
                aPanel += layout.panelStride
            }
        }
    }
}

@inline(__always)
func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
