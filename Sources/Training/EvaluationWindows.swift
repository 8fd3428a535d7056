/// The windows that score every next-token prediction of a token stream exactly once, for a language model's
/// loss over a whole text (`TextEvaluation`).
///
/// A stream of N tokens holds N - 1 predictions: target j (1 ..< N) from the tokens before it. A window of
/// `length` T starting at s feeds tokens [s, s + T) and predicts targets [s + 1, s + T]. Windows start at 0,
/// `stride`, 2 `stride`, ... while they fit, then one more ends at the last token when those missed it. Each
/// window scores only the targets no earlier window scored: its positions from `firstScored` on. With the
/// stride equal to the length the windows do not overlap, every position is scored, and a target sees 1 to T
/// tokens before it, as in training's random windows; a smaller stride gives every target after the first
/// window more than T - stride tokens before it, for more passes (about T / stride times as many).
public struct EvaluationWindows: Equatable {
    /// One window: tokens [start, start + length), scored at positions firstScored ..< length.
    public struct Window: Equatable {
        public let start: Int
        public let firstScored: Int
    }

    public let tokenCount: Int
    /// T: the model's context, or N - 1 when the stream is shorter.
    public let length: Int
    public let stride: Int
    /// The windows' number (0 when the stream has no prediction: fewer than 2 tokens).
    public let count: Int

    /// `stride` is clamped to 1 ... `length`.
    public init(tokenCount: Int, context: Int, stride: Int) {
        self.tokenCount = tokenCount
        length = max(0, min(context, tokenCount - 1))
        self.stride = max(1, min(stride, length))
        guard length > 0 else { count = 0; return }
        let lastStart = tokenCount - 1 - length   // the window whose last target is the stream's last token
        count = lastStart / self.stride + 1 + (lastStart % self.stride == 0 ? 0 : 1)
    }

    /// Predictions scored over all windows: N - 1.
    public var scoredTargets: Int { count > 0 ? tokenCount - 1 : 0 }

    public subscript(index: Int) -> Window {
        precondition(index >= 0 && index < count, "window index out of range")
        guard index > 0 else { return Window(start: 0, firstScored: 0) }
        let start = min(index * stride, tokenCount - 1 - length)
        // The previous window scored targets up to (index - 1) stride + length; this one's first target is start + 1.
        let previousEnd = (index - 1) * stride + length
        return Window(start: start, firstScored: previousEnd - start)
    }
}
