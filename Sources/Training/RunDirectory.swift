import Foundation
import GPT

/// The files of a training run:
///
///   DIR/latest/        the most recent checkpoint (what `--resume` continues from)
///   DIR/best/          the checkpoint with the lowest validation loss so far
///   DIR/metrics.jsonl  one JSON object per step
///   DIR/loss.svg       the loss curve, drawn at the end
///
/// Checkpoints are leaf directories because each one is replaced as a whole, atomically.
public struct RunDirectory: Sendable {
    public let path: String
    public init(path: String) { self.path = path }

    public var latest: String { path + "/latest" }
    public var best: String { path + "/best" }
    public var metrics: String { path + "/metrics.jsonl" }
    public var lossCurve: String { path + "/loss.svg" }

    public enum Preference: Sendable { case best, latest }

    /// `path` made absolute (against the working directory) with `.` and `..` resolved: what a run records, so
    /// that it means the same place whatever directory the run is resumed from.
    public static func absolutePath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The checkpoint a resume continues from: latest/, or best/ when it holds a later step; nil when neither holds
    /// a training state to resume. best/ is saved with the whole training state at an evaluation that improved, as
    /// latest/ at that step would be, while latest/ waits for --checkpoint-every or the end: a run killed before
    /// then (no periodic checkpoints is `finetune`'s default) lost every step since its last latest/. A latest/
    /// whose state cannot be read is still the one chosen, so that loading it names the damage.
    public func resumeCheckpoint() -> String? {
        let latestStep = Checkpoint.isCheckpoint(latest)
            ? ((try? Checkpoint.readTrainingState(directory: latest))??.step ?? Int.max) : nil
        let bestStep = Checkpoint.isCheckpoint(best) ? (try? Checkpoint.readTrainingState(directory: best))??.step : nil
        guard let bestStep, bestStep > 0, bestStep > latestStep ?? 0 else { return latestStep == nil ? nil : latest }
        return best
    }

    /// Before a new run starts here: refuses (naming what is there) when the directory already holds a run,
    /// unless `overwrite`. Nothing is removed yet: the setup calls `removePreviousRun()` only once the new
    /// run has passed every check, so a refused option or a bad file never costs the old run.
    public func checkPreviousRun(overwrite: Bool) throws {
        try requireRunDirectory()
        let previous = previousRunItems
        guard !previous.isEmpty && !overwrite else { return }
        let items = previous.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
        // A run stopped before its first checkpoint (killed, or a second Ctrl-C) has nothing to resume from.
        guard resumeCheckpoint() != nil else {
            throw TrainingError.invalidOption(option: "--out", message: "\(path) already holds a run that saved no "
                + "checkpoint to resume (\(items)); replace it with --overwrite")
        }
        throw TrainingError.invalidOption(option: "--out", message: "\(path) already holds a run "
            + "(\(items)); continue it with --resume or replace it with --overwrite")
    }

