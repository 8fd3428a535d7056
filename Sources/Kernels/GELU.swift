/// GELU, tanh approximation (GPT-2's "gelu_new"), elementwise over `count` values:
///   u = sqrt(2/pi) (x + 0.044715 x^3)
///   forward:  out = 0.5 x (1 + tanh u)
///   backward: gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
public enum GELU {
    static let scale: Float = 0.797_884_56   // sqrt(2/pi)
    static let cubic: Float = 0.044_715

    // The forward runs on SIMD16 values (zmm code, the same operations as the scalar tail): the loop
    // vectoriser had made 8-lane ymm code of the scalar `value`, and the forward's share of a one-thread `tiny`
    // step fell from 2.5-2.6% to 2.2%. It takes four vectors a step, so their dependency chains run side by side
    // (each element still takes `value`'s operations): a tiny shard (384 x 512, one thread) 0.075-0.080 ->
    // 0.072-0.075 ms. The backward stays a plain loop: on SIMD16 it ran no faster, nor with `vrcp14ps` and a
    // Newton step in place of its division (BENCHMARKS.md, "Training" > "Session 15").

    public static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int,
                               pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 32_768) { range in
            var i = range.lowerBound
            while i + 64 <= range.upperBound {
                let x0 = LayerVector.load(input + i), x1 = LayerVector.load(input + i + 16)
                let x2 = LayerVector.load(input + i + 32), x3 = LayerVector.load(input + i + 48)
                let y0 = value(x0), y1 = value(x1), y2 = value(x2), y3 = value(x3)
                LayerVector.store(y0, out + i); LayerVector.store(y1, out + i + 16)
                LayerVector.store(y2, out + i + 32); LayerVector.store(y3, out + i + 48)
                i += 64
            }
            while i + 16 <= range.upperBound {
                LayerVector.store(value(LayerVector.load(input + i)), out + i)
                i += 16
            }
            while i < range.upperBound { out[i] = value(input[i]); i += 1 }
        }
    }

    /// `output` is the forward's result for `input`: the backward reads s = sigmoid(2u) off it (s = out / x)
    /// instead of computing the exp again, which made it 2.9 times faster (0.96 -> 0.33 ns an element, in L2).
    public static func backward(dinput: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                                output: UnsafePointer<Float>, dout: UnsafePointer<Float>, count: Int,
                                accumulate: Bool, pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 32_768) { range in
            if accumulate {
                for i in range { dinput[i] += derivative(input[i], output: output[i]) * dout[i] }
            } else {
                for i in range { dinput[i] = derivative(input[i], output: output[i]) * dout[i] }
            }
        }
    }

    // 0.5 x (1 + tanh u) = x * sigmoid(2u), and 1 - tanh^2 u = 4 s (1 - s) with s = sigmoid(2u): the forward
    // takes one exp and one division an element, the backward one division.

    @inline(__always)
    static func value(_ x: Float) -> Float {
        let u = scale * (x + cubic * x * x * x)
        return x / (1 + LayerVector.exp(-2 * u))
    }

    /// `value` on 16 lanes (the same operations, so the same bits), in 512-bit code. `@inline(always)`: with
    /// `@inline(__always)` the four-vector loop called it, passing the vectors through memory.
    @inline(always)
    static func value(_ x: Vector16) -> Vector16 {
        let u = scale * (x + cubic * x * x * x)
        return x / (1 + LayerVector.exp(-2 * u))
    }

    /// gelu'(x) from x and out = gelu(x) = x s: s = out / x, and s = 1/2 where |x| < 1e-20 (there the product
    /// x s may be subnormal, or 0 / 0, and sigmoid(2u) = 1/2 to far below float precision).
    @inline(__always)
    static func derivative(_ x: Float, output: Float) -> Float {
        let s = abs(x) < 1e-20 ? 0.5 : output / x
        let slope = scale * (1 + (3 * cubic) * x * x)
        return s + 2 * x * s * (1 - s) * slope
    }
}
