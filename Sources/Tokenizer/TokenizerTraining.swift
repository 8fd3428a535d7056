import CSentencePiece
import Foundation

/// How to train a SentencePiece model. The defaults keep text exact: identity normalization, spaces kept as
/// they are, no dummy space in front of a line, every character of the corpus in the vocabulary, and
/// "\n" and "\t" pieces: line breaks survive (SentencePiece itself trains and encodes line by line, so
/// `encode` puts the "\n" id between lines) and so do tabs (which SentencePiece's trainer leaves out of the
/// vocabulary, so they would become <unk>).
public struct TokenizerTrainingOptions: Codable, Equatable, Sendable {
    public enum ModelType: String, Codable, CaseIterable, Sendable { case bpe, unigram, char, word }

    public var modelType: ModelType = .bpe
    /// For `char` an upper bound: the model holds the corpus's characters plus the special pieces.
    public var vocabularySize: Int = 4096
    /// Fraction of characters the vocabulary must cover; the rest become unknown (or bytes with byte fallback).
    public var characterCoverage: Double = 1.0
    /// Spell characters outside the vocabulary as UTF-8 bytes (<0xNN> pieces) instead of the unknown id.
    public var byteFallback: Bool = false
    /// Pieces always kept whole (no commas inside: SentencePiece's flag is a comma-separated list).
    public var userDefinedSymbols: [String] = []
    /// Adds "\n" and "\t" as user-defined pieces (ids 4 and 5 with the default special ids).
    public var whitespacePieces: Bool = true
    public var unknownId: Int = 0
    public var bosId: Int = 1
    public var eosId: Int = 2
    public var padId: Int = 3
    /// At most this many lines (sentences), sampled at random, are used for training; 0 uses all of them.
    public var maximumSentences: Int = 2_000_000
    /// NFKC would change the text (for example full-width letters); identity keeps it byte for byte.
    public var normalization: String = "identity"
    public var threads: Int = 2
    /// Let SentencePiece print its progress on stderr.
    public var verbose: Bool = false

    public init() {}

    public static let maximumVocabularySize = 1 << 30

    /// The user-defined pieces SentencePiece is given: "\n" and "\t" first (with `whitespacePieces`), then
    /// `userDefinedSymbols`.
    var symbols: [String] {
        whitespacePieces ? ["\n", "\t"] + userDefinedSymbols.filter { $0 != "\n" && $0 != "\t" } : userDefinedSymbols
    }

    /// Pieces that hold no text of the corpus: <unk> and the other enabled special ids, the user-defined
    /// pieces, and the 256 byte pieces of byte fallback. A vocabulary needs more than these.
    public var reservedPieceCount: Int { reservedPieces.map(\.count).reduce(0, +) }

    /// The reserved pieces by kind, for `reservedPieceCount` and its error message.
    private var reservedPieces: [(count: Int, kind: String)] {
        [(1 + [bosId, eosId, padId].filter { $0 >= 0 }.count, "special ids"),
         (Set(symbols).count, "user-defined pieces"),
         (byteFallback ? 256 : 0, "byte pieces")].filter { $0.count > 0 }
    }

    /// SentencePiece's training flags for these options (the corpus lines are handed over apart: `spm_train`).
    var flags: [(String, String)] {
        var flags: [(String, String)] = [
            ("model_type", modelType.rawValue),
            ("vocab_size", String(vocabularySize)),
            ("character_coverage", String(characterCoverage)),
            ("byte_fallback", String(byteFallback)),
            ("normalization_rule_name", normalization),
            ("remove_extra_whitespaces", "false"),
            ("add_dummy_prefix", "false"),
            ("unk_id", String(unknownId)), ("bos_id", String(bosId)),
            ("eos_id", String(eosId)), ("pad_id", String(padId)),
            ("num_threads", String(max(1, threads))),
            ("minloglevel", verbose ? "0" : "2"),
        ]
        if maximumSentences > 0 {
            flags.append(("input_sentence_size", String(maximumSentences)))
            flags.append(("shuffle_input_sentence", "true"))
        }
        if !symbols.isEmpty { flags.append(("user_defined_symbols", symbols.joined(separator: ","))) }
        return flags
    }

