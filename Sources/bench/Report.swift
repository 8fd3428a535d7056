import Foundation

/// Prints the results as an aligned table, or as one JSON object a line (`--json`).
struct Report {
    let json: Bool

    private func number(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "null" }
    private func ratio(_ ours: Double, _ reference: Double?) -> String {
        reference.map { String(format: "%.2f", ours / $0) } ?? "-"
    }
    private func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

    func gemmHeader() {
        if json { return }
        print("GEMM, GFLOP/s, in rounds alternating ours and OpenBLAS (--rounds); OpenBLAS times the untransposed")
        print("product of the same m, k, n. fastest: median over the rounds of our fastest run (OpenBLAS: of its")
        print("fastest run, as its script reports); median: of our median run. ratio: median of the rounds' fastest /")
        print("OpenBLAS (like for like); median ratio: of the rounds' median run / OpenBLAS's fastest (stricter);")
        print("x 1 thread: median of the rounds' fastest / fastest on one thread (every round runs every thread count)")
        print(pad("product", 16) + pad("MxKxN", 16) + pad("threads", 9) + pad("fastest", 9) + pad("median", 9)
              + pad("OpenBLAS", 10) + pad("ratio", 7) + pad("median ratio", 14) + "x 1 thread")
    }

    /// `scaling`: the median of the rounds' fastest against the same rounds' fastest on one thread (nil on one
    /// thread, or when 1 was not run).
    func gemm(product: GEMMProduct, shape: GEMMShape, threads: Int, _ result: GEMMComparison, scaling: Double?) {
        func ratioText(_ value: Double?, digits: Int) -> String { value.map { String(format: "%.\(digits)f", $0) } ?? (json ? "null" : "-") }
        if json {
            print("{\"name\": \"gemm\", \"product\": \"\(product.rawValue)\", \"m\": \(shape.m), \"k\": \(shape.k), "
                  + "\"n\": \(shape.n), \"threads\": \(threads), \"gflops\": \(number(result.fastest)), "
                  + "\"median_gflops\": \(number(result.medianRun)), \"reference_gflops\": \(number(result.reference)), "
                  + "\"ratio\": \(ratioText(result.ratio, digits: 3)), \"median_ratio\": \(ratioText(result.medianRatio, digits: 3)), "
                  + "\"scaling\": \(ratioText(scaling, digits: 3))}")
        } else {
            print(pad(product.rawValue, 16) + pad(shape.description, 16) + pad(String(threads), 9)
                  + pad(number(result.fastest), 9) + pad(number(result.medianRun), 9)
                  + pad(result.reference.map { number($0) } ?? "-", 10)
                  + pad(ratioText(result.ratio, digits: 2), 7) + pad(ratioText(result.medianRatio, digits: 2), 14)
                  + (scaling.map { String(format: "%.2f", $0) } ?? ""))
        }
        fflush(stdout)
    }

    func bandwidthHeader() {
        if json { return }
        print("")
        print("Memory bandwidth and matrix-vector (weights 4096x4096 = 64 MiB), GB/s")
    }

    func memory(threads: Int, gbs: Double) {
        if json {
            print("{\"name\": \"memory_read\", \"threads\": \(threads), \"gbps\": \(number(gbs))}")
        } else {
            print(pad("memory read", 22) + pad("threads \(threads)", 12) + number(gbs))
        }
        fflush(stdout)
    }

    func matvec(product: MatVecProduct, threads: Int, gbs: Double, reference: Double?) {
        if json {
            print("{\"name\": \"matvec\", \"product\": \"\(product.rawValue)\", \"k\": \(MatVecBenchmark.inputs), "
                  + "\"n\": \(MatVecBenchmark.outputs), \"threads\": \(threads), \"gbps\": \(number(gbs)), "
                  + "\"reference_gbps\": \(number(reference))}")
        } else {
            print(pad(product.rawValue, 22) + pad("threads \(threads)", 12) + pad(number(gbs), 9)
                  + "x\(ratio(gbs, reference)) of memory read")
        }
        fflush(stdout)
    }
}

/// Fixed-point text of a figure for the JSON lines: f1(3.14159) == "3.1".
func f1(_ x: Double) -> String { String(format: "%.1f", x) }
func f2(_ x: Double) -> String { String(format: "%.2f", x) }
func f3(_ x: Double) -> String { String(format: "%.3f", x) }
func f4(_ x: Double) -> String { String(format: "%.4f", x) }
