import Foundation
import TerminalUI
import Training

/// One input's result of `pretrain evaluate`, as a line of text or of JSON.
struct EvaluationReport: Encodable {
    let input: String
    let score: TextEvaluation.Score
    /// UTF-8 bytes of the text the tokens stand for.
    let bytes: Int
    let context: Int
    let stride: Int
    /// The sum over several inputs (`total(of:)`); its JSON object says `"total": true`.
    var isTotal = false

    var bitsPerByte: Double { score.bitsPerByte(bytes: bytes) }

    /// "corpus.txt: mean loss 1.9012, perplexity 6.69, 2.7429 bits per byte (111539 tokens scored, 111540 bytes)"
    var text: String {
        "\(input): " + String(format: "mean loss %.4f, perplexity ", score.meanLoss) + perplexityText(score.perplexity)
            + String(format: ", %.4f bits per byte (%d tokens scored, %d bytes)", bitsPerByte, score.targets, bytes)
    }

    /// The inputs together: their losses and bytes summed.
    static func total(of reports: [EvaluationReport]) -> EvaluationReport {
        EvaluationReport(input: "all \(reports.count) inputs", score: reports.map(\.score).reduce(TextEvaluation.Score(), +),
                         bytes: reports.map(\.bytes).reduce(0, +), context: reports[0].context, stride: reports[0].stride,
                         isTotal: true)
    }

    enum CodingKeys: String, CodingKey {
        case input, tokens, bytes, context, stride, perplexity, total
        case meanLoss = "mean_loss", bitsPerByte = "bits_per_byte"
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(input, forKey: .input)
        try c.encode(score.targets, forKey: .tokens)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(score.meanLoss, forKey: .meanLoss)
        try c.encode(score.perplexity, forKey: .perplexity)
        try c.encode(bitsPerByte, forKey: .bitsPerByte)
        try c.encode(context, forKey: .context)
        try c.encode(stride, forKey: .stride)
        if isTotal { try c.encode(true, forKey: .total) }
    }

    /// `text`, or with `json` the JSON object.
    func line(json: Bool) throws -> String { json ? try jsonLine() : text }

    /// One JSON object; a perplexity beyond Double's range is the string "Infinity", since JSON has no such number.
    func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity",
                                                                      negativeInfinity: "-Infinity", nan: "NaN")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
