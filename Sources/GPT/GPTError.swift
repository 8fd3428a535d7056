import Foundation

/// A batch the model cannot run.
public enum GPTError: Error, Equatable, CustomStringConvertible {
    case emptyBatch(batch: Int, time: Int)
    case sequenceLongerThanContext(time: Int, context: Int)
    case tokenOutOfRange(token: Int32, position: Int, vocabSize: Int)
    case targetOutOfRange(token: Int32, position: Int, vocabSize: Int)
    case invalidWeight(weight: Float, position: Int)
    case wrongInputCount(count: Int, batch: Int, time: Int)
    /// `available`: what the plan may take of the `memory` here: nine tenths, less the `committed` bytes of the
    /// model's buffers, with a sharded pass's gradient copies and packed weights (`MemoryBudget`); below zero when
    /// those alone exceed the nine tenths. `holding` names what the committed bytes are for the message ("the
    /// model's weights").
    case doesNotFitInMemory(what: String, bytes: Double, available: Double, committed: Double, holding: String,
                            memory: Double)
    /// `training`: `bytes` count the gradients and AdamW moments too, not only the weights.
    case modelDoesNotFitInMemory(parameters: Int, bytes: Double, available: Double, training: Bool)

    public var description: String {
        switch self {
        case let .emptyBatch(b, t): return "batch \(b) x time \(t) is empty: both must be positive"
        case let .sequenceLongerThanContext(t, c): return "sequence length \(t) exceeds the model's context \(c)"
        case let .tokenOutOfRange(tok, pos, v):
            return "token id \(tok) at position \(pos) is outside the vocabulary (size \(v))"
        case let .targetOutOfRange(tok, pos, v):
            return "target id \(tok) at position \(pos) is outside the vocabulary (size \(v))"
        case let .invalidWeight(w, pos): return "loss weight \(w) at position \(pos) must be finite and >= 0"
        case let .wrongInputCount(n, b, t): return "got \(n) values for a batch of \(b) x \(t) = \(b * t) positions"
        case let .doesNotFitInMemory(what, bytes, available, committed, holding, memory):
            let model = committed >= 1e8 ? String(format: "%.1f GB", committed / 1e9) : String(format: "%.0f MB", committed / 1e6)
            if available <= 0 {
                return String(format: "%@ needs %.1f GB, and none is left: %@ take %@, more than the nine tenths of the "
                              + "%.1f GB of memory here a run may take", what, bytes / 1e9, holding, model, memory / 1e9)
            }
            return String(format: "%@ needs %.1f GB, more than the %.1f GB it may take of the %.1f GB of memory here "
                          + "(nine tenths%@)", what, bytes / 1e9, available / 1e9, memory / 1e9,
                          committed > 0 ? ", less \(model) for \(holding)" : "")
        case let .modelDoesNotFitInMemory(parameters, bytes, available, training):
            return String(format: "a model of %.2f billion parameters needs %.1f GB for its %@, more than the %.1f GB a "
                          + "run may take of the memory here; choose a smaller width, number of layers, vocabulary or context",
                          Double(parameters) / 1e9, bytes / 1e9,
                          training ? "weights, gradients and AdamW moments" : "weights", available / 1e9)
        }
    }
}
