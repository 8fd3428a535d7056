import Foundation

/// Evaluation of a prompt -> completion model as JSON: `val_loss` (mean cross-entropy in nats per
/// completion token), `perplexity` = exp(val_loss), `tokens` (completion tokens counted), `examples`.
public struct CompletionReport: Codable, Equatable, Sendable {
    public var valLoss: Double
    public var perplexity: Double
    public var tokens: Int
    public var examples: Int

    /// `lossSum`: the sum of per-token losses over `tokens` completion tokens.
    public init(lossSum: Double, tokens: Int, examples: Int) {
        valLoss = tokens > 0 ? lossSum / Double(tokens) : .nan
        perplexity = exp(valLoss)
        self.tokens = tokens
        self.examples = examples
    }

    enum CodingKeys: String, CodingKey {
        case tokens, examples, perplexity
        case valLoss = "val_loss"
    }

    /// One JSON object; a loss that is not finite (no tokens, or an overflowing perplexity) is written as
    /// the string "NaN" or "Infinity", since JSON has no such numbers.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// One line for the terminal.
    public var text: String {
        "examples \(examples)   completion tokens \(tokens)   val loss \(MetricsTable.fixed(valLoss))   perplexity \(MetricsTable.fixed(perplexity))"
    }
}
