import Synchronization

/// Reusable packing buffers for the GEMM. A task takes a buffer, packs into it and gives it back, so the
/// number of buffers equals the most tasks ever running at once (one per thread) and they are allocated
/// once, the first time they are needed; later calls allocate nothing.
final class GEMMScratch: @unchecked Sendable {
    /// Floats in each buffer.
    let capacity: Int
    private let free = Mutex<[UnsafeMutablePointer<Float>]>([])

    init(capacity: Int) {
        self.capacity = capacity
        free.withLock { $0.reserveCapacity(64) }
    }

    /// A buffer of `capacity` floats, 64-byte aligned, for the caller's exclusive use until `give(back:)`.
    func take() -> UnsafeMutablePointer<Float> {
        if let buffer = free.withLock({ $0.popLast() }) { return buffer }
        return LargeBuffer.allocateFloats(capacity)
    }

    func give(back buffer: UnsafeMutablePointer<Float>) {
        free.withLock { $0.append(buffer) }
    }

    /// Runs `body` with a buffer taken for its duration.
    @inline(__always)
    func with<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let buffer = take()
        defer { give(back: buffer) }
        return body(buffer)
    }
}

/// Buffers of varying size (the partial sums of a K split): a taken buffer holds at least the floats asked for.
/// A free buffer that is too small is replaced by a larger one, so once the largest product has run, later
/// calls allocate nothing.
final class GEMMGrowingScratch: @unchecked Sendable {
    struct Buffer {
        let pointer: UnsafeMutablePointer<Float>
        let capacity: Int
    }
    private let free = Mutex<[Buffer]>([])

    func take(floats: Int) -> Buffer {
        if let buffer = free.withLock({ $0.popLast() }) {
            if buffer.capacity >= floats { return buffer }
            LargeBuffer.deallocate(buffer.pointer)
        }
        return Buffer(pointer: LargeBuffer.allocateFloats(floats), capacity: floats)
    }

    func give(back buffer: Buffer) {
        free.withLock { $0.append(buffer) }
    }
}
