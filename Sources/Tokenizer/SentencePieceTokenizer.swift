import CSentencePiece
import Foundation

/// A loaded SentencePiece model: encode text to ids or pieces, decode ids to text, look pieces up.
///
/// Text may hold line breaks: SentencePiece treats one line as one sentence (it trains on lines and
/// `spm_encode` encodes line by line), so `encode` encodes every line on its own and puts the id of the
/// line-break piece between lines. The result for a single line is exactly what `spm_encode` prints.
/// Thread-safe: encoding and decoding only read the model.
public final class SentencePieceTokenizer: @unchecked Sendable {
    let handle: OpaquePointer
    /// The file it was loaded from ("<memory>" when loaded from bytes).
    public let path: String
    public let vocabularySize: Int
    public let unknownId: Int32
    /// nil when the model has no such token.
    public let bosId: Int32?
    public let eosId: Int32?
    public let padId: Int32?
    /// The id that stands for "\n" between lines: the user-defined piece "\n", else the byte piece <0x0A>
    /// (byte fallback); nil when the model has neither.
    public let newlineId: Int32?

    /// Loads a model file. Throws `fileNotFound`, `notAFile`, `unreadable` or `corruptModel`.
    public convenience init(contentsOf path: String) throws {
        try InputFile.checkReadable(path)
        var kind = stat()
        if stat(path, &kind) == 0 && (kind.st_mode & S_IFMT) != S_IFREG {   // SentencePiece would wait on a FIFO
            throw TokenizerError.corruptModel(path: path, reason: "a pipe or a device, not a .model file")
        }
        if kind.st_size == 0 { throw TokenizerError.emptyFile(path: path) }
        var error: UnsafeMutablePointer<CChar>?
        guard let handle = spm_load(path, &error) else {
            let message = takeMessage(error)
            // SentencePiece's own wording names its source lines ("Internal: ./src/...(1101) [model_proto->
            // ParseFromArray(...)]"; "unk is not defined." for bytes that parse to a model without pieces).
            let reason = message.contains("ParseFromArray") || message.contains("unk is not defined")
                ? "it does not parse as one" : message
            throw TokenizerError.corruptModel(path: path, reason: reason)
        }
        self.init(handle: handle, path: path)
    }

    /// Loads a model from its serialized bytes (the contents of a .model file).
    public convenience init(modelBytes: [UInt8], name: String = "<memory>") throws {
        var error: UnsafeMutablePointer<CChar>?
        let loaded = modelBytes.withUnsafeBytes { spm_load_from_bytes($0.baseAddress, $0.count, &error) }
        guard let handle = loaded else { throw TokenizerError.corruptModel(path: name, reason: takeMessage(error)) }
        self.init(handle: handle, path: name)
    }

    private init(handle: OpaquePointer, path: String) {
        self.handle = handle
        self.path = path
        vocabularySize = Int(spm_piece_count(handle))
        unknownId = spm_unk_id(handle)
        func optionalId(_ id: Int32) -> Int32? { id >= 0 ? id : nil }
        bosId = optionalId(spm_bos_id(handle))
        eosId = optionalId(spm_eos_id(handle))
        padId = optionalId(spm_pad_id(handle))
        func exact(_ piece: String) -> Int32? {
            let found = piece.withCString { spm_has_piece(handle, $0, strlen($0)) } != 0
            return found ? piece.withCString { spm_piece_to_id(handle, $0, strlen($0)) } : nil
        }
        newlineId = exact("\n") ?? exact("<0x0A>")
    }

    deinit { spm_free(handle) }

    /// Whether encoding caches the ids of space-led segments ("a", " b", ...) per thread: it does only for
    /// models where that gives exactly SentencePiece's ids (BPE, char or word models trained with Swiftlet's
    /// exact-text settings). Words repeat, so a cache hit skips most of SentencePiece's work.
    /// Set it to false to always call SentencePiece (setting true again re-checks the model).
    public var usesSegmentCache: Bool {
        get { spm_uses_segment_cache(handle) != 0 }
        set { spm_set_segment_cache(handle, newValue ? 1 : 0) }
    }

    /// Empties the segment caches (each encoding of a corpus starts cold, so runs are alike and memory is freed).
    public func resetSegmentCaches() { spm_reset_segment_caches(handle) }

    // MARK: - Pieces and ids

    /// The piece of an id ("" for an id outside the vocabulary).
    public func piece(for id: Int32) -> String {
        var length = 0
        let bytes = spm_id_to_piece(handle, id, &length)!
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    /// The id of a piece; nil when the vocabulary does not hold it.
    public func id(for piece: String) -> Int32? {
        var piece = piece
        return piece.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { chars in
                spm_has_piece(handle, chars.baseAddress, chars.count) != 0
                    ? spm_piece_to_id(handle, chars.baseAddress, chars.count) : nil
            }
        }
    }

    public func isUnknown(_ id: Int32) -> Bool { spm_is_unknown(handle, id) != 0 }
    public func isControl(_ id: Int32) -> Bool { spm_is_control(handle, id) != 0 }
    public func isByte(_ id: Int32) -> Bool { spm_is_byte(handle, id) != 0 }

