/// How many examples of a data set did not fit the model's context, and what fitting them cut (for the note
/// `finetune` prints when it reads data: the cutting itself is silent).
public struct TextCuts: Equatable, Sendable {
    public var examples: Int
    /// Texts that lost tokens from their end.
    public var cut: Int

    public init(_ texts: [EncodedText]) {
        examples = texts.count
        cut = texts.count { $0.tokensCut > 0 }
    }
}

/// The same for prompt -> completion pairs (`TaskEncoding.completion` cuts the prompt first, from its start).
public struct CompletionCuts: Equatable, Sendable {
    public var examples: Int
    /// Pairs that lost any token.
    public var cut: Int
    /// Lost the start of their (templated) prompt but kept some of it.
    public var promptShortened: Int
    /// Lost all of the templated prompt: they train on a completion with no prompt at all.
    public var promptLost: Int
    /// Lost the end of their completion (its EOS first).
    public var completionShortened: Int

    public init(_ pairs: [EncodedCompletion]) {
        examples = pairs.count
        cut = pairs.count { $0.promptTokensCut > 0 || $0.completionTokensCut > 0 }
        promptShortened = pairs.count { $0.promptTokensCut > 0 && $0.promptCount > 0 }
        promptLost = pairs.count { $0.promptTokensCut > 0 && $0.promptCount == 0 }
        completionShortened = pairs.count { $0.completionTokensCut > 0 }
    }
}
