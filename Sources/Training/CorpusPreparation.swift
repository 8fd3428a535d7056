import Foundation
import GPT
import Tokenizer

/// Turns corpus files into what pretraining reads: DIR/tokenizer.model, DIR/train.npy, DIR/val.npy and
/// DIR/manifest.json.
///
/// The files are encoded in order with the end-of-sequence id between them, and the last `valFraction` of
/// the tokens becomes the validation set (as nanoGPT splits Shakespeare), or, with `valCorpora`, those files
/// (joined the same way) are the validation set and every corpus file is trained on. Everything is written into a
/// temporary directory beside DIR and moved into place only when complete, so an error leaves nothing
/// partial. A second run on unchanged corpora with the same settings reuses the output.
public struct CorpusPreparation {
    public var corpora: [String]
    /// Training settings for a new tokenizer (ignored when `existingTokenizer` is given).
    public var tokenizerOptions = TokenizerTrainingOptions()
    /// A .model file to use instead of training one.
    public var existingTokenizer: String?
    public var valFraction = 0.1
    /// Held-out files for val.npy in place of the last `valFraction` of the corpora (which is then not used).
    /// The tokenizer is trained on `corpora` only, as it would be on text it has not seen.
    public var valCorpora: [String] = []
    public var outputDirectory: String
    public var overwrite = false
    /// Threads for encoding (and tokenizer training).
    public var threads = 2
    /// Progress messages (one line each).
    public var log: (String) -> Void = { _ in }

    public init(corpora: [String], outputDirectory: String) {
        self.corpora = corpora
        self.outputDirectory = outputDirectory
    }

    public struct Result: Sendable {
        public var outputDirectory: String
        /// True when an earlier run's output was reused.
        public var reused: Bool
        public var manifest: PreparationManifest
        public var tokenizerPath: String { outputDirectory + "/tokenizer.model" }
        public var trainPath: String { outputDirectory + "/train.npy" }
        public var valPath: String { outputDirectory + "/val.npy" }
        /// Seconds spent encoding (0 when reused).
        public var encodeSeconds: Double
    }

    public static let outputFiles = ["tokenizer.model", "train.npy", "val.npy", PreparationManifest.fileName]

