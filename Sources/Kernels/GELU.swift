/// GELU, tanh approximation (GPT-2's "gelu_new"), elementwise over `count` values:
///   u = sqrt(2/pi) (x + 0.044715 x^3)
///   forward:  out = 0.5 x (1 + tanh u)
///   backward: gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
///
/// With s = sigmoid(2u) = 1 / (1 + exp(-2u)): 0.5 (1 + tanh u) = s and 1 - tanh^2 u = 4 s (1 - s), so
///   out = x s,   gelu'(x) = s (1 + 2 x (1 - s) sqrt(2/pi) (1 + 3 * 0.044715 x^2)),
/// one exp and one division an element for both. A training forward writes gelu'(x) beside out (over x, which
/// the backward needs for nothing else), so the backward is a product: dinput = gelu'(x) * dout.
public enum GELU {
    static let scale: Float = 0.797_884_56   // sqrt(2/pi)
    static let cubic: Float = 0.044_715

    // Both run on SIMD16 values (zmm code; the scalar tail does the same operations, so the same bits): the
    // loop vectoriser had made 8-lane ymm code of the scalar forward.

    /// out = gelu(x).
    public static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int,
                               pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 32_768) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let x = LayerVector.load(input + i)
                LayerVector.store(x * sigmoid2u(x), out + i)
                i += 16
            }
            while i < range.upperBound { out[i] = input[i] * sigmoid2u(input[i]); i += 1 }
        }
    }

    /// out = gelu(x) (the same bits as `forward(out:input:)`) and derivative = gelu'(x), for the backward.
    /// `derivative` may be `input` itself (each element is read before it is written).
    public static func forward(out: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>,
                               input: UnsafePointer<Float>, count: Int, pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 32_768) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let x = LayerVector.load(input + i)
                let s = sigmoid2u(x)
                LayerVector.store(x * s, out + i)
                LayerVector.store(slope(x, s), derivative + i)
                i += 16
            }
            while i < range.upperBound {
                let x = input[i], s = sigmoid2u(x)
                out[i] = x * s
                derivative[i] = slope(x, s)
                i += 1
            }
        }
    }

    /// dinput (=|+=) derivative * dout, with `derivative` from the forward above.
    public static func backward(dinput: UnsafeMutablePointer<Float>, derivative: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, count: Int, accumulate: Bool, pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 32_768) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                var d = LayerVector.load(derivative + i) * LayerVector.load(dout + i)
                if accumulate { d += LayerVector.load(dinput + i) }
                LayerVector.store(d, dinput + i)
                i += 16
            }
            while i < range.upperBound {
                let d = derivative[i] * dout[i]
                dinput[i] = accumulate ? dinput[i] + d : d
                i += 1
            }
        }
    }

    /// s = sigmoid(2u) = 1 / (1 + exp(-2u)).
    @inline(__always)
    static func sigmoid2u(_ x: Float) -> Float {
        let u = scale * (x + cubic * x * x * x)
        return 1 / (1 + LayerVector.exp(-2 * u))
    }

    @inline(__always)
    static func sigmoid2u(_ x: Vector16) -> Vector16 {
        let u = scale * (x + cubic * x * x * x)
        return 1 / (1 + LayerVector.exp(-2 * u))
    }

    /// gelu'(x) from x and s = sigmoid(2u).
    @inline(__always)
    static func slope(_ x: Float, _ s: Float) -> Float {
        let du = scale * (1 + (3 * cubic) * x * x)
        let t = 2 * x * (1 - s)
        return s * (1 + t * du)
    }

    @inline(__always)
    static func slope(_ x: Vector16, _ s: Vector16) -> Vector16 {
        let du: Vector16 = scale * (1 + (3 * cubic) * x * x)   // du/dx
        let t: Vector16 = 2 * x * (1 - s)
        return s * (1 + t * du)
    }
}
