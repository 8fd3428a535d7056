import ArgumentParser
import Sampling

/// The sampling flags shared by every mode.
struct SamplingOptions: ParsableArguments {
    @Option(help: "Softmax temperature; 0 is greedy.")
    var temperature: Float = 1
    @Option(name: .customLong("top-k"), help: "Keep the k most probable tokens (0: off).")
    var topK: Int = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling: keep the most probable tokens up to this mass (1: off).")
    var topP: Float = 0.9
    @Option(name: .customLong("min-p"), help: "Keep tokens at least this fraction as probable as the best (0: off).")
    var minP: Float = 0
    @Option(name: .customLong("repetition-penalty"),
            help: "Penalty for tokens in the context window (1: off): a positive logit is divided by it, a negative one multiplied (CTRL's, as transformers'). Applied before the temperature, top-k, top-p and min-p, in that order.")
    var repetitionPenalty: Float = 1
    @Option(name: .customLong("max-tokens"), help: "Maximum new tokens per answer.")
    var maxTokens: Int = 256
    @Option(help: "Random seed (default: a random one, printed on stderr, or in batch mode in the output).")
    var seed: UInt64?
    @Option(name: .customLong("stop"), help: "Stop when the text contains this string (repeatable; never printed).")
    var stopStrings: [String] = []

    /// Each value on its own (a usage error: exit status 64 with "see 'sample --help'", before the checkpoint is read).
    func validate() throws {
        do { try settings.validate() } catch let error as SamplingSettingsError {
            // The messages name the setting as the interactive /commands do; here they name the option.
            throw ValidationError(error.message.hasPrefix("a stop string") ? "--stop: \(error.message)" : "--\(error.message)")
        }
    }

    var settings: SamplingSettings {
        SamplingSettings(temperature: temperature, topK: topK, topP: topP, minP: minP,
                         repetitionPenalty: repetitionPenalty, maxNewTokens: maxTokens, seed: seed,
                         stopStrings: stopStrings)
    }
}
