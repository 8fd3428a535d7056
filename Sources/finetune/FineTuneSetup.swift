import FineTuneData
import FineTuning
import Foundation
import Generation
import GPT
import Kernels
import TerminalUI
import Tokenizer
import Training

/// Builds the run that `finetune` drives: a new one from a starting checkpoint, or a resumed one.
struct FineTuneSetup {
    let run: TrainingRun
    let settings: TaskSettings
    let summary: String

    /// What a batch beyond memory advises (finetune has no --context: the checkpoint sets it).
    static let batchAdvice = "use a smaller --batch-size (--grad-accum keeps the effective batch)"

    /// Defaults of a new fine-tuning run (the steps come from --epochs when --steps is not given).
    static var defaults: TrainingOptions {
        var o = TrainingOptions()
        o.batchSize = 16
        o.learningRate = 3e-4
        o.minLearningRate = 3e-5
        o.weightDecay = 0.01
        o.beta1 = 0.9
        o.beta2 = 0.99
        o.gradClip = 1
        o.checkpointEvery = 0
        o.seed = 0
        return o
    }

    static func make(_ command: TrainCommand) throws -> FineTuneSetup {
        command.resume ? try resumed(command) : try fresh(command)
    }

    // MARK: - A new run

    private static func fresh(_ c: TrainCommand) throws -> FineTuneSetup {
        // The hyperparameters given are checked before the run directory or any file, so a wrong one is named
        // first (as `pretrain` does). Only the defaults of --steps and --eval-every depend on the data read
        // below, and those are valid for any number of examples.
        var given = try apply(c, to: defaults, trainCount: 1)
        given.context = 1
        try given.validate(modelContext: 1)
        let directory = RunDirectory(path: c.out ?? "")
        if c.checkpoint == nil && !FileManager.default.fileExists(atPath: TrainCommand.defaultCheckpoint) {
            throw FineTuneError.invalidOption(option: "--checkpoint", message: "\(TrainCommand.defaultCheckpoint): no "
                + "checkpoint there; the default is looked up in the working directory "
                + "(\(FileManager.default.currentDirectoryPath)): run `pretrain` there first, or give --checkpoint")
        }
        let start = try RunDirectory.resolveCheckpoint(c.checkpoint ?? TrainCommand.defaultCheckpoint, prefer: .best)
        try RunDirectory.refuseOverlap(out: directory.path, start: start)   // before: it names the overlap
        try directory.checkPreviousRun(overwrite: c.overwrite)
        // Made and locked before anything in it changes (another setup or a live run is refused); removed again
        // when this setup made it and then fails.
        let newRunDirectory = !FileManager.default.fileExists(atPath: directory.path)
        try directory.createAndLock()
        var started = false
        defer { if newRunDirectory && !started { try? FileManager.default.removeItem(atPath: directory.path) } }
        let (model, hf) = try ClassifierCheckpoint.loadBody(from: start)
        let tokenizer = try CheckpointTokenizer.open(checkpoint: start, modelVocabularySize: model.config.vocabSize)
        if let dropout = c.dropout {
            do { try model.setDropout(dropout) } catch {
                throw FineTuneError.invalidOption(option: "--dropout", message: "\(error)")
            }
        } else if let message = hf.dropoutChoiceNeeded(path: start + "/" + Checkpoint.configFileName) {
            throw FineTuneError.invalidOption(option: "--dropout", message: message)
        }

        var settings = TaskSettings(task: FineTuneTask(rawValue: c.task ?? "") ?? .classify)
        settings.dataFile = c.data ?? ""
        settings.valFile = c.valFile
        settings.valFraction = c.valFile == nil ? (c.valFraction ?? 0.1) : nil
        settings.textField = c.fields.textField ?? settings.textField
        settings.labelField = c.fields.labelField ?? settings.labelField
        settings.promptField = c.fields.promptField ?? settings.promptField
        settings.completionField = c.fields.completionField ?? settings.completionField
        settings.skipBadRows = c.fields.skipBadRows
        settings.lmLossWeight = c.lmLossWeight ?? 0
        settings.classWeights = c.classWeights ?? "none"
        settings.template = try c.template.map(TaskSettings.template(fromOption:)) ?? TaskSettings.defaultTemplate
        settings.freezeLayers = c.freezeLayers ?? 0
        settings.patience = c.patience ?? 0
        // Recorded as an absolute path: the record must mean the same checkpoint from any working directory.
        settings.startCheckpoint = RunDirectory.absolutePath(start)
        settings.fromScratch = c.fromScratch
        try settings.validate(layers: model.config.layers)

        var options = defaults
        options.context = model.config.context
        options.seed = c.seed ?? 0
        if c.fromScratch {
            var generator = SeededGenerator(seed: options.seed ^ 0x5C2A_7C4E)
            model.initializeParameters(using: &generator)
        }
        // A run reads its data files again to resume (and hashes them now): a pipe could not be read twice.
        for file in [settings.dataFile] + (settings.valFile.map { [$0] } ?? []) {
            if InputFile.isPipeOrDevice(file) {
                throw FineTuneError.invalidOption(option: file == settings.dataFile ? "--data" : "--val-file",
                    message: "\(file) is a pipe or a device, not a regular file; a run reads its data again when it "
                        + "resumes (save it to a file first)")
            }
        }
        let data = try TaskData.read(settings: &settings, tokenizer: tokenizer, context: model.config.context, labels: nil)
        options = try apply(c, to: options, trainCount: data.trainCount)
        try options.validate(modelContext: model.config.context)

        // The record keeps the data files as absolute paths, so the run resumes from any working directory (the
        // messages of this run name them as given).
        var recorded = settings
        recorded.dataFile = RunDirectory.absolutePath(settings.dataFile)
        recorded.valFile = settings.valFile.map(RunDirectory.absolutePath)
        var details = noting(recorded, in: hf.swiftlet ?? SwiftletDetails())
        details.notes["finetune_task"] = settings.task.rawValue
        let origin = c.fromScratch ? "random initialisation (shape of \(settings.startCheckpoint))" : settings.startCheckpoint
        details.notes["finetuned_from"] = origin
        recorded.dataHash = try InputFile.contentHash(of: settings.dataFile)
        recorded.valHash = try settings.valFile.map(InputFile.contentHash(of:))
        var record = RunRecord(options: options, dataDirectory: recorded.dataFile)
        record.threads = ThreadPool.shared.threadCount
        record.task = try recorded.json()
        let task = try Trainer.namingBatchSize(advice: Self.batchAdvice) {
            try data.makeTask(model: model, classifier: nil, options: options, settings: settings, step: 0, position: 0,
                              seed: options.seed)
        }
        try directory.removePreviousRun()
        let run = try makeRun(directory, task: task, record: record, details: details, tokenizer: tokenizer,
                              settings: settings, hf: hf)
        started = true
        var summary = summary(settings, data, options, origin: origin, dropout: model.config.dropout)
        if let note = ThreadPool.oversubscriptionNote(threads: ThreadPool.shared.threadCount) { summary += "\n" + note }
        if let valFile = settings.valFile, recorded.valHash == recorded.dataHash {
            summary += "\nnote: --val-file \(valFile) holds the same text as --data \(settings.dataFile): the validation "
                + "figures measure what the model has learnt by heart, not how it does on text it has not seen"
        }
        return FineTuneSetup(run: run, settings: settings, summary: summary)
    }

