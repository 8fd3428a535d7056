import Foundation
import GPT
import Kernels
import TerminalUI
import Tokenizer
import Training

/// Builds the training run that `pretrain` drives: a new one (preparing the corpus when needed) or a resumed one.
struct RunSetup {
    let run: TrainingRun
    let summary: String
    /// The model being trained and its tokenizer (for --sample-every).
    let model: GPT
    let tokenizer: SentencePieceTokenizer
    /// A new run from a checkpoint's weights (--init-from): its start is evaluated and kept as best/ first.
    var startsFromCheckpoint = false

    /// Defaults of a new run: sized to finish in a few minutes on two cores with the `tiny` preset.
    static var newRunDefaults: TrainingOptions {
        var o = TrainingOptions()
        o.batchSize = 16
        o.steps = 1500
        o.learningRate = 1e-3
        o.minLearningRate = 1e-4
        o.warmupSteps = 100
        o.weightDecay = 0.1
        o.beta1 = 0.9
        o.beta2 = 0.99
        o.gradClip = 1
        o.evalEvery = 250
        o.evalBatches = 20
        o.checkpointEvery = 500
        return o
    }

    static func make(command: Train) throws -> RunSetup {
        command.resume ? try resumed(command) : try fresh(command)
    }

    // MARK: - A new run

