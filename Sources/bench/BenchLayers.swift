import ArgumentParser
import Glibc
import GPT
import Kernels

/// `bench layers`: time per call of every layer kernel at the `small` shape (B=8, T=256, C=384, 6 heads,
/// vocab 8192; issue 4's) or the `tiny` one (B=12, T=64, C=128, 4 heads, vocab 65), GB/s for the memory-bound
/// ones against a read bandwidth measured in the same run, and attention's GFLOP/s (unmasked half of QK^T and PV
/// and their four backward products).
struct BenchLayers: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "Layer kernels at the small shape (B=8, T=256, C=384, 6 heads, vocab 8192) or the tiny one.")

    @Option(name: .long, help: "Shape: small (B=8, T=256, C=384, 6 heads, vocab 8192, 6 layers) or tiny (B=12, T=64, C=128, 4 heads, vocab 65, 4 layers).")
    var preset: String = "small"

    @Option(name: .long, help: "Sequences per call instead of the preset's (6 is one of tiny's two training shards).")
    var batchSize: Int?

    @Option(name: .long, help: "Thread counts to run, comma-separated.")
    var threads: String = "1,2"

    @Flag(name: .long, help: "One JSON object per line.")
    var json = false

    @Option(name: .long, help: "Run only the kernels whose name contains this text (for example attention).")
    var only: String?

    func validate() throws {
        _ = try OptionCheck.threadList(threads)
        guard LayerShape.preset(preset) != nil else {
            throw ValidationError("--preset must be small or tiny, got '\(preset)'")
        }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() throws {
        let counts = try OptionCheck.threadList(threads)
        var fmaPeak: (timing: LayerTiming, gflops: Double, gflopsCPU: Double)?
        var shape = LayerShape.preset(preset)!
        if let batchSize { shape.batch = batchSize }
        try GPT.checkFits(bytes: shape.estimatedBytes, what: "a batch of \(shape.batch) for the layer kernels (their buffers)")
        let report = LayerReport(json: json, shapeFields: "\"preset\": \"\(preset)\", \"batch\": \(shape.batch)", only: only)
        if !json {
            print("Layer kernels, \(preset) shape: B=\(shape.batch) T=\(shape.time) C=\(shape.channels) heads=\(shape.heads) vocab=\(shape.vocab)")
        }
        for n in counts {
            let pool = ThreadPool(threads: n)
            let bandwidth = measureReadBandwidth(pool: pool)
            report.line(name: "read_bandwidth", threads: n, timing: bandwidth.timing,
                        extra: [("gbps", bandwidth.gbps), ("gbps_cpu", bandwidth.gbpsCPU)])
            if n == 1 {
                let peak = measureFMAPeak()
                report.line(name: "fma_peak_reference", threads: 1, timing: peak.timing,
                            extra: [("gflops", peak.gflops), ("gflops_cpu", peak.gflopsCPU)])
                fmaPeak = peak
            }
            LayerBenchmarks(shape: shape, pool: pool, threads: n, bandwidth: bandwidth.gbps, bandwidthCPU: bandwidth.gbpsCPU,
                            fmaPeak: fmaPeak?.gflops, fmaPeakCPU: fmaPeak?.gflopsCPU,
                            report: report, only: only).runAll()
            pool.shutdown()
        }
        if let only, report.matched == 0 {
            printError("error: --only \(only): no kernel's name contains it (names look like layernorm_forward, "
                + "attention_backward, adamw; `bench layers` lists them all)")
            throw ExitCode.failure
        }
    }
}

fileprivate struct LayerShape {
    var batch: Int
    let time, channels, heads, vocab, layers: Int

    static func preset(_ name: String) -> LayerShape? {
        switch name {
        case "small": return LayerShape(batch: 8, time: 256, channels: 384, heads: 6, vocab: 8192, layers: 6)
        case "tiny": return LayerShape(batch: 12, time: 64, channels: 128, heads: 4, vocab: 65, layers: 4)
        default: return nil
        }
    }

    var rows: Int { batch * time }

    /// About the bytes `LayerBenchmarks` allocates (in Double: a mistyped batch may overflow Int): per row about
    /// 30 C floats of activations and their gradients and the V logits; the embeddings and their gradients; AdamW's
    /// four buffers of every parameter; attention's saved probabilities, a Tp^2 block a sequence and head.
    var estimatedBytes: Double {
        let n = Double(batch) * Double(time), c = Double(channels), v = Double(vocab)
        let tp = Double(CausalSelfAttention.paddedStride(time))
        return 4 * (n * (30 * c + v + 4) + 2 * (v + Double(time)) * c + 4 * Double(parameters)
                    + Double(batch) * Double(heads) * tp * tp)
    }
    /// Parameters of the preset's model: per layer 12 C^2 + 13 C (attention, MLP, two layernorms), the final
    /// layernorm, token and position embeddings.
    var parameters: Int {
        let c = channels
        return layers * (12 * c * c + 13 * c) + 2 * c + vocab * c + time * c
    }
}