    /// Command-line hyperparameters over `base`; steps from --epochs (default 3) unless --steps is given.
    /// Refuses a step of more examples, or an --epochs of more steps, than `RunSizeLimits` allows (validate()
    /// has bounded each option alone, so the products here do not overflow).
    static func apply(_ c: TrainCommand, to base: TrainingOptions, trainCount: Int) throws -> TrainingOptions {
        var o = base
        if let v = c.batchSize { o.batchSize = v }
        if let v = c.gradAccum { o.gradAccum = v }
        let perStep = max(1, o.batchSize * o.gradAccum)
        if perStep > RunSizeLimits.maximumExamplesPerStep {
            throw FineTuneError.invalidOption(option: "--grad-accum", message: "--batch-size \(o.batchSize) x "
                + "--grad-accum \(o.gradAccum) is \(perStep) examples a step, more than the \(RunSizeLimits.maximumExamplesPerStep) "
                + "a run may take")
        }
        let stepsPerEpoch = max(1, Int((Double(trainCount) / Double(perStep)).rounded(.up)))
        if let v = c.steps { o.steps = v } else {
            let epochs = c.epochs ?? 3
            // Compared as a Double first: converting one past Int's range is undefined in an -Ounchecked build.
            let steps = (Double(stepsPerEpoch) * epochs).rounded(.up)
            guard steps <= Double(RunSizeLimits.maximumSteps) else {
                throw FineTuneError.invalidOption(option: "--epochs", message: "\(epochs) passes over the training data "
                    + "take more than the \(RunSizeLimits.maximumSteps) steps a run may take; give fewer")
            }
            o.steps = max(1, Int(steps))
        }
        if let v = c.lr { o.learningRate = v; o.minLearningRate = v / 10 }
        if let v = c.minLr { o.minLearningRate = v }
        o.warmupSteps = c.warmupSteps ?? o.steps / 20
        if let v = c.weightDecay { o.weightDecay = v }
        if let v = c.gradClip { o.gradClip = v }
        o.evalEvery = c.evalEvery ?? max(1, stepsPerEpoch / 2)
        if let v = c.checkpointEvery { o.checkpointEvery = v }
        return o
    }

