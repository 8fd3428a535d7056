import Foundation
import GPT
import Kernels
import TerminalUI
import Tokenizer
import Training

/// A text for `pretrain evaluate`: a corpus file (encoded with the checkpoint's tokenizer) or a prepared token file.
enum EvaluationInput {
    case corpus(path: String)
    case tokens(data: String, shownAs: String, split: String)

    var name: String {
        switch self {
        case let .corpus(path): return path
        case let .tokens(_, shownAs, split): return (shownAs.hasSuffix("/") ? shownAs : shownAs + "/") + split + ".npy"
        }
    }

    /// An input's tokens and the UTF-8 bytes of the text they stand for.
    struct Text {
        let name: String
        let tokens: [Int32]
        let bytes: Int
    }

    /// The tokens, and the bytes: a corpus file's size; for a token file, the sizes of the files it was made of
    /// when its preparation used whole files on each side (`--val-corpus`), else its decoded length (Swiftlet's
    /// tokenizers decode to the text they encoded, except that an `<unk>` decodes to " ⁇ ").
    func load(_ tokenizer: SentencePieceTokenizer) throws -> Text {
        switch self {
        case let .corpus(path):
            var tokens: [Int32] = []
            let statistics = try CorpusEncoder(tokenizer: tokenizer, threads: ThreadPool.shared.threadCount)
                .encode(file: path) { tokens.append(contentsOf: $0) }
            return Text(name: name, tokens: tokens, bytes: statistics.bytes)
        case let .tokens(data, shownAs, split):
            let path = data + "/\(split).npy"
            // (A link that leads nowhere is not "no file": TokenFile names what is wrong with it below.)
            if !FileManager.default.fileExists(atPath: path),
               (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil {
                let checkpoint = Checkpoint.isCheckpoint(data)
                throw UserError("\(shownAs) holds no \(split).npy" + (checkpoint ? ": it is a checkpoint, not prepared data "
                    + "(pretrain prepare makes that; give the checkpoint as --checkpoint)" : ""))
            }
            // The tokenizer must be the one the preparation wrote (manifest.json's fingerprint): ids another tokenizer
            // of the same size made, the checkpoint's tokenizer.model put in its place, read as the wrong pieces.
            // (Token files edited since are evaluated as they are.)
            try PreparationManifest.checkOutputs(in: data, files: ["tokenizer.model"])
            let prepared = try SentencePieceTokenizer(contentsOf: data + "/tokenizer.model")
            guard prepared.hasSameVocabulary(as: tokenizer) else {
                throw UserError("\(shownAs) was prepared with another tokenizer than the checkpoint's (its ids stand for "
                    + "other pieces); evaluate its text with --corpus instead")
            }
            let file = try TokenFile(path: path)
            try file.requireIds(below: tokenizer.vocabularySize)
            let tokens = file.allTokens()
            if let manifest = PreparationManifest.read(from: data + "/" + PreparationManifest.fileName),
               let held = manifest.valCorpora, let written = manifest.outputFingerprints,
               file.fingerprint == (split == "val" ? written.val : written.train) {
                return Text(name: name, tokens: tokens, bytes: (split == "val" ? held : manifest.corpora).reduce(0) { $0 + $1.bytes })
            }
            return Text(name: name, tokens: tokens, bytes: try tokenizer.decodeToBytes(tokens).count)
        }
    }

    static func fineTuned(_ directory: String) -> UserError {
        UserError("\(directory) was fine-tuned (finetune evaluate measures it on its labelled data or prompt/completion "
            + "pairs); give --corpus FILE or --data DIR")
    }

    /// The prepared data a checkpoint's run trained on, from its training state (found beside the run when it
    /// was prepared there, as --resume finds it), else from config.json's note (a checkpoint saved without its
    /// training state). Named from the working directory when it lies below it (runs record absolute paths).
    static func trainingData(of directory: String, split: String) throws -> EvaluationInput {
        var recorded: String?
        var fingerprint: String?   // of the split's tokens when the run started
        if let state = try Checkpoint.readTrainingState(directory: directory) {
            // (Not `checked`: the record only says where the data is; its training values do not matter here.)
            let record = try RunRecord.decode(state.configuration, path: directory + "/" + Checkpoint.trainingStateFileName,
                                              checked: false)
            if record.task != nil { throw fineTuned(directory) }
            // best/ and latest/ lie in the run directory.
            let run = URL(fileURLWithPath: RunDirectory.absolutePath(directory)).deletingLastPathComponent().path
            recorded = record.dataDirectory(resumingIn: run)
            if let recorded = record.tokenFingerprints, recorded.count == 2 { fingerprint = recorded[split == "train" ? 0 : 1] }
        } else {
            let notes = try Checkpoint.readConfig(directory: directory).hf.swiftlet?.notes ?? [:]
            // A fine-tuned checkpoint's data note names its labelled file (JSONL, CSV, ...), not token files.
            if notes["finetune_task"] != nil { throw fineTuned(directory) }
            recorded = notes["data"]
        }
        guard let recorded else {
            throw UserError("\(directory) does not record the data it was trained on; give --corpus FILE or --data DIR")
        }
        guard FileManager.default.fileExists(atPath: recorded) else {
            throw UserError("\(directory) was trained on \(recorded), which no longer exists; give --corpus FILE or --data DIR")
        }
        // The directory may have been prepared anew since (as the run would refuse on --resume): that is not the
        // text the run trained on, and its figure would say it is.
        let tokens = recorded + "/" + split + ".npy"
        // (A run without validation data recorded "" for it: validation tokens there now are new too.)
        if let fingerprint, FileManager.default.fileExists(atPath: tokens),
           case let file = try TokenFile(path: tokens), fingerprint.isEmpty ? file.count > 0 : file.fingerprint != fingerprint {
            throw UserError("\(tokens) changed since \(directory)'s run started, so it is not the data the run trained on; "
                + "to evaluate it all the same, give --data \(shellQuoted(recorded))")
        }
        let here = FileManager.default.currentDirectoryPath + "/"
        return .tokens(data: recorded, shownAs: recorded.hasPrefix(here) ? String(recorded.dropFirst(here.count)) : recorded,
                       split: split)
    }
}
