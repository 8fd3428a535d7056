#ifndef CINTRINSICS_H
#define CINTRINSICS_H

// What Swift has no intrinsic for: two CPU hints and a vector square root.

/// The caller is polling a shared variable in a loop (x86 `pause`, ARM `yield`): it slows the loop down to
/// about the speed at which the value can change, saves power and, on x86, avoids the pipeline flush of a
/// memory-order violation when the value finally changes.
static inline void swiftlet_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/// Starts loading the cache line holding `address` into all cache levels (x86 `prefetcht0`); no effect on
/// the program's results, never faults.
static inline void swiftlet_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Starts loading the cache line holding `address` into L2 and L3 only (x86 `prefetcht1`), for data needed
/// after what is in L1 now; never faults.
static inline void swiftlet_prefetch_l2(const void *address) {
    __builtin_prefetch(address, 0, 2);
}

/// 16 floats (Swift's SIMD16<Float>).
typedef float swiftlet_float16 __attribute__((ext_vector_type(16)));

/// Lane-wise square root, correctly rounded (`vsqrtps`). Swift's `SIMD16<Float>.squareRoot()` takes the lanes
/// one at a time through libm's `sqrtf` here (a compare and a branch for errno each), 16 scalar roots.
static inline swiftlet_float16 swiftlet_sqrt16(swiftlet_float16 x) {
    return __builtin_elementwise_sqrt(x);
}

#endif