/// Prints lines as text or JSON.
fileprivate final class LayerReport {
    let json: Bool
    /// The shape's preset and batch as JSON fields (`"preset": "tiny", "batch": 6`), put in every JSON line.
    let shapeFields: String
    /// `--only`'s text, and the kernels' lines written whose name contains it: none means the filter matched
    /// nothing.
    let only: String?
    var matched = 0
    init(json: Bool, shapeFields: String, only: String?) { self.json = json; self.shapeFields = shapeFields; self.only = only }

    func line(name: String, threads: Int, timing: LayerTiming, extra: [(String, Double)] = []) {
        // The two references run whatever --only says; only a kernel's line counts as a match.
        if let only, name.contains(only), !["read_bandwidth", "fma_peak_reference"].contains(name) { matched += 1 }
        let ms = timing.wall
        if json {
            var fields = ["\"name\": \"\(name)\"", shapeFields, "\"threads\": \(threads)", "\"ms\": \(format(ms, 4))",
                          "\"cpu_ms\": \(format(timing.cpu, 4))"]
            for (key, value) in extra { fields.append("\"\(key)\": \(format(value, 3))") }
            print("{" + fields.joined(separator: ", ") + "}")
        } else {
            var text = pad(name, 30) + " threads \(threads)  " + pad(format(ms, 3) + " ms", 12, left: true)
                + "  (cpu " + format(timing.cpu, 3) + " ms)"
            for (key, value) in extra { text += "  \(key) " + format(value, 2) }
            print(text)
        }
    }

    private func format(_ x: Double, _ digits: Int) -> String {
        if !x.isFinite { return "null" }
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([x]) { vsnprintf(&buffer, 64, "%.\(digits)f", $0) }
        return String(cString: buffer)
    }

    private func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return left ? fill + s : s + fill
    }
}