    public func run() throws -> Result {
        guard !corpora.isEmpty else { throw PreparationError.noCorpus }
        guard valFraction >= 0 && valFraction < 1 else { throw PreparationError.invalidValFraction(valFraction) }
        let heldOut = !valCorpora.isEmpty
        if existingTokenizer == nil { try tokenizerOptions.validate() }

        var summaries: [PreparationManifest.Corpus] = []
        var trainableLines = 0
        var nulBytes: [(path: String, count: Int)] = []   // of the files that hold any
        var spaceMarks: [(path: String, count: Int)] = []   // likewise
        // Of the corpora that hold any; `mac`: more "\r" alone than "\n", so the lines end in "\r" (classic Mac OS).
        var longLines: [(path: String, count: Int, mac: Bool)] = []
        for path in corpora {
            let summary = try InputFile.scanCorpus(path)
            summaries.append(.init(path, summary))
            trainableLines += summary.trainableLines
            if summary.nulBytes > 0 { nulBytes.append((path, summary.nulBytes)) }
            if summary.spaceMarks > 0 { spaceMarks.append((path, summary.spaceMarks)) }
            if summary.longLines > 0 { longLines.append((path, summary.longLines, summary.loneCarriageReturns > summary.lines)) }
            let same = summaries.dropLast().filter { $0.sameText(as: summaries.last!) }
            if same.count == 1, let earlier = same.first {   // (once per text, however often it is given)
                log("warning: " + (earlier.path == path ? "\(path) is given twice" : "\(path) holds the same text as \(earlier.path)")
                    + "; its text is trained on twice" + (heldOut ? "" : " (and when it is the last file, the validation part "
                    + "also lies in the training part)"))
            }
        }
        var valSummaries: [PreparationManifest.Corpus] = []
        for path in valCorpora {
            let scanned = try InputFile.scanCorpus(path)
            if scanned.nulBytes > 0 { nulBytes.append((path, scanned.nulBytes)) }
            if scanned.spaceMarks > 0 { spaceMarks.append((path, scanned.spaceMarks)) }
            let summary = PreparationManifest.Corpus(path, scanned)
            let earlier = valSummaries.filter { $0.sameText(as: summary) }
            valSummaries.append(summary)
            if let first = earlier.first {   // warned about once per text
                if earlier.count == 1 {
                    log("warning: the validation file " + (first.path == path ? "\(path) is given twice" : "\(path) holds the same "
                        + "text as \(first.path)") + "; its text is validated on twice")
                }
            } else if let trained = summaries.first(where: { $0.sameText(as: summary) }) {
                log("warning: the validation file \(path) " + (trained.path == path ? "is also a corpus file" : "holds the same text as \(trained.path)")
                    + ", which is trained on; its validation loss will not say how the model does on unseen text")
            }
        }
        if existingTokenizer == nil && trainableLines == 0 {
            if let binary = nulBytes.first(where: { corpora.contains($0.path) }) {
                throw TokenizerError.binaryCorpus(path: binary.path, nulBytes: binary.count)
            }
            if let mac = longLines.first(where: \.mac) { throw TokenizerError.carriageReturnLineBreaks(path: mac.path) }
            throw TokenizerError.noTrainableLines(corpus: corpora.joined(separator: ", "))
        }
        var settings = PreparationManifest.Settings(tokenizer: nil, existingTokenizerHash: nil, valFraction: heldOut ? nil : valFraction)
        if let existingTokenizer {
            settings.existingTokenizerHash = try InputFile.contentHash(of: existingTokenizer)
        } else {
            var options = tokenizerOptions
            options.threads = 0          // does not change the result
            options.verbose = false
            settings.tokenizer = options
        }

        let fileManager = FileManager.default
        let out = URL(fileURLWithPath: outputDirectory)
        let parent = out.deletingLastPathComponent().path
        let stem = "." + out.lastPathComponent + ".prepare-"
        AbandonedTemporaries.remove(in: parent, prefix: stem)   // of preparations stopped or killed earlier

        // Never into a checkpoint, nor into a run that trains now (in --out itself, or in its parent: RUN/data).
        if [Checkpoint.configFileName, Checkpoint.modelFileName].contains(where: { fileManager.fileExists(atPath: outputDirectory + "/" + $0) }) {
            throw PreparationError.outputIsACheckpoint(path: outputDirectory)
        }
        for run in [outputDirectory, parent] where RunDirectory(path: run).isLockedElsewhere {
            throw PreparationError.outputInLiveRun(path: outputDirectory, run: run)
        }
        if let reused = try reusableOutput(corpora: summaries, valCorpora: heldOut ? valSummaries : nil, settings: settings) {
            return reused
        }

        do {
            try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            // Name what is in the way: a file where a directory of the path belongs.
            var ancestor = URL(fileURLWithPath: parent)
            var isDirectory: ObjCBool = false
            while ancestor.path != "/" && !fileManager.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
                ancestor.deleteLastPathComponent()
            }
            if !isDirectory.boolValue { throw PreparationError.outputNotADirectory(path: ancestor.path) }
            throw PreparationError.writeFailed(path: parent, reason: "cannot create the directory")
        }
        // Before the (slow) work: the output goes into the parent, and into --out itself when it exists.
        for directory in [parent] + (fileManager.fileExists(atPath: outputDirectory) ? [outputDirectory] : [])
        where access(directory, W_OK) != 0 {
            throw PreparationError.writeFailed(path: directory, reason: String(cString: strerror(errno)))
        }
        let temporary = parent + "/" + stem + AbandonedTemporaries.newSuffix()
        guard mkdir(temporary, 0o755) == 0 else {
            throw PreparationError.writeFailed(path: temporary, reason: String(cString: strerror(errno)))
        }
        let lock = AbandonedTemporaries.hold(temporary)   // tells a later preparation that this one is alive
        var installed = false
        defer {
            if !installed { try? fileManager.removeItem(atPath: temporary) }
            AbandonedTemporaries.release(lock)
        }

