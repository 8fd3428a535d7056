import Foundation

/// Swiftlet's own details inside config.json (under the key "swiftlet"); Hugging Face ignores the key.
public struct SwiftletDetails: Codable, Equatable, Sendable {
    /// Version of Swiftlet's checkpoint format.
    public var formatVersion: Int
    /// Dropout the model trains with (GPT-2's *_pdrop keys are written with the same value).
    public var dropout: Float
    /// The preset the model was made from, if any.
    public var preset: String?
    /// Free-form facts a caller records (tokenizer type, corpus, ...).
    public var notes: [String: String]
    /// The FNV-1a fingerprint of the tokenizer.model saved beside the weights (`Checkpoint.save` records it), so
    /// that a tokenizer put in its place is noticed: its ids would mean other pieces to this model. Nil in
    /// checkpoints saved without one, or before it was recorded.
    public var tokenizerFingerprint: String?

    public init(formatVersion: Int = 1, dropout: Float = 0, preset: String? = nil, notes: [String: String] = [:]) {
        self.formatVersion = formatVersion
        self.dropout = dropout
        self.preset = preset
        self.notes = notes
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", dropout, preset, notes
        case tokenizerFingerprint = "tokenizer_fingerprint"
    }
}

/// config.json in Hugging Face's GPT-2 form (GPT2Config's keys), plus a "swiftlet" object.
/// Reading accepts configs written by transformers (most keys optional, with GPT2Config's defaults).
public struct HFConfig: Codable, Equatable, Sendable {
    public var modelType: String? = "gpt2"
    public var architectures: [String]? = ["GPT2LMHeadModel"]
    public var nLayer: Int
    public var nHead: Int
    public var nEmbd: Int
    public var nPositions: Int
    public var nCtx: Int?
    public var nInner: Int?
    public var vocabSize: Int
    public var layerNormEpsilon: Float? = 1e-5
    public var activationFunction: String? = "gelu_new"
    public var tieWordEmbeddings: Bool? = true
    public var residPdrop: Float? = 0
    public var embdPdrop: Float? = 0
    public var attnPdrop: Float? = 0
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var scaleAttnWeights: Bool?
    public var scaleAttnByInverseLayerIdx: Bool?
    public var reorderAndUpcastAttn: Bool?
    public var torchDtype: String?
    public var swiftlet: SwiftletDetails?

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures, nLayer = "n_layer", nHead = "n_head", nEmbd = "n_embd"
        case nPositions = "n_positions", nCtx = "n_ctx", nInner = "n_inner", vocabSize = "vocab_size"
        case layerNormEpsilon = "layer_norm_epsilon", activationFunction = "activation_function"
        case tieWordEmbeddings = "tie_word_embeddings", residPdrop = "resid_pdrop", embdPdrop = "embd_pdrop"
        case attnPdrop = "attn_pdrop", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case scaleAttnWeights = "scale_attn_weights", scaleAttnByInverseLayerIdx = "scale_attn_by_inverse_layer_idx"
        case reorderAndUpcastAttn = "reorder_and_upcast_attn", torchDtype = "torch_dtype", swiftlet
    }

    /// The config.json Swiftlet writes for `config`.
    public init(config: GPTConfig, details: SwiftletDetails, bosTokenId: Int? = nil, eosTokenId: Int? = nil) {
        nLayer = config.layers
        nHead = config.heads
        nEmbd = config.width
        nPositions = config.context
        nCtx = config.context
        vocabSize = config.vocabSize
        layerNormEpsilon = config.layerNormEpsilon
        residPdrop = config.dropout
        embdPdrop = config.dropout
        attnPdrop = config.dropout
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        scaleAttnWeights = true
        torchDtype = "float32"
        var details = details
        details.dropout = config.dropout
        swiftlet = details
    }

    /// Reads every key as `Codable` would, except the token ids: GPT2Config also takes a list of ids there
    /// ("eos_token_id": [2]), kept as its first id (the tools take the special ids from the tokenizer).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func tokenId(_ key: CodingKeys) throws -> Int? {
            if let ids = try? c.decodeIfPresent([Int].self, forKey: key) { return ids.first }
            return try c.decodeIfPresent(Int.self, forKey: key)
        }
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        nLayer = try c.decode(Int.self, forKey: .nLayer)
        nHead = try c.decode(Int.self, forKey: .nHead)
        nEmbd = try c.decode(Int.self, forKey: .nEmbd)
        nPositions = try c.decode(Int.self, forKey: .nPositions)
        nCtx = try c.decodeIfPresent(Int.self, forKey: .nCtx)
        nInner = try c.decodeIfPresent(Int.self, forKey: .nInner)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon)
        activationFunction = try c.decodeIfPresent(String.self, forKey: .activationFunction)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings)
        residPdrop = try c.decodeIfPresent(Float.self, forKey: .residPdrop)
        embdPdrop = try c.decodeIfPresent(Float.self, forKey: .embdPdrop)
        attnPdrop = try c.decodeIfPresent(Float.self, forKey: .attnPdrop)
        bosTokenId = try tokenId(.bosTokenId)
        eosTokenId = try tokenId(.eosTokenId)
        scaleAttnWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttnWeights)
        scaleAttnByInverseLayerIdx = try c.decodeIfPresent(Bool.self, forKey: .scaleAttnByInverseLayerIdx)
        reorderAndUpcastAttn = try c.decodeIfPresent(Bool.self, forKey: .reorderAndUpcastAttn)
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype)
        swiftlet = try c.decodeIfPresent(SwiftletDetails.self, forKey: .swiftlet)
    }

    /// GPT-2's three dropout rates (absent ones 0, Swiftlet's default, not GPT2Config's 0.1).
    var dropoutRates: [(key: String, rate: Float)] {
        [("attn_pdrop", attnPdrop ?? 0), ("embd_pdrop", embdPdrop ?? 0), ("resid_pdrop", residPdrop ?? 0)]
    }

    /// For a config another tool wrote (no "swiftlet" object) whose three dropout rates differ, which Swiftlet
    /// cannot train with (it applies one rate at all three sites): the rates, for the message of a run that
    /// would take its dropout from the checkpoint. Nil otherwise.
    public var unequalDropoutRates: String? {
        guard swiftlet == nil, Set(dropoutRates.map(\.rate)).count > 1 else { return nil }
        return dropoutRates.map { "\($0.key) \($0.rate)" }.joined(separator: ", ")
    }

    /// What a run that would take its dropout from this config (read from `path`) says when the rates differ
    /// (`unequalDropoutRates`), else nil.
    public func dropoutChoiceNeeded(path: String) -> String? {
        unequalDropoutRates.map {
            "\(path): \($0) differ; Swiftlet applies one dropout at all three sites: choose it with --dropout"
        }
    }

    /// The model configuration this file describes, or a typed error naming `path` if Swiftlet cannot run it.
    /// The dropout is Swiftlet's own (the "swiftlet" object); for a config another tool wrote, GPT-2's *_pdrop
    /// rate when the three are equal, else 0 (see `unequalDropoutRates`: a run must then choose its own).
    public func modelConfig(path: String) throws -> GPTConfig {
        if let modelType, modelType != "gpt2" {
            throw CheckpointError.unsupported(path: path, detail: "model_type '\(modelType)' (only gpt2)")
        }
        if let activationFunction, !["gelu_new", "gelu_pytorch_tanh"].contains(activationFunction) {
            throw CheckpointError.unsupported(path: path, detail: "activation_function '\(activationFunction)' (only gelu_new or gelu_pytorch_tanh, GPT-2's tanh approximation)")
        }
        if let nInner, nEmbd.multipliedReportingOverflow(by: 4) != (nInner, false) {   // (a damaged n_embd must not trap)
            throw CheckpointError.unsupported(path: path, detail: "n_inner \(nInner) (only 4 * n_embd)")
        }
        if tieWordEmbeddings == false {
            throw CheckpointError.unsupported(path: path, detail: "tie_word_embeddings false (the LM head must be tied)")
        }
        // (reorder_and_upcast_attn only moves fp16 attention into fp32: the same model in fp32.)
        if scaleAttnWeights == false {
            throw CheckpointError.unsupported(path: path, detail: "scale_attn_weights false (attention scores are "
                + "scaled by 1 / sqrt(head size), as GPT-2's)")
        }
        if scaleAttnByInverseLayerIdx == true {
            throw CheckpointError.unsupported(path: path, detail: "scale_attn_by_inverse_layer_idx true (attention "
                + "scores are scaled by 1 / sqrt(head size) only, as GPT-2's)")
        }
        let dropout = swiftlet?.dropout ?? (unequalDropoutRates == nil ? dropoutRates[0].rate : 0)
        let config = GPTConfig(layers: nLayer, heads: nHead, width: nEmbd, context: nPositions, vocabSize: vocabSize,
                               layerNormEpsilon: layerNormEpsilon ?? 1e-5, dropout: dropout)
        do { try config.validate() } catch let error as GPTConfigError {
            throw CheckpointError.invalidConfig(path: path, detail: error.description)
        }
        return config
    }

    static let integerKeys = ["n_layer", "n_head", "n_embd", "n_positions", "n_ctx", "n_inner", "vocab_size",
                              "bos_token_id", "eos_token_id"]

    static let floatKeys = ["layer_norm_epsilon", "resid_pdrop", "embd_pdrop", "attn_pdrop"]

    /// The first key (dotted inside "swiftlet") whose number its field cannot hold: an integer beyond Int, a
    /// non-zero number beyond Float's range or below its smallest magnitude.
    static func numberOutOfRange(in object: [String: Any]) -> String? {
        // (Through NSNumber: `as? Double` is nil for an integer a Double does not hold exactly, such as 2^64 - 1.)
        func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
        func beyondInt(_ value: Any?) -> Bool { number(value).map { abs($0) >= 0x1p63 } ?? false }
        func beyondFloat(_ value: Any?) -> Bool {
            number(value).map { $0 != 0 && (Float($0).isInfinite || Float($0) == 0) } ?? false
        }
        if let key = integerKeys.first(where: { beyondInt(object[$0]) }) { return key }
        if let key = floatKeys.first(where: { beyondFloat(object[$0]) }) { return key }
        let details = object["swiftlet"] as? [String: Any] ?? [:]
        if beyondInt(details["format_version"]) { return "swiftlet.format_version" }
        if beyondFloat(details["dropout"]) { return "swiftlet.dropout" }
        return nil
    }

    /// Reads and decodes config.json.
    public static func read(path: String) throws -> HFConfig {
        try CheckpointError.requireFile(path)
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CheckpointError.unreadable(path: path, reason: error.localizedDescription)
        }
        do { return try JSONDecoder().decode(HFConfig.self, from: data) } catch let DecodingError.keyNotFound(key, _) {
            throw CheckpointError.invalidConfig(path: path, detail: "missing key '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context),
                let DecodingError.dataCorrupted(context) {
            // dataCorrupted names a key when a number does not fit its field ("n_layer": 4.5); without a key
            // the text is not JSON. A type mismatch without a key: the top level is not an object.
            var key = context.codingPath.map(\.stringValue).joined(separator: ".")
            let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            if key.isEmpty, let object = json as? [String: Any] {
                // Foundation's decoder reports a fraction in an integer field as "not valid JSON", without a key,
                // and a number its field cannot hold (1e-300 as a Float, 2^64 as an Int) likewise.
                key = integerKeys.first { (object[$0] as? Double).map { $0 != $0.rounded() } ?? false } ?? ""
                if key.isEmpty, let outOfRange = numberOutOfRange(in: object) {
                    throw CheckpointError.invalidConfig(path: path, detail: "key '\(outOfRange)' holds a number out of its range")
                }
            }
            if !key.isEmpty { throw CheckpointError.invalidConfig(path: path, detail: "key '\(key)' has the wrong type") }
            throw CheckpointError.invalidConfig(path: path, detail: json == nil ? "not valid JSON" : "not a JSON object")
        } catch {
            throw CheckpointError.invalidConfig(path: path, detail: "not valid JSON")
        }
    }

    /// Encodes absent keys as omitted, except the token ids: GPT2Config defaults a missing bos/eos id to
    /// 50256, so an unknown id is written as an explicit null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(modelType, forKey: .modelType)
        try c.encodeIfPresent(architectures, forKey: .architectures)
        try c.encode(nLayer, forKey: .nLayer)
        try c.encode(nHead, forKey: .nHead)
        try c.encode(nEmbd, forKey: .nEmbd)
        try c.encode(nPositions, forKey: .nPositions)
        try c.encodeIfPresent(nCtx, forKey: .nCtx)
        try c.encodeIfPresent(nInner, forKey: .nInner)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encodeIfPresent(layerNormEpsilon, forKey: .layerNormEpsilon)
        try c.encodeIfPresent(activationFunction, forKey: .activationFunction)
        try c.encodeIfPresent(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encodeIfPresent(residPdrop, forKey: .residPdrop)
        try c.encodeIfPresent(embdPdrop, forKey: .embdPdrop)
        try c.encodeIfPresent(attnPdrop, forKey: .attnPdrop)
        try c.encode(bosTokenId, forKey: .bosTokenId)
        try c.encode(eosTokenId, forKey: .eosTokenId)
        try c.encodeIfPresent(scaleAttnWeights, forKey: .scaleAttnWeights)
        try c.encodeIfPresent(scaleAttnByInverseLayerIdx, forKey: .scaleAttnByInverseLayerIdx)
        try c.encodeIfPresent(reorderAndUpcastAttn, forKey: .reorderAndUpcastAttn)
        try c.encodeIfPresent(torchDtype, forKey: .torchDtype)
        try c.encodeIfPresent(swiftlet, forKey: .swiftlet)
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
