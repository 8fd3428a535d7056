import Foundation
import Kernels

/// A sequence the decoder cannot take.
public enum DecoderError: Error, Equatable, CustomStringConvertible {
    case slotOutOfRange(slot: Int, slots: Int)
    case emptyPrompt
    case promptLongerThanContext(length: Int, context: Int)
    case tokenOutOfRange(token: Int32, vocabSize: Int)
    case slotNotPrefilled(slot: Int)
    case tokenAlreadyPending(slot: Int)
    case invalidSlideKeep(keep: Int, context: Int)
    case noSlots(slots: Int)

    public var description: String {
        switch self {
        case let .slotOutOfRange(s, n): return "decoder slot \(s) is outside 0..<\(n)"
        case .emptyPrompt: return "the prompt has no tokens: generation needs at least one"
        case let .promptLongerThanContext(n, c):
            return "the prompt has \(n) tokens, more than the model's context of \(c) (truncate it first)"
        case let .tokenOutOfRange(t, v): return "token id \(t) is outside the vocabulary (size \(v))"
        case let .slotNotPrefilled(s): return "decoder slot \(s) has no prompt yet (prefill it first)"
        case let .tokenAlreadyPending(s): return "decoder slot \(s) already has a token waiting for advance()"
        case let .invalidSlideKeep(k, c): return "the sliding window must keep 1...\(c) tokens (got \(k))"
        case let .noSlots(n): return "a decoder needs at least one slot (got \(n))"
        }
    }
}

/// Generation over a KV cache for up to `slots` sequences decoded together.
///
/// - `prefill(slot:tokens:)` runs a prompt [n] through the model in one batched forward pass (the training
///   forward's GEMMs, M = n rows), stores every layer's keys and values for positions 0..<n and leaves the
///   logits of the last position.
/// - `append(_:to:)` stages one new token per slot; `advance()` then runs all staged slots together: one
///   row per slot through each layer (M = staged slots in every product, `PanelProduct` over the weights
///   laid out for decoding, which reads them once per step for all rows and gives every row the same bits
///   whatever M is), the attention of that one query over the slot's cached keys and values, and the tied
///   LM head W·x over the vocabulary. Afterwards `logits(slot:)` holds each slot's next-token logits.
///
/// Sliding: a slot whose window already holds `context` tokens cannot take position `context`. Appending to
/// it keeps the newest `slideKeep - 1` tokens plus the new one and recomputes the cache for that window with
/// a prefill (every position shifts, so the cached keys are stale). The logits are then exactly those of a
/// full forward pass over the kept window; the next `context - slideKeep` tokens are cheap steps again.
/// `slideCount(slot:)` counts the slides so the caller can say so.
///
/// Weights: the steps read a copy laid out for decoding, made at init and made again at the next prefill or
/// advance once the model's `parameterRevision` has changed (the model was trained or loaded since). Slots
/// prefilled before such a change keep the keys and values the old weights gave until they are prefilled again.
///
/// Nothing is allocated by `append` or `advance` (scratch, cache and the prefill activations are sized at
/// init), unless the weights changed.
public final class BatchDecoder {
    public let model: GPT
    public let cache: KVCache
    public let slots: Int
    public let slideKeep: Int
    public let weights: DecoderWeights
    /// The matrices in the layout the steps read (shared by the slots), copied at the model's parameter
    /// revision `decodedRevision`.
    private var decoding: DecodingWeights!   // nil only while copyWeightsIfChanged() replaces it
    private var decodedRevision: Int

    private let windowTokens: UnsafeMutablePointer<Int32>   // [slots, T]  tokens of each slot's window
    private let lengths: UnsafeMutablePointer<Int>          // [slots]  tokens in the window (0: empty)
    private let slides: UnsafeMutablePointer<Int>           // [slots]
    private let pending: UnsafeMutablePointer<Int32>        // [slots]  staged token, -1 when none
    // One row per slot being stepped: its slot and the position its token takes.
    private let rowSlot: UnsafeMutablePointer<Int>          // [slots]
    private let rowPosition: UnsafeMutablePointer<Int>      // [slots]
    private let rowToken: UnsafeMutablePointer<Int32>       // [slots]