    /// Locks the directory (an `flock`) for this process, until `unlock()`; throws when another process holds it.
    /// The tools take it before they change anything in a run directory (removing an old run, preparing data,
    /// cutting metrics back to a checkpoint), and `TrainingRun` holds it while it trains: a second `--resume` of a
    /// live run had cut the live run's metrics.jsonl back to its own checkpoint, and two setups deleted each
    /// other's runs. Taking it again in the same process is a no-op.
    public func lock() throws {
        let key = RunDirectory.absolutePath(path)
        RunDirectory.heldGuard.lock()
        defer { RunDirectory.heldGuard.unlock() }
        if RunDirectory.held[key] != nil { return }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw inUse
        }
        RunDirectory.held[key] = fd
    }

    /// Makes the directory (when new) and takes its lock.
    public func createAndLock() throws {
        try writing(path) { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        try lock()
    }

    public func unlock() {
        RunDirectory.heldGuard.lock()
        defer { RunDirectory.heldGuard.unlock() }
        if let fd = RunDirectory.held.removeValue(forKey: RunDirectory.absolutePath(path)) { close(fd) }
    }

    /// Whether another process holds the lock now (this one's own does not count).
    var isLockedElsewhere: Bool {
        RunDirectory.heldGuard.lock()
        defer { RunDirectory.heldGuard.unlock() }
        if RunDirectory.held[RunDirectory.absolutePath(path)] != nil { return false }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) != 0
    }

    /// The locks this process holds: absolute path -> descriptor.
    nonisolated(unsafe) private static var held: [String: Int32] = [:]
    private static let heldGuard = NSLock()

    private var inUse: TrainingError {
        .invalidOption(option: "--out", message: "\(path) is in use: another process is training in it now; wait for it "
            + "to stop, or choose another --out")
    }

    /// `--out` must be a run directory or not exist yet: a file, or a checkpoint (which a run would fill with
    /// latest/ and best/), is refused by name; so is one that a run is training in now (`lock`).
    public func requireRunDirectory() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue {
            throw TrainingError.invalidOption(option: "--out", message: "\(path) is a file, not a run directory")
        }
        if Checkpoint.isCheckpoint(path) {
            throw TrainingError.invalidOption(option: "--out", message: "\(path) is a checkpoint, not a run directory "
                + "(a run directory holds latest/, best/ and metrics.jsonl)")
        }
        if FileManager.default.fileExists(atPath: path) && isLockedElsewhere { throw inUse }
    }

    /// Before a resumed run trains: best/ and latest/ are replaced whole when it saves, so anything else in their
    /// place (a file, a link that leads nowhere) would fail that save, after the training it was to keep. (A new
    /// run with --overwrite removes them instead.)
    public func requireCheckpointPlaces() throws {
        for checkpoint in [latest, best] where Self.entryExists(checkpoint) {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: checkpoint, isDirectory: &isDirectory) || !isDirectory.boolValue {
                throw TrainingError.invalidOption(option: "--out", message: "\(checkpoint) is not a checkpoint directory, and "
                    + "the run saves one there; move it away")
            }
        }
    }

    /// Whether there is a directory entry at `path`, a link that leads nowhere included (`fileExists` follows links).
    static func entryExists(_ path: String) -> Bool { (try? FileManager.default.attributesOfItem(atPath: path)) != nil }

    /// Removes what writers killed in this directory left (the temporary copies of latest/ and best/, of metrics.jsonl
    /// and loss.svg) and no writer holds: a finished run's last save has no next save of its checkpoint to do it, and
    /// a checkpoint's copy is as large as the checkpoint. Called with the directory locked (`lock`).
    public func removeAbandonedTemporaries() {
        for item in [latest, best, metrics, lossCurve] { AtomicFiles.removeAbandonedTemporaries(of: item) }
    }

    /// Removes the previous run's checkpoints, metrics and loss curve (after `checkPreviousRun(overwrite:)`
    /// allowed it), right before the new run writes its first file.
    public func removePreviousRun() throws {
        // (A directory that cannot be written gives "OUT/latest: cannot write: Permission denied", not NSError's dump.)
        for item in previousRunItems { try writing(item) { try FileManager.default.removeItem(atPath: item) } }
    }

    private var previousRunItems: [String] {
        [latest, best, metrics, lossCurve].filter(Self.entryExists)
    }

    /// The checkpoint directory a user means by `path`: `path` itself when it holds a config.json, else the run's
    /// best (or latest) checkpoint. Throws a clear error when there is none.
    public static func resolveCheckpoint(_ given: String, prefer: Preference) throws -> String {
        // "run/" names the run as "run" does (and its best checkpoint is "run/best", not "run//best").
        var path = given
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { throw CheckpointError.missingDirectory(path: path) }
        guard isDirectory.boolValue else { throw CheckpointError.notADirectory(path: path) }
        if Checkpoint.isCheckpoint(path) { return path }
        let run = RunDirectory(path: path)
        let order = prefer == .best ? [run.best, run.latest] : [run.latest, run.best]
        for candidate in order where Checkpoint.isCheckpoint(candidate) {
            return candidate
        }
        throw CheckpointError.noCheckpoint(path: path)
    }
}

/// What a run records in each checkpoint besides weights and moments (TrainingState.configuration).
public struct RunRecord: Codable, Equatable, Sendable {
    public var options: TrainingOptions
    public var bestValLoss: Double?
    public var bestStep: Int?
    /// The best evaluation's objective (lower is better; for language models the validation loss, for a
    /// classifier minus macro F1). Nil in runs saved before it existed: bestValLoss stands in.
    public var bestObjective: Double?
    /// Validation batches the best evaluation averaged (`--eval-batches` then; nil in runs saved before it was
    /// recorded), so a resume with another count can say the best was measured otherwise.
    public var bestEvalBatches: Int?
    /// Validation windows the best evaluation averaged (`--eval-batches` x `--batch-size` x `--grad-accum` then;
    /// nil in runs saved before it was recorded, whose evaluations took `--eval-batches` x `--batch-size`).
    public var bestEvalWindows: Int?
    /// Evaluations since the best one (for early stopping across a resume).
    public var evaluationsSinceBest: Int?
    /// `pretrain --patience`: stop after this many evaluations without a new best (nil or 0: never; a fine-tuning
    /// run keeps its patience in `task`).
    public var patience: Int?
    /// `pretrain --sample-every`, `--sample-tokens`, `--sample-prompt` (kept for resume, as the patience is).
    public var samples: SampleOptions?
    /// Task-specific settings of a fine-tuning run as JSON (nil for pretraining).
    public var task: String?
    /// Wall-clock seconds spent training before this checkpoint (resumed runs keep counting).
    public var elapsedSeconds: Double
    /// The prepared data the run trains on (train.npy, val.npy), or a fine-tuning run's data file.
    public var dataDirectory: String
    /// The same data's path relative to the run directory when it lies inside it (`pretrain --corpus` prepares
    /// into OUT/data), so a run moved or copied with its data resumes on the data beside it. Nil otherwise, and in
    /// runs saved before it was recorded.
    public var dataInsideRun: String?
    /// `TokenFile.fingerprint` of the training and validation tokens ("" without validation data) when the run
    /// started, so `--resume` can refuse other data (nil in fine-tuning runs and runs saved before it was recorded;
    /// runs of 2026-12-05/06 that recorded an earlier form of the fingerprint under `dataFingerprint` are not
    /// checked: that key is no longer read).
    public var tokenFingerprints: [String]?
    /// Worker threads of the latest stretch of training (nil in runs saved before it was recorded). The batch
    /// is split over the threads, and the order of the shards' gradient sums moves the last bits, so a run
    /// resumed on another thread count follows an uninterrupted one only up to float rounding.
    public var threads: Int?
    /// A step whose evaluation a stop request cut short (its checkpoint is this one): the resumed run evaluates it
    /// and logs its line, as the uninterrupted run did. Nil otherwise.
    public var pendingStep: MetricsRecord?

