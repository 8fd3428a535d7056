import TerminalUI
import ArgumentParser
import FineTuneData
import FineTuning
import Foundation
import Generation
import GPT
import Kernels
import Training

/// `finetune predict`: label new texts with a fine-tuned classifier.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify the texts of a file with a fine-tuned classifier.",
        discussion: """
        Writes one JSON object per input row: the row's fields, then predicted_label and probabilities \
        (every label's probability); an input field of either name is kept as input_<name>. The output is \
        never overwritten unless --overwrite is given, and never when it is the input file, a FIFO or a device; \
        a symlink's target is written. Ctrl-C leaves the output as it was.
        """)

    @Option(help: "A classifier checkpoint directory or a run directory (its best/, else latest/).") var checkpoint: String
    @Option(help: "Texts to classify (.jsonl, .csv or .tsv); other fields are carried to the output.") var input: String
    @Option(help: "Output file: JSON Lines (a .csv, .tsv or .tab name is refused).") var out: String
    @Option(help: "Field (JSONL key or CSV/TSV column) holding the text (default: the one the classifier was trained with, else text).")
    var textField: String?
    @Flag(help: "Skip malformed rows (counted and reported) instead of stopping at the first one.") var skipBadRows = false
    @Flag(help: "Replace --out if it exists.") var overwrite = false
    @OptionGroup var inference: InferenceOptions

    /// An output named as CSV/TSV is a mistake in the option itself: a usage error, before anything is read.
    func validate() throws {
        do { try PredictionWriter.checkName(out) } catch { throw ValidationError("--out: \(error)") }
    }

    func run() throws {
        setvbuf(stdout, nil, _IOLBF, 0)
        try reportingErrors {
            inference.startThreadPool()
            let directory = try RunDirectory.resolveCheckpoint(checkpoint, prefer: .best)
            if try ClassifierCheckpoint.readClassifierConfig(directory: directory) == nil {
                // A language or completion model: say which command completes prompts with it.
                throw FineTuneError.wrongTask(path: directory, expected: "not a classifier checkpoint (predict labels "
                    + "texts); to complete the prompts of a JSONL file with this model (laid out by its template, if it stores one), run "
                    + "sample --checkpoint \(shellQuoted(directory)) --prompts FILE.jsonl --out OUT.jsonl")
            }
            let loaded = try ClassifierCheckpoint.load(from: directory, includeTrainingState: false)
            let classifier = loaded.classifier
            let tokenizer = try CheckpointTokenizer.open(checkpoint: directory,
                                                        modelVocabularySize: classifier.model.config.vocabSize)
            let notes = loaded.hfConfig.swiftlet?.notes
            var reader = LabelledDataReader(skipBadRows: skipBadRows)
            reader.fieldOrigins = DataFields.origins(notes: notes, checkpoint: directory, given: ["--text-field": textField != nil])
            let read = try reader.readUnlabelled(path: input, textField: textField ?? DataFields(notes: notes).text)
            if let s = read.skipSummary { printError(s) }
            let texts = try TaskEncoding.texts(read.examples.map { ($0.text, -1, $0.line) }, file: input,
                                               tokenizer: tokenizer, context: classifier.model.config.context)
            // Ctrl-C (or SIGTERM, SIGHUP) stops between batches; the writer's partial file goes with it. Installed
            // before the writer makes that file, so a first signal never ends the process with the file there (a
            // second one, which quits at once, leaves it, as its notice says).
            let kept = FileManager.default.fileExists(atPath: out) ? "\(out) is left as it was" : "\(out) is not written"
            Interrupt.install(notice: "stopping; " + kept,
                              quitting: "leaving a partial file beside \(out), removed by the next predict")
            let writer = try PredictionWriter(path: out, overwrite: overwrite, input: input)
            // (Said once the output is known to be writable: a refused --out is the one line an error prints.)
            if let note = ContextCutNotes.texts(TextCuts(texts), file: input, noun: "text",
                                                context: classifier.model.config.context) {
                printError(note)
            }
            // Those of a predict killed earlier (this writer holds its own, so it stays).
            let temporary = PredictionWriter.temporaryLocation(of: writer.target)
            AbandonedTemporaries.remove(in: temporary.directory, prefix: temporary.prefix)
            var probabilities: [[Float]]?
            do {
                probabilities = try inference.namingBatchSize {
                    try ClassifierInference.probabilities(classifier, texts: texts.map(\.tokens),
                                                          batchSize: inference.batchSize,
                                                          shouldStop: { Interrupt.isRequested })
                }
            } catch is EvaluationStopped {}
            // A stop request up to the rename (between batches, or while the lines are written) discards the
            // partial file: the notice said the output stays as it was.
            if let probabilities {
                for (example, p) in zip(read.examples, probabilities) where !Interrupt.isRequested {
                    try writer.write(fields: example.fields,
                                     predictedLabel: classifier.labels[ClassifierInference.argmax(p)],
                                     probabilities: zip(classifier.labels, p).map { (label: $0, probability: $1) })
                }
            }
            guard probabilities != nil, !Interrupt.isRequested else {
                writer.discard()
                throw ExitCode(Interrupt.exitStatus)
            }
            try writer.finish()
            print("wrote \(counted(writer.linesWritten, "prediction")) to \(out)")
        }
    }
}