    private static func fresh(_ command: Train) throws -> RunSetup {
        let m = command.model
        // --init-from: the checkpoint's model (shape, weights, tokenizer) in place of a preset's random one.
        let origin = try command.initFrom.map(InitialCheckpoint.load)
        if let message = origin?.dropoutChoiceNeeded, m.dropout == nil {
            throw TrainingError.invalidOption(option: "--dropout", message: message)
        }
        let preset = origin.map { $0.preset ?? "custom" } ?? m.preset ?? "tiny"
        func configuration(vocabularySize: Int) throws -> GPTConfig {
            do {
                if let origin { return try origin.model.config.overriding(dropout: m.dropout ?? origin.model.config.dropout) }
                return try GPTConfig.preset(named: preset, vocabSize: vocabularySize)
                    .overriding(layers: m.layers, heads: m.heads, width: m.width, context: m.context, dropout: m.dropout)
            } catch let error as GPTConfigError {
                throw optionError(error)
            }
        }
        var defaults = newRunDefaults
        if origin != nil {   // trained weights: a tenth of a random start's rate, so the first steps do not undo them
            defaults.learningRate = 1e-4
            defaults.minLearningRate = 1e-5
        }
        var (options, _) = command.hyper.applied(to: defaults)
        if command.hyper.lr != nil && command.hyper.minLr == nil { options.minLearningRate = options.learningRate / 10 }
        // A short run (--steps under 1000) warms up over its first tenth instead of 100 steps.
        if command.hyper.warmupSteps == nil { options.warmupSteps = min(options.warmupSteps, options.steps / 10) }
        // The model's shape and every hyperparameter are checked before the (slow) preparation; the vocabulary
        // comes from the tokenizer, which the preparation may train, and any size stands in for it here.
        let estimate = try configuration(vocabularySize: max(1, command.data.vocabSize ?? 4096))
        options.context = estimate.context
        try options.validate(modelContext: options.context)
        // A batch beyond memory too (with the vocabulary asked for; the tokenizer's may be smaller).
        try Trainer.namingBatchSize(advice: "use a smaller --batch-size (--grad-accum keeps the effective batch)"
                                    + (origin == nil ? " or --context" : "")) {
            try GPT.checkMemory(config: estimate, batch: options.batchSize, time: options.context)
        }
        // Then --out (a wrong option is reported first, whatever the directory holds), which must not hold the
        // checkpoint the run starts from.
        if let origin { try RunDirectory.refuseOverlap(out: command.out, start: origin.directory) }
        let directory = RunDirectory(path: command.out)
        try directory.checkPreviousRun(overwrite: command.overwrite)

        // The run directory is made and locked before anything in it changes: another setup or run is refused.
        // A run refused after its corpus was prepared (too short for a window, say) leaves nothing behind when it
        // made --out: the prepared data would block a retry with another corpus.
        let newRunDirectory = !FileManager.default.fileExists(atPath: command.out)
        try directory.createAndLock()
        var started = false
        defer { if newRunDirectory && !started { try? FileManager.default.removeItem(atPath: command.out) } }
        let prepared = try prepareData(command.data, runDirectory: command.out, overwrite: command.overwrite,
                                       tokenizer: origin?.tokenizerPath)
        defer { prepared.discardReplacement() }
        if let origin, let given = command.data.data { try origin.checkTokenizer(ofPreparedData: prepared.path, shownAs: given) }
        let dataDirectory = prepared.finalPath
        let tokenizer = try SentencePieceTokenizer(contentsOf: prepared.path + "/tokenizer.model")
        let config = try configuration(vocabularySize: tokenizer.vocabularySize)
        if command.hyper.seed == nil { options.seed = UInt64.random(in: 0...UInt64(UInt32.max)) }

        let (train, val) = try openTokens(prepared.path)
        announceAllocation(config: config, options: options, loaded: origin?.model)
        let model: GPT
        if let origin {
            model = origin.model
            try model.setDropout(config.dropout)
        } else {
            model = try GPT(config: config, seed: options.seed)
        }
        let trainer: Trainer
        do {
            trainer = try Trainer(model: model, train: train, validation: val, options: options,
                                  generator: SeededGenerator(seed: options.seed ^ 0xDA7A))
        } catch let TrainingError.dataTooShort(path, tokens, needed) where command.data.data == nil {
            throw corpusTooShort(validation: path.hasSuffix("val.npy"), tokens: tokens, needed: needed, data: command.data,
                                 checkpointContext: origin?.model.config.context)
        }
        var record = RunRecord(options: options, dataDirectory: dataDirectory)
        record.recordData(dataDirectory, runDirectory: command.out)
        record.tokenFingerprints = [train.fingerprint, val?.fingerprint ?? ""]
        record.threads = ThreadPool.shared.threadCount
        record.patience = command.patience
        record.samples = SampleOptions.merging(nil, every: command.sampleEvery, tokens: command.sampleTokens,
                                               prompt: command.samplePrompt)
        try directory.removePreviousRun()
        try prepared.install()
        // A preset whose shape options were overridden is recorded as "custom": config.json's own keys give the shape.
        let overridden = [(m.layers, "--layers"), (m.heads, "--heads"), (m.width, "--width"), (m.context, "--context")]
            .filter { $0.0 != nil }.map(\.1)
        let run = try makeRun(directory, trainer: trainer, record: record, tokenizer: tokenizer,
                              dataDirectory: dataDirectory, preset: overridden.isEmpty ? preset : "custom",
                              notes: origin.map { [initializedFromNote: RunDirectory.absolutePath($0.directory)] } ?? [:])
        started = true
        let params = model.layout.parameterCount
        let shape = origin.map { "initialized from \($0.directory)" }
            ?? (overridden.isEmpty ? "\(preset) preset" : "\(preset) preset with \(overridden.joined(separator: ", ")) given")
        var summary = "new run in \(command.out): \(shape), \(counted(config.layers, "layer")), \(counted(config.heads, "head")), "
            + "\(config.width) wide, context \(config.context), vocabulary \(config.vocabSize) "
            + String(format: "(%.2fM parameters)", Double(params) / 1e6)
            + "; \(train.count) training tokens; batch \(options.batchSize) x \(options.gradAccum) x \(options.context); "
            + counted(options.steps, "step") + "; seed \(options.seed); " + counted(ThreadPool.shared.threadCount, "thread")
        if let note = ThreadPool.oversubscriptionNote(threads: ThreadPool.shared.threadCount) { summary += "\n" + note }
        if let note = options.warmupNote { summary += "\n" + note }
        if let note = options.patienceNote(patience: command.patience ?? 0, hasValidation: val != nil) { summary += "\n" + note }
        if let origin {
            summary += "\nstarting from \(origin.directory)'s weights"
                + (command.hyper.lr == nil ? String(format: " at learning rate %.0e (the default from a checkpoint: a tenth of a new run's)", options.learningRate) : "")
                + String(format: ", dropout %g", config.dropout)
                + (m.dropout == nil && config.dropout > 0 ? " (the checkpoint's)" : "")
        }
        return RunSetup(run: run, summary: summary, model: model, tokenizer: tokenizer, startsFromCheckpoint: origin != nil)
    }

