/// GELU, tanh approximation (GPT-2's "gelu_new"), elementwise over `count` values:
///   u = sqrt(2/pi) (x + 0.044715 x^3)
///   forward:  out = 0.5 x (1 + tanh u)
///   backward: gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 x^2)
public enum GELU {
    static let scale: Float = 0.797_884_56   // sqrt(2/pi)
    static let cubic: Float = 0.044_715

    public static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int,
                               pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 32_768) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                LayerVector.store(value(LayerVector.load(input + i)), out + i)
                i += 16
            }
            if i < range.upperBound {
                // Tail through a padded vector, so the scalar path is the same math.
                var x = Vector16()
                for j in i..<range.upperBound { x[j - i] = input[j] }
                let y = value(x)
                for j in i..<range.upperBound { out[j] = y[j - i] }
            }
        }
    }

    public static func backward(dinput: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                                dout: UnsafePointer<Float>, count: Int, accumulate: Bool, pool: ThreadPool = .shared) {
        pool.parallelFor(count, minimumChunk: 32_768) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                var g = derivative(LayerVector.load(input + i)) * LayerVector.load(dout + i)
                if accumulate { g += LayerVector.load(dinput + i) }
                LayerVector.store(g, dinput + i)
                i += 16
            }
            if i < range.upperBound {
                var x = Vector16()
                for j in i..<range.upperBound { x[j - i] = input[j] }
                let d = derivative(x)
                for j in i..<range.upperBound {
                    let g = d[j - i] * dout[j]
                    dinput[j] = accumulate ? dinput[j] + g : g
                }
            }
        }
    }

    @inline(__always)
    static func value(_ x: Vector16) -> Vector16 {
        let inner: Vector16 = x + cubic * x * x * x
        let u = scale * inner
        return 0.5 * x * (1 + LayerVector.tanh(u))
    }

    @inline(__always)
    static func derivative(_ x: Vector16) -> Vector16 {
        let x2 = x * x
        let inner: Vector16 = x + cubic * x2 * x
        let th = LayerVector.tanh(scale * inner)
        let slope: Vector16 = scale * (1 + (3 * cubic) * x2)
        let sech2: Vector16 = 1 - th * th
        let halfX: Vector16 = 0.5 * x
        return 0.5 * (1 + th) + halfX * sech2 * slope
    }
}