        // 1. The tokenizer.
        let modelPath = temporary + "/tokenizer.model"
        let tokenizer: SentencePieceTokenizer
        if let existingTokenizer {
            let loaded = try SentencePieceTokenizer(contentsOf: existingTokenizer)
            do { try fileManager.copyItem(atPath: existingTokenizer, toPath: modelPath) } catch {
                throw PreparationError.writeFailed(path: outputDirectory + "/tokenizer.model", reason: "cannot copy the tokenizer")
            }
            tokenizer = loaded
            log("using tokenizer \(existingTokenizer) (\(tokenizer.vocabularySize) pieces)")
        } else {
            var options = tokenizerOptions
            options.threads = threads
            // A char model has one piece a character of the corpus: the size is a bound, not a target.
            let size = options.modelType == .char ? "at most \(options.vocabularySize)" : "\(options.vocabularySize)"
            // SentencePiece skips longer lines without a word: the tokenizer learns nothing from them.
            for (path, count, mac) in longLines {
                log("warning: \(path): \(count) line\(count == 1 ? " is" : "s are") longer than \(InputFile.maxTrainingLineBytes) "
                    + "bytes, which SentencePiece leaves out of the tokenizer's training (they are encoded all the same)"
                    + (mac ? "; its lines end in a carriage return alone (\\r, as classic Mac OS wrote them): convert them to \\n" : ""))
            }
            log("training a \(options.modelType.rawValue) tokenizer with \(size) pieces on \(corpora.count) file\(corpora.count == 1 ? "" : "s")")
            tokenizer = try SentencePieceTokenizer.trainChecked(files: corpora, modelPath: modelPath, options: options)
        }
        if tokenizer.newlineId == nil { throw TokenizerError.cannotRepresentLineBreaks(model: existingTokenizer ?? modelPath) }
        if (corpora.count > 1 || valCorpora.count > 1) && tokenizer.eosId == nil {
            throw PreparationError.noEndOfSequenceId(tokenizer: existingTokenizer ?? modelPath)
        }

