import TerminalUI
import ArgumentParser
import FineTuneData
import FineTuning
import Foundation
import Generation
import GPT
import Kernels
import Training

/// `finetune evaluate`: score a fine-tuned checkpoint on labelled data.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a fine-tuned checkpoint on labelled data.",
        discussion: """
        A classifier: accuracy, macro F1, precision/recall/F1 per label, the confusion matrix, the mean loss and \
        the majority-class baseline (always predicting the training data's most common label, as the checkpoint \
        records it, else the data's own); rows whose label the model does not know are reported and counted, \
        not scored. A completion model: the mean \
        loss per completion token and its perplexity, and with --generate the share of prompts whose greedy \
        completion is the reference exactly (white space at the ends aside). --json prints one JSON object instead.
        """)

    @Option(help: "A checkpoint directory or a run directory (its best/, else latest/).") var checkpoint: String
    @Option(help: "Labelled data (.jsonl, .csv or .tsv).") var data: String
    @OptionGroup var fields: CheckpointFieldOptions
    @Option(help: "Completion models: the template, with \\n, \\t and \\\\ as in train's (default: the one stored in the checkpoint).")
    var template: String?
    @Flag(help: "Completion models: also complete every prompt greedily and count the completions that equal their reference (white space at the ends aside).")
    var generate = false
    @Option(help: "With --generate: tokens generated for a prompt at most (default: the longest reference's, plus one for its end).")
    var maxTokens: Int?
    @OptionGroup var inference: InferenceOptions
    @Flag(help: "Print the results as one JSON object.") var json = false

    func validate() throws {
        // A template that does not parse is a usage error, as in `finetune train` (it was refused with status 1).
        if let template, let problem = templateProblem(template) { throw ValidationError(problem) }
        if let maxTokens {
            if !generate { throw ValidationError("--max-tokens applies with --generate") }
            if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1 (got \(maxTokens))") }
        }
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        try reportingErrors {
            inference.startThreadPool()
            let directory = try RunDirectory.resolveCheckpoint(checkpoint, prefer: .best)
            if try ClassifierCheckpoint.readClassifierConfig(directory: directory) != nil {
                try refuse([("--template", template != nil), ("--prompt-field", fields.promptField != nil),
                            ("--completion-field", fields.completionField != nil), ("--generate", generate)],
                           because: "applies to completion models; \(directory) is a classifier")
                try evaluateClassifier(directory)
            } else {
                try refuse([("--text-field", fields.textField != nil), ("--label-field", fields.labelField != nil)],
                           because: "applies to classifiers; \(directory) is not one (a completion model)")
                try evaluateCompletion(directory)
            }
        }
    }

    /// The first option given of `options` (it would be ignored), refused by name.
    private func refuse(_ options: [(String, Bool)], because message: String) throws {
        if let (option, _) = options.first(where: \.1) {
            throw FineTuneError.invalidOption(option: option, message: message)
        }
    }

    private func evaluateClassifier(_ directory: String) throws {
        let loaded = try ClassifierCheckpoint.load(from: directory, includeTrainingState: false)
        let classifier = loaded.classifier
        let tokenizer = try CheckpointTokenizer.open(checkpoint: directory, modelVocabularySize: classifier.model.config.vocabSize)
        let stored = DataFields(notes: loaded.hfConfig.swiftlet?.notes)
        let read = try fields.reader(notes: loaded.hfConfig.swiftlet?.notes, checkpoint: directory)
            .readClassification(path: data, textField: fields.textField ?? stored.text,
                                                        labelField: fields.labelField ?? stored.label)
        if let s = read.skipSummary { printError(s) }
        guard let labelSet = LabelSet(id2label: classifier.labels) else {
            throw CheckpointError.invalidConfig(path: directory, detail: "id2label names are not distinct")
        }
        let encoded = labelSet.encode(read.examples, file: data)
        if encoded.unknownCount > 0 {
            let counts = encoded.unknownCounts.sorted { $0.key < $1.key }.map { "'\($0.key)' x\($0.value)" }
            let (verb, pronoun) = encoded.unknownCount == 1 ? ("has a label", "it is") : ("have labels", "they are")
            printError("\(data): \(encoded.unknownCount) of \(read.examples.count) examples \(verb) the model does not know (\(counts.joined(separator: ", "))); \(pronoun) counted, not scored")
            for problem in encoded.unknownProblems { printError("  \(problem)") }
        }
        guard !encoded.ids.isEmpty else {
            throw FineTuneError.invalidOption(option: "--data", message: "\(data) has no example with a label the model knows (\(classifier.labels.joined(separator: ", ")))")
        }
        let texts = try TaskEncoding.texts(zip(encoded.examples, encoded.ids).map { ($0.text, $1, $0.line) }, file: data,
                                           tokenizer: tokenizer, context: classifier.model.config.context)
        if let note = ContextCutNotes.texts(TextCuts(texts), file: data, noun: "text",
                                            context: classifier.model.config.context) {
            printError(note)
        }
        let result = try inference.namingBatchSize {
            try ClassifierInference.evaluate(classifier, texts: texts, batchSize: inference.batchSize)
        }
        var report = result.metrics.report
        report.unknownLabels = encoded.unknownCount
        report.meanLoss = result.meanLoss
        let baseline = try majorityBaseline(note: loaded.hfConfig.swiftlet?.notes[MajorityBaseline.noteKey],
                                            labels: labelSet, gold: encoded.ids)
        report.majorityBaseline = baseline
        if json {
            print(try report.jsonString())
        } else {
            print(MetricsTable.render(result.metrics))
            print(String(format: "examples %d, unknown labels %d, mean loss %.4f", result.metrics.exampleCount,
                         encoded.unknownCount, result.meanLoss))
            let whose = baseline.source == .training ? "the most common training label"
                : "the most common label in \(data); the checkpoint records none of its training data"
            print("majority class '\(baseline.label)' (\(whose)), always predicted: "
                  + String(format: "accuracy %.4f, macro F1 %.4f", baseline.accuracy, baseline.macroF1))
        }
    }

    /// The majority-class baseline on the evaluated ids: the training data's majority label as the checkpoint
    /// records it (`finetune` does), else, for a checkpoint without that note (or naming a label it lacks), the most
    /// common label of the evaluated data itself.
    private func majorityBaseline(note: String?, labels: LabelSet, gold: [Int]) throws -> BaselineScores {
        let recorded = note.flatMap(labels.id(of:))
        let baseline = recorded.map(MajorityBaseline.init(labelID:))
            ?? MajorityBaseline(trainingLabelIDs: gold, labelCount: labels.count) ?? MajorityBaseline(labelID: 0)
        let metrics = try baseline.metrics(gold: gold, labelCount: labels.count, labelNames: labels.labels)
        return BaselineScores(label: labels.labels[baseline.labelID], source: recorded == nil ? .evaluated : .training,
                              metrics: metrics)
    }

    private func evaluateCompletion(_ directory: String) throws {
        let loaded = try Checkpoint.load(from: directory, includeTrainingState: false)
        let tokenizer = try CheckpointTokenizer.open(checkpoint: directory, modelVocabularySize: loaded.model.config.vocabSize)
        guard let eos = tokenizer.eosId else { throw FineTuneError.noEndOfSequence(tokenizer: tokenizer.path) }
        let stored = loaded.hfConfig.swiftlet?.notes[TaskSettings.templateNoteKey]
        let template = try self.template.map(TaskSettings.template(fromOption:)) ?? stored ?? TaskSettings.defaultTemplate
        if stored == nil && self.template == nil {
            printError("note: \(directory) stores no prompt template (not a completion fine-tune?); using \(String(reflecting: template))")
        }
        var settings = TaskSettings(task: .complete)
        settings.template = template
        do {
            try settings.validate(layers: loaded.model.config.layers)
        } catch FineTuneError.invalidOption(option: "--template", message: _) where self.template == nil {
            // The checkpoint's own template, not an option's: name the file it came from.
            throw CheckpointError.invalidConfig(path: directory + "/" + Checkpoint.configFileName,
                detail: "the stored prompt template (swiftlet.notes.\(TaskSettings.templateNoteKey)) must contain "
                    + "\(TaskSettings.placeholder) exactly once (got \(String(reflecting: template)))")
        }
        let storedFields = DataFields(notes: loaded.hfConfig.swiftlet?.notes)
        let read = try fields.reader(notes: loaded.hfConfig.swiftlet?.notes, checkpoint: directory)
            .readCompletion(path: data, promptField: fields.promptField ?? storedFields.prompt,
                                                    completionField: fields.completionField ?? storedFields.completion)
        if let s = read.skipSummary { printError(s) }
        let examples = try TaskEncoding.completions(read.examples, file: data, template: template, tokenizer: tokenizer,
                                                    eos: eos, context: loaded.model.config.context)
        if let note = ContextCutNotes.pairs(CompletionCuts(examples), file: data, noun: "pair",
                                            context: loaded.model.config.context) {
            printError(note)
        }
        let (sum, tokens) = try inference.namingBatchSize {
            try CompletionTask.lossSum(loaded.model, examples: examples, batchSize: inference.batchSize,
                                       pad: TaskData.padId(tokenizer))
        }
        var report = CompletionReport(lossSum: sum, tokens: tokens, examples: examples.count)
        if generate {
            // No more decoding slots than prompts: each slot's key-value cache is allocated up front.
            let generator = try inference.namingBatchSize {
                try TextGenerator(model: loaded.model, tokenizer: tokenizer,
                                  maxBatch: min(inference.batchSize, max(1, read.examples.count)))
            }
            let result = try ExactMatch.evaluate(generator, template: template,
                                                 pairs: read.examples.map { ($0.prompt, $0.completion) }, maxTokens: maxTokens)
            report.exactMatches = result.matches
        }
        print(json ? try report.jsonString() : report.text)
    }
}