    public init(options: TrainingOptions, bestValLoss: Double? = nil, bestStep: Int? = nil,
                elapsedSeconds: Double = 0, dataDirectory: String) {
        self.options = options
        self.bestValLoss = bestValLoss
        self.bestStep = bestStep
        self.elapsedSeconds = elapsedSeconds
        self.dataDirectory = dataDirectory
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Records that training goes on with `current` threads; when the saved stretch ran on another count, a note
    /// for the user saying that the losses will not equal an uninterrupted run's bit for bit.
    public mutating func resume(onThreads current: Int) -> String? {
        defer { threads = current }
        guard let saved = threads, saved != current else { return nil }
        return "note: this run trained on \(saved) thread\(saved == 1 ? "" : "s") and resumes on \(current); its losses follow an "
            + "uninterrupted run's up to float rounding, not bit for bit (resume with --threads \(saved) for that)"
    }

    /// Records `data` (absolute) for the run in `runDirectory`, relative to it too when it lies inside.
    public mutating func recordData(_ data: String, runDirectory: String) {
        dataDirectory = data
        let run = RunDirectory.absolutePath(runDirectory) + "/"
        dataInsideRun = data.hasPrefix(run) ? String(data.dropFirst(run.count)) : nil
    }

    /// The data directory to resume on: the one inside the run directory when it was recorded and is there (the
    /// run may have moved), else the recorded path.
    public func dataDirectory(resumingIn runDirectory: String) -> String {
        if let inside = dataInsideRun {
            let path = RunDirectory.absolutePath(runDirectory) + "/" + inside
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return dataDirectory
    }

    /// The record saved in the training state at `path`; with `checked` (a run that goes on from it), once its
    /// values are ones a run can use.
    public static func decode(_ json: String, path: String, checked: Bool = true) throws -> RunRecord {
        let record: RunRecord
        do { record = try JSONDecoder().decode(RunRecord.self, from: Data(json.utf8)) } catch {
            throw CheckpointError.invalidHeader(path: path, detail: "the saved run configuration is not readable")
        }
        if checked { try record.checkValues(path: path) }
        return record
    }

    /// Refuses a record no run can use (a damaged or edited training state) as the file's error: the option
    /// checks' messages name options the user may not have typed (`--batch-size: must be at least 1`). Only what
    /// no version of Swiftlet wrote is refused: the upper bounds on --steps and --eval-batches came later, and
    /// the run's own check names those options once the command line's values are applied.
    func checkValues(path: String) throws {
        do { try options.checkEachOption(upperBounds: false) } catch let TrainingError.invalidOption(option, message) {
            throw Self.damaged(path: path, "\(option) \(message)")
        }
        if !(options.epsilon.isFinite && options.epsilon > 0) {
            throw Self.damaged(path: path, "AdamW's epsilon must be a positive number (got \(options.epsilon))")
        }
        if !(elapsedSeconds.isFinite && elapsedSeconds >= 0) {
            throw Self.damaged(path: path, "the training time must be a finite number of seconds, not negative (got \(elapsedSeconds))")
        }
        for (name, value, least) in [("--patience", patience, 0), ("the best step", bestStep, 0),
                                     ("the evaluations since the best", evaluationsSinceBest, 0),
                                     ("the best's evaluation batches", bestEvalBatches, 1),
                                     ("the best's evaluation windows", bestEvalWindows, 1), ("the thread count", threads, 1)] {
            if let value, value < least { throw Self.damaged(path: path, "\(name) must be at least \(least) (got \(value))") }
        }
        // A run counts its evaluations one by one: more than a step's worth each is a damaged count (Int.max
        // overflowed at the next evaluation).
        if let since = evaluationsSinceBest, since > TrainingOptions.maximumSteps {
            throw Self.damaged(path: path, "the evaluations since the best cannot be \(since)")
        }
    }

    /// The error of a saved run configuration (in the training state at `path`) whose `what` is wrong.
    public static func damaged(path: String, _ what: String) -> CheckpointError {
        .invalidConfig(path: path, detail: "the saved run configuration is damaged: \(what)")
    }
}
