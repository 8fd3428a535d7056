/// Problems `prepare` finds with its own arguments or output directory (tokenizer and file problems come as
/// `TokenizerError` and `TokenFileError`).
public enum PreparationError: Error, CustomStringConvertible, Equatable {
    case noCorpus
    case invalidValFraction(Double)
    case outputNotADirectory(path: String)
    case outputHasOtherContents(path: String, reason: String)
    /// --out is a checkpoint (its tokenizer.model is the model's own).
    case outputIsACheckpoint(path: String)
    /// --out is, or is inside, a run directory that a run is training in now.
    case outputInLiveRun(path: String, run: String)
    case noEndOfSequenceId(tokenizer: String)
    case writeFailed(path: String, reason: String)
    /// The split leaves the training part without a token.
    case emptyTrainingPart(corpora: [String], tokens: Int, valFraction: Double)
    /// A corpus file written to between its scan and the end of its encoding.
    case changedWhilePreparing(path: String)
    /// A prepared directory's manifest.json that does not decode.
    case unreadableManifest(path: String)
    /// A prepared file whose contents are not those its directory's manifest.json records.
    case changedSincePreparation(path: String)
    /// A prepared file its directory's manifest.json records, gone.
    case missingSincePreparation(path: String)

    public var description: String {
        switch self {
        case .noCorpus: return "no corpus given: pass --corpus FILE"
        case .invalidValFraction(let f): return "--val-fraction must be at least 0 and below 1 (got \(f))"
        case .outputNotADirectory(let path): return "\(path): exists and is not a directory"
        case .outputHasOtherContents(let path, let reason):
            return "\(path): the output directory already holds \(reason); pass --overwrite to replace it, or choose another --out"
        case .outputIsACheckpoint(let path):
            return "\(path): the output directory is a checkpoint (it holds config.json or model.safetensors), whose "
                + "tokenizer.model belongs to its model; choose another --out (even --overwrite does not write there)"
        case let .outputInLiveRun(path, run):
            return "\(path): a run is training in \(run) now, and its checkpoints take their tokenizer from its data; "
                + "wait for it to stop, or choose another --out"
        case .noEndOfSequenceId(let tokenizer):
            return "\(tokenizer): the tokenizer has no end-of-sequence id to put between files"
        case .writeFailed(let path, let reason): return "\(path): cannot write (\(reason))"
        case .emptyTrainingPart(let corpora, let tokens, let fraction):
            return "\(corpora.joined(separator: ", ")): --val-fraction \(fraction) leaves no token of the corpus's \(tokens) "
                + "for training; use a smaller one or a longer corpus"
        case .changedWhilePreparing(let path):
            return "\(path): changed while it was being prepared (something wrote to it), so its tokens would not be the "
                + "text scanned; prepare again once it no longer changes"
        case .unreadableManifest(let path):
            return "\(path): not a manifest `pretrain prepare` wrote (it does not parse); prepare the data again, or remove the file to use the others as they are"
        case .changedSincePreparation(let path):
            return "\(path): not the file `pretrain prepare` wrote (manifest.json records another fingerprint); "
                + "prepare the data again, or remove manifest.json to use the files as they are"
        case .missingSincePreparation(let path):
            return "\(path): missing, though manifest.json records it; prepare the data again, or remove manifest.json "
                + "to use the other files as they are"
        }
    }
}
