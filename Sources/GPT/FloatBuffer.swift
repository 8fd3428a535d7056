import Foundation
import Kernels

/// A zero-initialised, 64-byte aligned block of Floats that this object owns (on huge pages from 2 MiB on:
/// `LargeBuffer`).
public final class FloatBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int

    public init(count: Int) {
        self.count = count
        pointer = LargeBuffer.allocateFloats(count)
    }

    deinit { LargeBuffer.deallocate(pointer) }

    public var bytes: Int { count * MemoryLayout<Float>.stride }
    public func zero() { pointer.update(repeating: 0, count: count) }
    /// The memory as a buffer pointer: valid only while this object is alive (keep a reference).
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
    /// A copy of the contents.
    public var values: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