    // MARK: - A resumed run

    private static func resumed(_ c: TrainCommand) throws -> FineTuneSetup {
        // A resumed run keeps its data, task and hyperparameters; say so rather than ignore what was given.
        let given = c.settingsAResumeKeeps
        if !given.isEmpty {
            throw FineTuneError.invalidOption(option: "--resume", message: "a resumed run keeps the settings it "
                + "started with; leave out \(given.joined(separator: ", ")) (with --resume, only --steps, --eval-every, "
                + "--checkpoint-every, --patience and --threads may be given, and --data and --val-file saying where the "
                + "run's files are now)")
        }
        let directory = RunDirectory(path: c.out ?? "")
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw FineTuneError.invalidOption(option: "--resume", message: "\(directory.path) does not exist: there is no run to resume")
        }
        try directory.requireRunDirectory()
        try directory.requireCheckpointPlaces()
        try directory.lock()   // before anything reads the run: a live one is refused
        // latest/, or best/ when a kill came after an improved evaluation and before the next latest/ (by default a
        // fine-tuning run saves latest/ only when it stops).
        guard let checkpoint = directory.resumeCheckpoint() else {
            throw FineTuneError.invalidOption(option: "--resume", message: "\(directory.path) holds no run to resume (no latest/config.json)")
        }
        var classifier: SequenceClassifier?
        let model: GPT
        let hf: HFConfig
        let state: TrainingState?
        if try ClassifierCheckpoint.readClassifierConfig(directory: checkpoint) != nil {
            let loaded = try ClassifierCheckpoint.load(from: checkpoint)
            classifier = loaded.classifier
            model = loaded.classifier.model
            hf = loaded.hfConfig
            state = loaded.trainingState
        } else {
            let loaded = try Checkpoint.load(from: checkpoint)
            model = loaded.model
            hf = loaded.hfConfig
            state = loaded.trainingState
        }
        let tokenizer = try CheckpointTokenizer.open(checkpoint: checkpoint, modelVocabularySize: model.config.vocabSize)
        guard let state else {
            throw FineTuneError.invalidOption(option: "--resume", message: "\(checkpoint) has no training state to resume from")
        }
        let statePath = checkpoint + "/" + Checkpoint.trainingStateFileName
        var record = try RunRecord.decode(state.configuration, path: statePath)
        guard let json = record.task else {
            throw FineTuneError.invalidOption(option: "--resume", message: "\(directory.path) holds a pretraining run, not "
                + "a fine-tuning one; continue it with pretrain --resume --out \(shellQuoted(directory.path))")
        }
        guard var settings = TaskSettings.decode(json) else {
            throw CheckpointError.invalidHeader(path: statePath, detail: "its fine-tuning task settings cannot be read")
        }
        // Saved values no run can use are the file's error, not options the user did not type.
        do { try settings.validate(layers: model.config.layers) } catch let FineTuneError.invalidOption(option, message) {
            throw RunRecord.damaged(path: statePath, "\(option) \(message)")
        }
        // The record must describe the checkpoint beside it: a classifier resumed as a completion run (or the
        // other way) would replace latest/ with the other kind of model, its head lost or made up.
        let checkpointTask: FineTuneTask = classifier == nil ? .complete : .classify
        if settings.task != checkpointTask {
            throw RunRecord.damaged(path: statePath, "its task '\(settings.task.rawValue)' is not that of the "
                + "\(checkpointTask == .classify ? "classifier" : "language model") checkpoint in \(checkpoint)")
        }
        if let classifier, settings.labels != classifier.labels {
            throw RunRecord.damaged(path: statePath, "its labels are not those of \(checkpoint)/config.json")
        }
        if settings.dataFile.isEmpty { throw RunRecord.damaged(path: statePath, "it names no data file") }
        if settings.valFile?.isEmpty == true { throw RunRecord.damaged(path: statePath, "its validation file has no name") }
        if let task = c.task, task != settings.task.rawValue {
            throw FineTuneError.invalidOption(option: "--task", message: "the run in \(directory.path) is a '\(settings.task.rawValue)' run")
        }
        if let v = c.patience { settings.patience = v }
        var options = record.options
        if let v = c.steps { options.steps = v }
        if options.steps < state.step {
            throw FineTuneError.invalidOption(option: "--steps", message: "the run in \(directory.path) is at step "
                + "\(state.step); give more steps than that to go on")
        }
        if let v = c.evalEvery { options.evalEvery = v }
        if let v = c.checkpointEvery { options.checkpointEvery = v }
        try options.validate(modelContext: model.config.context)
        let scheduleNote = options.scheduleChangeNote(saved: record.options, completedSteps: state.step,
                                                     ratesCanChange: false)
        record.options = options
        let threadsNote = record.resume(onThreads: ThreadPool.shared.threadCount)

