import ArgumentParser
import Foundation
import GPT
import JSON
import Kernels
import Sampling

/// `bench sample`: generation speed on random weights of a given shape, in one run: greedy decoding as the
/// reference for the sampling cost, the requested sampler, the memory read bandwidth as the ceiling of a
/// bandwidth-bound decoder, prefill against a training forward pass, and the time to the first token. With one
/// sequence it also times the C reference (scripts/runc_style_decoder.c, run.c-style, greedy) on the same shape.
struct BenchSample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Time KV-cache generation on random weights (default: llama2.c's 15M model shape).")

    @Option(help: "Transformer blocks.") var layers: Int = 6
    @Option(help: "Attention heads.") var heads: Int = 6
    @Option(help: "Embedding width.") var width: Int = 288
    @Option(help: "Context length.") var context: Int = 256
    @Option(help: "Vocabulary size.") var vocab: Int = 32000
    @Option(help: "Sequences decoded together.") var batch: Int = 1
    @Option(help: "Worker threads.") var threads: Int = ThreadPool.availableCores
    @Option(help: "New tokens per sequence in each timed run (after a 1-token prompt; less than --context).")
    var tokens: Int = 200
    @Option(help: "Sampling temperature (0: greedy).") var temperature: Float = 1
    @Option(name: .customLong("top-p"), help: "Top-p of the sampler.") var topP: Float = 0.9
    @Option(help: "Weight storage for the decoding steps: fp32 or bf16.") var weights: String = "fp32"
    @Option(help: "Timed runs; medians are reported.") var repeats: Int = 5
    @Option(help: "C reference decoder, compiled with cc -Ofast -march=native -fopenmp (timed with --batch 1).")
    var referenceSource: String = "scripts/runc_style_decoder.c"
    @Option(help: "Rounds of Swiftlet's greedy runs and the C reference, alternating (batch 1).") var rounds: Int = 3
    @Flag(help: "Skip the C reference.") var noReference = false
    @Flag(help: "One JSON object a line.") var json = false

    func validate() throws {
        try OptionCheck.atLeastOne(["layers": layers, "heads": heads, "width": width, "context": context,
                                    "vocab": vocab, "batch": batch, "tokens": tokens, "repeats": repeats,
                                    "rounds": rounds])
        do {   // heads that do not divide the width: an option mistake, as in bench train
            try GPTConfig(layers: layers, heads: heads, width: width, context: context, vocabSize: vocab).validate()
        } catch let error as GPTConfigError {
            throw ValidationError(error.description)
        }
        try OptionCheck.threads(threads)
        // The window never slides: the C reference stops at the context, and a slide would time a prefill.
        if tokens >= context {
            throw ValidationError("--tokens must be less than --context (\(context)): the 1-token prompt and the new tokens fit the window (got \(tokens))")
        }
        if weights != "fp32" && weights != "bf16" { throw ValidationError("--weights must be fp32 or bf16 (got \(weights))") }
        do { try SamplingSettings(temperature: temperature, topP: topP).validate() } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        ThreadPool.shared = ThreadPool(threads: threads)
        let config = try GPTConfig(layers: layers, heads: heads, width: width, context: context, vocabSize: vocab)
            .overriding()
        let model = try GPT(config: config, seed: 1)
        let storage: DecoderWeights = weights == "bf16" ? .bfloat16 : .float32

        // A batch whose decoder does not fit in memory is refused here, in one line, before any timing.
        try BatchDecoder.checkMemory(model: model, slots: batch, weights: storage)
        // Time to the first token: decoder set-up (cache, scratch, prefill plan), a 16-token prefill (the whole
        // context when shorter), one sample.
        let firstPrompt = (0..<min(16, context)).map { Int32($0 % vocab) }
        let firstToken = runTimes(repeats: repeats) {
            let decoder = try! BatchDecoder(model: model, slots: batch, weights: storage)
            try! decoder.prefill(slot: 0, tokens: firstPrompt)
            _ = Sampler(vocabularySize: vocab, seed: 1).sample(logits: decoder.logits(slot: 0), settings: .greedy)
        }.median

        let decoder = try BatchDecoder(model: model, slots: batch, weights: storage)

        // With a batch, a one-slot decoder times single-sequence generation in the same run (the batch speed-up).
        let single = batch > 1 ? try BatchDecoder(model: model, slots: 1, weights: storage) : nil
        let samplers = (0..<batch).map { Sampler(vocabularySize: vocab, seed: UInt64($0)) }
        let sampled = SamplingSettings(temperature: temperature, topP: topP)
        var next = [Int32](repeating: 0, count: batch)
        /// One timed generation run: a 1-token prompt per slot, then `tokens` steps.
        func decodeSeconds(_ settings: SamplingSettings, decoder: BatchDecoder) -> Double {
            let batch = decoder.slots
            let start = monotonicSeconds()
            for slot in 0..<batch { try! decoder.prefill(slot: slot, tokens: [Int32(slot % vocab)]) }
            for _ in 0..<tokens {
                // The sequences' samplers are independent: sampled in parallel, as TextGenerator does.
                next.withUnsafeMutableBufferPointer { out in
                    ThreadPool.shared.run(tasks: batch) { slot in
                        out[slot] = samplers[slot].sample(logits: decoder.logits(slot: slot), settings: settings,
                                                          previousTokens: decoder.window(slot: slot))
                    }
                }
                for slot in 0..<batch { try! decoder.append(next[slot], to: slot) }
                decoder.advance()
            }
            return monotonicSeconds() - start
        }
        // Greedy, sampled (and single-sequence sampled) runs alternate after one warm-up of each, so drifts of
        // the machine's speed fall on all alike; medians of each.
        _ = decodeSeconds(.greedy, decoder: decoder)
        _ = decodeSeconds(sampled, decoder: decoder)
        if let single { _ = decodeSeconds(sampled, decoder: single) }
        var greedyTimes: [Double] = [], sampledTimes: [Double] = [], singleTimes: [Double] = []
        for _ in 0..<repeats {
            greedyTimes.append(decodeSeconds(.greedy, decoder: decoder))
            sampledTimes.append(decodeSeconds(sampled, decoder: decoder))
            if let single { singleTimes.append(decodeSeconds(sampled, decoder: single)) }
        }
        let greedySeconds = median(greedyTimes), sampledSeconds = median(sampledTimes)
        let singleRate = single == nil ? nil : Double(tokens) / median(singleTimes)
        let greedyRate = Double(batch * tokens) / greedySeconds
        let sampledRate = Double(batch * tokens) / sampledSeconds
        // Weights read once per step (every sequence of the batch shares the read): 4 matrices a block and
        // the tied head.
        let bytesPerWeight = storage == .bfloat16 ? 2.0 : 4.0
        let weightBytes = Double(config.layers * 12 * width * width + vocab * width) * bytesPerWeight
        let stepsPerSecond = Double(tokens) / sampledSeconds
        let weightGBs = weightBytes * stepsPerSecond / 1e9

        // Prefill of a full context against the training forward pass (logits of every position, batch 1).
        let prompt = (0..<context).map { Int32(($0 * 7919) % vocab) }
        let prefillSeconds = medianSeconds(repeats: repeats) { try! decoder.prefill(slot: 0, tokens: prompt) }
        let forwardSeconds = medianSeconds(repeats: repeats) { _ = try! model.forward(tokens: prompt, batch: 1, time: context) }
        let memoryGBs = MemoryBandwidth.measureReadGBs(threads: threads)
        // The C reference and our greedy decoding alternate in rounds (each side the median of `repeats`
        // generations a round), so a drift of the machine's speed falls on both; the ratio is the median of the
        // rounds' ratios.
        var reference: (tokensPerSecond: Double, weightGBs: Double, ratio: Double, rounds: [Double])? = nil
        if batch == 1 && !noReference,
           let cDecoder = RunCStyleReference.compile(source: referenceSource, width: width, layers: layers,
                                                     heads: heads, vocab: vocab, context: context, tokens: tokens,
                                                     threads: threads, repeats: repeats) {
            var rates: [Double] = [], gbs: [Double] = [], ratios: [Double] = []
            for _ in 0..<rounds {
                let ours = Double(tokens) / median((0..<repeats).map { _ in decodeSeconds(.greedy, decoder: decoder) })
                guard let c = cDecoder.measure() else { break }
                rates.append(c.tokensPerSecond)
                gbs.append(c.weightGBs)
                ratios.append(ours / c.tokensPerSecond)
            }
            if !ratios.isEmpty {
                reference = (median(rates), median(gbs), median(ratios), ratios)
            }
        }

        if json {
            print(#"{"name": "sample", "layers": \#(layers), "width": \#(width), "context": \#(context), "vocab": \#(vocab), "batch": \#(batch), "threads": \#(threads), "weights": "\#(weights)", "temperature": \#(temperature), "top_p": \#(topP), "tokens_per_s": \#(f1(sampledRate)), "greedy_tokens_per_s": \#(f1(greedyRate)), "weight_gb_per_s": \#(f1(weightGBs)), "memory_read_gb_per_s": \#(f1(memoryGBs)), "first_token_s": \#(f4(firstToken)), "prefill_tokens_per_s": \#(f1(Double(context) / prefillSeconds)), "forward_tokens_per_s": \#(f1(Double(context) / forwardSeconds))\#(singleRate.map { ", \"single_tokens_per_s\": \(f1($0)), \"batch_speedup\": \(f2(sampledRate / $0))" } ?? "")}"#)
            if let reference {
                print(#"{"name": "sample_reference", "implementation": \#(jsonStringLiteral(referenceSource + " (cc -Ofast -march=native -fopenmp, greedy)")), "batch": 1, "threads": \#(threads), "weights": "fp32", "tokens_per_s": \#(f1(reference.tokensPerSecond)), "weight_gb_per_s": \#(f1(reference.weightGBs)), "ratio": \#(f2(reference.ratio))}"#)
            }
            return
        }
        print("generation: \(layers) layers, \(heads) heads, \(width) wide, context \(context), vocabulary \(vocab), "
              + "batch \(batch), \(weights) weights, \(threads) thread(s); \(tokens) new tokens a sequence, median of \(repeats)")
        print(String(format: "  greedy              %8.1f tokens/s", greedyRate))
        print(String(format: "  temperature %.2g top-p %.2g  %8.1f tokens/s  (%.2f of greedy)", temperature, topP, sampledRate,
                     sampledRate / greedyRate))
        if let singleRate {
            print(String(format: "  one sequence alone  %8.1f tokens/s  (batch %d: %.2fx)", singleRate, batch, sampledRate / singleRate))
        }
        print(String(format: "  weight reads        %8.1f GB/s  (memory read here: %.1f GB/s, ratio %.2f)", weightGBs,
                     memoryGBs, weightGBs / memoryGBs))
        print(String(format: "  prefill %d tokens   %8.1f tokens/s  (training forward: %.1f tokens/s, ratio %.2f)", context,
                     Double(context) / prefillSeconds, Double(context) / forwardSeconds, forwardSeconds / prefillSeconds))
        print(String(format: "  first token         %8.4f s  (decoder set-up, %d-token prefill, one sample)", firstToken,
                     firstPrompt.count))
        if let reference {
            print(String(format: "  C reference, greedy %8.1f tokens/s  (weights read at %.1f GB/s)",
                         reference.tokensPerSecond, reference.weightGBs))
            print(String(format: "  ratio               %8.2fx  Swiftlet greedy / C (median of %d alternating rounds; rounds: %@)",
                         reference.ratio, reference.rounds.count,
                         reference.rounds.map { String(format: "%.2f", $0) }.joined(separator: ", ")))
        }
    }
}
