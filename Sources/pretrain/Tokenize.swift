import TerminalUI
import ArgumentParser
import Foundation
import Tokenizer

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the ids (or pieces) of every input line, one line each, as spm_encode does."
    )

    @Option(help: "A SentencePiece .model file.")
    var tokenizer: String

    @Option(help: "Text file to encode (default: standard input).")
    var input: String?

    enum Format: String, CaseIterable, ExpressibleByArgument { case ids, pieces }

    @Option(help: "Print the ids or the pieces.")
    var format: Format = .ids

    func run() throws {
        try reportingErrors {
            let model = try SentencePieceTokenizer(contentsOf: tokenizer)
            let name = input ?? "<stdin>"
            var output = "", out = StandardOutput()
            try InputLines.forEach(in: input) { lineNumber, offset, bytes in
                if let bad = InputFile.firstInvalidUTF8(bytes) {
                    out.write(output)   // the lines before it, as spm_encode prints them
                    try out.finish()
                    throw TokenizerError.invalidUTF8(path: name, line: lineNumber, byteOffset: offset + bad)
                }
                switch format {
                case .ids: output += try model.encode(utf8: bytes).map(String.init).joined(separator: " ")
                case .pieces: output += try model.encodeToPieces(String(decoding: bytes, as: UTF8.self)).joined(separator: " ")
                }
                output += "\n"
                if output.utf8.count > 1 << 16 { out.write(output); output = "" }
            }
            out.write(output)
            try out.finish()
        }
    }
}