    /// Whether `other` has the same pieces, in the same order, with the same scores and kinds: it then gives
    /// every text the same ids, whatever else its file holds (models trained before the shim read the corpus
    /// itself also recorded their file names and temporary path, so equal models could differ in bytes).
    public func hasSameVocabulary(as other: SentencePieceTokenizer) -> Bool {
        guard vocabularySize == other.vocabularySize else { return false }
        return (0..<Int32(vocabularySize)).allSatisfy { id in
            piece(for: id) == other.piece(for: id) && spm_score(handle, id) == spm_score(other.handle, id)
                && isUnknown(id) == other.isUnknown(id) && isControl(id) == other.isControl(id)
                && isByte(id) == other.isByte(id)
        }
    }

    // MARK: - Encoding

    /// Encodes text; lines are encoded one by one with `newlineId` between them (see the type's comment).
    /// Throws `cannotRepresentLineBreaks` for text with a line break when the model has no line-break id.
    public func encode(_ text: String) throws -> [Int32] {
        var text = text
        return try text.withUTF8 { try encode(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Encodes UTF-8 bytes (see `encode(_:)`); invalid UTF-8 is an error.
    public func encode(utf8 bytes: UnsafeRawBufferPointer) throws -> [Int32] {
        let output = IdBuffer()
        _ = try encodeLines(bytes, appendingTo: output, name: "<text>", firstLine: 1)
        return output.array
    }

    /// Encodes one line (a sentence) into its pieces, as `spm_encode --output_format=piece` prints them.
    public func encodeToPieces(_ line: String) throws -> [String] {
        let pieces = spm_pieces_new()!
        defer { spm_pieces_free(pieces) }
        var line = line
        var error: UnsafeMutablePointer<CChar>?
        let status = line.withUTF8 { buffer in
            buffer.withMemoryRebound(to: CChar.self) { spm_encode_pieces(handle, $0.baseAddress, $0.count, pieces, &error) }
        }
        guard status == Int32(SPM_OK) else { throw TokenizerError.encodingFailed(reason: takeMessage(error)) }
        return (0..<spm_pieces_count(pieces)).map { i in
            var length = 0
            let bytes = spm_pieces_at(pieces, i, &length)!
            return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
        }
    }

    /// Encodes a block of lines and appends the ids to `output`; returns the number of line breaks in it.
    /// `name` and `firstLine` only serve the error message for invalid UTF-8.
    func encodeLines(_ bytes: UnsafeRawBufferPointer, appendingTo output: IdBuffer, name: String,
                     firstLine: Int) throws -> Int {
        var newlines = 0, invalidOffset = 0
        var error: UnsafeMutablePointer<CChar>?
        let hasBreak = bytes.firstIndex(of: 0x0A) != nil
        if hasBreak && newlineId == nil { throw TokenizerError.cannotRepresentLineBreaks(model: path) }
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count > 0 else { return 0 }
        let status = spm_encode_lines(handle, base, bytes.count, newlineId ?? -1, output.handle,
                                      &newlines, &invalidOffset, &error)
        if status == Int32(SPM_INVALID_UTF8) {
            let line = firstLine + bytes[..<invalidOffset].lazy.filter { $0 == 0x0A }.count
            throw TokenizerError.invalidUTF8(path: name, line: line, byteOffset: invalidOffset)
        }
        guard status == Int32(SPM_OK) else { throw TokenizerError.encodingFailed(reason: takeMessage(error)) }
        return newlines
    }

    // MARK: - Decoding

    /// Decodes ids back to text (the exact text for a model trained with Swiftlet's default options).
    public func decode(_ ids: [Int32]) throws -> String {
        let bytes = try decodeToBytes(ids)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes ids to bytes (byte-fallback pieces may form partial UTF-8 sequences).
    public func decodeToBytes(_ ids: [Int32]) throws -> [UInt8] {
        try ids.withUnsafeBufferPointer { try decodeToBytes($0) }
    }

    public func decodeToBytes(_ ids: UnsafeBufferPointer<Int32>) throws -> [UInt8] {
        for id in ids where id < 0 || Int(id) >= vocabularySize {
            throw TokenizerError.idOutOfRange(id: id, vocabularySize: vocabularySize)
        }
        var text: UnsafeMutablePointer<CChar>?
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let status = spm_decode_ids(handle, ids.baseAddress, ids.count, &text, &length, &error)
        guard status == Int32(SPM_OK), let text else { throw TokenizerError.encodingFailed(reason: takeMessage(error)) }
        defer { spm_free_string(text) }
        return Array(UnsafeRawBufferPointer(start: text, count: length))
    }
}

/// A reusable C++ vector of ids (one per encoding task, so no allocation per line).
final class IdBuffer {
    let handle: OpaquePointer
    init() { handle = spm_ids_new() }
    deinit { spm_ids_free(handle) }
    var count: Int { spm_ids_count(handle) }
    func clear() { spm_ids_clear(handle) }
    func withIds<R>(_ body: (UnsafeBufferPointer<Int32>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: spm_ids_data(handle), count: count))
    }
    var array: [Int32] { withIds { Array($0) } }
}

/// Takes ownership of a message from the C API.
func takeMessage(_ message: UnsafeMutablePointer<CChar>?) -> String {
    guard let message else { return "unknown error" }
    defer { spm_free_string(message) }
    return String(cString: message)
}
