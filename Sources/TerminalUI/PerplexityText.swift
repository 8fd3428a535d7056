import Foundation

/// A perplexity for a line of text: two decimals, or three significant digits once it is large (a diverged run's
/// exp(428) printed 184 digits).
public func perplexityText(_ perplexity: Double) -> String {
    perplexity < 1e6 ? String(format: "%.2f", perplexity) : String(format: "%.3g", perplexity)
}
