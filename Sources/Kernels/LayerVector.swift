/// SIMD16 helpers shared by the layer kernels: unaligned loads/stores and a vectorised exp.
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

    /// e^x on 16 lanes: x = n ln2 + f with |f| <= ln2/2, e^f by a degree-6 polynomial (Taylor; relative error
    /// below 2e-7 on that interval), 2^n built in the exponent bits. Inputs are clamped to [-87, 88], so the
    /// result is finite and positive (e^-87 ~ 1.6e-38); callers that need an exact 0 mask it themselves.
    @inline(__always)
    static func exp(_ x: Vector16) -> Vector16 {
        let clamped = x.clamped(lowerBound: Vector16(repeating: -87), upperBound: Vector16(repeating: 88))
        // Round to nearest by the 1.5 * 2^23 trick: after the add, the low mantissa bits hold n itself.
        let shifted = clamped * 1.442_695_04 + 12_582_912
        let n = shifted - 12_582_912
        // Cody-Waite split of ln 2 keeps f accurate: ln2 = 0.693359375 - 2.12194440e-4.
        var f = clamped - n * 0.693_359_375
        f = f + n * 2.121_944_4e-4
        var p = Vector16(repeating: 1.0 / 720)
        p = p * f + 1.0 / 120
        p = p * f + 1.0 / 24
        p = p * f + 1.0 / 6
        p = p * f + 0.5
        p = p * f + 1
        p = p * f + 1
        let nInt = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
        let bits = (nInt &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: Vector16.self)
    }

    /// tanh(x) = 1 - 2 / (e^{2x} + 1); saturates cleanly to +-1.
    @inline(__always)
    static func tanh(_ x: Vector16) -> Vector16 {
        1 - 2 / (exp(x + x) + 1)
    }

    /// Horizontal sum.
    @inline(__always)
    static func sum(_ v: Vector16) -> Float { v.sum() }
}