    private let scratch: FloatBuffer
    private let x: UnsafeMutablePointer<Float>         // [B, C]  residual stream
    private let normed: UnsafeMutablePointer<Float>    // [B, C]  layer-norm output
    private let mean: UnsafeMutablePointer<Float>      // [B]
    private let rstd: UnsafeMutablePointer<Float>      // [B]
    private let qkv: UnsafeMutablePointer<Float>       // [B, 3C]
    private let attended: UnsafeMutablePointer<Float>  // [B, C]  heads concatenated
    private let fc: UnsafeMutablePointer<Float>        // [B, 4C]
    private let fcGelu: UnsafeMutablePointer<Float>    // [B, 4C]
    private let scores: UnsafeMutablePointer<Float>    // [B, H, T]  attention weights of one query
    private let rowLogits: UnsafeMutablePointer<Float> // [B, V]  logits by row of the last step
    private let slotLogits: UnsafeMutablePointer<Float> // [slots, V]  logits by slot

    /// `slideKeep` defaults to three quarters of the context (at least 1). The steps read the matrices laid
    /// out for decoding (`DecodingWeights`, made now): fp32, or with `.bfloat16` a bf16 copy (the prefill
    /// stays fp32).
    /// Throws `GPTError.doesNotFitInMemory` when a decoder of `slots` would not fit in memory here: its KV cache
    /// (2 L slots T C floats), the weights' decoding copy and the activations held once the prefill has planned
    /// (the model's replicas' too: a decoder beside a training run), beside the model's own buffers. `init`
    /// checks it first; a caller may ask before it makes one (a benchmark timing decoders it makes and drops).
    public static func checkMemory(model: GPT, slots: Int, weights: DecoderWeights) throws {
        let config = model.config
        let committed = model.committedBytes(batch: 1, training: false, packed: model.packedWeights.allocatedBytes > 0)
        let activations = model.activationBytesAfterPass(batch: 1, time: config.context, needs: .hidden, sharded: false)
        try MemoryBudget.check(bytes: 8 * Double(config.layers) * Double(slots) * Double(config.context) * Double(config.width)
                                   + DecodingWeights.bytes(config: config, storage: weights) + activations,
                               what: "decoding \(slots) sequences together (their key-value cache, with the weights "
                                   + "laid out for decoding)", besides: committed.bytes, holding: committed.holding)
    }

    public init(model: GPT, slots: Int, slideKeep: Int? = nil, weights: DecoderWeights = .float32) throws {
        let config = model.config
        let T = config.context, C = config.width, V = config.vocabSize, H = config.heads
        if slots <= 0 { throw DecoderError.noSlots(slots: slots) }
        let keep = slideKeep ?? max(1, T - T / 4)
        if keep < 1 || keep > T { throw DecoderError.invalidSlideKeep(keep: keep, context: T) }
        try Self.checkMemory(model: model, slots: slots, weights: weights)
        self.model = model
        self.slots = slots
        self.slideKeep = keep
        self.weights = weights
        decoding = DecodingWeights(model: model, storage: weights)
        decodedRevision = model.parameterRevision
        cache = KVCache(layers: config.layers, slots: slots, context: T, width: C)
        windowTokens = .allocate(capacity: slots * T)
        windowTokens.initialize(repeating: 0, count: slots * T)
        lengths = .allocate(capacity: slots); lengths.initialize(repeating: 0, count: slots)
        slides = .allocate(capacity: slots); slides.initialize(repeating: 0, count: slots)
        pending = .allocate(capacity: slots); pending.initialize(repeating: -1, count: slots)
        rowSlot = .allocate(capacity: slots); rowSlot.initialize(repeating: 0, count: slots)
        rowPosition = .allocate(capacity: slots); rowPosition.initialize(repeating: 0, count: slots)
        rowToken = .allocate(capacity: slots); rowToken.initialize(repeating: 0, count: slots)
        let B = slots
        let sizes = [B * C, B * C, B, B, B * 3 * C, B * C, B * 4 * C, B * 4 * C, B * H * T, B * V, B * V]
        scratch = FloatBuffer(count: sizes.reduce(0) { $0 + ParameterLayout.aligned($1) })
        var cursor = 0
        var pointers: [UnsafeMutablePointer<Float>] = []
        for size in sizes {
            pointers.append(scratch.pointer + cursor)
            cursor += ParameterLayout.aligned(size)
        }
        x = pointers[0]; normed = pointers[1]; mean = pointers[2]; rstd = pointers[3]; qkv = pointers[4]
        attended = pointers[5]; fc = pointers[6]; fcGelu = pointers[7]; scores = pointers[8]
        rowLogits = pointers[9]; slotLogits = pointers[10]
        // The prefill runs the training forward for one sequence of up to T tokens: plan it now (forward only and
        // without logits, the LM head being applied to the last row here, unless the model keeps a larger plan).
        model.planActivations(batch: 1, time: T, needs: .hidden)
    }

