import Kernels

/// The machine's read bandwidth, as a reference for bandwidth-bound kernels: a plain SIMD read-and-sum
/// stream over a 256 MiB buffer (far larger than the caches), split over `threads` threads.
public enum MemoryBandwidth {
    /// GB/s (1e9 bytes per second) of reading, median of `repeats` passes.
    public static func measureReadGBs(threads: Int, repeats: Int = 5) -> Double {
        let count = 256 << 18  // 256 MiB of Float
        let buffer = LargeBuffer.allocateFloats(count)
        defer { LargeBuffer.deallocate(buffer) }
        buffer.update(repeating: 1, count: count)
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: threads * 16)
        defer { partial.deallocate() }
        var sink: Float = 0
        let seconds = medianSeconds(repeats: repeats) {
            pool.run(tasks: threads) { t in
                let start = count * t / threads / 64 * 64
                let end = t == threads - 1 ? count : count * (t + 1) / threads / 64 * 64
                partial[t * 16] = readSum(buffer + start, count: end - start)
            }
            for t in 0..<threads { sink += partial[t * 16] }
        }
        if sink == -1 { print(sink) }  // keeps the sums alive
        return Double(count * 4) / seconds / 1e9
    }

    /// Sum of `count` floats (a multiple of 64), four independent SIMD16 accumulators.
    @inline(never)
    static func readSum(_ p: UnsafePointer<Float>, count: Int) -> Float {
        var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
        let raw = UnsafeRawPointer(p)
        var offset = 0
        let bytes = count * 4
        while offset < bytes {
            s0 += raw.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            s1 += raw.loadUnaligned(fromByteOffset: offset + 64, as: SIMD16<Float>.self)
            s2 += raw.loadUnaligned(fromByteOffset: offset + 128, as: SIMD16<Float>.self)
            s3 += raw.loadUnaligned(fromByteOffset: offset + 192, as: SIMD16<Float>.self)
            offset += 256
        }
        return ((s0 + s1) + (s2 + s3)).sum()
    }
}
