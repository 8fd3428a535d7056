import CIntrinsics
/// SIMD16 helpers shared by the layer kernels: unaligned loads/stores, reductions and an exp that loops vectorise.
typealias Vector16 = SIMD16<Float>

enum LayerVector {
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector16 {
        UnsafeRawPointer(p).loadUnaligned(as: Vector16.self)
    }

    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>) -> Vector16 {
        UnsafeRawPointer(p).loadUnaligned(as: Vector16.self)
    }

    @inline(__always)
    static func store(_ v: Vector16, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector16.self)
    }

    /// e^x: x = n ln2 + f with |f| <= ln2/2, e^f by a degree-6 polynomial (Taylor; relative error below 2e-7
    /// on that interval), 2^n built in the exponent bits. Inputs are clamped to [-87, 88], so the result is
    /// finite and positive (e^-87 ~ 1.6e-38); callers that need an exact 0 mask it themselves. Spelled on
    /// one Float for plain loops and remainders (every operation is a select, multiply-add or integer op, so
    /// LLVM's loop vectoriser widens a loop over memory to 8-lane ymm code); the SIMD16 `exp` below is the
    /// same computation on 16 lanes.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        // Fused multiply-adds spelled out (Swift does not contract a * b + c): half the instructions.
        let clamped = x < -87 ? -87 : (x > 88 ? 88 : x)
        let shifted = Float(12_582_912).addingProduct(clamped, 1.442_695_04)
        let n = shifted - 12_582_912
        var f = clamped.addingProduct(n, -0.693_359_375)
        f = f.addingProduct(n, 2.121_944_4e-4)
        var p: Float = 1.0 / 720
        p = Float(1.0 / 120).addingProduct(p, f)
        p = Float(1.0 / 24).addingProduct(p, f)
        p = Float(1.0 / 6).addingProduct(p, f)
        p = Float(0.5).addingProduct(p, f)
        p = Float(1).addingProduct(p, f)
        p = Float(1).addingProduct(p, f)
        let bits = (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: bits)
    }

    /// `exp` on 16 lanes at once, the same operations in the same order (so the same bits as 16 calls of the
    /// scalar one), spelled on SIMD16 so that it compiles to 512-bit code: LLVM's loop vectoriser widens the
    /// scalar one only to 8-lane ymm code here (the CPU's tuning prefers 256-bit vectors). The clamp keeps a
    /// NaN a NaN, as the scalar one does. `@inline(always)`: with `@inline(__always)` the softmax and the
    /// cross-entropy still called it, passing the vectors through memory.
    @inline(always)
    static func exp(_ x: Vector16) -> Vector16 {
        let clamped = laneMinimum(Vector16(repeating: 88), laneMaximum(Vector16(repeating: -87), x))
        let shifted = Vector16(repeating: 12_582_912).addingProduct(clamped, Vector16(repeating: 1.442_695_04))
        let n = shifted - 12_582_912
        var f = clamped.addingProduct(n, Vector16(repeating: -0.693_359_375))
        f = f.addingProduct(n, Vector16(repeating: 2.121_944_4e-4))
        var p = Vector16(repeating: 1.0 / 720)
        p = Vector16(repeating: 1.0 / 120).addingProduct(p, f)
        p = Vector16(repeating: 1.0 / 24).addingProduct(p, f)
        p = Vector16(repeating: 1.0 / 6).addingProduct(p, f)
        p = Vector16(repeating: 0.5).addingProduct(p, f)
        p = Vector16(repeating: 1).addingProduct(p, f)
        p = Vector16(repeating: 1).addingProduct(p, f)
        let bits = (unsafeBitCast(shifted, to: SIMD16<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: Vector16.self)
    }

    // The standard library's pointwiseMax/Min, .max(), .sum() and SIMD-mask `replace` compile to per-lane
    // loops through the stack here; these spellings compile to vmaxps / shuffles.

    /// Lane-wise minimum of two vectors of any width (vminps): a < b ? a : b, so b where either is NaN.
    @inline(__always)
    static func laneMinimum<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float {
        var r = a
        for i in a.indices { r[i] = a[i] < b[i] ? a[i] : b[i] }
        return r
    }

    /// Lane-wise maximum of two vectors of any width (vmaxps).
    @inline(__always)
    static func laneMaximum<V: SIMD>(_ a: V, _ b: V) -> V where V.Scalar == Float {
        var r = a
        for i in a.indices { r[i] = a[i] > b[i] ? a[i] : b[i] }
        return r
    }

    /// Horizontal sum by halving.
    @inline(__always)
    static func sum(_ v: Vector16) -> Float {
        let a = v.lowHalf + v.highHalf
        let b = a.lowHalf + a.highHalf
        let c = b.lowHalf + b.highHalf
        return c[0] + c[1]
    }

    /// Horizontal maximum by halving (four dependent vmaxps instead of a chain of 15 scalar compares, which
    /// was the latency of every softmax row).
    @inline(__always)
    static func max(_ v: Vector16) -> Float {
        let a = laneMaximum(v.lowHalf, v.highHalf)
        let b = laneMaximum(a.lowHalf, a.highHalf)
        let c = laneMaximum(b.lowHalf, b.highHalf)
        return c[0] > c[1] ? c[0] : c[1]
    }

    /// 16 ones then 16 zeros: `keepFirst(k)` loads lanes (1 for lane < k, 0 after), for k in 0...16.
    static let onesThenZeros: UnsafeMutablePointer<Float> = {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 32)
        for i in 0..<32 { p[i] = i < 16 ? 1 : 0 }
        return p
    }()

    /// 16 zeros then 16 -inf: a load at `16 - k` is 0 for lane < k and -inf after (the causal mask's last tile).
    static let zerosThenNegativeInfinity: UnsafeMutablePointer<Float> = {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: 32)
        for i in 0..<32 { p[i] = i < 16 ? 0 : -.infinity }
        return p
    }()

    /// Multiplier keeping lanes 0..<k (k in 0...16) and zeroing the rest.
    @inline(__always)
    static func keepFirst(_ k: Int, table: UnsafeMutablePointer<Float>) -> Vector16 { load(table + 16 - k) }

    /// dst[i] = scale * src[i] (or dst[i] += scale * src[i] when accumulating), i < n.
    @inline(__always)
    static func scaledCopy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int, scale: Float,
                           accumulate: Bool = false) {
        var i = 0
        if accumulate {
            while i + 16 <= n { store(load(dst + i) + scale * load(src + i), dst + i); i += 16 }
            while i < n { dst[i] += scale * src[i]; i += 1 }
        } else {
            while i + 16 <= n { store(scale * load(src + i), dst + i); i += 16 }
            while i < n { dst[i] = scale * src[i]; i += 1 }
        }
    }

    /// Prefetches the cache lines of `count` floats from `p` (one hint per 16 floats; harmless past the data).
    @inline(__always)
    static func prefetch(_ p: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i < count { swiftlet_prefetch(p + i); i += 16 }
        swiftlet_prefetch(p + count - 1)
    }

    /// sum_i a[i] * b[i], i < n.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = Vector16()
        var i = 0
        while i + 16 <= n { acc = acc.addingProduct(load(a + i), load(b + i)); i += 16 }
        var s = sum(acc)
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }
}