    deinit {
        windowTokens.deallocate(); lengths.deallocate(); slides.deallocate(); pending.deallocate()
        rowSlot.deallocate(); rowPosition.deallocate(); rowToken.deallocate()
    }

    // MARK: - State of a slot

    // These four accessors take a slot in 0..<slots and stop the program on any other (a check that stays in
    // -Ounchecked builds, where a precondition would not: they read raw buffers).

    /// Tokens in the slot's window (its next token takes position `length`).
    public func length(slot: Int) -> Int { lengths[validSlot(slot)] }
    /// The slot's window: the tokens the next logits condition on.
    public func window(slot: Int) -> UnsafeBufferPointer<Int32> {
        let slot = validSlot(slot)
        return UnsafeBufferPointer(start: windowTokens + slot * model.config.context, count: lengths[slot])
    }
    /// Bytes the decoding layout of the weights takes beyond the model's parameters (see `DecodingWeights`).
    public var decodingWeightBytes: Int { decoding.allocatedBytes }

    /// Next-token logits [V] of the slot (after its prefill or the last `advance()` that stepped it).
    public func logits(slot: Int) -> UnsafePointer<Float> {
        UnsafePointer(slotLogits + validSlot(slot) * model.config.vocabSize)
    }
    /// How many times the slot's window slid since its prefill.
    public func slideCount(slot: Int) -> Int { slides[validSlot(slot)] }

    private func validSlot(_ slot: Int) -> Int {
        guard slot >= 0 && slot < slots else { fatalError(DecoderError.slotOutOfRange(slot: slot, slots: slots).description) }
        return slot
    }

    /// Empties a slot.
    public func reset(slot: Int) {
        guard slot >= 0 && slot < slots else { return }
        lengths[slot] = 0
        slides[slot] = 0
        pending[slot] = -1
    }

    // MARK: - Prefill

    /// Replaces the slot's content with `tokens` (1...context of them) and computes its next-token logits.
    public func prefill(slot: Int, tokens: UnsafeBufferPointer<Int32>) throws {
        try checkSlot(slot)
        let T = model.config.context
        guard let base = tokens.baseAddress, tokens.count > 0 else { throw DecoderError.emptyPrompt }
        copyWeightsIfChanged()
        if tokens.count > T { throw DecoderError.promptLongerThanContext(length: tokens.count, context: T) }
        for token in tokens { try checkToken(token) }
        let window = windowTokens + slot * T
        window.update(from: base, count: tokens.count)
        lengths[slot] = tokens.count
        slides[slot] = 0
        pending[slot] = -1
        prefillWindow(slot: slot)
    }

    public func prefill(slot: Int, tokens: [Int32]) throws {
        try tokens.withUnsafeBufferPointer { try prefill(slot: slot, tokens: $0) }
    }

    /// Runs the slot's window (lengths[slot] tokens, already in windowTokens) through the training forward:
    /// copies each layer's keys and values (columns C..<3C of qkv) into the cache as its block finishes (a
    /// forward-only plan reuses one layer's buffers) and applies the LM head to the last position only.
    private func prefillWindow(slot: Int) {
        let config = model.config
        let T = config.context, C = config.width, V = config.vocabSize
        let n = lengths[slot]
        let window = UnsafePointer(windowTokens + slot * T)
        model.planActivations(batch: 1, time: n, needs: .hidden)
        model.runBlocks(tokens: window, batch: 1, time: n) { l, block in
            let keys = self.cache.keys.pointer + self.cache.offset(layer: l, slot: slot, position: 0)
            let values = self.cache.values.pointer + self.cache.offset(layer: l, slot: slot, position: 0)
            for t in 0..<n {
                (keys + t * C).update(from: block.qkv + t * 3 * C + C, count: C)
                (values + t * C).update(from: block.qkv + t * 3 * C + 2 * C, count: C)
            }
        }
        let a = model.activations!
        GEMM.matrixTimesVector(y: slotLogits + slot * V, w: model.parameters.pointer + model.layout.tokenEmbedding,
                               x: a.lnf + (n - 1) * C, outputs: V, inputs: C, pool: model.pool)
    }

