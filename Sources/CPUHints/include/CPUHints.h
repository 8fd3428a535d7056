#ifndef CPUHINTS_H
#define CPUHINTS_H

// Two CPU hints Swift has no intrinsic for.

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

#endif
