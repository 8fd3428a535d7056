import FineTuneData
import FineTuning
import Foundation
import GPT
import TerminalUI
import Tokenizer
import Training

/// A fine-tuning run's data, read, split and encoded for its task.
struct TaskData {
    enum Payload {
        case classify(train: [EncodedText], validation: [EncodedText])
        case complete(train: [EncodedCompletion], validation: [EncodedCompletion])
    }
    var payload: Payload
    var padTokenId: Int32
    /// Lines for the run's summary (skipped rows, unknown validation labels, examples cut to fit the context).
    var notes: [String] = []

    var trainCount: Int {
        switch payload { case let .classify(t, _): return t.count; case let .complete(t, _): return t.count }
    }
    var validationCount: Int {
        switch payload { case let .classify(_, v): return v.count; case let .complete(_, v): return v.count }
    }

    /// Classification: the training data's majority class, and what always predicting it scores on the validation
    /// examples (the baseline a fine-tuned classifier must beat), as a line of the run's summary.
    func majorityBaselineLine(labels: [String]) -> String? {
        guard case let .classify(train, validation) = payload,
              let baseline = MajorityBaseline(trainingLabelIDs: train.map(\.label), labelCount: labels.count) else {
            return nil
        }
        let share = Double(train.filter { $0.label == baseline.labelID }.count) / Double(train.count)
        var line = "majority class '\(labels[baseline.labelID])' ("
            + String(format: "%.1f%% of the training examples)", 100 * share)
        let gold = validation.map(\.label).filter { $0 >= 0 }
        if !gold.isEmpty, let scores = try? baseline.metrics(gold: gold, labelCount: labels.count) {
            line += String(format: ": always predicting it scores accuracy %.4f, macro F1 %.4f on validation",
                           scores.accuracy, scores.macroF1)
        }
        return line
    }

    /// The id that fills the end of shorter texts in a batch: the tokenizer's pad id, else its EOS
    /// (GPT-2's usual choice; texts are encoded without one, so it never occurs inside a text), else 0.
    static func padId(_ tokenizer: SentencePieceTokenizer) -> Int32 {
        tokenizer.padId ?? tokenizer.eosId ?? 0
    }

