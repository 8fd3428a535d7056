import ArgumentParser
import Foundation
import GPT
import Kernels
import Training

/// `bench train`: whole training steps (forward, backward, clipping, AdamW) of a GPT on random tokens, next to
/// PyTorch on the same model and batch in the same run (scripts/torch_train_bench.py, when torch is installed).
/// The two alternate for `--rounds` rounds, so a drift of the machine's speed falls on both; each side reports
/// the median over its rounds of its per-round median step, and the ratio is the median of the per-round ratios.
/// PyTorch's process stays up across the rounds (the script's `--serve`), so rounds are short and many; each
/// round of either side runs 3 untimed warm-up steps first.
/// The compute reference (`FMAReference`, one core's FMA rate) is measured before and after the rounds: on a VM
/// whose speed drifts, it says how fast the machine was while the figures were taken.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time training steps; compare with PyTorch (eager, fp32, same threads) in the same run.")

    @Option(help: "Model preset: tiny, small or gpt2.") var preset: String = "tiny"
    @Option(help: "Transformer blocks (overrides the preset).") var layers: Int?
    @Option(help: "Attention heads.") var heads: Int?
    @Option(help: "Embedding width.") var width: Int?
    @Option(help: "Context length (default: the preset's).") var context: Int?
    @Option(help: "Sequences per step (default 12 for tiny, 8 otherwise).") var batchSize: Int?
    @Option(help: "Vocabulary size (65: the characters of tinyshakespeare).") var vocab: Int = 65
    @Option(help: "Dropout probability of Swiftlet's steps (the PyTorch reference runs without).") var dropout: Float = 0
    @Option(help: "Worker threads.") var threads: Int = ThreadPool.availableCores
    @Option(help: "Timed steps a round (after 3 warm-up steps); the median is reported.") var steps: Int = 20
    @Option(help: "Rounds of Swiftlet then PyTorch, alternating (PyTorch's process stays up between them).")
    var rounds: Int = 7
    @Option(help: "Machine peak for the FLOPs utilisation, GFLOP/s.") var peakGflops: Double = 500
    @Option(help: "PyTorch reference script.") var referenceScript: String = "scripts/torch_train_bench.py"
    @Flag(help: "Skip the PyTorch reference.") var noReference = false
    @Flag(help: "One JSON object a line (sizes in MiB, 2^20 bytes, as in the text).") var json = false

    /// Most timed steps a round and rounds a run (the trainer is made for all of them, 3 warm-up steps a round too).
    static let maxSteps = 100_000, maxRounds = 1_000

    func validate() throws {
        try OptionCheck.threads(threads)
        try OptionCheck.atLeastOne(["steps": steps, "rounds": rounds])
        if steps > Self.maxSteps { throw ValidationError("--steps must be at most \(Self.maxSteps) (got \(steps))") }
        if rounds > Self.maxRounds { throw ValidationError("--rounds must be at most \(Self.maxRounds) (got \(rounds))") }
        if let batchSize { try OptionCheck.atLeastOne(["batch-size": batchSize]) }
        guard peakGflops.isFinite && peakGflops > 0 else {
            throw ValidationError("--peak-gflops must be a positive number (got \(peakGflops))")
        }
        // The model's shape too (a bad --preset or --vocab exited 1 from run() without naming the option).
        do {
            _ = try GPTConfig.preset(named: preset, vocabSize: vocab)
                .overriding(layers: layers, heads: heads, width: width, context: context, dropout: dropout)
        } catch let error as GPTConfigError {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        ThreadPool.shared = ThreadPool(threads: threads)
        let config = try GPTConfig.preset(named: preset, vocabSize: vocab)
            .overriding(layers: layers, heads: heads, width: width, context: context, dropout: dropout)
        let batch = batchSize ?? (preset == "tiny" ? 12 : 8)
        let trainer = try makeTrainer(config: config, batch: batch)
        var ours: [Double] = [], theirs: [[String: Any]] = [], ratios: [Double] = []
        let torch = noReference ? nil : startTorchReference(config: config, batch: batch)
        defer { torch?.close() }
        // A first round, not counted, returns once PyTorch is imported and warmed up (its first tens of steps
        // run slower), so its start-up does not run beside our first round. Between rounds, a pause lets the
        // other side's idle threads stop spinning.
        _ = torch?.ask("\(steps)")
        let peakBefore = FMAReference.gflops()
        for _ in 0..<rounds {
            usleep(20_000)
            let seconds = try medianStepSeconds(trainer)
            ours.append(seconds)
            usleep(20_000)
            if let round = torch?.ask("\(steps)") {
                theirs.append(round)
                if let refTokens = round["tokens_per_s"] as? Double {
                    ratios.append(Double(batch * config.context) / seconds / refTokens)
                }
            }
        }
        let peakAfter = FMAReference.gflops()
        let result = Measurement(stepSeconds: median(ours), peakRSSMB: Self.peakRSSMB(),
                                 modelBytes: trainer.model.memory.totalBytes)
        // PyTorch's rounds as one: the medians of their tokens/s, ms a step and MFU, taken as Swiftlet's are (the
        // mean of the middle two of an even count), with the rest of a round's report (torch's version, threads).
        var reference = theirs.first
        for (key, scale) in [("tokens_per_s", 1e1), ("ms_per_step", 1e3), ("mfu", 1e4)] {   // the script's rounding
            let values = theirs.compactMap { $0[key] as? Double }
            if values.count == theirs.count && !values.isEmpty { reference?[key] = (median(values) * scale).rounded() / scale }
        }
        let ratio = ratios.isEmpty ? nil : median(ratios)

        let flopsPerToken = Self.trainingFlopsPerToken(config)
        let tokensPerStep = Double(batch * config.context)
        let tokensPerSecond = tokensPerStep / result.stepSeconds
        let mfu = flopsPerToken * tokensPerSecond / (peakGflops * 1e9)
        let modelMB = Double(result.modelBytes) / 1_048_576
        if json {
            print(#"{"name": "train", "preset": "\#(preset)", "layers": \#(config.layers), "width": \#(config.width), "context": \#(config.context), "heads": \#(config.heads), "batch": \#(batch), "vocab": \#(vocab), "dropout": \#(config.dropout), "threads": \#(threads), "steps": \#(steps), "rounds": \#(rounds), "tokens_per_s": \#(f1(tokensPerSecond)), "ms_per_step": \#(f3(result.stepSeconds * 1e3)), "mfu": \#(f4(mfu)), "peak_rss_mb": \#(f1(result.peakRSSMB)), "model_state_mb": \#(f1(modelMB)), "fma_peak_gflops_before": \#(f1(peakBefore)), "fma_peak_gflops_after": \#(f1(peakAfter))\#(ratio.map { ", \"ratio\": \(f3($0))" } ?? "")}"#)
            if let reference, let data = try? JSONSerialization.data(withJSONObject: reference, options: [.sortedKeys]) {
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        print("training step: \(config.layers) layers, \(config.heads) heads, \(config.width) wide, context \(config.context), "
              + "vocabulary \(vocab), batch \(batch), \(threads) thread(s); \(rounds) rounds of \(steps) steps, medians")
        print(String(format: "  swiftlet  %9.0f tokens/s  %8.2f ms/step  %5.1f GFLOP/s  MFU %.3f (of %.0f GFLOP/s)",
                     tokensPerSecond, result.stepSeconds * 1e3, flopsPerToken * tokensPerSecond / 1e9, mfu, peakGflops))
        if let reference, let refTokens = reference["tokens_per_s"] as? Double, let refMs = reference["ms_per_step"] as? Double {
            print(String(format: "  pytorch   %9.0f tokens/s  %8.2f ms/step  %5.1f GFLOP/s  (torch %@)",
                         refTokens, refMs, flopsPerToken * refTokens / 1e9, (reference["torch"] as? String) ?? "?"))
            print(String(format: "  ratio     %.2fx PyTorch's tokens/s (median of %d alternating rounds; rounds: %@)",
                         ratio ?? .nan, ratios.count, ratios.map { String(format: "%.2f", $0) }.joined(separator: ", ")))
        } else if !noReference {
            print("  pytorch   not measured (" + (FileManager.default.fileExists(atPath: referenceScript)
                ? "python3 \(referenceScript) gave no result: torch not installed (pip install 'torch==2.13.0+cpu'), or "
                    + "the script failed (run it by hand to see why))"
                : "\(referenceScript) not found: run from the package root, or give --reference-script)"))
        }
        print(String(format: "  memory    peak RSS %.1f MiB; parameters + gradients + AdamW moments + activations = %.1f MiB (ratio %.2f)",
                     result.peakRSSMB, modelMB, result.peakRSSMB / modelMB))
        print(String(format: "  machine   fma_peak_reference %.1f GFLOP/s a core before the rounds, %.1f after",
                     peakBefore, peakAfter))
    }

    struct Measurement {
        let stepSeconds: Double
        let peakRSSMB: Double
        let modelBytes: Int
    }

    /// A `Trainer` over random tokens (the token file is removed at once; its memory map stays valid).
    private func makeTrainer(config: GPTConfig, batch: Int) throws -> Trainer {
        var options = TrainingOptions()
        options.batchSize = batch
        options.context = config.context
        options.steps = (steps + 3) * rounds
        options.seed = 1
        // The options and the batch's memory first: the random tokens are four batches' worth, and a batch beyond
        // memory took seconds and gigabytes to draw them before the trainer refused it.
        try options.validate(modelContext: config.context)
        do { try GPT.checkMemory(config: config, batch: batch, time: config.context) } catch let error as GPTError {
            if case .modelDoesNotFitInMemory = error {   // the model alone: its shape, not the batch
                throw TrainingError.invalidOption(option: "--preset", message: "\(error)")
            }
            throw TrainingError.invalidOption(option: "--batch-size", message: "\(error); use a smaller --batch-size or --context")
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-train-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = SeededGenerator(seed: 1)
        let tokens = (0..<max(100_000, 4 * batch * (config.context + 1))).map { _ in Int32(generator.next() % UInt64(config.vocabSize)) }
        let path = directory.appendingPathComponent("train.npy").path
        try TokenFileWriter.write(tokens, to: path, dtype: config.vocabSize <= 65536 ? .uint16 : .uint32)
        return try Trainer(model: try GPT(config: config, seed: 1), train: try TokenFile(path: path),
                           validation: nil, options: options)
    }

    /// Median seconds of a full optimizer step through `Trainer` (batch sampling included), after 3 warm-up steps.
    private func medianStepSeconds(_ trainer: Trainer) throws -> Double {
        var times: [Double] = []
        for step in 0..<(steps + 3) {
            let start = monotonicSeconds()
            _ = try trainer.runStep()
            if step >= 3 { times.append(monotonicSeconds() - start) }
        }
        return median(times)
    }

    private static func peakRSSMB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    /// PyTorch's script serving rounds of the same model, or nil without the script (without python3 or torch
    /// it exits at once, and its rounds read as nil).
    private func startTorchReference(config: GPTConfig, batch: Int) -> ReferenceSession? {
        guard FileManager.default.fileExists(atPath: referenceScript) else { return nil }
        return ReferenceSession(["python3", referenceScript, "--layers", "\(config.layers)",
                                 "--heads", "\(config.heads)", "--width", "\(config.width)",
                                 "--context", "\(config.context)", "--batch-size", "\(batch)",
                                 "--vocab", "\(config.vocabSize)", "--threads", "\(threads)",
                                 "--peak-gflops", "\(peakGflops)", "--serve"])
    }

    /// Model FLOPs per trained token: 6 per weight of every matrix product (2 forward, 4 backward; the tied LM head
    /// counts V*C), plus causal attention's QK^T and PV: 2*T*C each per token and layer forward over the full
    /// square, half of that unmasked, times 3 for forward + backward. Same formula as the PyTorch script.
    static func trainingFlopsPerToken(_ c: GPTConfig) -> Double {
        let matmulWeights = Double(c.layers * 12 * c.width * c.width + c.vocabSize * c.width)
        let attention = Double(c.layers) * 2 * Double(c.context * c.width)
        return 6 * matmulWeights + 3 * attention
    }
}
