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
            var output: [UInt8] = []
            try InputLines.forEach(in: input) { lineNumber, _, bytes in
                var ids: [Int32] = []
                for token in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\t" }) {
                    // A bad token ends the run naming it; the lines before it are printed, as tokenize does.
                    func refuse(_ why: String) -> TokenizerError {
                        writeBytes(output)
                        return .invalidTokens(path: name, line: lineNumber, reason: why)
                    }
                    switch format {
                    case .ids:
                        guard let id = Int32(token) else { throw refuse("'\(token)' is not a token id") }
                        guard id >= 0 && Int(id) < model.vocabularySize else {
                            throw refuse("token id \(id) is outside the vocabulary (ids 0 to \(model.vocabularySize - 1))")
                        }
                        ids.append(id)
                    case .pieces:
                        guard let id = model.id(for: String(token)) else { throw refuse("'\(token)' is not a piece of \(tokenizer)") }
                        ids.append(id)
                    }
                }
                output += try model.decodeToBytes(ids)
                output.append(0x0A)
                if output.count > 1 << 16 { writeBytes(output); output = [] }
            }
            writeBytes(output)
        }
    }

    private func writeBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
    }
}
