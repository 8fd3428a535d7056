/// What went wrong with a tokenizer, a model file or a corpus. `description` is one line that names the file
/// (where there is one) and what is wrong with it; the executables print it after "error: ".
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case fileNotFound(path: String)
    case notAFile(path: String)
    /// A pipe, a device or a socket given as a corpus, which is read several times.
    case notARegularFile(path: String)
    /// A device given as a text to encode once (`pretrain evaluate --corpus`).
    case notARegularInput(path: String)
    case unreadable(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
    case emptyFile(path: String)
    case invalidUTF8(path: String, line: Int, byteOffset: Int)
    /// A file that starts with a UTF-16 or UTF-32 byte-order mark (`encoding` names which): text, but not UTF-8.
    case notUTF8(path: String, encoding: String)
    case corruptModel(path: String, reason: String)
    /// The corpus cannot support this many pieces; `maximum` is the largest size SentencePiece said it can.
    case vocabularyTooLarge(corpus: String, requested: Int, maximum: Int)
    /// Every character of the corpus (at the character coverage) needs a piece: `minimum` is SentencePiece's count
    /// of those plus the reserved pieces.
    case vocabularyTooSmall(corpus: String, requested: Int, minimum: Int)
    case trainingFailed(corpus: String, reason: String)
    case noTrainableLines(corpus: String)
    /// No line to train on, in a corpus of NUL bytes: a binary file (or one of zeros) more likely than long lines.
    case binaryCorpus(path: String, nulBytes: Int)
    /// No line to train on, in a corpus whose lines end in "\r" alone (classic Mac OS): SentencePiece reads it as one line.
    case carriageReturnLineBreaks(path: String)
    case encodingFailed(reason: String)
    case idOutOfRange(id: Int32, vocabularySize: Int)
    /// A line of ids or pieces to decode holds something that is not one.
    case invalidTokens(path: String, line: Int, reason: String)
    /// The model has neither a "\n" piece nor byte fallback, so text with line breaks cannot round-trip.
    case cannotRepresentLineBreaks(model: String)
    case invalidOption(String)

    public var description: String {
        switch self {
        case .fileNotFound(let path): return "\(path): no such file"
        case .notAFile(let path): return "\(path): is a directory, not a file"
        case .notARegularFile(let path):
            return "\(path): is a pipe or a device, not a regular file; a corpus is read several times (to scan it, "
                + "train the tokenizer and encode it): save it to a file first"
        case .notARegularInput(let path):
            return "\(path): is a device, not a text file (one like /dev/zero never ends); give a file or a pipe"
        case .unreadable(let path, let reason): return "\(path): cannot be read (\(reason))"
        case .cannotWrite(let path, let reason): return "\(path): cannot be written (\(reason))"
        case .emptyFile(let path): return "\(path): the file is empty"
        case .invalidUTF8(let path, let line, let offset):
            return "\(path): line \(line) is not valid UTF-8 (bad byte at offset \(offset)); the text must be UTF-8"
        case let .notUTF8(path, encoding):
            return "\(path): \(encoding) text (it starts with a \(encoding) byte-order mark), and the text must be UTF-8; "
                + "convert it first: iconv -f \(encoding) -t UTF-8 \(path) > converted.txt"
        case .corruptModel(let path, let reason):
            return "\(path): not a valid SentencePiece model (\(reason))"
        case .vocabularyTooLarge(let corpus, let requested, let maximum):
            return "\(corpus): a vocabulary of \(requested) pieces is larger than this corpus supports; the largest is \(maximum) (use --vocab-size \(maximum) or less)"
        case .vocabularyTooSmall(let corpus, let requested, let minimum):
            return "\(corpus): a vocabulary of \(requested) pieces is too small for this corpus; the smallest is \(minimum), a piece for each of its characters and the special pieces (use --vocab-size \(minimum) or more, or prepare with pretrain prepare --character-coverage below 1)"
        case .trainingFailed(let corpus, let reason): return "\(corpus): tokenizer training failed (\(reason))"
        case .noTrainableLines(let corpus):
            return "\(corpus): no line is 1 to \(InputFile.maxTrainingLineBytes) bytes long, and SentencePiece trains a "
                + "tokenizer on such lines only (break the text into lines)"
        case let .binaryCorpus(path, nulBytes):
            return "\(path): no line of text to train a tokenizer on, and \(nulBytes) NUL bytes, which no text holds: a "
                + "binary file? The corpus must be UTF-8 text"
        case .carriageReturnLineBreaks(let path):
            return "\(path): no line is 1 to \(InputFile.maxTrainingLineBytes) bytes long, and SentencePiece trains a tokenizer "
                + "on such lines only: the lines end in a carriage return alone (\\r, as classic Mac OS wrote them), which is no "
                + "line break to it; convert them to \\n first (tr '\\r' '\\n')"
        case .encodingFailed(let reason): return "encoding failed (\(reason))"
        case .idOutOfRange(let id, let size): return "token id \(id) is outside the vocabulary (size \(size))"
        case .invalidTokens(let path, let line, let reason): return "\(path): line \(line): \(reason)"
        case .cannotRepresentLineBreaks(let model):
            return "\(model): the tokenizer has no piece for a line break (\"\\n\") and no byte fallback, so line breaks would be lost; train it with Swiftlet or with --user_defined_symbols containing a newline"
        case .invalidOption(let message): return message
        }
    }
}
