/// An element a decoding weight matrix can be stored in: fp32, or bfloat16 widened to fp32 in registers.
public protocol PanelElement {
    /// The stored value nearest to `x` (bf16: round to nearest even).
    init(rounding x: Float)
    /// The fp32 value it stands for.
    var float: Float { get }
    /// 16 consecutive stored values starting `index` elements after `base`, as fp32, columns in natural order.
    static func load16(_ base: UnsafePointer<Self>, _ index: Int) -> SIMD16<Float>
    /// Where column j (0..<16) of a group of 16 is stored inside the group (the kernel's load order).
    static func position(ofColumn j: Int) -> Int
}

extension Float: PanelElement {
    @inlinable public init(rounding x: Float) { self = x }
    @inlinable public var float: Float { self }
    @inlinable @inline(__always)
    public static func load16(_ base: UnsafePointer<Float>, _ index: Int) -> SIMD16<Float> {
        UnsafeRawPointer(base + index).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inlinable public static func position(ofColumn j: Int) -> Int { j }
}

/// bfloat16: the top 16 bits of an IEEE fp32 value. No arithmetic of its own: a value is widened to fp32
/// by putting it in the top half of a 32-bit word and used as a Float.
///
/// In a panel, each group of 16 values is stored interleaved: 32-bit word i (i < 8) holds column i in its low
/// half and column 8 + i in its high half. A group is then loaded as 8 words w, and widened with two integer
/// operations and no shuffle: columns 0..<8 = w << 16 (vpslld), columns 8..<16 = w & 0xFFFF0000 (vpand).
public struct BFloat16: PanelElement, Equatable, Sendable {
    public var bits: UInt16

    public init(bits: UInt16) { self.bits = bits }

    /// fp32 -> bf16 rounding to nearest even (NaN stays a quiet NaN).
    @inlinable public init(rounding x: Float) {
        let b = x.bitPattern
        if x.isNaN { bits = UInt16(truncatingIfNeeded: b >> 16) | 0x40; return }
        bits = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
    }

    @inlinable public var float: Float { Float(bitPattern: UInt32(bits) << 16) }

    @inlinable @inline(__always)
    public static func load16(_ base: UnsafePointer<BFloat16>, _ index: Int) -> SIMD16<Float> {
        let words = UnsafeRawPointer(base + index).loadUnaligned(as: SIMD8<UInt32>.self)
        let low = unsafeBitCast(words &<< 16, to: SIMD8<Float>.self)
        let high = unsafeBitCast(words & 0xFFFF_0000, to: SIMD8<Float>.self)
        return SIMD16(lowHalf: low, highHalf: high)
    }
    @inlinable public static func position(ofColumn j: Int) -> Int { j < 8 ? 2 * j : 2 * (j - 8) + 1 }
}

/// A weight matrix W[K, N] as the decoding kernel (`PanelProduct`) reads it: N cut into column panels of
/// 16, panel p = W[0..<K, 16p ..< 16p+16], each panel contiguous and k-major ([K, 16], the last one
/// zero-padded), so one panel is a single sequential stream; in fp32 or bf16. Made from any strided fp32
/// source, which covers both W[in, out] (GPT-2's Conv1D layout) and the transposed tied embedding wte[V, C]^T.
/// (Reading fp32 W[in, out] in place instead, as strided panels, streamed 1.2-1.35x slower.)
public final class PanelMatrix<Element: PanelElement> {
    public let rows: Int       // K
    public let columns: Int    // N
    public let panelCount: Int // ceil(N / 16)
    @usableFromInline let base: UnsafeMutablePointer<Element>
    /// Bytes of the packed copy.
    public let allocatedBytes: Int

    /// A packed copy of the [K, N] matrix whose element (k, n) is `source[k * kStride + n * nStride]`.
    @_specialize(where Element == Float)
    @_specialize(where Element == BFloat16)
    public init(packing source: UnsafePointer<Float>, rows K: Int, columns N: Int, kStride: Int, nStride: Int) {
        rows = K; columns = N
        panelCount = (N + 15) / 16
        let count = max(1, panelCount * K * 16)
        base = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Element>.stride, alignment: 64)
            .bindMemory(to: Element.self, capacity: count)
        for p in 0..<panelCount {
            let panel = base + p * K * 16
            let width = min(16, N - 16 * p)
            for k in 0..<K {
                let src = source + k * kStride + 16 * p * nStride
                for j in 0..<16 {
                    (panel + k * 16 + Element.position(ofColumn: j)).initialize(to: Element(rounding: j < width ? src[j * nStride] : 0))
                }
            }
        }
        allocatedBytes = count * MemoryLayout<Element>.stride
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    /// Start of panel p and the distance between its rows (16).
    @inlinable @inline(__always)
    func panel(_ p: Int) -> (UnsafePointer<Element>, Int) { (UnsafePointer(base + p * 16 * rows), 16) }

    /// W[k, n] as fp32 (for tests and references).
    public func element(row k: Int, column n: Int) -> Float {
        let (start, s) = panel(n / 16)
        return start[k * s + Element.position(ofColumn: n % 16)].float
    }
}
