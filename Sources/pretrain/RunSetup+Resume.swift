import Foundation
import Generation
import GPT
import Kernels
import TerminalUI
import Tokenizer
import Training

/// `pretrain --resume`: the run in --out, continued from its latest checkpoint (`RunDirectory.resumeCheckpoint`).
extension RunSetup {
    static func resumed(_ command: Train) throws -> RunSetup {
        let directory = RunDirectory(path: command.out)
        guard FileManager.default.fileExists(atPath: command.out) else {
            throw TrainingError.invalidOption(option: "--resume", message: "\(command.out) does not exist: there is no run to resume")
        }
        try directory.requireRunDirectory()   // a file, or a checkpoint, is named as such
        try directory.requireCheckpointPlaces()
        try directory.lock()   // before anything reads the run: a live one is refused
        // latest/, or best/ when a kill came after an improved evaluation and before the next latest/.
        guard let checkpoint = directory.resumeCheckpoint() else {
            throw TrainingError.invalidOption(option: "--resume", message: "\(directory.latest) holds no checkpoint to resume")
        }
        let m = command.model
        let shape = [(m.preset != nil, "--preset"), (m.layers != nil, "--layers"), (m.heads != nil, "--heads"),
                     (m.width != nil, "--width"), (m.context != nil, "--context")].filter(\.0).map(\.1)
        if !shape.isEmpty {
            throw TrainingError.invalidOption(option: "--resume", message: "a resumed run keeps its model's shape; leave out \(shape.joined(separator: ", "))")
        }
        if m.dropout != nil {
            throw TrainingError.invalidOption(option: "--resume", message: "a resumed run keeps its dropout; leave out --dropout")
        }
        let preparation = (command.data.corpora.isEmpty ? [] : ["--corpus"]) + command.data.givenPreparationOptions
        if !preparation.isEmpty {
            throw TrainingError.invalidOption(option: "--resume", message: "a resumed run keeps its data; leave out \(preparation.joined(separator: ", ")) (--data may say where it is now)")
        }
        if try ClassifierCheckpoint.readClassifierConfig(directory: checkpoint) != nil {
            throw TrainingError.invalidOption(option: "--resume", message: "\(command.out) holds a fine-tuned classifier; "
                + "continue it with finetune --resume --out \(command.out)")
        }
        let loaded = try Checkpoint.load(from: checkpoint)
        let statePath = checkpoint + "/" + Checkpoint.trainingStateFileName
        guard let state = loaded.trainingState, let generator = SeededGenerator(state: state.generatorState) else {
            throw CheckpointError.missingFile(path: statePath)
        }
        var record = try RunRecord.decode(state.configuration, path: statePath)
        if record.task != nil {   // a prompt -> completion fine-tune (a classifier was named above)
            throw TrainingError.invalidOption(option: "--resume", message: "\(command.out) holds a fine-tuning run; "
                + "continue it with finetune --resume --out \(command.out)")
        }
        if command.hyper.seed != nil {
            throw TrainingError.invalidOption(option: "--resume", message: "a resumed run keeps its seed (its data order "
                + "and dropout masks come from it); leave out --seed")
        }
        let (options, hyperparameters) = command.hyper.applied(to: record.options)
        var given = hyperparameters   // the options that change a saved value
        if command.hyper.lr != nil && command.hyper.minLr == nil && options.minLearningRate > options.learningRate {
            throw TrainingError.invalidOption(option: "--lr", message: "\(options.learningRate) is below the run's minimum "
                + "learning rate \(options.minLearningRate) (set when it started); give a --min-lr too")
        }
        if options.steps < state.step {
            throw TrainingError.invalidOption(option: "--steps", message: "the run in \(command.out) is at step "
                + "\(state.step); give more steps than that to go on")
        }
        let scheduleNote = options.scheduleChangeNote(saved: record.options, completedSteps: state.step,
                                                     ratesCanChange: true)
        let estimateNote = evaluationChangeNote(now: options, record: record)
        record.options = options
        if let patience = command.patience, patience != record.patience ?? 0 { record.patience = patience; given.append("--patience") }
        let samples = SampleOptions.merging(record.samples, every: command.sampleEvery, tokens: command.sampleTokens,
                                            prompt: command.samplePrompt)
        func off(_ s: SampleOptions?) -> Bool { (s?.every ?? 0) == 0 }
        if off(samples), let option = command.sampleDetailGiven {
            throw TrainingError.invalidOption(option: option, message: "applies with --sample-every N (N > 0), and this "
                + "run samples nothing; give --sample-every too")
        }
        if samples != record.samples && !(off(samples) && off(record.samples)) { given.append("the --sample-every options") }
        record.samples = samples
        // Older runs recorded the data directory as given, relative to where they started.
        let dataDirectory = try command.data.data.map(requirePreparedData)   // (the run checks its own fingerprints below)
            ?? RunDirectory.absolutePath(record.dataDirectory(resumingIn: command.out))
        if command.data.data == nil && !FileManager.default.fileExists(atPath: dataDirectory) {
            throw TrainingError.invalidOption(option: "--resume", message: "the run's data, \(dataDirectory), is gone; "
                + "give its new place with --data")
        }
        record.recordData(dataDirectory, runDirectory: command.out)
        let threadsNote = record.resume(onThreads: ThreadPool.shared.threadCount)
        let tokenizer = try SentencePieceTokenizer(contentsOf: dataDirectory + "/tokenizer.model")
        guard tokenizer.vocabularySize == loaded.model.config.vocabSize else {
            throw TrainingError.invalidOption(option: command.data.data == nil ? "--resume" : "--data",
                message: "\(dataDirectory)/tokenizer.model has \(tokenizer.vocabularySize) pieces, but the run's model has a "
                    + "vocabulary of \(loaded.model.config.vocabSize); a resumed run keeps its data")
        }
        // The run's own tokenizer, the checkpoint's, must be the one it saved there (config.json's fingerprint).
        _ = try CheckpointTokenizer.open(checkpoint: checkpoint, modelVocabularySize: loaded.model.config.vocabSize)
        try checkSameTokenizer(dataDirectory + "/tokenizer.model", as: checkpoint + "/tokenizer.model",
                               option: command.data.data == nil ? "--resume" : "--data")
        let (train, val) = try openTokens(dataDirectory)
        let fingerprints = [train.fingerprint, val?.fingerprint ?? ""]
        if let recorded = record.tokenFingerprints, recorded != fingerprints {
            throw TrainingError.invalidOption(option: command.data.data == nil ? "--resume" : "--data",
                message: "\(dataDirectory) is not the data this run trained on (its token files changed since the run "
                    + "started); a resumed run keeps its data")
        }
        // A run of an older version recorded none: from here on, the data it resumes on is the reference.
        if record.tokenFingerprints == nil { record.tokenFingerprints = fingerprints }
        announceAllocation(config: loaded.model.config, options: options, loaded: loaded.model)
        let trainer = try Trainer(model: loaded.model, train: train, validation: val, options: options,
                                  step: state.step, generator: generator)
        let preset = loaded.hfConfig.swiftlet?.preset ?? "custom"
        let origin = loaded.hfConfig.swiftlet?.notes[initializedFromNote]
        let run = try makeRun(directory, trainer: trainer, record: record, tokenizer: tokenizer,
                              dataDirectory: dataDirectory, preset: preset, notes: origin.map { [initializedFromNote: $0] } ?? [:])
        var summary = "resuming \(command.out) at step \(state.step) of \(options.steps)"
        if checkpoint == directory.best { summary += " (from best/: latest/ was saved at an earlier step, or not at all)" }
        if !given.isEmpty { summary += "; overriding \(given.joined(separator: ", "))" }
        // (A run that stays stopped early trains no step the new schedule would apply to.)
        if let scheduleNote, !run.stoppedEarly { summary += "\n" + scheduleNote }
        if let threadsNote { summary += "\n" + threadsNote }
        if let note = ThreadPool.oversubscriptionNote(threads: ThreadPool.shared.threadCount) { summary += "\n" + note }
        if let estimateNote, !run.stoppedEarly { summary += "\n" + estimateNote }
        // An --init-from run stopped before its start was evaluated evaluates it now, as the run would have.
        return RunSetup(run: run, summary: summary, model: loaded.model, tokenizer: tokenizer,
                        startsFromCheckpoint: origin != nil && state.step == 0 && record.bestStep == nil)
    }

