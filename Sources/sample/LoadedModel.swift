import Foundation
import Generation
import GPT
import TerminalUI
import Training

/// A checkpoint ready to generate from: the model, its tokenizer and the generator over them.
struct LoadedModel {
    let directory: String
    let generator: TextGenerator
    /// A completion checkpoint's prompt layout (from `finetune`: config.json swiftlet.notes.prompt_template,
    /// "{prompt}" standing for the user's prompt), or nil for a plain language model.
    let template: String?

    static let templateNoteKey = "prompt_template"
    static let placeholder = "{prompt}"

    /// The text the model is given for a user's prompt.
    func layout(_ prompt: String) -> String {
        guard let template else { return prompt }
        return template.replacingOccurrences(of: Self.placeholder, with: prompt)
    }

    /// The prompt a --prompt-file's text stands for: the whole text for a plain language model (whose text may
    /// well continue after a line break), and without its final line break for a completion checkpoint, whose
    /// template wraps the prompt as `finetune` trained it (prompts without one; an editor or `echo` leaves one).
    func prompt(fromFile text: String) -> String {
        guard template != nil, text.last == "\n" || text.last == "\r\n" else { return text }   // ("\r\n": one Character)
        return String(text.dropLast())
    }

    /// `path` is a checkpoint directory or a run directory (its best/ checkpoint, else latest/).
    /// Errors name the checkpoint and what is wrong with it.
    static func load(path: String, maxBatch: Int, weights: DecoderWeights) throws -> LoadedModel {
        let directory = try RunDirectory.resolveCheckpoint(path, prefer: .best)
        if try ClassifierCheckpoint.readClassifierConfig(directory: directory) != nil {
            throw UserError("\(directory): a classification checkpoint (finetune --task classify) cannot generate text; label texts with finetune predict")
        }
        let checkpoint = try Checkpoint.load(from: directory, includeTrainingState: false)
        let tokenizer = try CheckpointTokenizer.open(checkpoint: directory, modelVocabularySize: checkpoint.model.config.vocabSize)
        let generator = try TextGenerator(model: checkpoint.model, tokenizer: tokenizer, maxBatch: maxBatch, weights: weights)
        var template: String?
        if let note = checkpoint.hfConfig.swiftlet?.notes[templateNoteKey] {
            guard note.components(separatedBy: placeholder).count == 2 else {
                throw UserError("\(directory)/config.json: the prompt template must contain \(placeholder) exactly once (got \(String(reflecting: note)))")
            }
            template = note
        }
        return LoadedModel(directory: directory, generator: generator, template: template)
    }
}
