import Tokenizer

/// The bytes each token id contributes to the text, precomputed once so that streaming a token is a table
/// look-up: a normal piece with SentencePiece's "▁" as a space, a byte-fallback piece `<0xHH>` as that byte,
/// control pieces (bos, eos, pad) as nothing, the unknown piece as SentencePiece's " ⁇ ".
///
/// Concatenating the bytes of a token sequence gives SentencePiece's decoding of it for Swiftlet's
/// tokenizers (identity normalization, no dummy prefix). With a dummy prefix SentencePiece would strip one
/// leading space at the start of a text; a continuation keeps it, as the space belongs to the answer.
public struct PieceBytes: Sendable {
    private let bytes: [UInt8]
    private let starts: [Int]   // [V + 1]: the bytes of id i are bytes[starts[i] ..< starts[i + 1]]

    public init(tokenizer: SentencePieceTokenizer) {
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        starts.reserveCapacity(tokenizer.vocabularySize + 1)
        for id in 0..<Int32(tokenizer.vocabularySize) {
            if tokenizer.isControl(id) {
                // nothing
            } else if tokenizer.isUnknown(id) {
                bytes.append(contentsOf: " \u{2047} ".utf8)
            } else if tokenizer.isByte(id), let byte = Self.byteValue(of: tokenizer.piece(for: id)) {
                bytes.append(byte)
            } else {
                for scalar in tokenizer.piece(for: id).unicodeScalars {
                    if scalar == "\u{2581}" { bytes.append(UInt8(ascii: " ")) } else { bytes.append(contentsOf: String(scalar).utf8) }
                }
            }
            starts.append(bytes.count)
        }
        self.bytes = bytes
        self.starts = starts
    }

    /// `<0xHH>` -> HH.
    static func byteValue(of piece: String) -> UInt8? {
        guard piece.hasPrefix("<0x"), piece.hasSuffix(">"), piece.count == 6 else { return nil }
        return UInt8(piece.dropFirst(3).dropLast(), radix: 16)
    }

    /// The bytes of one token (empty for ids outside the table).
    public subscript(id: Int32) -> ArraySlice<UInt8> {
        guard id >= 0 && Int(id) + 1 < starts.count else { return [] }
        return bytes[starts[Int(id)] ..< starts[Int(id) + 1]]
    }

    /// The bytes of a token sequence.
    public func bytes<S: Sequence>(of ids: S) -> [UInt8] where S.Element == Int32 {
        var out: [UInt8] = []
        for id in ids { out.append(contentsOf: self[id]) }
        return out
    }
}