    /// Copies the weights again when the model's parameters changed since the last copy.
    private func copyWeightsIfChanged() {
        guard model.parameterRevision != decodedRevision else { return }
        decoding = nil   // freed before the new copy is made, so that two copies never coexist
        decoding = DecodingWeights(model: model, storage: weights)
        decodedRevision = model.parameterRevision
    }

    // MARK: - Incremental steps

    /// Stages `token` as the slot's next token; `advance()` computes the logits after it.
    public func append(_ token: Int32, to slot: Int) throws {
        try checkSlot(slot)
        try checkToken(token)
        if lengths[slot] == 0 { throw DecoderError.slotNotPrefilled(slot: slot) }
        if pending[slot] >= 0 { throw DecoderError.tokenAlreadyPending(slot: slot) }
        pending[slot] = token
    }

    /// Steps every slot with a staged token; full windows slide first (see the type's comment).
    public func advance() {
        copyWeightsIfChanged()
        let T = model.config.context
        var rows = 0
        for slot in 0..<slots where pending[slot] >= 0 {
            let token = pending[slot]
            pending[slot] = -1
            let window = windowTokens + slot * T
            if lengths[slot] == T {
                // Keep the newest slideKeep - 1 tokens, add the new one, and recompute the window.
                let kept = slideKeep - 1
                if kept > 0 { window.update(from: window + (T - kept), count: kept) }
                window[kept] = token
                lengths[slot] = slideKeep
                slides[slot] += 1
                prefillWindow(slot: slot)
                continue
            }
            rowSlot[rows] = slot
            rowPosition[rows] = lengths[slot]
            rowToken[rows] = token
            window[lengths[slot]] = token
            lengths[slot] += 1
            rows += 1
        }
        if rows > 0 { step(rows: rows) }
    }