        // 2. Encode every corpus into train.npy, EOS between files; then move the tail into val.npy, or encode the
        //    validation files into it.
        let dtype = TokenDType.fitting(vocabularySize: tokenizer.vocabularySize)
        let train = try TokenFileWriter(path: temporary + "/train.npy", dtype: dtype, shownAs: outputDirectory + "/train.npy")
        let val = try TokenFileWriter(path: temporary + "/val.npy", dtype: dtype, shownAs: outputDirectory + "/val.npy")
        let encoder = CorpusEncoder(tokenizer: tokenizer, threads: threads)
        let unknownId = tokenizer.unknownId
        var unknown = 0
        // A word model spells the words it did not keep in byte pieces, whose decoding loses the spaces around them.
        let spellsWordsInBytes = existingTokenizer == nil && tokenizerOptions.modelType == .word && tokenizerOptions.byteFallback
        var bytePieces = 0
        let started = Date()
        func encode(_ files: [PreparationManifest.Corpus], into writer: TokenFileWriter) throws {
            for (index, file) in files.enumerated() {
                if index > 0, let eos = tokenizer.eosId { try writer.append([eos]) }
                let statistics = try encoder.encode(file: file.path) { ids in
                    for id in ids where id == unknownId { unknown += 1 }
                    if spellsWordsInBytes { for id in ids where tokenizer.isByte(id) { bytePieces += 1 } }
                    try writer.append(ids)
                }
                guard file.isUnchanged(encodedBytes: statistics.bytes) else {
                    throw PreparationError.changedWhilePreparing(path: file.path)
                }
                log("encoded \(file.path): \(statistics.bytes) bytes -> \(statistics.tokens) tokens")
            }
        }
        try encode(summaries, into: train)
        let unknownInCorpora = unknown
        try encode(valSummaries, into: val)
        let encodeSeconds = Date().timeIntervalSince(started)
        let total = train.count + val.count
        let trainCount = heldOut ? train.count : Int(Double(total) * (1 - valFraction))
        if trainCount == 0 { throw PreparationError.emptyTrainingPart(corpora: corpora, tokens: total, valFraction: valFraction) }
        if !heldOut { try train.moveTail(after: trainCount, to: val) }
        try train.finish()
        try val.finish()
        if unknown > 0 {
            // Byte fallback does not make a word model exact (its decoded bytes lose the spaces around them).
            let advice = existingTokenizer.map { "\($0) has no byte fallback to spell the characters it lacks" }
                ?? (tokenizerOptions.modelType == .word
                    ? "a word model cannot spell the words it did not keep: use --tokenizer-type bpe or unigram for exact text"
                    : byteFallbackAdvice)
            // The tokenizer learns from the corpus only: a character that only the validation files hold is unknown.
            let inValidation = unknown - unknownInCorpora
            let text: String
            switch inValidation {
            case 0: text = "the corpus"
            case unknown: text = "the validation files" + (existingTokenizer == nil
                ? " (characters the corpus lacks, so the tokenizer never learnt them)" : "")
            default: text = "the corpus and the validation files (\(inValidation) of them in the validation files)"
            }
            // NUL bytes are read as unknown characters (a run of them as one): say which files hold them.
            let nuls = nulBytes.isEmpty ? "" : " (" + nulBytes.map { "\($0.path) holds \($0.count) NUL byte\($0.count == 1 ? "" : "s")" }
                .joined(separator: ", ") + ", which no text does: remove them)"
            log("warning: \(unknown) \(unknown == 1 ? "token is" : "tokens are") unknown (<unk>)\(nuls), so decoding will not "
                + "give back \(text) exactly; \(advice)")
        } else if bytePieces > 0 {
            log("warning: a word model spells the words it did not keep as bytes (\(bytePieces) byte piece\(bytePieces == 1 ? "" : "s") "
                + "here), and their decoding loses the spaces around them (they come back as \u{2581}), so decoding will "
                + "not give back the text exactly; use --tokenizer-type bpe or unigram for exact text")
        }
        // SentencePiece writes a space as "▁" and decodes every "▁" as a space: the text's own come back as spaces.
        if !spaceMarks.isEmpty, try tokenizer.decode(tokenizer.encode("\u{2581}")) != "\u{2581}" {
            for (path, count) in spaceMarks {
                log("warning: \(path) holds \(count) \u{2581} (U+2581, the mark SentencePiece writes for a space), which "
                    + "decode\(count == 1 ? "s" : "") as \(count == 1 ? "a space" : "spaces"), so decoding will not give back its text exactly")
            }
        }

        var manifest = PreparationManifest(corpora: summaries, settings: settings,
                                           vocabularySize: tokenizer.vocabularySize, dtype: dtype,
                                           trainTokens: trainCount, valTokens: total - trainCount,
                                           unknownTokens: unknown)
        manifest.valCorpora = heldOut ? valSummaries : nil
        manifest.outputFingerprints = .of(directory: temporary)
        do {
            try manifest.encoded().write(to: URL(fileURLWithPath: temporary + "/" + PreparationManifest.fileName))
        } catch {
            throw PreparationError.writeFailed(path: outputDirectory + "/" + PreparationManifest.fileName, reason: "cannot write the manifest")
        }

