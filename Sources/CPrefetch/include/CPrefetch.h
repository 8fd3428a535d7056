#ifndef SWIFTLET_CPREFETCH_H
#define SWIFTLET_CPREFETCH_H

/// A software prefetch (prefetcht0) of the cache line holding `address`: Swift has no way to emit one.
/// Inlined into the Swift caller; never faults, even on an address past the end of a buffer.
static inline __attribute__((always_inline)) void swiftlet_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
