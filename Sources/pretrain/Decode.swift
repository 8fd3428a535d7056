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
                // A line ending of a Windows-made file is not part of the last token.
                let bytes = raw.last == 0x0D ? UnsafeRawBufferPointer(rebasing: raw.dropLast()) : raw
                // A bad line ends the run naming it; the lines before it are printed, as tokenize does.
                func refuse(_ error: TokenizerError) throws -> Never {
                    output.withUnsafeBytes { out.write($0) }
                    try out.finish()
                    throw error
                }
                if let bad = InputFile.firstInvalidUTF8(bytes) {
                    try refuse(.invalidUTF8(path: name, line: lineNumber, byteOffset: offset + bad))
                }
                // Pieces are separated by spaces only: the tab piece is a tab (as spm_decode reads them).
                let line = String(decoding: bytes, as: UTF8.self)
                let tokens = format == .pieces ? line.split(separator: " ")
                    : line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                var ids: [Int32] = []
                for token in tokens {
                    func bad(_ why: String) -> TokenizerError {
                        .invalidTokens(path: name, line: lineNumber, reason: "\(String(reflecting: String(token))) \(why)")
                    }
                    switch format {
                    case .ids:
                        let digits = token.hasPrefix("-") ? token.dropFirst() : token[...]
                        guard !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit) else { try refuse(bad("is not a token id")) }
                        guard let id = Int32(token), id >= 0 && Int(id) < model.vocabularySize else {
                            try refuse(bad("is outside the vocabulary (ids 0 to \(model.vocabularySize - 1))"))
                        }
                        ids.append(id)
                    case .pieces:
                        guard let id = model.id(for: String(token)) else { try refuse(bad("is not a piece of \(tokenizer)")) }
                        ids.append(id)
                    }
                }
                output += try model.decodeToBytes(ids)
                output.append(0x0A)
                if output.count > 1 << 16 { output.withUnsafeBytes { out.write($0) }; output = [] }
            }
            output.withUnsafeBytes { out.write($0) }
            try out.finish()
        }
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
