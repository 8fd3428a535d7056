import ArgumentParser
import GPT
import Foundation
import Kernels

/// `bench kernels`: GEMM GFLOP/s for the three training products against OpenBLAS (run in the same
/// benchmark through ../shared/bench/openblas_sgemm.py), matrix-vector GB/s against the memory bandwidth,
/// then every layer kernel at the small shape (`bench layers`).
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GEMM, matrix-vector and layer kernels against OpenBLAS and the memory bandwidth, measured in the same run.")

    @Option(help: "Comma-separated thread counts.")
    var threads: String = "1,2"

    @Option(help: "Timed runs per measurement: GEMM reports the fastest (OpenBLAS gets the same count and reports its fastest) and the median, the matrix-vector products the median. The layer kernels time themselves (5 to 25 runs, median).")
    var repeats: Int = 20

    @Option(help: "GEMM: rounds per shape and product, each timing ours then OpenBLAS on every thread count; ratios are medians of the rounds' ratios.")
    var rounds: Int = 3

    @Flag(help: "One JSON object a line instead of a table.")
    var json = false

    @Option(help: "OpenBLAS reference script (default: shared/bench/openblas_sgemm.py in the nearest parent directory that has one, e.g. ../shared from the package root).")
    var referenceScript: String?

    @Option(name: .customLong("shape"), help: "MxKxN layer shape (rows x inputs x outputs); may repeat. Default: the script's list.")
    var shapes: [String] = []

    @Option(name: .customLong("product"), help: "forward, backwardInput or backwardWeight; may repeat. Default: all three.")
    var products: [String] = []

    @Flag(help: "Skip the OpenBLAS reference.")
    var noReference = false

    @Flag(help: "GEMM only: skip the memory-bandwidth, matrix-vector and layer-kernel measurements.")
    var gemmOnly = false

    func validate() throws {
        try OptionCheck.atLeastOne(["repeats": repeats, "rounds": rounds])
        _ = try OptionCheck.threadList(threads)
        for product in products where GEMMProduct(rawValue: product) == nil {
            throw ValidationError("--product must be forward, backwardInput or backwardWeight, got '\(product)'")
        }
        for shape in shapes where GEMMShape(shape) == nil {
            throw ValidationError("--shape must look like 2048x384x1152, got '\(shape)'")
        }
    }

    func run() throws {
        let threadCounts = try OptionCheck.threadList(threads)
        // Refused before anything is allocated: our matrices, and the OpenBLAS script's copies of them.
        for shape in shapes.compactMap(GEMMShape.init) {
            try GPT.checkFits(bytes: (noReference ? 1 : 2) * shape.bytes,
                              what: "--shape \(shape) (its matrices" + (noReference ? ")" : ", here and in the reference)"))
        }
        let script = referenceScript ?? OpenBLASReference.defaultScript()
        let reference = noReference ? nil : OpenBLASReference(script: script)
        if !json, noReference {
            print("OpenBLAS reference: skipped (--no-reference); reference columns are null")
        } else if !json, !(reference?.available ?? false) {
            print("OpenBLAS reference: not available (\(script), python3 with numpy); reference columns are null")
        }
        let list = shapes.isEmpty ? GEMMShape.defaults(fromScript: script) : shapes.compactMap(GEMMShape.init)
        let report = Report(json: json)
        report.gemmHeader()
        for shape in list {
            for product in products.isEmpty ? GEMMProduct.allCases : products.compactMap(GEMMProduct.init) {
                // Every round measures every thread count (ours, then OpenBLAS), so the thread counts see the same
                // minutes too: the scaling is the median of the rounds' fastest on t threads / fastest on one.
                typealias Round = (ours: (median: Double, best: Double), theirs: Double?)
                var measured: [[Round]] = threadCounts.map { _ in [] }
                for _ in 0..<rounds {
                    for (index, t) in threadCounts.enumerated() {
                        measured[index].append(
                            (ours: GEMMBenchmark.gflops(product: product, shape: shape, pool: Pools.pool(threads: t),
                                                        repeats: repeats),
                             theirs: reference?.gflops(shape: product.gemmShape(of: shape), threads: t, repeats: repeats)))
                    }
                }
                let single = threadCounts.firstIndex(of: 1)
                for (index, t) in threadCounts.enumerated() {
                    let scaling = single.flatMap { one in
                        t == 1 ? nil : median(zip(measured[index], measured[one]).map { $0.ours.best / $1.ours.best })
                    }
                    report.gemm(product: product, shape: shape, threads: t, GEMMComparison(measured[index]),
                                scaling: scaling)
                }
            }
        }
        if gemmOnly { return }
        report.bandwidthHeader()
        var bandwidth: [Int: Double] = [:]
        for t in threadCounts {
            let gbs = MemoryBandwidth.measureReadGBs(threads: t)
            bandwidth[t] = gbs
            report.memory(threads: t, gbs: gbs)
        }
        for product in MatVecProduct.allCases {
            for t in threadCounts {
                let gbs = MatVecBenchmark.gbs(product: product, pool: Pools.pool(threads: t), repeats: repeats)
                report.matvec(product: product, threads: t, gbs: gbs, reference: bandwidth[t])
            }
        }
        // Then a line per layer kernel at the small shape (the same as `bench layers`).
        if !json { print("") }
        try BenchLayers.parse(["--threads", threads] + (json ? ["--json"] : [])).run()
    }
}

/// One pool per thread count, kept for the whole run.
enum Pools {
    nonisolated(unsafe) static var pools: [Int: ThreadPool] = [:]
    static func pool(threads: Int) -> ThreadPool {
        if let pool = pools[threads] { return pool }
        let pool = ThreadPool(threads: threads)
        pools[threads] = pool
        return pool
    }
}
