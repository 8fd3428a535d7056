import Kernels

/// How the decoding steps read the weight matrices.
public enum DecoderWeights: String, Sendable, CaseIterable {
    /// fp32: a packed fp32 copy of the matrices (see `DecodingWeights`).
    case float32 = "fp32"
    /// A bfloat16 copy (the top 16 bits of each float, rounded to nearest even) of the four matrices of every
    /// block and of the tied embedding: half the bytes to stream per token, widened back to fp32 in
    /// registers. Biases, layer norms, the position embedding and the prefill stay fp32.
    case bfloat16 = "bf16"
}

/// One weight matrix of a decoding step, in the element type the decoder was made with.
enum DecodingMatrix {
    case float32(PanelMatrix<Float>)
    case bfloat16(PanelMatrix<BFloat16>)

    /// A packed copy, in the given storage, of the [K, N] matrix whose element (k, n) is
    /// source[k * kStride + n * nStride].
    init(_ source: UnsafePointer<Float>, rows K: Int, columns N: Int, kStride: Int, nStride: Int,
         storage: DecoderWeights) {
        switch storage {
        case .float32:
            self = .float32(PanelMatrix(packing: source, rows: K, columns: N, kStride: kStride, nStride: nStride))
        case .bfloat16:
            self = .bfloat16(PanelMatrix(packing: source, rows: K, columns: N, kStride: kStride, nStride: nStride))
        }
    }

    /// y[M, N] (=|+=) x[M, K] · W + bias (PanelProduct: a row's result does not depend on M).
    @inline(__always)
    func multiply(y: UnsafeMutablePointer<Float>, ldy: Int, x: UnsafePointer<Float>, ldx: Int,
                  bias: UnsafePointer<Float>?, rows: Int, accumulate: Bool, pool: ThreadPool) {
        switch self {
        case let .float32(w):
            PanelProduct.multiply(y: y, ldy: ldy, x: x, ldx: ldx, w: w, bias: bias, rows: rows, accumulate: accumulate, pool: pool)
        case let .bfloat16(w):
            PanelProduct.multiply(y: y, ldy: ldy, x: x, ldx: ldx, w: w, bias: bias, rows: rows, accumulate: accumulate, pool: pool)
        }
    }

    var allocatedBytes: Int {
        switch self {
        case let .float32(w): return w.allocatedBytes
        case let .bfloat16(w): return w.allocatedBytes
        }
    }
}

/// The matrices a decoding step reads, laid out for `PanelProduct` when the decoder is made, and again after the
/// model's `parameterRevision` changes (shared by all its slots). Per block: c_attn [C, 3C], attn.c_proj [C, C],
/// c_fc [C, 4C], mlp.c_proj [4C, C]; the tied head reads wte [V, C] as W = wte^T [C, V].
///
/// Memory beyond the model's parameters (P = the 12 L C^2 block weights, V C the embedding): fp32
/// 4 (P + V C) bytes, bf16 2 (P + V C) bytes (the llama2.c 15M shape: 61 MB and 30 MB). fp32 block
/// matrices are packed too: read in place as strided panels they streamed 1.2-1.35x slower (measured in one
/// process, 1 and 2 threads).
final class DecodingWeights {
    let blocks: [(attention: DecodingMatrix, attentionProjection: DecodingMatrix,
                  fullyConnected: DecodingMatrix, mlpProjection: DecodingMatrix)]
    let head: DecodingMatrix

    init(model: GPT, storage: DecoderWeights) {
        let C = model.config.width, V = model.config.vocabSize
        let p = UnsafePointer(model.parameters.pointer)
        func matrix(_ offset: Int, _ K: Int, _ N: Int) -> DecodingMatrix {
            DecodingMatrix(p + offset, rows: K, columns: N, kStride: N, nStride: 1, storage: storage)
        }
        blocks = model.layout.blocks.map { w in
            (matrix(w.attentionWeight, C, 3 * C), matrix(w.attentionProjectionWeight, C, C),
             matrix(w.fullyConnectedWeight, C, 4 * C), matrix(w.mlpProjectionWeight, 4 * C, C))
        }
        head = DecodingMatrix(p + model.layout.tokenEmbedding, rows: C, columns: V, kStride: 1, nStride: C,
                              storage: storage)
    }

    /// The bytes `init` allocates for a model of `config`, within the panels' padding: the block matrices and the
    /// head, 4 bytes an element in fp32, 2 in bf16.
    static func bytes(config: GPTConfig, storage: DecoderWeights) -> Double {
        let C = Double(config.width)
        let elements = Double(config.layers) * 12 * C * C + Double(config.vocabSize) * C
        return elements * (storage == .float32 ? 4 : 2)
    }

    /// Bytes allocated for the decoding layout (on top of the model's parameters).
    var allocatedBytes: Int {
        blocks.reduce(head.allocatedBytes) {
            $0 + $1.attention.allocatedBytes + $1.attentionProjection.allocatedBytes
                + $1.fullyConnected.allocatedBytes + $1.mlpProjection.allocatedBytes
        }
    }
}
