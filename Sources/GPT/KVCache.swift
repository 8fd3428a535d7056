/// The keys and values of every position seen so far, for `slots` sequences decoded together.
///
/// keys, values: [L, slots, T, C] with T = the model's context and C = width; head h of position t of slot s
/// in layer l lives at ((l * slots + s) * T + t) * C + h * headSize, headSize floats. A slot's rows are
/// filled from position 0 by a prefill and then one position per decoded token.
public final class KVCache {
    public let layers: Int
    public let slots: Int
    public let context: Int
    public let width: Int
    let keys: FloatBuffer
    let values: FloatBuffer

    public init(layers: Int, slots: Int, context: Int, width: Int) {
        self.layers = layers
        self.slots = slots
        self.context = context
        self.width = width
        keys = FloatBuffer(count: layers * slots * context * width)
        values = FloatBuffer(count: layers * slots * context * width)
    }

    /// Offset (in floats) of position `position` of `slot` in `layer`.
    @inline(__always)
    func offset(layer: Int, slot: Int, position: Int) -> Int {
        ((layer * slots + slot) * context + position) * width
    }

    /// Bytes held (both tensors).
    public var bytes: Int { keys.bytes + values.bytes }
}
