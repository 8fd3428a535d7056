import Foundation

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

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encodeIfPresent(trainLoss, forKey: .trainLoss)
        try c.encodeIfPresent(valLoss, forKey: .valLoss)
        try c.encodeIfPresent(lr, forKey: .lr)
        try c.encodeIfPresent(gradNorm, forKey: .gradNorm)
        try c.encodeIfPresent(tokensPerSecond, forKey: .tokensPerSecond)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        if let extra { for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
            var nested = encoder.container(keyedBy: AnyKey.self)
            try nested.encode(value, forKey: AnyKey(key))
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
    private let handle: FileHandle
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    /// Opens (creating if needed) the log; keeps only records with `step <= keepThrough` when given.
    public init(url: URL, keepThrough: Int? = nil) throws {
        self.url = url
        let fm = FileManager.default
        if let keepThrough, fm.fileExists(atPath: url.path) {
            let kept = try MetricsLog.read(url).filter { $0.step <= keepThrough }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            var data = Data()
            for record in kept { data += try e.encode(record); data += Data([0x0A]) }
            try data.write(to: url, options: .atomic)
        } else if keepThrough == nil || !fm.fileExists(atPath: url.path) {
            try Data().write(to: url, options: .atomic)
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

    public static func read(_ url: URL) throws -> [MetricsRecord] {
        let text = try String(contentsOf: url, encoding: .utf8)
        let decoder = JSONDecoder()
        return try text.split(separator: "\n").map { try decoder.decode(MetricsRecord.self, from: Data($0.utf8)) }
    }
}