    /// A resumed run's data must be encoded with the tokenizer the run was trained with (a moved copy of its
    /// data, say): the same token ids would otherwise mean other text, whatever the vocabulary size.
    private static func checkSameTokenizer(_ path: String, as runTokenizer: String, option: String) throws {
        guard FileManager.default.fileExists(atPath: runTokenizer) else { throw CheckpointError.missingFile(path: runTokenizer) }
        guard try SentencePieceTokenizer(contentsOf: path).hasSameVocabulary(as: SentencePieceTokenizer(contentsOf: runTokenizer)) else {
            throw TrainingError.invalidOption(option: option, message: "\(path) is not the tokenizer this run was trained "
                + "with (\(runTokenizer)); a resumed run keeps its data")
        }
    }

    /// A note when a resumed run's validation windows (--eval-batches x --batch-size x --grad-accum) differ from
    /// those its best validation loss was measured on: later losses estimate the loss on other windows, so beating
    /// that best says less. The windows are the first `evaluationWindows` of the run's fixed draw: another count is
    /// another set.
    static func evaluationChangeNote(now options: TrainingOptions, record: RunRecord) -> String? {
        // Older runs: the best's batches (or the count saved last) of the saved batch size, without --grad-accum.
        let saved = record.bestEvalWindows
            ?? (record.bestEvalBatches ?? record.options.evalBatches) * record.options.batchSize
        let now = options.evaluationWindows
        guard now != saved, let best = record.bestValLoss, let step = record.bestStep else { return nil }
        return "note: validation losses from now on are means over \(counted(now, "window")) (--eval-batches x "
            + "--batch-size x --grad-accum), the best so far (\(String(format: "%.4f", best)) at step \(step)) over "
            + "\(saved): a new best may then come from the estimate rather than the model"
    }
}