        // 3. Move into place: the whole directory when it is new, else file by file with the manifest last
        //    (an old manifest is removed first, so a half-replaced directory is never taken as reusable).
        if !fileManager.fileExists(atPath: outputDirectory) {
            guard rename(temporary, outputDirectory) == 0 else {
                throw PreparationError.writeFailed(path: outputDirectory, reason: String(cString: strerror(errno)))
            }
        } else {
            unlink(outputDirectory + "/" + PreparationManifest.fileName)
            for name in Self.outputFiles {
                guard rename(temporary + "/" + name, outputDirectory + "/" + name) == 0 else {
                    throw PreparationError.writeFailed(path: outputDirectory + "/" + name, reason: String(cString: strerror(errno)))
                }
            }
            rmdir(temporary)
        }
        installed = true
        return Result(outputDirectory: outputDirectory, reused: false, manifest: manifest, encodeSeconds: encodeSeconds)
    }

    /// How to spell the characters a trained tokenizer lacks: byte fallback, with a vocabulary that has room for
    /// its 256 byte pieces beside the reserved ones and at least one piece of text (a char model's too-small
    /// --vocab-size, which is what left characters out, got advice that the tokenizer options then refused).
    private var byteFallbackAdvice: String {
        var options = tokenizerOptions
        options.byteFallback = true
        let least = options.reservedPieceCount + 1
        return options.vocabularySize >= least ? "use --byte-fallback"
            : "use a larger --vocab-size, or --byte-fallback with --vocab-size \(least) or more"
    }

    /// The earlier output when it was made from the same inputs; nil when there is nothing there (or it may be
    /// overwritten); throws when the directory holds something else and `overwrite` is off.
    private func reusableOutput(corpora: [PreparationManifest.Corpus], valCorpora: [PreparationManifest.Corpus]?,
                                settings: PreparationManifest.Settings) throws -> Result? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outputDirectory, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else { throw PreparationError.outputNotADirectory(path: outputDirectory) }
        let contents = ((try? FileManager.default.contentsOfDirectory(atPath: outputDirectory)) ?? []).sorted()
        if contents.isEmpty { return nil }

        var wanted = PreparationManifest(corpora: corpora, settings: settings, vocabularySize: 0, dtype: .uint16,
                                         trainTokens: 0, valTokens: 0, unknownTokens: 0)
        wanted.valCorpora = valCorpora
        if let existing = PreparationManifest.read(from: outputDirectory + "/" + PreparationManifest.fileName) {
            if existing.describesSameInput(as: wanted), outputsIntact(existing) {
                return Result(outputDirectory: outputDirectory, reused: true, manifest: existing, encodeSeconds: 0)
            }
            if overwrite { return nil }
            let reason = existing.describesSameInput(as: wanted) ? "an incomplete or damaged preparation"
                : "a preparation of other input (\(existing.inputDifferences(from: wanted).joined(separator: "; ")))"
            throw PreparationError.outputHasOtherContents(path: outputDirectory, reason: reason)
        }
        if overwrite { return nil }
        let listed = contents.prefix(3).joined(separator: ", ") + (contents.count > 3 ? ", ..." : "")
        throw PreparationError.outputHasOtherContents(path: outputDirectory, reason: "other files (\(listed))")
    }

    /// The token files exist with the recorded counts and the tokenizer loads with the recorded size; and when
    /// the manifest holds the outputs' fingerprints, they are unchanged (an edited train.npy has the same count).
    private func outputsIntact(_ manifest: PreparationManifest) -> Bool {
        guard let train = try? TokenFile(path: outputDirectory + "/train.npy"),
              let val = try? TokenFile(path: outputDirectory + "/val.npy"),
              let tokenizer = try? SentencePieceTokenizer(contentsOf: outputDirectory + "/tokenizer.model")
        else { return false }
        guard train.count == manifest.trainTokens && val.count == manifest.valTokens
            && tokenizer.vocabularySize == manifest.vocabularySize else { return false }
        return manifest.outputFingerprints.map { $0 == .of(directory: outputDirectory) } ?? true
    }
}
