import Foundation
import GPT

/// One line of `metrics.jsonl`.
public struct MetricsRecord: Codable, Equatable, Sendable {
    public var step: Int
    public var trainLoss: Double?
    public var valLoss: Double?
    public var lr: Double?
    /// The global gradient norm before clipping.
    public var gradNorm: Double?
    public var tokensPerSecond: Double?
    public var elapsedSeconds: Double
    /// Extra task metrics (fine-tuning: accuracy, macro F1, ...).
    public var extra: [String: Double]?

    public init(step: Int, trainLoss: Double? = nil, valLoss: Double? = nil, lr: Double? = nil,
                gradNorm: Double? = nil, tokensPerSecond: Double? = nil, elapsedSeconds: Double,
                extra: [String: Double]? = nil) {
        self.step = step
        self.trainLoss = trainLoss
        self.valLoss = valLoss
        self.lr = lr
        self.gradNorm = gradNorm
        self.tokensPerSecond = tokensPerSecond
        self.elapsedSeconds = elapsedSeconds
        self.extra = extra
    }

    enum CodingKeys: String, CodingKey {
        case step, lr, extra
        case trainLoss = "train_loss", valLoss = "val_loss", gradNorm = "grad_norm"
        case tokensPerSecond = "tokens_per_s", elapsedSeconds = "elapsed_s"
    }

    /// A NaN or infinite value (a diverged run's validation loss, the perplexity of a huge loss) is written as
    /// null: JSON has no such numbers, and the line must still be written.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func put(_ value: Double?, _ key: CodingKeys) throws {
            guard let value else { return }
            if value.isFinite { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
        }
        try c.encode(step, forKey: .step)
        try put(trainLoss, .trainLoss)
        try put(valLoss, .valLoss)
        try put(lr, .lr)
        try put(gradNorm, .gradNorm)
        try put(tokensPerSecond, .tokensPerSecond)
        try put(elapsedSeconds, .elapsedSeconds)
        if let extra { for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
            var nested = encoder.container(keyedBy: AnyKey.self)
            if value.isFinite { try nested.encode(value, forKey: AnyKey(key)) } else { try nested.encodeNil(forKey: AnyKey(key)) }
        } }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        trainLoss = try c.decodeIfPresent(Double.self, forKey: .trainLoss)
        valLoss = try c.decodeIfPresent(Double.self, forKey: .valLoss)
        lr = try c.decodeIfPresent(Double.self, forKey: .lr)
        gradNorm = try c.decodeIfPresent(Double.self, forKey: .gradNorm)
        tokensPerSecond = try c.decodeIfPresent(Double.self, forKey: .tokensPerSecond)
        elapsedSeconds = try c.decode(Double.self, forKey: .elapsedSeconds)
        let known = Set(["step", "train_loss", "val_loss", "lr", "grad_norm", "tokens_per_s", "elapsed_s"])
        let all = try decoder.container(keyedBy: AnyKey.self)
        var rest: [String: Double] = [:]
        for key in all.allKeys where !known.contains(key.stringValue) {
            if let value = try? all.decode(Double.self, forKey: key) { rest[key.stringValue] = value }
        }
        extra = rest.isEmpty ? nil : rest
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

/// Appends records to `metrics.jsonl`, one JSON object a line, flushed after every line so that a crash
/// loses nothing already reported. On resume, lines past the resumed step are dropped first, so the file
/// reads as one uninterrupted run.
public final class MetricsLog {
    public let url: URL
    /// Whether opening for a resume dropped a last line a killed run had left unfinished.
    public private(set) var droppedUnfinishedLine = false
    private let handle: FileHandle
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    /// Opens the log for a run: without `keepThrough` a new, empty log (an existing one is replaced: a new run);
    /// with it (a resume) the existing records with `step <= keepThrough`, or a new log if there is none. A last
    /// line without its line break that does not parse (a run killed while writing it) is dropped.
    public init(url: URL, keepThrough: Int? = nil) throws {
        self.url = url
        let fm = FileManager.default
        if let keepThrough, fm.fileExists(atPath: url.path) {
            let (all, dropped) = try MetricsLog.parse(url, droppingUnfinishedLine: true)
            droppedUnfinishedLine = dropped
            let kept = all.filter { $0.step <= keepThrough }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            var data = Data()
            for record in kept { data += try e.encode(record); data += Data([0x0A]) }
            try AtomicFiles.writeFile(at: url.path, data: data)   // (a temporary that RunDirectory recognises)
        } else if keepThrough == nil || !fm.fileExists(atPath: url.path) {
            try AtomicFiles.writeFile(at: url.path, data: Data())
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    public func append(_ record: MetricsRecord) throws {
        var line = try encoder.encode(record)
        line.append(0x0A)
        try writing(url.path) { try handle.write(contentsOf: line) }
    }

    /// The records of a log; a line that is not one names the file and line (`MetricsLogError`).
    public static func read(_ url: URL, droppingUnfinishedLine: Bool = false) throws -> [MetricsRecord] {
        try parse(url, droppingUnfinishedLine: droppingUnfinishedLine).records
    }

    /// The records, and whether an unfinished last line was dropped (only with `droppingUnfinishedLine`).
    private static func parse(_ url: URL, droppingUnfinishedLine: Bool) throws -> (records: [MetricsRecord], dropped: Bool) {
        let data = try Data(contentsOf: url)
        let decoder = JSONDecoder()
        let lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        var records: [MetricsRecord] = []
        for (index, line) in lines.enumerated() where !line.isEmpty {
            do {
                records.append(try decoder.decode(MetricsRecord.self, from: Data(line)))
            } catch {
                let unfinished = index == lines.count - 1   // no line break after it
                if unfinished && droppingUnfinishedLine { return (records, true) }
                throw MetricsLogError.notAMetricsLine(path: url.path, line: index + 1, unfinished: unfinished)
            }
        }
        return (records, false)
    }
}

/// A metrics.jsonl that cannot be read back.
public enum MetricsLogError: Error, CustomStringConvertible, Equatable {
    case notAMetricsLine(path: String, line: Int, unfinished: Bool)

    public var description: String {
        switch self {
        case let .notAMetricsLine(path, line, unfinished):
            return "\(path):\(line): not a line of metrics (a JSON object with \"step\" and \"elapsed_s\")"
                + (unfinished ? ", and not finished by a line break" : "") + "; remove or mend the line"
        }
    }
}
