import Testing
@testable import Kernels

/// The decoding product `PanelProduct` (y[M, N] (=|+=) x[M, K] · W[K, N] + bias, W in column panels of 16)
/// against a plain triple loop in Double, on awkward shapes: every M from 1 to 9 (all the row tiles and their
/// remainders), N not a multiple of 16 (a partial last panel), odd K; W packed from [K, N], packed from the
/// transpose of an [N, K] matrix (the tied LM head); fp32 and bf16 (the reference then uses
/// the rounded weights). Bound per element: gamma_(K+2) (sum_k |x_ik| |w_kj| + |bias_j| + |y_old|), as in
/// GEMMTests (Higham 3.1, `productBoundViolations`); a wrong panel, row or edge gives errors of the size of the terms.
@Suite struct PanelProductTests {
    enum Source: CaseIterable { case packed, packedTransposed }

    static let sentinel: Float = 12345

    /// Runs one configuration; returns the number of wrong elements (padding columns of y must stay untouched).
    static func check<E: PanelElement>(_: E.Type, source: Source, m: Int, k: Int, n: Int, bias useBias: Bool,
                                       accumulate: Bool, threads: Int, seed: UInt64) -> Int {
        var random = LayerRandom(seed: seed)
        let wData = random.floats(k * n)   // [K, N], or [N, K] for packedTransposed
        let x = random.floats(m * (k + 3))
        let ldx = k + 3, ldy = n + 2
        let bias = random.floats(n)
        var y = random.floats(m * ldy)
        for i in 0..<m { for j in n..<ldy { y[i * ldy + j] = sentinel } }
        let old = y
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        return wData.withUnsafeBufferPointer { pw -> Int in
            let w: PanelMatrix<E>
            switch source {
            case .packed: w = PanelMatrix(packing: pw.baseAddress!, rows: k, columns: n, kStride: n, nStride: 1)
            case .packedTransposed:
                w = PanelMatrix(packing: pw.baseAddress!, rows: k, columns: n, kStride: 1, nStride: k)
            }
            // The stored weights are the source, rounded to E.
            for kk in 0..<k {
                for j in 0..<n {
                    let value = source == .packedTransposed ? wData[j * k + kk] : wData[kk * n + j]
                    if w.element(row: kk, column: j) != E(rounding: value).float { return -1 }
                }
            }
            x.withUnsafeBufferPointer { px in
                bias.withUnsafeBufferPointer { pb in
                    y.withUnsafeMutableBufferPointer { py in
                        multiply(y: py.baseAddress!, ldy: ldy, x: px.baseAddress!, ldx: ldx, w: w,
                                 bias: useBias ? pb.baseAddress! : nil, rows: m, accumulate: accumulate, pool: pool)
                    }
                }
            }
            return productBoundViolations(y, rows: m, columns: n, ld: ldy, k: k, sentinel: sentinel,
                                          bias: useBias ? bias : nil, old: accumulate ? old : nil) { i, j, p in
                Double(x[i * ldx + p]) * Double(w.element(row: p, column: j))
            }
        }
    }

    static func multiply<E: PanelElement>(y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, ldx: Int,
                                          w: PanelMatrix<E>, bias: UnsafePointer<Float>?, rows: Int, accumulate: Bool,
                                          pool: ThreadPool) {
        if let w = w as? PanelMatrix<Float> {
            PanelProduct.multiply(y: y, ldy: ldy, x: x, ldx: ldx, w: w, bias: bias, rows: rows, accumulate: accumulate,
                                  pool: pool)
        } else if let w = w as? PanelMatrix<BFloat16> {
            PanelProduct.multiply(y: y, ldy: ldy, x: x, ldx: ldx, w: w, bias: bias, rows: rows, accumulate: accumulate,
                                  pool: pool)
        }
    }

    /// (K, N): odd K, partial last panels, a single partial panel, exact multiples of 16 and enough panels for
    /// several 4-panel groups on each of 2 threads.
    static let shapes = [(7, 37), (1, 5), (33, 16), (5, 70), (19, 160), (12, 131)]

