import Foundation
import Generation
import GPT
import TerminalUI
import Tokenizer
import Training

/// `pretrain --init-from`: the checkpoint a new run starts from (its weights, shape and tokenizer; not its AdamW
/// moments, step or schedule, which start afresh).
struct InitialCheckpoint {
    /// The checkpoint directory (a run directory resolves to its best/, else latest/).
    let directory: String
    let model: GPT
    let tokenizer: SentencePieceTokenizer
    /// The preset config.json names, if any.
    let preset: String?
    /// Why a run from it must give --dropout: another tool's dropout rates differ (`HFConfig.dropoutChoiceNeeded`).
    let dropoutChoiceNeeded: String?

    var tokenizerPath: String { directory + "/" + CheckpointTokenizer.fileName }

    /// Errors say "--init-from: <what is wrong with the checkpoint>".
    static func load(_ path: String) throws -> InitialCheckpoint {
        do {
            let directory = try RunDirectory.resolveCheckpoint(path, prefer: .best)
            if try ClassifierCheckpoint.readClassifierConfig(directory: directory) != nil {
                throw UserError("\(directory) is a classification checkpoint (finetune --task classify); a language model "
                    + "starts from a language model's checkpoint")
            }
            let loaded = try Checkpoint.load(from: directory, includeTrainingState: false)
            let tokenizer = try CheckpointTokenizer.open(checkpoint: directory, modelVocabularySize: loaded.model.config.vocabSize)
            return InitialCheckpoint(directory: directory, model: loaded.model, tokenizer: tokenizer,
                                     preset: loaded.hfConfig.swiftlet?.preset,
                                     dropoutChoiceNeeded: loaded.hfConfig.dropoutChoiceNeeded(
                                        path: directory + "/" + Checkpoint.configFileName))
        } catch {
            throw TrainingError.invalidOption(option: "--init-from", message: "\(error)")
        }
    }

    /// Prepared data (`--data`) must hold ids of this tokenizer.
    func checkTokenizer(ofPreparedData data: String, shownAs given: String) throws {
        let prepared = try SentencePieceTokenizer(contentsOf: data + "/" + CheckpointTokenizer.fileName)
        guard prepared.hasSameVocabulary(as: tokenizer) else {
            throw TrainingError.invalidOption(option: "--data", message: "\(given) was prepared with another tokenizer than "
                + "\(directory)'s (its ids would stand for other pieces); prepare the corpus with pretrain prepare --tokenizer "
                + "\(tokenizerPath), or give it as --corpus")
        }
    }
}
