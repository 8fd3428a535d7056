/// SIMD16 passes over a row of the vocabulary, used by `Sampler` so that a sampling step costs a few
/// vectorized passes over [V] floats. Sums go through Float SIMD lanes per 256-value chunk, then a Double
/// total.
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
    /// One pass over memory: each chunk's exps are written, then summed while still in L1 by `chunkMeasure`,
    /// so the total equals `measure(p, n, atOrAbove: 0).mass` exactly. The exp loop is plain scalar code
    /// without branches, which LLVM vectorizes at the target's full width.
    static func exponentiate(_ p: UnsafeMutablePointer<Float>, _ n: Int, shift: Float, scale: Float) -> Double {
        var mass = 0.0
        var i = 0
        while i < n {
            let count = min(chunk, n - i)
            let q = p + i
            for j in 0..<count { q[j] = exp((q[j] - shift) * scale) }
            mass += chunkMeasure(p, i, count, atOrAbove: 0).mass
            i += chunk
        }
        return mass
    }

    /// Values per chunk of the masked sums: summed in Float SIMD lanes, then added to a Double total.
    static let chunk = 256

    /// Sum and count of the values >= t among p[i..<i+count]. Every caller sums the same chunks in the same
    /// order, so the totals agree exactly between passes. Two accumulators of 16 lanes (four ymm chains,
    /// enough to hide the add latency), reduced by halving.
    @inline(__always)
    static func chunkMeasure(_ p: UnsafePointer<Float>, _ i: Int, _ count: Int, atOrAbove t: Float) -> (mass: Double, count: Int) {
        let threshold = Vector(repeating: t)
        var sum0 = Vector(repeating: 0), sum1 = Vector(repeating: 0)
        var kept0 = SIMD16<Int32>(repeating: 0), kept1 = SIMD16<Int32>(repeating: 0)
        var j = i
        let end = i + count
        while j + 2 * width <= end {
            let x0 = load(p, j), x1 = load(p, j + width)
            let keep0 = x0 .>= threshold, keep1 = x1 .>= threshold
            sum0 += Vector(repeating: 0).replacing(with: x0, where: keep0)
            sum1 += Vector(repeating: 0).replacing(with: x1, where: keep1)
            kept0 &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: keep0)
            kept1 &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: keep1)
            j += 2 * width
        }
        if j + width <= end {
            let x = load(p, j)
            let keep = x .>= threshold
            sum0 += Vector(repeating: 0).replacing(with: x, where: keep)
            kept0 &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: keep)
            j += width
        }
        var mass = Double(halvingSum(sum0 + sum1))
        var total = Int(halvingSum(kept0 &+ kept1))
        while j < end {
            if p[j] >= t { mass += Double(p[j]); total += 1 }
            j += 1
        }
        return (mass, total)
    }

    /// Horizontal sums by halving (the standard library's `sum()` adds lane by lane through the stack).
    @inline(__always)
    static func halvingSum(_ v: Vector) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    @inline(__always)
    static func halvingSum(_ v: SIMD16<Int32>) -> Int32 {
        let a = v.lowHalf &+ v.highHalf
        let b = a.lowHalf &+ a.highHalf
        let c = b.lowHalf &+ b.highHalf
        return c[0] &+ c[1]
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
        // Multiply-adds spelled as fused (Swift does not contract a * b + c): half the instructions.
        let t = Float(12_582_912).addingProduct(xc, 1.442_695_04)
        let n = t - 12_582_912
        let r = xc.addingProduct(n, -0.693_359_375).addingProduct(n, 2.121_944_4e-4)
        var y: Float = 1.987_569_15e-4
        y = Float(1.398_199_95e-3).addingProduct(y, r)
        y = Float(8.333_451_9e-3).addingProduct(y, r)
        y = Float(4.166_579_59e-2).addingProduct(y, r)
        y = Float(1.666_666_55e-1).addingProduct(y, r)
        y = Float(5.000_000_12e-1).addingProduct(y, r)
        y = (r + 1).addingProduct(y, r * r)
        let exponent = (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23 // n + 127 in the exponent field
        let scaled = y * Float(bitPattern: exponent)
        return valid ? scaled : 0
    }
}