    @Test(arguments: 1...9)
    func float32MatchesTripleLoop(m: Int) {
        for (index, (k, n)) in Self.shapes.enumerated() {
            for source in Source.allCases {
                for (bias, accumulate) in [(true, false), (false, true), (true, true)] {
                    for threads in [1, 2] {
                        let bad = Self.check(Float.self, source: source, m: m, k: k, n: n, bias: bias,
                                             accumulate: accumulate, threads: threads, seed: UInt64(100 * m + index))
                        #expect(bad == 0, "fp32 \(source) m \(m) k \(k) n \(n) bias \(bias) accumulate \(accumulate) threads \(threads)")
                    }
                }
            }
        }
    }

    @Test(arguments: 1...9)
    func bfloat16MatchesTripleLoopOnRoundedWeights(m: Int) {
        for (index, (k, n)) in Self.shapes.enumerated() {
            for source in Source.allCases {
                for (bias, accumulate) in [(true, false), (false, true)] {
                    for threads in [1, 2] {
                        let bad = Self.check(BFloat16.self, source: source, m: m, k: k, n: n, bias: bias,
                                             accumulate: accumulate, threads: threads, seed: UInt64(1000 + 100 * m + index))
                        #expect(bad == 0, "bf16 \(source) m \(m) k \(k) n \(n) bias \(bias) accumulate \(accumulate) threads \(threads)")
                    }
                }
            }
        }
    }

    /// A row's result is bit-identical whatever the number of rows beside it (tiles 1x1, 2x1, 4x1) and the
    /// thread count: what makes batch decoding equal decoding alone. (10 panels: on two threads, 5 a thread.)
    @Test func rowResultDoesNotDependOnRowCountOrThreads() {
        let k = 29, n = 150
        var random = LayerRandom(seed: 7)
        let wData = random.floats(k * n), x = random.floats(9 * k), bias = random.floats(n)
        for bf16 in [false, true] {
            var results: [[Float]] = []
            for (m, threads) in [(1, 1), (1, 2), (2, 2), (3, 1), (5, 2), (8, 2), (9, 1)] {
                let pool = ThreadPool(threads: threads)
                var y = [Float](repeating: 0, count: m * n)
                wData.withUnsafeBufferPointer { pw in
                    y.withUnsafeMutableBufferPointer { py in
                        // Row 0 of x is the same row in every run.
                        if bf16 {
                            let w = PanelMatrix<BFloat16>(packing: pw.baseAddress!, rows: k, columns: n, kStride: n, nStride: 1)
                            PanelProduct.multiply(y: py.baseAddress!, ldy: n, x: x, ldx: k, w: w, bias: bias, rows: m,
                                                  accumulate: false, pool: pool)
                        } else {
                            let w = PanelMatrix<Float>(packing: pw.baseAddress!, rows: k, columns: n, kStride: n, nStride: 1)
                            PanelProduct.multiply(y: py.baseAddress!, ldy: n, x: x, ldx: k, w: w, bias: bias, rows: m,
                                                  accumulate: false, pool: pool)
                        }
                    }
                }
                pool.shutdown()
                results.append(Array(y[0..<n]))
            }
            for r in results.dropFirst() { #expect(r == results[0], "bf16 \(bf16)") }
        }
    }

    /// Round to nearest even at the halfway point, ordinary rounding, widening back, NaN.
    @Test func bfloat16Rounding() {
        #expect(BFloat16(rounding: 1).bits == 0x3F80)
        #expect(BFloat16(rounding: -2).bits == 0xC000)
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: to even (1). 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and
        // 1 + 2^-6: to even (1 + 2^-6).
        #expect(BFloat16(rounding: 1 + 0x1p-8).float == 1)
        #expect(BFloat16(rounding: 1 + 3 * 0x1p-8).float == 1 + 0x1p-6)
        #expect(BFloat16(rounding: 1 + 0x1p-8 + 0x1p-20).float == 1 + 0x1p-7)
        #expect(BFloat16(rounding: .nan).float.isNaN)
        #expect(BFloat16(rounding: .infinity).float == .infinity)
        // A group of 16 is stored interleaved (column j at position(ofColumn: j)); load16 gives natural order.
        let values: [BFloat16] = (0..<16).map { BFloat16(rounding: Float($0) * 0.3 - 2) }
        var stored = values
        for j in 0..<16 { stored[BFloat16.position(ofColumn: j)] = values[j] }
        #expect(Set((0..<16).map { BFloat16.position(ofColumn: $0) }) == Set(0..<16))
        stored.withUnsafeBufferPointer { p in
            let wide = BFloat16.load16(p.baseAddress!, 0)
            for i in 0..<16 { #expect(wide[i] == values[i].float) }
        }
    }
}
