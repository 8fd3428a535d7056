import Glibc

/// Memory for the large buffers (parameters, gradients, moments, activations, attention's saved probabilities,
/// packing scratch), on 2 MiB pages where the kernel grants them.
///
/// With 4 KiB pages the kernels' strided walks touch a new page at almost every row (a head's rows of qkv are
/// 3C floats apart, P's rows Tp floats), and a training step's buffers span far more pages than the TLB holds,
/// so loads wait on page walks, which cost most in a VM (two levels of page tables). Linux's transparent huge
/// pages in `madvise` mode (the default here, `/sys/kernel/mm/transparent_hugepage/enabled`) back a range with
/// 2 MiB pages only when asked: a buffer of 2 MiB or more is therefore allocated 2 MiB aligned, rounded up to
/// whole 2 MiB pages (at most 2 MiB more a buffer), and advised with `MADV_HUGEPAGE`. Where the kernel has no
/// huge pages to give, the advice does nothing and the buffer is ordinary memory.
public enum LargeBuffer {
    static let hugePage = 2 << 20

    /// `bytes` bytes, zeroed, 64-byte aligned (2 MiB aligned from 2 MiB on). Release with `deallocate`.
    public static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let huge = bytes >= hugePage
        let size = huge ? (bytes + hugePage - 1) / hugePage * hugePage : max(1, bytes)
        var memory: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&memory, huge ? hugePage : 64, size) == 0, let memory else {
            fatalError("out of memory allocating \(size) bytes")
        }
        if huge { _ = madvise(memory, size, Int32(MADV_HUGEPAGE)) }
        memset(memory, 0, size)
        return memory
    }

    /// Floats, zeroed: `allocate(bytes:)` for `count` floats.
    public static func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
        allocate(bytes: max(1, count) * MemoryLayout<Float>.stride).bindMemory(to: Float.self, capacity: max(1, count))
    }

    public static func deallocate(_ pointer: UnsafeMutableRawPointer) { free(pointer) }
    public static func deallocate(_ pointer: UnsafeMutablePointer<Float>) { free(pointer) }
}