    /// Reads `settings.dataFile` (and the validation file or split). Classification: the label set comes from
    /// the training data (stored into `settings.labels`) unless `labels` (a resumed classifier's) is given.
    static func read(settings: inout TaskSettings, tokenizer: SentencePieceTokenizer, context: Int,
                     labels: [String]?) throws -> TaskData {
        let reader = LabelledDataReader(skipBadRows: settings.skipBadRows)
        var notes: [String] = []
        switch settings.task {
        case .classify:
            let trainData = try reader.readClassification(path: settings.dataFile, textField: settings.textField,
                                                          labelField: settings.labelField)
            if let s = trainData.skipSummary { notes.append(s) }
            var train = trainData.examples, validation: [ClassificationExample] = []
            let valName = settings.valFile ?? settings.dataFile
            if let valFile = settings.valFile {
                let valData = try reader.readClassification(path: valFile, textField: settings.textField,
                                                            labelField: settings.labelField)
                if let s = valData.skipSummary { notes.append(s) }
                validation = valData.examples
            } else if let fraction = settings.valFraction {
                (train, validation) = try naming(settings.dataFile) {
                    try ValidationSplit.stratified(train, valFraction: fraction, seed: 0x5917)
                }
            }
            let labelSet: LabelSet
            if let labels {
                guard let set = LabelSet(id2label: labels) else {
                    throw FineTuneError.invalidOption(option: "--resume", message: "the checkpoint's labels are not distinct")
                }
                labelSet = set
            } else {
                labelSet = try LabelSet(training: train, file: settings.dataFile)
            }
            settings.labels = labelSet.labels
            let encodedTrain = labelSet.encode(train, file: settings.dataFile)
            if let first = encodedTrain.unknownProblems.first {
                throw LabelledDataError.badRow(RowProblem(file: first.file, line: first.line,
                                                          message: "label not in the run's label set (\(labelSet.labels.joined(separator: ", ")))"))
            }
            let encodedValidation = labelSet.encode(validation, file: valName)
            if encodedValidation.unknownCount > 0 {
                let count = encodedValidation.unknownCount
                notes.append("\(valName): \(counted(count, "validation example")) \(count == 1 ? "has a label" : "have labels") the training data lacks (\(encodedValidation.unknownCounts.keys.sorted().joined(separator: ", "))); left out of validation")
            }
            func encode(_ e: EncodedLabels, _ file: String) throws -> [EncodedText] {
                try TaskEncoding.texts(zip(e.examples, e.ids).map { ($0.text, $1, $0.line) }, file: file,
                                       tokenizer: tokenizer, context: context)
            }
            let trainTexts = try encode(encodedTrain, settings.dataFile)
            let validationTexts = try encode(encodedValidation, valName)
            notes += [ContextCutNotes.texts(TextCuts(trainTexts), file: settings.dataFile, noun: "training text",
                                            context: context),
                      ContextCutNotes.texts(TextCuts(validationTexts), file: valName, noun: "validation text",
                                            context: context)]
                .compactMap { $0 }
            return TaskData(payload: .classify(train: trainTexts, validation: validationTexts),
                            padTokenId: padId(tokenizer), notes: notes)
        case .complete:
            guard let eos = tokenizer.eosId else { throw FineTuneError.noEndOfSequence(tokenizer: tokenizer.path) }
            let trainData = try reader.readCompletion(path: settings.dataFile, promptField: settings.promptField,
                                                      completionField: settings.completionField)
            if let s = trainData.skipSummary { notes.append(s) }
            var train = trainData.examples, validation: [CompletionExample] = []
            let valName = settings.valFile ?? settings.dataFile
            if let valFile = settings.valFile {
                let valData = try reader.readCompletion(path: valFile, promptField: settings.promptField,
                                                        completionField: settings.completionField)
                if let s = valData.skipSummary { notes.append(s) }
                validation = valData.examples
            } else if let fraction = settings.valFraction {
                (train, validation) = try naming(settings.dataFile) {
                    try ValidationSplit.shuffled(train, valFraction: fraction, seed: 0x5917)
                }
            }
            func encode(_ examples: [CompletionExample], _ file: String) throws -> [EncodedCompletion] {
                try TaskEncoding.completions(examples, file: file, template: settings.template, tokenizer: tokenizer,
                                             eos: eos, context: context)
            }
            let trainPairs = try encode(train, settings.dataFile), validationPairs = try encode(validation, valName)
            let trainCuts = CompletionCuts(trainPairs)
            // Not one prompt left: the run would learn completions with nothing to condition on.
            if trainCuts.promptLost == trainCuts.examples {
                throw FineTuneError.noPromptFits(file: settings.dataFile, pairs: trainCuts.examples, context: context)
            }
            notes += [ContextCutNotes.pairs(trainCuts, file: settings.dataFile, noun: "training pair", context: context),
                      ContextCutNotes.pairs(CompletionCuts(validationPairs), file: valName, noun: "validation pair",
                                            context: context)]
                .compactMap { $0 }
            return TaskData(payload: .complete(train: trainPairs, validation: validationPairs),
                            padTokenId: padId(tokenizer), notes: notes)
        }
    }

    /// The task over this data: a classifier (a resumed one, or a new head on `model`) or a completion task.
    func makeTask(model: GPT, classifier: SequenceClassifier?, options: TrainingOptions, settings: TaskSettings,
                  step: Int, position: Int, seed: UInt64) throws -> TrainingTask {
        switch payload {
        case let .classify(train, validation):
            let head: SequenceClassifier
            if let classifier { head = classifier } else {
                head = try SequenceClassifier(model: model, labels: settings.labels, padTokenId: padTokenId)
                var generator = SeededGenerator(seed: seed ^ 0x4EAD)
                head.initializeHead(using: &generator)
            }
            return try ClassificationTask(classifier: head, train: train, validation: validation, options: options,
                                          settings: settings, step: step, position: position)
        case let .complete(train, validation):
            return try CompletionTask(model: model, train: train, validation: validation, padTokenId: padTokenId,
                                      options: options, settings: settings, step: step, position: position)
        }
    }
}

/// A split of `file`'s examples whose fraction does not work, as the --val-fraction error it is, naming the file.
private func naming<T>(_ file: String, _ split: () throws -> T) throws -> T {
    do { return try split() } catch let error as LabelledDataError {
        switch error {
        case .emptySplit, .invalidValidationFraction:
            throw FineTuneError.invalidOption(option: "--val-fraction", message: "\(file): \(error)")
        default: throw error
        }
    }
}
