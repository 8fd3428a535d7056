import ArgumentParser
import Foundation
import Generation
import GPT
import Sampling
import TerminalUI
import Training

/// `--prompts FILE --out FILE.jsonl | --out-dir DIR`: every sample of every prompt, decoded `--batch-size` at a
/// time, each written (and flushed) as soon as it is finished, so Ctrl-C or a crash loses only the samples
/// in flight and `--resume` picks up the rest. Sample s of prompt i uses seed derive(base, i, s): the same
/// text whatever the batch size or the order of the run. The output records the checkpoint, weights, base seed
/// and settings; a resume with other ones is refused, and one without --seed continues the recorded base seed.
struct BatchRun {
    let checkpoint: String
    /// --batch-size: sequences decoded together at most (the decoder holds a key-value cache for each).
    let maxBatch: Int
    let promptsPath: String
    let out: String?
    let outDir: String?
    let samplesPerPrompt: Int
    let resume: Bool
    let overwrite: Bool
    let settings: SamplingSettings
    let weights: DecoderWeights

    /// Most samples one run makes (prompts x samples per prompt).
    static let maximumSamples = 100_000_000

    func run() throws {
        let prompts = try PromptFileReader.read(path: promptsPath)
        // Every sample of the run is listed up front: a mistyped --samples-per-prompt must not exhaust memory.
        let (total, overflow) = prompts.count.multipliedReportingOverflow(by: samplesPerPrompt)
        if overflow || total > Self.maximumSamples {
            throw UserError("--samples-per-prompt: \(counted(prompts.count, "prompt")) x \(counted(samplesPerPrompt, "sample")) is more "
                + "than the \(Self.maximumSamples) samples a run may make")
        }
        // No more decoding slots than samples: each slot's cache is allocated up front.
        let model: LoadedModel
        do {
            model = try LoadedModel.load(path: checkpoint, maxBatch: min(maxBatch, max(1, total)), weights: weights)
        } catch let error as GPTError {   // the decoder's slots beyond memory: the option that sets them
            guard case .doesNotFitInMemory = error, min(maxBatch, total) > 1 else { throw error }
            throw UserError("--batch-size: \(error); use a smaller --batch-size")
        }
        let destination: BatchOutputWriter.Destination = out.map { .jsonLines(path: $0) } ?? .directory(path: outDir!)
        let writer = try BatchOutputWriter(destination: destination,
                                           existing: resume ? .resume : (overwrite ? .overwrite : .refuse),
                                           prompts: promptsPath)
        try writer.checkMatches(prompts, layout: model.layout)
        let base = try baseSeed(writer)
        var sampling = settings
        sampling.seed = nil
        let weightsFile = model.directory + "/model.safetensors"
        let modified = (try? FileManager.default.attributesOfItem(atPath: weightsFile)[.modificationDate] as? Date)
            .map { $0.timeIntervalSince1970 }
        try writer.begin(BatchRunSettings(checkpoint: RunDirectory.absolutePath(model.directory),
                                          checkpointModified: modified,
                                          weights: weights.rawValue, baseSeed: base, sampling: sampling))
        if writer.droppedPartialLine { Output.note("note: dropped an unfinished last line of the output (a run was cut short)") }

        var keys: [SampleKey] = []
        for record in prompts {
            for s in 0..<samplesPerPrompt {
                let key = SampleKey(promptIndex: record.index, sampleIndex: s)
                if !writer.completed.contains(key) { keys.append(key) }
            }
        }
        let skipped = prompts.count * samplesPerPrompt - keys.count
        if skipped > 0 { Output.note("resuming: \(counted(skipped, "sample")) already in the output, \(keys.count) to go") }
        if keys.isEmpty { Output.note("nothing to do: every sample is already in the output"); return }

        let requests = keys.map {
            GenerationRequest(prompt: model.layout(prompts[$0.promptIndex].prompt),
                              seed: SeedDerivation.seed(base: base, promptIndex: $0.promptIndex, sampleIndex: $0.sampleIndex))
        }
        let progress = ProgressBar(total: keys.count, plainEvery: max(1, keys.count / 20), unit: "sample")
        let start = Date()
        var tokens = 0, done = 0
        var writeError: Error?
        var warnedPrompts = Set<Int>()
        try model.generator.generate(requests, settings: settings, onEvent: { event in
            switch event {
            case let .promptTruncated(index, dropped, context):
                let record = prompts[keys[index].promptIndex]
                if warnedPrompts.insert(record.index).inserted {
                    progress.log("warning: \(promptsPath):\(record.line): the prompt is longer than the model's context of \(context) tokens; \(Output.firstTokensDropped(dropped))")
                }
            case let .finished(index, completion):
                let key = keys[index]
                let record = prompts[key.promptIndex]
                var used = settings
                used.seed = completion.seed
                if completion.finishReason != .cancelled && writeError == nil {
                    do {
                        try writer.write(BatchSample(key: key, prompt: record.prompt, laidOutPrompt: model.layout(record.prompt),
                                                     completion: completion.text,
                                                     tokenCount: completion.tokenCount, settings: used,
                                                     seed: completion.seed, finishReason: completion.finishReason.rawValue,
                                                     extraFields: record.extraFields))
                        done += 1
                    } catch { writeError = error }
                }
                tokens += completion.tokenCount
                let seconds = Date().timeIntervalSince(start)
                progress.update(step: done, fields: [("tokens", "\(tokens)"),
                                                     ("tok/s", String(format: "%.1f", Double(tokens) / max(seconds, 1e-9)))])
            case .text, .contextSlid:
                break
            }
        }, shouldStop: { Interrupt.isRequested || writeError != nil })
        progress.finish()
        if let writeError { throw writeError }
        let target = out ?? outDir!
        if Interrupt.isRequested {
            Output.note("stopped: \(done) of \(counted(keys.count, "sample")) written to \(target); --resume continues")
            throw ExitCode(Interrupt.exitStatus)   // as pretrain and finetune: a script must not take the output as complete
        } else {
            Output.note("wrote \(counted(done, "sample")) (\(counted(tokens, "token"))) to \(target)")
        }
    }

    /// --seed, else (resume) the base seed the output records, else a random one. An output that holds samples
    /// but records no base seed (written before it was recorded) needs --seed: a random one would not continue it.
    private func baseSeed(_ writer: BatchOutputWriter) throws -> UInt64 {
        if let seed = settings.seed ?? writer.recordedBaseSeed { return seed }
        if writer.completed.isEmpty { return SeedDerivation.randomSeed() }
        throw UserError("\(out ?? outDir!): does not record the seed its samples were made with (an older output); give its --seed to resume it")
    }
}