        settings.dataFile = try resumedFile(settings.dataFile, given: c.data, hash: settings.dataHash, option: "--data",
                                            run: directory.path)
        if let valFile = settings.valFile {
            settings.valFile = try resumedFile(valFile, given: c.valFile, hash: settings.valHash, option: "--val-file",
                                               run: directory.path)
        } else if c.valFile != nil {
            throw FineTuneError.invalidOption(option: "--val-file", message: "the run in \(directory.path) splits its "
                + "validation examples off --data; a resumed run keeps its split")
        }
        record.task = try settings.json()
        let data = try TaskData.read(settings: &settings, tokenizer: tokenizer, context: model.config.context,
                                     labels: classifier?.labels)
        let task = try Trainer.namingBatchSize(advice: Self.batchAdvice) {
            try data.makeTask(model: model, classifier: classifier, options: options, settings: settings,
                              step: state.step, position: state.dataPosition, seed: options.seed)
        }
        let run = try makeRun(directory, task: task, record: record,
                              details: noting(settings, in: hf.swiftlet ?? SwiftletDetails()),
                              tokenizer: tokenizer, settings: settings, hf: hf)
        let resuming = "resuming \(directory.path) at step \(state.step) of \(options.steps)"
            + (checkpoint == directory.best ? " (from best/: latest/ was saved at an earlier step, or not at all)" : "")
        return FineTuneSetup(run: run, settings: settings,
                             summary: ([resuming, scheduleNote, threadsNote,
                                        ThreadPool.oversubscriptionNote(threads: ThreadPool.shared.threadCount)].compactMap { $0 }
                                       + data.notes).joined(separator: "\n"))
    }

    /// The data file a resumed run reads: the recorded one, or `given` (where it is now). Either must hold what
    /// the run started with (runs of older versions recorded no hash: then a given file is taken as it is).
    private static func resumedFile(_ recorded: String, given: String?, hash: String?, option: String,
                                    run: String) throws -> String {
        guard let given else {
            guard FileManager.default.fileExists(atPath: recorded) else {
                throw FineTuneError.invalidOption(option: "--resume", message: "the run's data file \(recorded) is gone; "
                    + "give its new place with \(option)")
            }
            if let hash, try InputFile.contentHash(of: recorded) != hash {
                throw FineTuneError.dataChanged(file: recorded, run: run)
            }
            return recorded
        }
        if let hash, FileManager.default.fileExists(atPath: given), try InputFile.contentHash(of: given) != hash {
            throw FineTuneError.invalidOption(option: option, message: "\(given) is not the data the run in \(run) "
                + "started with (its contents differ); a resumed run keeps its data")
        }
        return RunDirectory.absolutePath(given)
    }

    // MARK: - Pieces

    /// `details` with the run's data files noted (config.json `swiftlet.notes`): `data`, the --data file, and
    /// `val_data`, the --val-file (none when validation is split off --data), as absolute paths. They replace the
    /// notes of the starting checkpoint, whose `data` names the data it was pretrained on.
    private static func noting(_ settings: TaskSettings, in details: SwiftletDetails) -> SwiftletDetails {
        var details = details
        details.notes[dataNoteKey] = RunDirectory.absolutePath(settings.dataFile)
        details.notes[validationDataNoteKey] = settings.valFile.map(RunDirectory.absolutePath)
        return details
    }

    static let dataNoteKey = "data", validationDataNoteKey = "val_data"

    private static func makeRun(_ directory: RunDirectory, task: TrainingTask, record: RunRecord,
                                details: SwiftletDetails, tokenizer: SentencePieceTokenizer, settings: TaskSettings,
                                hf: HFConfig) throws -> TrainingRun {
        try TrainingRun(directory: directory, task: task, record: record, details: details,
                        extraFiles: [try CheckpointFile.snapshot(name: Checkpoint.tokenizerFileName, of: tokenizer.path)],
                        bosTokenId: tokenizer.bosId.map(Int.init), eosTokenId: tokenizer.eosId.map(Int.init),
                        patience: settings.patience)
    }

    private static func summary(_ s: TaskSettings, _ data: TaskData, _ o: TrainingOptions, origin: String,
                                dropout: Float) -> String {
        let what = s.task == .classify ? "classifier (\(s.labels.count) labels: \(s.labels.joined(separator: ", ")))"
            : "prompt -> completion (template \(String(reflecting: s.template)))"
        var line = "fine-tuning a \(what) from \(origin): \(counted(data.trainCount, "training example")) / \(counted(data.validationCount, "validation example")); "
            + "\(counted(o.steps, "step")) of \(counted(o.batchSize * o.gradAccum, "example")) (\(String(format: "%.2f", Double(o.steps * o.batchSize * o.gradAccum) / Double(max(1, data.trainCount)))) epochs), lr \(String(format: "%.2e", o.learningRate)), seed \(o.seed)"
        if s.freezeLayers > 0 { line += ", embeddings and \(counted(s.freezeLayers, "block")) frozen" }
        if dropout > 0 { line += ", dropout \(dropout)" }
        if let baseline = data.majorityBaselineLine(labels: s.labels) { line += "\n" + baseline }
        for note in data.notes { line += "\n" + note }
        if let note = o.warmupNote { line += "\n" + note }
        if let note = o.patienceNote(patience: s.patience, hasValidation: data.validationCount > 0) { line += "\n" + note }
        let perStep = o.batchSize * o.gradAccum
        if perStep > data.trainCount {
            line += "\nnote: a step of \(counted(perStep, "example")) (--batch-size x --grad-accum) is more than the "
                + "\(counted(data.trainCount, "training example")): each step passes over them "
                + String(format: "%.1f", Double(perStep) / Double(max(1, data.trainCount))) + " times"
        }
        return line
    }
}