    /// Throws `TokenizerError.invalidOption` for settings SentencePiece cannot train with.
    public func validate() throws {
        if vocabularySize <= reservedPieceCount {
            let kinds = reservedPieces.map { "\($0.count) \($0.kind)" }.joined(separator: ", ")
            throw TokenizerError.invalidOption("a vocabulary of \(vocabularySize) pieces leaves no room for text: "
                + "\(reservedPieceCount) are reserved (\(kinds)); use --vocab-size \(reservedPieceCount + 1) or more")
        }
        // SentencePiece's own bounds (trainer_interface.cc), checked here so they read as option errors.
        if !(characterCoverage >= 0.98 && characterCoverage <= 1) {
            throw TokenizerError.invalidOption("--character-coverage must be in [0.98, 1] (got \(characterCoverage))")
        }
        // SentencePiece keeps sizes in 32-bit ints, and its unigram trainer's arithmetic overflows from about 2e9
        // (it then runs on without end): 2^30 stays clear of both.
        if vocabularySize > Self.maximumVocabularySize {
            throw TokenizerError.invalidOption("--vocab-size must be at most \(Self.maximumVocabularySize) (got \(vocabularySize))")
        }
        if maximumSentences != 0 && maximumSentences <= 100 {
            throw TokenizerError.invalidOption("--max-sentences must be 0 (all lines) or more than 100 (got \(maximumSentences))")
        }
        if let bad = userDefinedSymbols.first(where: { $0.isEmpty || $0.contains(",") }) {
            throw TokenizerError.invalidOption("user-defined symbol \"\(bad)\" is empty or holds a comma")
        }
    }
}

extension SentencePieceTokenizer {
    /// Trains a model on text files (one sentence a line) and writes it to `modelPath` (a .model file).
    /// Checks every file first (missing, directory, empty, not UTF-8). Nothing is left at `modelPath` on error.
    public static func train(files: [String], modelPath: String,
                             options: TokenizerTrainingOptions = .init()) throws -> SentencePieceTokenizer {
        try options.validate()
        guard !files.isEmpty else { throw TokenizerError.invalidOption("no corpus file given") }
        let summaries = try files.map { try InputFile.scanCorpus($0) }
        if summaries.allSatisfy({ $0.trainableLines == 0 }) {
            throw TokenizerError.noTrainableLines(corpus: files.joined(separator: ", "))
        }
        return try trainChecked(files: files, modelPath: modelPath, options: options)
    }

    /// `train` without the corpus scan, for callers that scanned the files already.
    public static func trainChecked(files: [String], modelPath: String,
                                    options: TokenizerTrainingOptions) throws -> SentencePieceTokenizer {
        try options.validate()
        let corpusName = files.joined(separator: ", ")
        let flags = options.flags
        var error: UnsafeMutablePointer<CChar>?
        var model: UnsafeMutablePointer<CChar>?
        var modelSize = 0
        spm_set_min_log_level(options.verbose ? 0 : 2)
        let status = withCStrings(flags.map(\.0)) { keys in
            withCStrings(flags.map(\.1)) { values in
                withCStrings(files) { paths in
                    spm_train(keys, values, flags.count, paths, files.count, &model, &modelSize, &error)
                }
            }
        }
        defer { free(model) }
        if status != Int32(SPM_OK) {
            throw trainingError(takeMessage(error), corpus: corpusName, requested: options.vocabularySize)
        }
        let bytes = model.map { Data(bytes: $0, count: modelSize) } ?? Data()
        guard FileManager.default.createFile(atPath: modelPath, contents: bytes) else {
            throw TokenizerError.cannotWrite(path: modelPath, reason: String(cString: strerror(errno)))
        }
        return try SentencePieceTokenizer(contentsOf: modelPath)
    }

    /// Turns SentencePiece's status message into a typed error; parses the size limit it states.
    static func trainingError(_ message: String, corpus: String, requested: Int) -> TokenizerError {
        // "Vocabulary size too high (5000). Please set it to a value <= 4559."
        if let range = message.range(of: "Please set it to a value <= ") {
            let digits = message[range.upperBound...].prefix(while: \.isNumber)
            if let maximum = Int(digits) {
                return .vocabularyTooLarge(corpus: corpus, requested: requested, maximum: maximum)
            }
        }
        // "Vocabulary size is smaller than required_chars. 20 vs 70. Increase vocab_size or ..."
        if let range = message.range(of: "smaller than required_chars. "),
           let vs = message[range.upperBound...].range(of: " vs ") {
            let digits = message[vs.upperBound...].prefix(while: \.isNumber)
            if let minimum = Int(digits) {
                return .vocabularyTooSmall(corpus: corpus, requested: requested, minimum: minimum)
            }
        }
        return .trainingFailed(corpus: corpus, reason: message)
    }
}

/// Calls `body` with a C array of C strings that live for the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