    /// The prepared data directory, absolute (the run records it, and may be resumed from anywhere): --data as
    /// given, or the corpus files prepared into OUT/data. With `overwrite`, a preparation of other corpus files
    /// already in OUT/data is replaced only once the new run has passed every check (`PreparedData.install`):
    /// until then the new one waits beside it.
    private static func prepareData(_ data: DataOptions, runDirectory: String, overwrite: Bool,
                                    tokenizer existingTokenizer: String?) throws -> PreparedData {
        if let dir = data.data {   // (with --corpus or a preparation option: refused by DataOptions.validate)
            return PreparedData(path: try requireTrainingData(dir))
        }
        let target = RunDirectory.absolutePath(runDirectory + "/data")
        var preparation = CorpusPreparation(corpora: try DefaultCorpus.resolve(data.corpora),
                                            outputDirectory: target)
        preparation.tokenizerOptions = data.tokenizerOptions
        preparation.valFraction = data.valFraction ?? 0.1
        preparation.valCorpora = data.valCorpora
        preparation.existingTokenizer = existingTokenizer
        preparation.threads = ThreadPool.shared.threadCount
        preparation.log = { print($0) }
        let result: CorpusPreparation.Result
        do {
            result = try preparation.run()
        } catch PreparationError.outputHasOtherContents where overwrite {
            preparation.outputDirectory = RunDirectory.absolutePath(runDirectory + "/.data-replacement")
            preparation.overwrite = true
            result = try preparation.run()
        }
        let what = result.reused ? "reused \(target) (prepared before from the same corpus and options)"
            : result.outputDirectory != target ? "prepared data for \(target) beside the old (it replaces the old once the run has passed its checks)"
            : "prepared \(target)"
        print("\(what): \(result.manifest.trainTokens) training and \(result.manifest.valTokens) validation tokens")
        return PreparedData(path: result.outputDirectory, finalPath: target)
    }

    /// Prepared data at `path`, which becomes `finalPath` on `install()` when the two differ (a replacement of an
    /// older preparation, made beside it); `discardReplacement()` removes a replacement never installed.
    final class PreparedData {
        let path: String
        let finalPath: String
        private var installed = false

        init(path: String, finalPath: String? = nil) {
            self.path = path
            self.finalPath = finalPath ?? path
        }

        func install() throws {
            installed = true
            guard path != finalPath else { return }
            try FileManager.default.removeItem(atPath: finalPath)
            try FileManager.default.moveItem(atPath: path, toPath: finalPath)
        }

        func discardReplacement() {
            if !installed && path != finalPath { try? FileManager.default.removeItem(atPath: path) }
        }
    }

