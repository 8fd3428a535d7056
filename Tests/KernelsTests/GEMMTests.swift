import Testing
@testable import Kernels

/// GEMM against a naive triple loop in Double.
///
/// Error bound. Each element of C is a sum of k products (plus the bias and the old C when accumulating).
/// Computed in Float in any order, with or without fused multiply-adds, the classic bound on a floating-point
/// dot product (Higham, Accuracy and Stability of Numerical Algorithms, 3.1) is
///     |c - exact| <= gamma_(k+2) * (sum_p |a_ip| |b_pj| + |bias_j| + |c_old|),  gamma_n = n u / (1 - n u),
/// with u = 2^-24 the unit roundoff of Float (the +2 covers adding the bias and the old C). The tests check
/// exactly that bound per element (`productBoundViolations`) (the reference in Double is exact to far below it). A wrong index, a
/// missed edge, a skipped or doubled K block, or a lost bias gives errors of the size of the terms
/// themselves, orders of magnitude above the bound.
@Suite struct GEMMTests {
    /// Deterministic values in [-1, 1).
    struct Random {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / 2_147_483_648
        }
        mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
    }

    static let sentinel: Float = 12345

    /// Checks C = op(A) op(B) (+ bias) (+ old C) for one configuration; returns the number of bad elements.
    static func check(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, pad: Int,
                      bias useBias: Bool, accumulate: Bool, threads: Int, tileColumns: Int, seed: UInt64) -> Int {
        var random = Random(state: seed)
        let lda = (transposeA ? m : k) + pad, ldb = (transposeB ? k : n) + pad, ldc = n + pad
        let a = random.array((transposeA ? k : m) * lda)
        let b = random.array((transposeB ? n : k) * ldb)
        let bias = random.array(n)
        var c = random.array(m * ldc)
        for i in 0..<m { for j in n..<ldc { c[i * ldc + j] = sentinel } }   // the padding must stay untouched
        let old = c
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                bias.withUnsafeBufferPointer { pbias in
                    c.withUnsafeMutableBufferPointer { pc in
                        GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: lda, transposeA: transposeA,
                                      b: pb.baseAddress!, ldb: ldb, transposeB: transposeB,
                                      c: pc.baseAddress!, ldc: ldc, bias: useBias ? pbias.baseAddress! : nil,
                                      accumulate: accumulate, pool: pool, tileColumns: tileColumns)
                    }
                }
            }
        }
        return productBoundViolations(c, rows: m, columns: n, ld: ldc, k: k, sentinel: sentinel,
                                      bias: useBias ? bias : nil, old: accumulate ? old : nil) { i, j, p in
            Double(transposeA ? a[p * lda + i] : a[i * lda + p]) * Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
        }
    }

    /// Shapes (m, n, k): 1s, primes, the small-M path (m <= 4), single partial tiles (m < MR = 6, n < NR),
    /// sizes just over the blocks (k = 257 > KC = 256, k = 385, m = 150 > MC = 72 (three M blocks), n = 4097 > NC = 4096,
    /// n = 2100 over the small-M path's 2048-column block), several KC steps; small M with several M blocks over
    /// 2 KC steps (150 x 400: A packed whole, every K step in one pass, B streamed); small M whose K steps do not
    /// all fit the shared buffer (150 x 3000: two passes of K steps); and above the small-M limit (400 x 170
    /// floats of A > 65,536), M blocks whose N panels are split on 2 threads; few M blocks with a long K
    /// (400 x 520), which 2 threads split along K (partial sums added to C); and many M blocks over 2 K steps
    /// (600 x 300). Without a transposed A, the shapes whose rows are at most 512 floats apart and whose K-step
    /// slice is at most 131,072 floats read A's rows in place (a last block of fewer than 6 rows packed); 8 x 513
    /// and 150 x 3000 (rows further apart) and 700 x 200 (140,000 floats a step) pack A. Last tiles of 1 to 5 rows
    /// across whole 32-column panels (the 2- and 4-row kernels): 37, 61 and 7 x 4097 (1 row), 128 (2), 75 (3),
    /// 400 (4), 5 x 33 (5, the 6-row kernel into a scratch tile).
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 17, 5), (3, 5, 7), (4, 33, 40), (5, 33, 2), (6, 16, 1), (7, 17, 3), (13, 31, 385), (13, 31, 257), (11, 19, 193),
        (37, 50, 19), (150, 40, 30), (61, 97, 13), (8, 20, 513), (7, 4097, 2), (2, 2100, 6),
        (150, 97, 400), (150, 40, 3000), (400, 50, 170), (400, 5, 520), (600, 9, 300), (700, 20, 200),
        (75, 64, 40), (128, 64, 40),
    ]

    /// Every transposition, with both micro-tile widths (6x16 for AVX2, 6x32 for AVX-512; both run anywhere).
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)], [16, 32])
    func multiplyMatchesNaiveProduct(transposes: (Bool, Bool), tileColumns: Int) {
        let (transposeA, transposeB) = transposes
        var seed: UInt64 = 1
        for (m, n, k) in Self.shapes {
            for (pad, useBias, accumulate) in [(0, false, false), (3, true, false), (0, true, true), (5, false, true)] {
                for threads in [1, 2] {
                    seed += 1
                    let bad = Self.check(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, pad: pad,
                                         bias: useBias, accumulate: accumulate, threads: threads,
                                         tileColumns: tileColumns, seed: seed)
                    #expect(bad == 0, "m \(m) n \(n) k \(k) pad \(pad) bias \(useBias) acc \(accumulate) threads \(threads) NR \(tileColumns)")
                }
            }
        }
    }

    /// Two K steps with too few M blocks for 2 threads and N panels to split (432 x 49 x 304 with 16-column tiles):
    /// the step-by-step loop with A packed in the shared pass. (Too costly for every configuration above.)
    @Test(arguments: [false, true])
    func stepByStepWithSplitNPanels(transposeA: Bool) {
        let bad = Self.check(m: 432, n: 49, k: 304, transposeA: transposeA, transposeB: false, pad: 0, bias: true,
                             accumulate: true, threads: 2, tileColumns: 16, seed: 99)
        #expect(bad == 0)
    }

    /// A row-major A read in place and the same A stored transposed (so packed) give the same bits: both paths
    /// sum each element's products in the same order.
    @Test(arguments: [16, 32])
    func aReadInPlaceMatchesPackedBitForBit(tileColumns: Int) {
        for (m, n, k) in [(13, 31, 385), (61, 97, 13), (150, 97, 400), (400, 50, 170)] {
            var random = Random(state: UInt64(m * 31 + n * 7 + k))
            let a = random.array(m * k), b = random.array(k * n)
            var aT = [Float](repeating: 0, count: k * m)
            for i in 0..<m { for p in 0..<k { aT[p * m + i] = a[i * k + p] } }
            var inPlace = [Float](repeating: 0, count: m * n), packed = inPlace
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, transposeA: false, b: b, ldb: n, transposeB: false,
                          c: &inPlace, ldc: n, bias: nil, accumulate: false, pool: .shared, tileColumns: tileColumns)
            GEMM.multiply(m: m, n: n, k: k, a: aT, lda: m, transposeA: true, b: b, ldb: n, transposeB: false,
                          c: &packed, ldc: n, bias: nil, accumulate: false, pool: .shared, tileColumns: tileColumns)
            #expect(inPlace == packed, "m \(m) n \(n) k \(k) NR \(tileColumns)")
        }
    }

    /// B packed ahead (`PackedPanels`) gives the same bits as B packed by the product itself, on every path: A
    /// read in place (61 x 97 x 385: a last K step one shorter; 400 x 50 x 170, 128 x 64 x 40, and 7 x 4097 x 2,
    /// N past one NC block), A packed whole (150 x 40 x 3000: two passes of K steps), the step-by-step loop
    /// (700 x 20 x 200; with A transposed and N past one NC block, 258 x 4097 x 256 on one thread, whose second
    /// block's panels start at jc / NR), and a K split on 2 threads (400 x 5 x 520, which packs its parts of B
    /// itself).
    @Test(arguments: [16, 32])
    func prepackedBMatchesPackingBitForBit(tileColumns: Int) {
        func differing(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, threads: Int) -> Int {
            var random = Random(state: UInt64(m * 131 + n * 7 + k) + (transposeB ? 1 : 0))
            let lda = transposeA ? m : k, ldb = (transposeB ? k : n) + 3
            let a = random.array(m * k), b = random.array((transposeB ? n : k) * ldb), bias = random.array(n)
            var storage = [Float](repeating: .nan, count: PackedPanels.floatCount(k: k, n: n, nr: tileColumns))
            var expected = [Float](repeating: 0, count: m * n), got = expected
            let pool = ThreadPool(threads: threads)
            defer { pool.shutdown() }
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                          transposeB: transposeB, c: &expected, ldc: n, bias: bias, accumulate: false,
                          pool: pool, tileColumns: tileColumns)
            storage.withUnsafeMutableBufferPointer { floats in
                let panels = PackedPanels(floats: floats.baseAddress!, k: k, n: n, nr: tileColumns)
                panels.pack(b, ldb: ldb, transposed: transposeB)
                GEMM.multiply(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                              transposeB: transposeB, c: &got, ldc: n, bias: bias, accumulate: false,
                              pool: pool, tileColumns: tileColumns, packedB: panels)
            }
            return zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
        }
        let shapes = [(61, 97, 385), (400, 50, 170), (128, 64, 40), (150, 40, 3000), (700, 20, 200), (7, 4097, 2),
                      (400, 5, 520)]
        for transposeB in [false, true] {
            for (m, n, k) in shapes {
                for threads in [1, 2] {
                    #expect(differing(m: m, n: n, k: k, transposeA: false, transposeB: transposeB, threads: threads) == 0,
                            "m \(m) n \(n) k \(k) transposeB \(transposeB) threads \(threads) NR \(tileColumns)")
                }
            }
            #expect(differing(m: 258, n: 4097, k: 256, transposeA: true, transposeB: transposeB, threads: 1) == 0,
                    "m 258 n 4097 k 256, A transposed, transposeB \(transposeB) NR \(tileColumns)")
        }
    }

    @Test func emptySumWritesOrAddsTheBias() {
        for accumulate in [false, true] {
            var c: [Float] = [1, 2, 3, 4, 5, 6]
            let bias: [Float] = [10, 20, 30]
            let dummy: [Float] = [0]
            GEMM.multiply(m: 2, n: 3, k: 0, a: dummy, lda: 0, b: dummy, ldb: 3, c: &c, ldc: 3, bias: bias,
                          accumulate: accumulate)
            #expect(c == (accumulate ? [11, 22, 33, 14, 25, 36] : [10, 20, 30, 10, 20, 30]))
        }
    }

    /// The three products of a layer against the same naive loops, with the layer's own conventions:
    /// forward writes (or adds) and adds the bias; backwardInput writes or adds; backwardWeight always adds.
    @Test(arguments: [(1, 3, 5), (5, 16, 16), (7, 13, 29), (64, 48, 80), (150, 257, 33)])
    func trainingProducts(rows: Int, inputs: Int, outputs: Int) {
        var random = Random(state: UInt64(rows * 1000 + inputs * 10 + outputs))
        let x = random.array(rows * inputs), w = random.array(inputs * outputs)
        let dy = random.array(rows * outputs), bias = random.array(outputs)
        let u = Double(Float.ulpOfOne) / 2
        func within(_ got: Float, _ exact: Double, _ magnitude: Double, terms: Int) -> Bool {
            abs(Double(got) - exact) <= Double(terms + 2) * u / (1 - Double(terms + 2) * u) * magnitude
        }
        for threads in [1, 2] {
            let pool = ThreadPool(threads: threads)
            defer { pool.shutdown() }
            for accumulate in [false, true] {
                // Y[rows,out] (+)= X W + bias
                var y = random.array(rows * outputs)
                let y0 = y
                GEMM.forward(y: &y, x: x, w: w, bias: bias, rows: rows, inputs: inputs, outputs: outputs,
                             accumulate: accumulate, pool: pool)
                var bad = 0
                for r in 0..<rows {
                    for o in 0..<outputs {
                        var exact = Double(bias[o]), magnitude = abs(Double(bias[o]))
                        if accumulate { exact += Double(y0[r * outputs + o]); magnitude += abs(Double(y0[r * outputs + o])) }
                        for i in 0..<inputs {
                            let t = Double(x[r * inputs + i]) * Double(w[i * outputs + o])
                            exact += t; magnitude += abs(t)
                        }
                        if !within(y[r * outputs + o], exact, magnitude, terms: inputs) { bad += 1 }
                    }
                }
                #expect(bad == 0, "forward \(rows)x\(inputs)x\(outputs) threads \(threads) accumulate \(accumulate)")

                // dX[rows,in] (+)= dY W^T
                var dx = random.array(rows * inputs)
                let dx0 = dx
                GEMM.backwardInput(dx: &dx, dy: dy, w: w, rows: rows, inputs: inputs, outputs: outputs,
                                   accumulate: accumulate, pool: pool)
                bad = 0
                for r in 0..<rows {
                    for i in 0..<inputs {
                        var exact = accumulate ? Double(dx0[r * inputs + i]) : 0
                        var magnitude = abs(exact)
                        for o in 0..<outputs {
                            let t = Double(dy[r * outputs + o]) * Double(w[i * outputs + o])
                            exact += t; magnitude += abs(t)
                        }
                        if !within(dx[r * inputs + i], exact, magnitude, terms: outputs) { bad += 1 }
                    }
                }
                #expect(bad == 0, "backwardInput \(rows)x\(inputs)x\(outputs) threads \(threads) accumulate \(accumulate)")
            }
            // dW[in,out] += X^T dY
            var dw = random.array(inputs * outputs)
            let dw0 = dw
            GEMM.backwardWeight(dw: &dw, x: x, dy: dy, rows: rows, inputs: inputs, outputs: outputs, pool: pool)
            var bad = 0
            for i in 0..<inputs {
                for o in 0..<outputs {
                    var exact = Double(dw0[i * outputs + o]), magnitude = abs(exact)
                    for r in 0..<rows {
                        let t = Double(x[r * inputs + i]) * Double(dy[r * outputs + o])
                        exact += t; magnitude += abs(t)
                    }
                    if !within(dw[i * outputs + o], exact, magnitude, terms: rows) { bad += 1 }
                }
            }
            #expect(bad == 0, "backwardWeight \(rows)x\(inputs)x\(outputs) threads \(threads)")
        }
    }

    /// Matrix-vector products of generation: y = x W (+ bias) with W [in, out], and y = W x with W [out, in].
    @Test(arguments: [(1, 1), (7, 15), (16, 16), (33, 130), (300, 257)])
    func matrixVectorProducts(inputs: Int, outputs: Int) {
        var random = Random(state: UInt64(inputs * 7919 + outputs))
        let x = random.array(inputs), w = random.array(inputs * outputs), bias = random.array(outputs)
        let u = Double(Float.ulpOfOne) / 2
        let gamma = Double(inputs + 2) * u / (1 - Double(inputs + 2) * u)
        for threads in [1, 2] {
            let pool = ThreadPool(threads: threads)
            defer { pool.shutdown() }
            for accumulate in [false, true] {
                var y1 = random.array(outputs), y2 = random.array(outputs)
                let y10 = y1, y20 = y2
                GEMM.vectorTimesMatrix(y: &y1, x: x, w: w, bias: bias, inputs: inputs, outputs: outputs,
                                       accumulate: accumulate, pool: pool)
                // The same W read as [out, in]: element (o, i) is w[o * inputs + i].
                GEMM.matrixTimesVector(y: &y2, w: w, x: x, bias: bias, outputs: outputs, inputs: inputs,
                                       accumulate: accumulate, pool: pool)
                var bad = 0
                for o in 0..<outputs {
                    var e1 = Double(bias[o]) + (accumulate ? Double(y10[o]) : 0)
                    var m1 = abs(Double(bias[o])) + (accumulate ? abs(Double(y10[o])) : 0)
                    var e2 = Double(bias[o]) + (accumulate ? Double(y20[o]) : 0)
                    var m2 = abs(Double(bias[o])) + (accumulate ? abs(Double(y20[o])) : 0)
                    for i in 0..<inputs {
                        let t1 = Double(x[i]) * Double(w[i * outputs + o])
                        let t2 = Double(x[i]) * Double(w[o * inputs + i])
                        e1 += t1; m1 += abs(t1); e2 += t2; m2 += abs(t2)
                    }
                    if !(abs(Double(y1[o]) - e1) <= gamma * m1) { bad += 1 }
                    if !(abs(Double(y2[o]) - e2) <= gamma * m2) { bad += 1 }
                }
                #expect(bad == 0, "matvec \(inputs)x\(outputs) threads \(threads) accumulate \(accumulate)")
            }
        }
    }
}
