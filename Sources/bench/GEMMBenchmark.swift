import Foundation
import Kernels

/// A linear layer's shape: rows (M) x inputs (K) x outputs (N); its forward is the MxKxN product.
struct GEMMShape: CustomStringConvertible {
    let m: Int, k: Int, n: Int

    init(m: Int, k: Int, n: Int) { self.m = m; self.k = k; self.n = n }

    init?(_ text: String) {
        let parts = text.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 >= 1 }) else { return nil }
        self.init(m: parts[0], k: parts[1], n: parts[2])
    }

    var description: String { "\(m)x\(k)x\(n)" }

    /// Bytes of the matrices (X, W, Y and the bias) a product of this shape is timed on, in Double (a mistyped
    /// shape may overflow Int).
    var bytes: Double { 4 * (Double(m) * Double(k) + Double(k) * Double(n) + Double(m) * Double(n) + Double(n)) }

    /// The script's DEFAULT_SHAPES (read from it, so the two lists cannot drift), or the same list built in.
    static func defaults(fromScript path: String) -> [GEMMShape] {
        let builtIn = ["768x128x384", "768x128x512", "2048x384x1152", "2048x384x1536", "2048x1536x384", "1024x1024x1024"]
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let start = text.range(of: "DEFAULT_SHAPES = ["),
              let end = text[start.upperBound...].range(of: "]") else { return builtIn.compactMap(GEMMShape.init) }
        let block = text[start.upperBound..<end.lowerBound]
        let found = block.split(separator: "\n").compactMap { line -> GEMMShape? in
            guard let q1 = line.firstIndex(of: "\""), let q2 = line[line.index(after: q1)...].firstIndex(of: "\"") else { return nil }
            return GEMMShape(String(line[line.index(after: q1)..<q2]))
        }
        return found.isEmpty ? builtIn.compactMap(GEMMShape.init) : found
    }
}

/// The three products of a layer's training step.
enum GEMMProduct: String, CaseIterable {
    case forward, backwardInput, backwardWeight

    /// The plain (untransposed) product with the same m, k, n: what OpenBLAS is timed on.
    /// forward Y[M,N] = X[M,K] W[K,N]: MxKxN; backwardInput dX[M,K] = dY[M,N] W^T: MxNxK;
    /// backwardWeight dW[K,N] = X^T[K,M] dY[M,N]: KxMxN.
    func gemmShape(of s: GEMMShape) -> GEMMShape {
        switch self {
        case .forward: return s
        case .backwardInput: return GEMMShape(m: s.m, k: s.n, n: s.k)
        case .backwardWeight: return GEMMShape(m: s.k, k: s.m, n: s.n)
        }
    }
}

enum GEMMBenchmark {
    /// GFLOP/s (median run, fastest run) of `product` for a layer of this shape (2*M*K*N flop a call).
    static func gflops(product: GEMMProduct, shape s: GEMMShape, pool: ThreadPool, repeats: Int) -> (median: Double, best: Double) {
        let x = randomBuffer(s.m * s.k), w = randomBuffer(s.k * s.n), y = randomBuffer(s.m * s.n)
        let bias = randomBuffer(s.n)
        defer { for buffer in [x, w, y, bias] { LargeBuffer.deallocate(buffer) } }
        let seconds: RunTimes
        switch product {
        case .forward:
            seconds = runTimes(repeats: repeats) {
                GEMM.forward(y: y, x: x, w: w, bias: bias, rows: s.m, inputs: s.k, outputs: s.n, pool: pool)
            }
        case .backwardInput:
            seconds = runTimes(repeats: repeats) {
                GEMM.backwardInput(dx: x, dy: y, w: w, rows: s.m, inputs: s.k, outputs: s.n, accumulate: false, pool: pool)
            }
        case .backwardWeight:
            seconds = runTimes(repeats: repeats) {
                GEMM.backwardWeight(dw: w, x: x, dy: y, rows: s.m, inputs: s.k, outputs: s.n, pool: pool)
            }
        }
        let flop = 2.0 * Double(s.m) * Double(s.k) * Double(s.n)
        return (flop / seconds.median / 1e9, flop / seconds.best / 1e9)
    }
}

/// Ours against OpenBLAS over rounds that alternate the two, so both see the same minutes of a machine whose
/// speed drifts. In a round, each side's figure is the fastest of its timed runs (the reference script reports
/// the fastest of its runs, so the two are measured alike); ours also has its median run. Reported: the median
/// over the rounds of each figure, `ratio` = the median of the rounds' fastest / OpenBLAS (like for like), and
/// `medianRatio` = the median of the rounds' median run / OpenBLAS's fastest (the stricter reading).
struct GEMMComparison {
    let fastest: Double, medianRun: Double
    let reference: Double?
    let ratio: Double?, medianRatio: Double?

    init(_ rounds: [(ours: (median: Double, best: Double), theirs: Double?)]) {
        fastest = median(rounds.map(\.ours.best))
        medianRun = median(rounds.map(\.ours.median))
        // A round without a reference figure (the script failed) leaves the comparison without one.
        let theirs = rounds.compactMap(\.theirs)
        let complete = !theirs.isEmpty && theirs.count == rounds.count
        reference = complete ? median(theirs) : nil
        ratio = complete ? median(rounds.map { $0.ours.best / $0.theirs! }) : nil
        medianRatio = complete ? median(rounds.map { $0.ours.median / $0.theirs! }) : nil
    }
}

/// Values in [-1, 1) from a fixed-seed generator, in a `LargeBuffer` (huge pages, like the model's buffers).
func randomBuffer(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = LargeBuffer.allocateFloats(count)
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(count)
    for i in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        p[i] = Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
    }
    return p
}

/// OpenBLAS's fp32 GEMM through numpy, timed by the shared reference script in a subprocess.
final class OpenBLASReference {
    let script: String
    private(set) var available: Bool

    /// The script asks OpenBLAS for its AVX-512 kernels, which die with SIGILL on a CPU without AVX-512
    /// (as the AVX2-only VM of sessions 1-8 did); there it is told to pick its kernels itself (`--coretype auto`).
    let coretypeArguments: [String]

    /// `shared/bench/openblas_sgemm.py` in the nearest parent of the working directory that has it
    /// (../shared from a package checked out next to `shared`, ../../shared from a worktree one level deeper).
    static func defaultScript() -> String {
        var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<4 {
            directory = directory.deletingLastPathComponent()
            let candidate = directory.appendingPathComponent("shared/bench/openblas_sgemm.py").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
        }
        return "../shared/bench/openblas_sgemm.py"
    }

    init(script: String) {
        self.script = script
        available = FileManager.default.fileExists(atPath: script)
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        coretypeArguments = cpuinfo.contains(" avx512f") ? [] : ["--coretype", "auto"]
    }

    /// GFLOP/s of C[M,N] = A[M,K] B[K,N] with `threads` threads (measured afresh each call: the rounds of a
    /// comparison alternate with ours), or nil when python3/numpy/the script fail.
    /// `repeats`: timed runs, of which the script takes the fastest (as ours is taken, like for like).
    func gflops(shape: GEMMShape, threads: Int, repeats: Int) -> Double? {
        guard available else { return nil }
        var value: Double? = nil
        let arguments = ["python3", script, "--shape", shape.description, "--threads", String(threads),
                         "--repeats", String(repeats)] + coretypeArguments
        if let output = ReferenceProcess.run(arguments), output.status == 0,
           let last = output.standardOutput.split(separator: "\n").last?.split(separator: " ").last {
            value = Double(last)
        }
        if value == nil { available = false }
        return value
    }
}
