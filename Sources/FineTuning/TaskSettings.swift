import Foundation
import JSON

/// What kind of fine-tuning a run does.
public enum FineTuneTask: String, Codable, Sendable, CaseIterable {
    case classify, complete
}

/// The settings of a fine-tuning run beyond the optimiser's (saved in RunRecord.task so `--resume`
/// continues the same run).
public struct TaskSettings: Codable, Equatable, Sendable {
    public var task: FineTuneTask
    /// Classification: the label names in id order (built from the training data).
    public var labels: [String] = []
    /// Classification: "none" or "balanced".
    public var classWeights: String = "none"
    /// Weight of the auxiliary language-modelling loss on the texts (classification; 0 = off).
    public var lmLossWeight: Double = 0
    /// Embeddings and the lowest N blocks stay fixed.
    public var freezeLayers: Int = 0
    /// Completion: how a prompt is laid out before its completion; `{prompt}` is replaced by the prompt.
    public var template: String = TaskSettings.defaultTemplate
    /// Evaluations without a new best before stopping (0 = never).
    public var patience: Int = 0
    /// The training and validation data.
    public var dataFile: String = ""
    public var valFile: String?
    public var valFraction: Double?
    /// 64-bit FNV-1a of the data files when the run started (nil in runs of older versions): `--resume` refuses
    /// files edited since, whose examples, split and labels would no longer be the run's.
    public var dataHash: String?
    public var valHash: String?
    public var textField = "text", labelField = "label", promptField = "prompt", completionField = "completion"
    public var skipBadRows = false
    /// The checkpoint the run started from and whether its weights were used (false: `--from-scratch`).
    public var startCheckpoint: String = ""
    public var fromScratch = false

    public static let defaultTemplate = "{prompt}\n"
    public static let placeholder = "{prompt}"
    /// The note key under which a completion checkpoint stores its template (SwiftletDetails.notes).
    public static let templateNoteKey = "prompt_template"

    public init(task: FineTuneTask) { self.task = task }

    /// Refuses, naming --template, a template that does not lay out a prompt: `{prompt}` must be there exactly once.
    public static func requirePromptOnce(_ template: String) throws {
        guard template.components(separatedBy: placeholder).count == 2 else {
            throw FineTuneError.invalidOption(option: "--template", message: "must contain \(placeholder) exactly once "
                + "(got \(String(reflecting: template)))")
        }
    }

    /// The template a `--template` option means: `\n`, `\t` and `\\` in it stand for a line feed, a tab and a
    /// backslash (as the help and README write templates); any other backslash is refused rather than guessed.
    public static func template(fromOption text: String) throws -> String {
        try BackslashEscapes.decode(text) { other in
            guard let other else {
                throw FineTuneError.invalidOption(option: "--template", message: "ends with a lone backslash (write \\\\ for one)")
            }
            throw FineTuneError.invalidOption(option: "--template", message: "unknown escape '\\\(other)' (only \\n, \\t and \\\\ are interpreted)")
        }
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public static func decode(_ json: String) -> TaskSettings? {
        try? JSONDecoder().decode(TaskSettings.self, from: Data(json.utf8))
    }

    /// Refuses settings no run can use, naming the option.
    public func validate(layers: Int) throws {
        func check(_ ok: Bool, _ option: String, _ message: String) throws {
            if !ok { throw FineTuneError.invalidOption(option: option, message: message) }
        }
        try check(freezeLayers >= 0 && freezeLayers <= layers, "--freeze-layers",
                  "must be between 0 and the model's \(layers) layers (got \(freezeLayers))")
        try check(lmLossWeight.isFinite && lmLossWeight >= 0, "--lm-loss-weight", "must be 0 or positive (got \(lmLossWeight))")
        try check(["none", "balanced"].contains(classWeights), "--class-weights", "must be none or balanced (got '\(classWeights)')")
        try check(patience >= 0, "--patience", "must be 0 (off) or positive (got \(patience))")
        if let valFraction {
            try check(valFraction > 0 && valFraction < 1, "--val-fraction", "must be above 0 and below 1 (got \(valFraction))")
        }
        if task == .complete { try Self.requirePromptOnce(template) }
    }
}

/// Why fine-tuning cannot start or go on.
public enum FineTuneError: Error, Equatable, CustomStringConvertible {
    case invalidOption(option: String, message: String)
    case noEndOfSequence(tokenizer: String)
    /// A prompt laid out to no tokens needs the tokenizer's BOS to start its sequence.
    case noBeginningOfSequence(tokenizer: String)
    case emptyText(file: String, line: Int)
    case wrongTask(path: String, expected: String)
    case dataChanged(file: String, run: String)
    /// Every training pair's completion alone fills the context: no prompt would be left in any of them.
    case noPromptFits(file: String, pairs: Int, context: Int)

    public var description: String {
        switch self {
        case let .invalidOption(option, message): return "\(option): \(message)"
        case let .noEndOfSequence(path):
            return "\(path): the tokenizer has no end-of-sequence id; prompt -> completion fine-tuning ends each completion with one"
        case let .noBeginningOfSequence(path):
            return "\(path): the tokenizer has no beginning-of-sequence id; a prompt that lays out to no tokens starts "
                + "its sequence with one"
        case let .emptyText(file, line): return "\(file):\(line): the text encodes to no tokens"
        case let .wrongTask(path, expected): return "\(path): \(expected)"
        case let .dataChanged(file, run):
            return "\(file): changed since the run in \(run) started; a resumed run trains on the data it started with "
                + "(restore the file, or start a new run with --overwrite)"
        case let .noPromptFits(file, pairs, context):
            return "\(file): in \(pairs == 1 ? "its only training pair" : "every one of its \(pairs) training pairs") the "
                + "completion alone fills the model's context of \(context) tokens, so no prompt is left to learn from; "
                + "shorten the completions or start from a model with a longer context"
        }
    }
}
