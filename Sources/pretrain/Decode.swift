import TerminalUI
import ArgumentParser
import Foundation
import Tokenizer

/// `pretrain tokenize` backwards: each input line of ids (or pieces) separated by spaces becomes a line of text.
struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the text of every input line of token ids (or pieces), as spm_decode does."
    )

    @Option(help: "A SentencePiece .model file.")
    var tokenizer: String

    @Option(help: "File of ids or pieces, a line for each text, separated by spaces (default: standard input).")
    var input: String?

    @Option(help: "Read ids or pieces.")
    var format: Tokenize.Format = .ids

    func run() throws {
        try reportingErrors {
            let model = try SentencePieceTokenizer(contentsOf: tokenizer)
            let name = input ?? "<stdin>"
            var output: [UInt8] = [], out = StandardOutput()
            try InputLines.forEach(in: input) { lineNumber, offset, raw in
                // A Windows line ending is not part of the last id. (In pieces, a "\r" at the end is the "\r"
                // piece of a tokenizer trained on such text: it stays.)
                let bytes = format == .ids && raw.last == 0x0D ? UnsafeRawBufferPointer(rebasing: raw.dropLast()) : raw
                // A bad line ends the run naming it; the lines before it are printed, as tokenize does.
                func refuse(_ error: TokenizerError) throws -> Never {
                    output.withUnsafeBytes { out.write($0) }
                    try out.finish()
                    throw error
                }
                if let bad = InputFile.firstInvalidUTF8(bytes) {
                    try refuse(.invalidUTF8(path: name, line: lineNumber, byteOffset: offset + bad))
                }
                // Split on U+0020 (and, for ids, tabs) scalar by scalar: as Characters, a space followed by a
                // combining mark is one and would not split. The tab piece is a tab, so pieces split on spaces only.
                var text = String(decoding: bytes, as: UTF8.self)
                // A byte-order mark that an editor put before the first id is no part of it (a piece may hold one).
                if format == .ids && lineNumber == 1 && text.unicodeScalars.first == "\u{FEFF}" {
                    text.unicodeScalars.removeFirst()
                }
                let tokens = text.unicodeScalars
                    .split { $0 == " " || (format == .ids && $0 == "\t") }
                    .map { String(String.UnicodeScalarView($0)) }
                switch format {
                case .ids:
                    var ids: [Int32] = []
                    for token in tokens {
                        let digits = token.hasPrefix("-") ? token.dropFirst() : token[...]
                        guard !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit) else {
                            try refuse(.invalidTokens(path: name, line: lineNumber, reason: "\(String(reflecting: token)) is not a token id"))
                        }
                        guard let id = Int32(token), id >= 0 && Int(id) < model.vocabularySize else {
                            try refuse(.invalidTokens(path: name, line: lineNumber, reason: "\(String(reflecting: token)) is "
                                + "outside the vocabulary (ids 0 to \(model.vocabularySize - 1))"))
                        }
                        ids.append(id)
                    }
                    output += try model.decodeToBytes(ids)
                case .pieces:
                    output += try Self.decode(pieces: tokens, with: model)
                }
                output.append(0x0A)
                if output.count > 1 << 16 { output.withUnsafeBytes { out.write($0) }; output = [] }
            }
            output.withUnsafeBytes { out.write($0) }
            try out.finish()
        }
    }
}

extension Decode {
    /// Pieces back to text as spm_decode does it: the pieces of the vocabulary decode as their ids, and a piece it
    /// lacks (tokenize prints text outside the vocabulary as it is, as spm_encode does) stands for its own text,
    /// with "▁" as a space.
    static func decode(pieces: [String], with model: SentencePieceTokenizer) throws -> [UInt8] {
        var bytes: [UInt8] = [], ids: [Int32] = []
        for piece in pieces {
            if let id = model.id(for: piece) { ids.append(id); continue }
            bytes += try model.decodeToBytes(ids)
            ids = []
            bytes += Array(piece.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
        }
        return bytes + (try model.decodeToBytes(ids))
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
