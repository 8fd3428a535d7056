import Training

extension RunSetup {
    /// A prepared side of the data shorter than one training window, said of the corpus files the user gave rather
    /// than of the token file made from them: "--corpus: the training part of a.txt is 12 tokens, ...", or with
    /// held-out files "--val-corpus: v1.txt, v2.txt are together 14 tokens, ...". `checkpointContext`: the context an
    /// --init-from run takes from its checkpoint (then --context is no way out).
    static func corpusTooShort(validation: Bool, tokens: Int, needed: Int, data: DataOptions, checkpointContext: Int?) -> Error {
        let held = data.valCorpora
        let corpora = data.corpora.isEmpty ? [DefaultCorpus.path] : data.corpora
        let subject: String
        if held.isEmpty {   // both parts are cut from the corpus
            subject = "the " + (validation ? "validation part (the last --val-fraction)" : "training part") + " of "
                + corpora.joined(separator: ", ") + " is"
        } else {            // each side is a set of whole files
            let files = validation ? held : corpora
            subject = files.joined(separator: ", ") + (files.count == 1 ? " is" : " are together")
        }
        return TrainingError.invalidOption(option: validation && !held.isEmpty ? "--val-corpus" : "--corpus",
            message: "\(subject) \(tokens) tokens, shorter than one training window (\(needed) tokens: --context + 1); "
                + "use a longer \(validation && !held.isEmpty ? "validation text" : "corpus")"
                + (checkpointContext.map { " (the context is the checkpoint's, \($0))" } ?? " or a smaller --context"))
    }
}
