/// The compute reference of the benchmarks: a 6 x 32 register block (twelve SIMD16 accumulators, two loads of B
/// and six broadcasts of A per 12 FMAs, the GEMM micro-kernel's mix) on L1-resident operands, one thread: what this
/// core sustains right now. (Twelve independent chains cover two FMA pipes of 4-cycle latency; the 6 x 16
/// block used before session 10 has six, and read 170-175 GFLOP/s on the Intel Xeon where this one reads 200-230
/// in quiet minutes.) `bench layers` reports it as `fma_peak_reference`; `bench train` measures it before and
/// after its rounds, so a run's figures say how fast the machine was at the time.
enum FMAReference {
    static let kc = 256
    static let reps = 2000
    /// Flops of one `run()`.
    static var flopsPerRun: Double { Double(reps * kc * 6 * 32 * 2) }

    nonisolated(unsafe) private static let a: UnsafeMutablePointer<Float> = filled(6 * kc, 1e-3)
    nonisolated(unsafe) private static let b: UnsafeMutablePointer<Float> = filled(32 * kc, 1e-3)
    nonisolated(unsafe) private static let c: UnsafeMutablePointer<Float> = filled(16, 0)

    private static func filled(_ count: Int, _ value: Float) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        p.initialize(repeating: value, count: count)
        return p
    }

    /// `reps` passes of the register block over kc steps (about 1 ms at 200 GFLOP/s).
    static func run() {
        for _ in 0..<reps { tile(a, b, c, kc) }
    }

    /// GFLOP/s of one thread: the median of `repeats` runs after a short warm-up.
    static func gflops(repeats: Int = 9) -> Double {
        flopsPerRun / runTimes(repeats: repeats) { run() }.median / 1e9
    }

    @inline(never)
    private static func tile(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ kc: Int) {
        var c0 = SIMD16<Float>(), c1 = SIMD16<Float>(), c2 = SIMD16<Float>(), c3 = SIMD16<Float>()
        var c4 = SIMD16<Float>(), c5 = SIMD16<Float>(), c6 = SIMD16<Float>(), c7 = SIMD16<Float>()
        var c8 = SIMD16<Float>(), c9 = SIMD16<Float>(), c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<kc {
            let b0 = pb.loadUnaligned(as: SIMD16<Float>.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
            var x = SIMD16<Float>(repeating: pa[0]); c0 = c0.addingProduct(x, b0); c1 = c1.addingProduct(x, b1)
            x = SIMD16<Float>(repeating: pa[1]); c2 = c2.addingProduct(x, b0); c3 = c3.addingProduct(x, b1)
            x = SIMD16<Float>(repeating: pa[2]); c4 = c4.addingProduct(x, b0); c5 = c5.addingProduct(x, b1)
            x = SIMD16<Float>(repeating: pa[3]); c6 = c6.addingProduct(x, b0); c7 = c7.addingProduct(x, b1)
            x = SIMD16<Float>(repeating: pa[4]); c8 = c8.addingProduct(x, b0); c9 = c9.addingProduct(x, b1)
            x = SIMD16<Float>(repeating: pa[5]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            pa += 6
            pb += 128
        }
        let sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
            + UnsafeRawPointer(c).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(c).storeBytes(of: sum, as: SIMD16<Float>.self)
    }
}
