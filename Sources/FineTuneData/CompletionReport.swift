import Foundation

/// Evaluation of a prompt -> completion model on whatever data `evaluate` is given, as JSON: `mean_loss` (mean
/// cross-entropy in nats per completion token; named as the classifier report's, not `val_loss`: the data need
/// not be a validation set), `perplexity` = exp(mean_loss), `tokens` (completion tokens counted), `examples`.
public struct CompletionReport: Codable, Equatable, Sendable {
    public var meanLoss: Double
    public var perplexity: Double
    public var tokens: Int
    public var examples: Int
    /// With `evaluate --generate`: the examples whose greedy completion equals the reference (`exact_matches`), and
    /// their share (`exact_match`).
    public var exactMatches: Int? {
        didSet { exactMatch = exactMatches.map { examples > 0 ? Double($0) / Double(examples) : .nan } }
    }
    public private(set) var exactMatch: Double?

    /// `lossSum`: the sum of per-token losses over `tokens` completion tokens.
    public init(lossSum: Double, tokens: Int, examples: Int) {
        meanLoss = tokens > 0 ? lossSum / Double(tokens) : .nan
        perplexity = exp(meanLoss)
        self.tokens = tokens
        self.examples = examples
    }

    enum CodingKeys: String, CodingKey {
        case tokens, examples, perplexity
        case meanLoss = "mean_loss", exactMatches = "exact_matches", exactMatch = "exact_match"
    }

    /// One JSON object; a loss that is not finite (no tokens, or an overflowing perplexity) is written as
    /// the string "NaN" or "Infinity", since JSON has no such numbers.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// One line for the terminal.
    public var text: String {
        "examples \(examples)   completion tokens \(tokens)   mean loss \(MetricsTable.fixed(meanLoss))   perplexity \(MetricsTable.fixed(perplexity))"
            + (exactMatches.map { "   exact match \($0) of \(examples) (\(String(format: "%.2f", 100 * (exactMatch ?? .nan)))%)" } ?? "")
    }
}