/// Seconds on a clock: CLOCK_MONOTONIC (wall) or CLOCK_PROCESS_CPUTIME_ID (CPU time of all threads).
fileprivate func seconds(_ clock: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(clock, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Median wall-clock and median process-CPU milliseconds per call. The machine is shared: when other processes
/// hold the cores, wall time grows while CPU time does not, so one-thread rates are also given from CPU time.
fileprivate struct LayerTiming {
    var wall: Double
    var cpu: Double
}

/// Times `body` after one warm-up call: at least 5 samples, up to 25 or ~1.5 s.
fileprivate func measure(_ body: () -> Void) -> LayerTiming {
    body()
    var walls: [Double] = [], cpus: [Double] = []
    let start = seconds(CLOCK_MONOTONIC)
    while walls.count < 25 && (walls.count < 5 || seconds(CLOCK_MONOTONIC) - start < 1.5) {
        let w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID)
        body()
        cpus.append((seconds(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1000)
        walls.append((seconds(CLOCK_MONOTONIC) - w0) * 1000)
    }
    walls.sort()
    cpus.sort()
    return LayerTiming(wall: walls[walls.count / 2], cpu: cpus[cpus.count / 2])
}

/// The compute reference (`FMAReference`) timed like the layer kernels.
fileprivate func measureFMAPeak() -> (timing: LayerTiming, gflops: Double, gflopsCPU: Double) {
    let timing = measure { FMAReference.run() }
    return (timing, FMAReference.flopsPerRun / (timing.wall * 1e6), FMAReference.flopsPerRun / (timing.cpu * 1e6))
}

/// The memory-bandwidth reference: a SIMD16 read-sum over a 256 MiB buffer, split over the pool.
fileprivate func measureReadBandwidth(pool: ThreadPool) -> (timing: LayerTiming, gbps: Double, gbpsCPU: Double) {
    let count = 256 << 20 / 4
    let buffer = LargeBuffer.allocateFloats(count)
    defer { LargeBuffer.deallocate(buffer) }
    buffer.update(repeating: 1, count: count)
    let sums = UnsafeMutablePointer<Float>.allocate(capacity: 64)
    defer { sums.deallocate() }
    let timing = measure {
        pool.parallelFor(count / 64, minimumChunk: 4096) { range in
            var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
            for block in range {
                let p = UnsafeRawPointer(buffer + block * 64)
                a += p.loadUnaligned(as: SIMD16<Float>.self)
                b += p.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                c += p.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                d += p.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
            }
            sums[min(63, range.lowerBound * 64 / (count / 64))] = (a + b + c + d).sum()
        }
    }
    return (timing, Double(count * 4) / (timing.wall * 1e6), Double(count * 4 * pool.threadCount) / (timing.cpu * 1e6))
}

/// Every layer kernel at the small shape on one pool.
fileprivate struct LayerBenchmarks {
    let shape: LayerShape
    let pool: ThreadPool
    let threads: Int
    let bandwidth: Double
    let bandwidthCPU: Double
    let fmaPeak: Double?
    let fmaPeakCPU: Double?
    let report: LayerReport
    let only: String?

    func selected(_ name: String) -> Bool { only.map { name.contains($0) } ?? true }

    /// A buffer of `count` floats filled with small pseudo-random values (never freed: the run is short), in a
    /// `LargeBuffer` like the model's.
    func buffer(_ count: Int, scale: Float = 1) -> UnsafeMutablePointer<Float> {
        let p = LargeBuffer.allocateFloats(count)
        var state: UInt32 = 12345
        for i in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            p[i] = (Float(state >> 8) / Float(1 << 24) * 2 - 1) * scale
        }
        return p
    }

    func memoryBound(_ name: String, bytes: Int, _ body: () -> Void) {
        if !selected(name) { return }
        let timing = measure(body)
        let gbps = Double(bytes) / (timing.wall * 1e6)
        let gbpsCPU = Double(bytes * threads) / (timing.cpu * 1e6)
        report.line(name: name, threads: threads, timing: timing,
                    extra: [("gbps", gbps), ("bandwidth_gbps", bandwidth), ("ratio", gbps / bandwidth),
                            ("gbps_cpu", gbpsCPU), ("ratio_cpu", gbpsCPU / bandwidthCPU)])
    }

    func timed(_ name: String, _ body: () -> Void) {
        if !selected(name) { return }
        report.line(name: name, threads: threads, timing: measure(body))
    }

    func runAll() {
        let (b, t, c, h, v) = (shape.batch, shape.time, shape.channels, shape.heads, shape.vocab)
        let n = shape.rows
        let f = 4   // bytes per float

        // Embedding
        let tokens = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        for i in 0..<n { tokens[i] = Int32((i &* 7919) % v) }
        let wte = buffer(v * c, scale: 0.02), wpe = buffer(t * c, scale: 0.01)
        let dwte = buffer(v * c, scale: 0), dwpe = buffer(t * c, scale: 0)
        let x = buffer(n * c), y = buffer(n * c), dy = buffer(n * c), dx = buffer(n * c)
        timed("embedding_forward") {
            Embedding.forward(out: x, tokens: tokens, wte: wte, wpe: wpe, batch: b, time: t, channels: c, pool: pool)
        }
        timed("embedding_backward") {
            Embedding.backward(dwte: dwte, dwpe: dwpe, dout: dy, tokens: tokens, batch: b, time: t, channels: c, pool: pool)
        }

        // LayerNorm: forward reads x, writes out (+ mean, rstd); backward reads dout and x, writes dinput.
        let weight = buffer(c), bias = buffer(c), dweight = buffer(c), dbias = buffer(c)
        let mean = buffer(n), rstd = buffer(n)
        memoryBound("layernorm_forward", bytes: 2 * n * c * f + 2 * n * f) {
            LayerNorm.forward(out: y, mean: mean, rstd: rstd, input: x, weight: weight, bias: bias,
                              rows: n, channels: c, pool: pool)
        }
        memoryBound("layernorm_backward", bytes: 3 * n * c * f + 2 * n * f) {
            LayerNorm.backward(dinput: dx, dweight: dweight, dbias: dbias, dout: dy, input: x, weight: weight,
                               mean: mean, rstd: rstd, rows: n, channels: c, accumulate: false, pool: pool)
        }

        // Residual: three streams each.
        memoryBound("residual_forward", bytes: 3 * n * c * f) {
            Residual.forward(out: y, a: x, b: dy, count: n * c, pool: pool)
        }
        memoryBound("residual_accumulate", bytes: 3 * n * c * f) {
            Residual.accumulate(into: dx, dy, count: n * c, pool: pool)
        }

        // GELU on the MLP activations [N, 4C].
        let hidden = buffer(n * 4 * c, scale: 3), hiddenOut = buffer(n * 4 * c), dHidden = buffer(n * 4 * c)
        let dHiddenIn = buffer(n * 4 * c)
        memoryBound("gelu_forward", bytes: 2 * n * 4 * c * f) {
            GELU.forward(out: hiddenOut, input: hidden, count: n * 4 * c, pool: pool)
        }
        memoryBound("gelu_backward", bytes: 4 * n * 4 * c * f) {
            GELU.backward(dinput: dHiddenIn, input: hidden, output: hiddenOut, dout: dHidden, count: n * 4 * c, accumulate: false, pool: pool)
        }

        // Bias gradient of the MLP's first projection [N, 4C].
        let dbias4 = buffer(4 * c, scale: 0)
        memoryBound("bias_backward", bytes: n * 4 * c * f) {
            Bias.backward(dbias: dbias4, dy: dHidden, rows: n, columns: 4 * c, pool: pool)
        }

        // Attention: GFLOP/s over the unmasked half of the six products.
        let attentionNames = ["attention_forward", "attention_backward", "attention_forward_backward"]
        if attentionNames.contains(where: selected) {
        let attention = CausalSelfAttention(maxBatch: b, maxTime: t, channels: c, heads: h, pool: pool)
        let qkv = buffer(n * 3 * c), dqkv = buffer(n * 3 * c), attnOut = buffer(n * c), dAttnOut = buffer(n * c)
        let hs = c / h
        let productFlops = Double(2 * hs * t * (t + 1) / 2 * b * h)
        let forward = measure {
            attention.forward(out: attnOut, qkv: qkv, batch: b, time: t)
        }
        let backward = measure {
            attention.backward(dqkv: dqkv, dout: dAttnOut, qkv: qkv, out: attnOut, batch: b, time: t, accumulate: false)
        }
        let both = LayerTiming(wall: forward.wall + backward.wall, cpu: forward.cpu + backward.cpu)
        for (name, timing, products) in [("attention_forward", forward, 2.0), ("attention_backward", backward, 4.0),
                                         ("attention_forward_backward", both, 6.0)] where selected(name) {
            // gflops_cpu is per thread (CPU time summed over the threads).
            let gflops = products * productFlops / (timing.wall * 1e6)
            let gflopsCPU = products * productFlops / (timing.cpu * 1e6)
            var extra = [("gflops", gflops), ("gflops_cpu", gflopsCPU)]
            if threads == 1, let fmaPeak, let fmaPeakCPU {
                extra += [("peak_ratio", gflops / fmaPeak), ("peak_ratio_cpu", gflopsCPU / fmaPeakCPU)]
            }
            report.line(name: name, threads: threads, timing: timing, extra: extra)
        }
        }

        // Cross-entropy over [N, V] logits: reads the logits, writes the gradient in place.
        let logits = buffer(n * v, scale: 4), losses = buffer(n)
        let targets = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        for i in 0..<n { targets[i] = Int32((i &* 104_729) % v) }
        memoryBound("crossentropy_forward", bytes: n * v * f) {
            _ = CrossEntropy.forward(losses: losses, logits: logits, targets: targets, weights: nil,
                                     rows: n, vocab: v, pool: pool)
        }
        // Timed on its own output (the gradient), which keeps the values finite and the work identical.
        memoryBound("crossentropy_forward_backward", bytes: 2 * n * v * f) {
            _ = CrossEntropy.forwardBackward(logits: logits, losses: losses, targets: targets, weights: nil,
                                             rows: n, vocab: v, gradientScale: 1 / Float(n), pool: pool)
        }

        // AdamW and clipping over all the preset's parameters.
        let count = shape.parameters
        let params = buffer(count, scale: 0.02), grads = buffer(count, scale: 0.01)
        let m = buffer(count, scale: 0), vv = buffer(count, scale: 0)
        var step = 0
        memoryBound("adamw_step", bytes: 7 * count * f) {
            step += 1
            AdamW.step(parameters: params, gradients: grads, m: m, v: vv, count: count, learningRate: 1e-4,
                       beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, step: step, pool: pool)
        }
        memoryBound("gradient_norm", bytes: count * f) {
            _ = GradientClipping.globalNorm(grads, count: count, pool: pool)
        }
        // The bound is always just below the current norm, so every call scales (norm pass + scaling pass).
        var norm = GradientClipping.globalNorm(grads, count: count, pool: pool)
        memoryBound("gradient_clip", bytes: 3 * count * f) {
            norm = 0.99 * GradientClipping.clip(grads, count: count, maxNorm: 0.99 * norm, pool: pool)
        }
    }
}
