import FineTuning
import Foundation
import Generation
import Sampling

/// `finetune evaluate --generate`: each prompt (laid out by the template) completed greedily, as `sample
/// --temperature 0` would, and compared with its reference completion.
///
/// A match is the generated text equal to the reference once white space is trimmed from both ends of each (the
/// completion ends at the end-of-sequence token or after `maxTokens` tokens; the default, the longest reference's
/// token count plus one, leaves room for the end-of-sequence token after every reference).
enum ExactMatch {
    struct Result {
        var matches: Int
        var examples: Int
    }

    static func evaluate(_ generator: TextGenerator, template: String, pairs: [(prompt: String, reference: String)],
                         maxTokens: Int?) throws -> Result {
        let references = pairs.map { $0.reference.trimmingCharacters(in: .whitespacesAndNewlines) }
        let longest = try pairs.map { try generator.tokenizer.encode($0.reference).count }.max() ?? 0
        var settings = SamplingSettings(temperature: 0)
        settings.maxNewTokens = maxTokens ?? longest + 1
        let requests = pairs.map { GenerationRequest(prompt: TaskEncoding.applying(template, to: $0.prompt), seed: 0) }
        let completions = try generator.generate(requests, settings: settings)
        let matches = zip(completions, references).count { completion, reference in
            completion?.text.trimmingCharacters(in: .whitespacesAndNewlines) == reference
        }
        return Result(matches: matches, examples: pairs.count)
    }
}
