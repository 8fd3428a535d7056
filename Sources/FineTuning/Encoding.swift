import FineTuneData
import Tokenizer

/// A text to classify as token ids (at most the model's context), with its label id (-1: none/unknown).
public struct EncodedText: Sendable {
    public var tokens: [Int32]
    public var label: Int
    /// Tokens cut off the end to fit the context (0: the whole text).
    public var tokensCut = 0
}

/// A prompt -> completion pair as one token sequence: inputs = sequence[0..<n-1], targets = sequence[1..<n],
/// and target j counts in the loss only when it is a completion token (j + 1 >= promptCount).
public struct EncodedCompletion: Sendable {
    public var sequence: [Int32]
    /// Tokens of the (templated) prompt at the start of `sequence` (1, the BOS, when it lays out to none).
    public var promptCount: Int
    /// Completion tokens counted in the loss (including the EOS).
    public var completionCount: Int { sequence.count - promptCount }
    /// Tokens cut to fit the context: from the start of the templated prompt, and from the end of the completion
    /// (its EOS first).
    public var promptTokensCut = 0, completionTokensCut = 0
}

public enum TaskEncoding {
    private static func checkContext(_ context: Int) throws {
        if context < 1 { throw FineTuneError.invalidOption(option: "context", message: "must be at least 1 (got \(context))") }
    }

    /// Encodes texts to at most `context` tokens (the first ones: the classifier pools the last kept token).
    public static func texts(_ texts: [(text: String, label: Int, line: Int)], file: String,
                             tokenizer: SentencePieceTokenizer, context: Int) throws -> [EncodedText] {
        try checkContext(context)
        return try texts.map { item in
            let ids = try tokenizer.encode(item.text)
            if ids.isEmpty { throw FineTuneError.emptyText(file: file, line: item.line) }
            return EncodedText(tokens: Array(ids.prefix(context)), label: item.label, tokensCut: max(0, ids.count - context))
        }
    }

    /// Lays out `template` (with `{prompt}` replaced) + completion + EOS. A prompt that lays out to no tokens
    /// (an unconditional completion with the template "{prompt}") is the tokenizer's BOS instead, as `sample`
    /// starts an empty prompt: some position must predict the completion's first token. When the sequence is
    /// longer than context + 1 tokens (context inputs, each with its next-token target), the prompt is cut from
    /// the LEFT first (its end, next to the completion, matters most); if the completion alone is still too
    /// long it is cut from the right (the EOS then falls off). A BOS start is kept, being no prompt to cut.
    /// Throws `FineTuneError.noBeginningOfSequence` for an empty layout when the tokenizer has no BOS.
    public static func completion(prompt: String, completion: String, template: String,
                                  tokenizer: SentencePieceTokenizer, eos: Int32, context: Int) throws -> EncodedCompletion {
        try checkContext(context)
        var promptIds = try tokenizer.encode(applying(template, to: prompt))
        let startsFromBOS = promptIds.isEmpty
        if startsFromBOS {
            guard let bos = tokenizer.bosId else { throw FineTuneError.noBeginningOfSequence(tokenizer: tokenizer.path) }
            promptIds = [bos]
        }
        var completionIds = try tokenizer.encode(completion) + [eos]
        let limit = context + 1
        var promptCut = 0, completionCut = 0
        if promptIds.count + completionIds.count > limit {
            if !startsFromBOS {
                promptCut = min(promptIds.count + completionIds.count - limit, promptIds.count)
                promptIds.removeFirst(promptCut)
            }
            completionCut = max(0, promptIds.count + completionIds.count - limit)
            completionIds.removeLast(completionCut)
        }
        // A sequence needs one input: with no prompt left, the first completion token is only an input.
        return EncodedCompletion(sequence: promptIds + completionIds, promptCount: promptIds.count,
                                 promptTokensCut: promptCut, completionTokensCut: completionCut)
    }

    /// Every pair of `file` encoded by `completion`; a pair that needs a BOS the tokenizer lacks is named by
    /// its line.
    public static func completions(_ examples: [CompletionExample], file: String, template: String,
                                   tokenizer: SentencePieceTokenizer, eos: Int32, context: Int) throws -> [EncodedCompletion] {
        try examples.map { example in
            do {
                return try completion(prompt: example.prompt, completion: example.completion, template: template,
                                      tokenizer: tokenizer, eos: eos, context: context)
            } catch FineTuneError.noBeginningOfSequence {
                throw LabelledDataError.badRow(RowProblem(file: file, line: example.line, message: "the prompt lays out "
                    + "to no tokens (template \(String(reflecting: template))), and the tokenizer \(tokenizer.path) has no "
                    + "beginning-of-sequence id to start the sequence from; give the pair a prompt, or a --template with "
                    + "text beside {prompt}"))
            }
        }
    }

    /// The template with its `{prompt}` placeholder replaced (as `sample` does for a completion model).
    public static func applying(_ template: String, to prompt: String) -> String {
        template.replacingOccurrences(of: TaskSettings.placeholder, with: prompt)
    }
}
