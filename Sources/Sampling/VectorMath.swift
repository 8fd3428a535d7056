/// SIMD16 passes over a row of the vocabulary, used by `Sampler` so that a sampling step costs a few
/// vectorized passes over [V] floats. Sums go through a Float sum per 16 values, then a Double total.
enum VectorMath {
    typealias Vector = SIMD16<Float>
    static let width = 16

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Vector {
        UnsafeRawPointer(p + i).loadUnaligned(as: Vector.self)
    }

    /// The values p[i..<i+count] (count < 16) in a vector padded with `padding`.
    @inline(__always)
    static func loadPartial(_ p: UnsafePointer<Float>, _ i: Int, _ count: Int, padding: Float) -> Vector {
        var x = Vector(repeating: padding)
        for j in 0..<count { x[j] = p[i + j] }
        return x
    }

    /// Largest value, NaN ignored (-inf when there is none).
    static func maximum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = Vector(repeating: -.infinity)
        var i = 0
        while i + width <= n {
            let x = load(p, i)
            m.replace(with: x, where: x .> m)
            i += width
        }
        let x = loadPartial(p, i, n - i, padding: -.infinity)
        m.replace(with: x, where: x .> m)
        var result = -Float.infinity
        for j in 0..<width where m[j] > result { result = m[j] }
        return result
    }

    /// Smallest value >= t (+inf when there is none).
    static func minimum(_ p: UnsafePointer<Float>, _ n: Int, atOrAbove t: Float) -> Float {
        let threshold = Vector(repeating: t)
        var m = Vector(repeating: .infinity)
        var i = 0
        while i + width <= n {
            let x = load(p, i)
            m.replace(with: x, where: (x .< m) .& (x .>= threshold))
            i += width
        }
        var result = Float.infinity
        for j in 0..<width where m[j] < result { result = m[j] }
        for j in i..<n where p[j] >= t && p[j] < result { result = p[j] }
        return result
    }

    /// p[i] = exp((p[i] - shift) * scale) in place (NaN and values below -87 become 0); returns the sum.
    /// The exp loop is plain scalar code without branches, which LLVM vectorizes at the target's full width;
    /// the sum is a separate masked-sum pass (a Float reduction inside the loop would block vectorization).
    static func exponentiate(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float, scale: Float) -> Double {
        for i in 0..<n { p[i] = exp((p[i] - shift) * scale) }
        return measure(p, n, atOrAbove: 0).mass
    }

    /// Values per chunk of the masked sums: summed in Float SIMD lanes, then added to a Double total.
    static let chunk = 256

    /// Sum and count of the values >= t among p[i..<i+count]. Every caller sums the same chunks, so the
    /// totals agree exactly between passes.
    @inline(__always)
    static func chunkMeasure(_ p: UnsafePointer<Float>, _ i: Int, _ count: Int, atOrAbove t: Float) -> (mass: Double, count: Int) {
        let threshold = Vector(repeating: t)
        var sum = Vector(repeating: 0)
        var kept = SIMD16<Int32>(repeating: 0)
        var j = i
        let end = i + count
        while j + width <= end {
            let x = load(p, j)
            let keep = x .>= threshold
            sum += Vector(repeating: 0).replacing(with: x, where: keep)
            kept &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: keep)
            j += width
        }
        var mass = Double(sum.sum())
        var total = Int(kept.wrappedSum())
        while j < end {
            if p[j] >= t { mass += Double(p[j]); total += 1 }
            j += 1
        }
        return (mass, total)
    }

    /// Sum and count of the values >= t.
    static func measure(_ p: UnsafePointer<Float>, _ n: Int, atOrAbove t: Float) -> (mass: Double, count: Int) {
        var mass = 0.0
        var total = 0
        var i = 0
        while i < n {
            let m = chunkMeasure(p, i, min(chunk, n - i), atOrAbove: t)
            mass += m.mass
            total += m.count
            i += chunk
        }
        return (mass, total)
    }

    /// exp(x) for x <= 0 (the sampler only needs that range; x > 88 would overflow): Cody-Waite range
    /// reduction x = n ln2 + r, |r| <= ln2/2, a degree-6 polynomial for e^r (Cephes' expf coefficients,
    /// about 1 ulp), and 2^n built in the exponent bits. x < -87 or NaN gives 0 (masked tokens stay 0).
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let valid = x >= -87
        let xc = valid ? x : 0
        // Round to nearest by adding 1.5 * 2^23: the integer n then sits in the low mantissa bits of t.
        let t = xc * 1.442_695_04 + 12_582_912
        let n = t - 12_582_912
        let r = (xc - n * 0.693_359_375) - n * -2.121_944_4e-4
        var y: Float = 1.987_569_15e-4
        y = y * r + 1.398_199_95e-3
        y = y * r + 8.333_451_9e-3
        y = y * r + 4.166_579_59e-2
        y = y * r + 1.666_666_55e-1
        y = y * r + 5.000_000_12e-1
        y = y * (r * r) + r + 1
        let exponent = (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23 // n + 127 in the exponent field
        let scaled = y * Float(bitPattern: exponent)
        return valid ? scaled : 0
    }
}
