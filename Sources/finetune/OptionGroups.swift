import ArgumentParser
import FineTuneData
import FineTuning
import Kernels
import Training

/// Which columns of a data file hold what, and what to do with malformed rows.
struct FieldOptions: ParsableArguments {
    // Optional, so that an option given for the other task can be refused by name; the defaults are
    // TaskSettings' (and the help must say them: a newcomer's own data has to use these names or the options).
    @Option(help: "Classification: field (JSONL key or CSV/TSV column) holding the text (default: text).") var textField: String?
    @Option(help: "Classification: field holding the label (default: label).") var labelField: String?
    @Option(help: "Prompt -> completion: field holding the prompt (default: prompt).") var promptField: String?
    @Option(help: "Prompt -> completion: field holding the completion (default: completion).") var completionField: String?
    @Flag(help: "Skip malformed rows (counted and reported) instead of stopping at the first one.")
    var skipBadRows = false

    /// The format comes from the file's extension (.jsonl, .csv, .tsv).
    var reader: LabelledDataReader { LabelledDataReader(skipBadRows: skipBadRows) }
}

/// `evaluate`'s fields: by default the ones the checkpoint was trained with (`DataFields`, from its notes).
struct CheckpointFieldOptions: ParsableArguments {
    @Option(help: "Classifiers: field (JSONL key or CSV/TSV column) holding the text (default: the one the checkpoint was trained with, else text).")
    var textField: String?
    @Option(help: "Classifiers: field holding the label (default: the checkpoint's, else label).") var labelField: String?
    @Option(help: "Completion models: field holding the prompt (default: the checkpoint's, else prompt).")
    var promptField: String?
    @Option(help: "Completion models: field holding the completion (default: the checkpoint's, else completion).")
    var completionField: String?
    @Flag(help: "Skip malformed rows (counted and reported) instead of stopping at the first one.")
    var skipBadRows = false

    /// The reader, told which fields come from the checkpoint's notes (those no option gave).
    func reader(notes: [String: String]?, checkpoint: String) -> LabelledDataReader {
        var reader = LabelledDataReader(skipBadRows: skipBadRows)
        reader.fieldOrigins = DataFields.origins(notes: notes, checkpoint: checkpoint, given: [
            "--text-field": textField != nil, "--label-field": labelField != nil,
            "--prompt-field": promptField != nil, "--completion-field": completionField != nil])
        return reader
    }
}

/// The batch size and worker threads of `evaluate` and `predict`.
struct InferenceOptions: ParsableArguments {
    @Option(help: "Rows per batch.") var batchSize: Int = 32
    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        if let threads, let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
    }

    /// `body()`, with a batch beyond memory reported as the --batch-size error it is.
    func namingBatchSize<T>(_ body: () throws -> T) throws -> T {
        try Trainer.namingBatchSize(advice: "use a smaller --batch-size", body)
    }

    /// Makes the shared thread pool the kernels use: `threads` workers, or one a core.
    func startThreadPool() {
        ThreadPool.shared = ThreadPool(threads: threads ?? ThreadPool.availableCores)
    }
}