    /// `--data`'s directory for training, absolute: a preparation whose files are still those its manifest.json
    /// records, when it has one (a run on swapped or retokenized files would train a model its tokenizer does
    /// not describe). `pretrain evaluate` makes the same check as it reads a token file (`EvaluationInput`), and a
    /// resumed run checks the files against its own record (`requirePreparedData` for both).
    static func requireTrainingData(_ dir: String) throws -> String {
        let absolute = RunDirectory.absolutePath(dir)
        if Checkpoint.isCheckpoint(absolute)
            && !FileManager.default.fileExists(atPath: absolute + "/train.npy") {
            throw TrainingError.invalidOption(option: "--data", message: "\(dir) is a checkpoint, not prepared data "
                + "(`pretrain prepare` makes that; to start from the checkpoint's weights, give it as --init-from)")
        }
        let path = try requirePreparedData(dir)
        try PreparationManifest.checkOutputs(in: path)
        return path
    }

    /// `--data`'s directory, absolute, once it is known to hold a preparation (else one line saying what it is).
    static func requirePreparedData(_ dir: String) throws -> String {
        let path = RunDirectory.absolutePath(dir)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TrainingError.invalidOption(option: "--data", message: "\(dir) does not exist")
        }
        guard isDirectory.boolValue, FileManager.default.fileExists(atPath: path + "/tokenizer.model")
                || FileManager.default.fileExists(atPath: path + "/train.npy") else {
            throw TrainingError.invalidOption(option: "--data", message: "\(dir) holds no prepared data (tokenizer.model, "
                + "train.npy, val.npy); make it with `pretrain prepare`")
        }
        return path
    }


    /// A model-shape error as the error of the option behind it ("--heads: the number of heads (3) must divide
    /// the width (16)"); a vocabulary or size error stays as it is.
    static func optionError(_ error: GPTConfigError) -> Error {
        let option: String?
        switch error {
        case let .notPositive(name, _):
            option = ["layers": "--layers", "heads": "--heads", "width": "--width", "context": "--context"][name]
        case .headsDoNotDivideWidth: option = "--heads"
        case .invalidDropout: option = "--dropout"
        case .unknownPreset: option = "--preset"
        default: option = nil
        }
        return option.map { TrainingError.invalidOption(option: $0, message: error.description) } ?? error
    }

    // MARK: - Shared

    /// config.json's note naming the checkpoint an --init-from run started from (kept on resume).
    static let initializedFromNote = "initialized_from"

    /// The data's token files (an empty val.npy is none; the `Trainer` checks their ids against the model).
    static func openTokens(_ dataDirectory: String) throws -> (TokenFile, TokenFile?) {
        let train = try TokenFile(path: dataDirectory + "/train.npy")
        let valPath = dataDirectory + "/val.npy"
        var val: TokenFile?
        if FileManager.default.fileExists(atPath: valPath) {
            let file = try TokenFile(path: valPath)
            if file.count > 0 { val = file }
        }
        return (train, val)
    }

    /// `AllocationNotice`'s line on stderr, before the run allocates: what a `loaded` model (--init-from's, a resumed
    /// run's) holds already is not allocated again.
    static func announceAllocation(config: GPTConfig, options: TrainingOptions, loaded: GPT?) {
        let held = loaded.map { Double($0.parameters.bytes + $0.trainingBufferBytes) } ?? 0
        if let notice = AllocationNotice.text(config: config, batch: options.batchSize, time: options.context, held: held) {
            Terminal.writeError(notice + "\n")
        }
    }

    static func makeRun(_ directory: RunDirectory, trainer: Trainer, record: RunRecord, tokenizer: SentencePieceTokenizer,
                        dataDirectory: String, preset: String, notes: [String: String] = [:]) throws -> TrainingRun {
        let details = SwiftletDetails(preset: preset, notes: notes.merging(["data": dataDirectory]) { $1 })
        return try TrainingRun(directory: directory, task: trainer, record: record, details: details,
                               extraFiles: [try CheckpointFile.snapshot(name: Checkpoint.tokenizerFileName,
                                                                          of: dataDirectory + "/" + Checkpoint.tokenizerFileName)],
                               bosTokenId: tokenizer.bosId.map(Int.init), eosTokenId: tokenizer.eosId.map(Int.init),
                               patience: record.patience ?? 0)
    }
}