    /// One position for each of `rows` rows (row r: slot rowSlot[r], token rowToken[r] at rowPosition[r]).
    /// Shapes: x [M, C]; per layer qkv [M, 3C], attended [M, C], fc [M, 4C]; logits [M, V].
    private func step(rows M: Int) {
        let config = model.config
        let C = config.width, V = config.vocabSize, eps = config.layerNormEpsilon
        let p = UnsafePointer(model.parameters.pointer)
        let layout = model.layout, pool = model.pool
        let wte = p + layout.tokenEmbedding, wpe = p + layout.positionEmbedding

        // x[r] = wte[token_r] + wpe[position_r]
        for r in 0..<M {
            let e = wte + Int(rowToken[r]) * C, q = wpe + rowPosition[r] * C, out = x + r * C
            for c in 0..<C { out[c] = e[c] + q[c] }
        }
        for l in 0..<config.layers {
            let w = layout.blocks[l]
            LayerNorm.forward(out: normed, mean: mean, rstd: rstd, input: x, weight: p + w.ln1Weight,
                              bias: p + w.ln1Bias, rows: M, channels: C, epsilon: eps, pool: pool)
            let d = decoding.blocks[l]
            d.attention.multiply(y: qkv, ldy: 3 * C, x: normed, ldx: C, bias: p + w.attentionBias, rows: M,
                                 accumulate: false, pool: pool)
            for r in 0..<M {
                let offset = cache.offset(layer: l, slot: rowSlot[r], position: rowPosition[r])
                (cache.keys.pointer + offset).update(from: qkv + r * 3 * C + C, count: C)
                (cache.values.pointer + offset).update(from: qkv + r * 3 * C + 2 * C, count: C)
            }
            attend(layer: l, rows: M)
            // x += attended · Wproj + bproj
            d.attentionProjection.multiply(y: x, ldy: C, x: attended, ldx: C, bias: p + w.attentionProjectionBias,
                                           rows: M, accumulate: true, pool: pool)
            LayerNorm.forward(out: normed, mean: mean, rstd: rstd, input: x, weight: p + w.ln2Weight,
                              bias: p + w.ln2Bias, rows: M, channels: C, epsilon: eps, pool: pool)
            d.fullyConnected.multiply(y: fc, ldy: 4 * C, x: normed, ldx: C, bias: p + w.fullyConnectedBias, rows: M,
                                      accumulate: false, pool: pool)
            GELU.forward(out: fcGelu, input: fc, count: M * 4 * C, pool: pool)
            // x += gelu · Wmlp + bmlp
            d.mlpProjection.multiply(y: x, ldy: C, x: fcGelu, ldx: 4 * C, bias: p + w.mlpProjectionBias, rows: M,
                                     accumulate: true, pool: pool)
        }
        LayerNorm.forward(out: normed, mean: mean, rstd: rstd, input: x, weight: p + layout.finalNormWeight,
                          bias: p + layout.finalNormBias, rows: M, channels: C, epsilon: eps, pool: pool)
        // Tied LM head: logits[M, V] = normed[M, C] · wte[V, C]^T
        // Rows that are consecutive slots (the usual case: every slot stepping) write their slots' logits
        // directly; otherwise by row, then copied to their slots.
        let consecutive = (0..<M).allSatisfy { rowSlot[$0] == rowSlot[0] + $0 }
        decoding.head.multiply(y: consecutive ? slotLogits + rowSlot[0] * V : rowLogits, ldy: V, x: normed, ldx: C,
                               bias: nil, rows: M, accumulate: false, pool: pool)
        if !consecutive {
            for r in 0..<M { (slotLogits + rowSlot[r] * V).update(from: rowLogits + r * V, count: V) }
        }
    }

    /// attended[r, head h] = softmax_t(q·k_t / sqrt(hs)) · v_t over the slot's positions t = 0...position,
    /// q = qkv[r, h*hs ..< (h+1)*hs] (`CachedAttention`). One task per row when there are rows enough for
    /// the threads (each task then streams its slot's cache rows whole), otherwise one per (row, head), so
    /// that a single sequence still uses every thread.
    private func attend(layer l: Int, rows M: Int) {
        let config = model.config
        let C = config.width, H = config.heads, hs = config.headSize, T = config.context
        let keys = UnsafePointer(cache.keys.pointer), values = UnsafePointer(cache.values.pointer)
        let qkv = UnsafePointer(self.qkv), attended = self.attended, scores = self.scores
        let rowSlot = self.rowSlot, rowPosition = self.rowPosition, cache = self.cache
        let groups = M >= 2 * model.pool.threadCount ? 1 : H   // tasks per row
        // A task costs about 4 * positions * hs flops a head: short contexts run on the calling thread (a
        // dispatch costs more than the work).
        var longest = 0
        for r in 0..<M { longest = max(longest, rowPosition[r] + 1) }
        let minimumChunk = max(1, 16_384 / (longest * hs * (H / groups)))
        model.pool.parallelFor(M * groups, minimumChunk: minimumChunk, chunksPerThread: 2) { range in
            for task in range {
                let r = task / groups, g = task % groups
                let heads = (g * H / groups)..<((g + 1) * H / groups)
                let base = cache.offset(layer: l, slot: rowSlot[r], position: 0)
                CachedAttention.attend(out: attended + r * C, query: qkv + r * 3 * C, keys: keys + base,
                                       values: values + base, stride: C, positions: rowPosition[r] + 1,
                                       headSize: hs, heads: heads, scores: scores + (r * H + heads.lowerBound) * T)
            }
        }
    }

    // MARK: - Validation

    private func checkSlot(_ slot: Int) throws {
        if slot < 0 || slot >= slots { throw DecoderError.slotOutOfRange(slot: slot, slots: slots) }
    }

    private func checkToken(_ token: Int32) throws {
        if token < 0 || Int(token) >= model.config.vocabSize {
            throw DecoderError.tokenOutOfRange(token: token, vocabSize: model.config.vocabSize)
        }
    }
}
