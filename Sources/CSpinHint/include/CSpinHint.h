#ifndef CSPINHINT_H
#define CSPINHINT_H

/// A hint to the CPU that the caller is polling a shared variable in a loop (x86 `pause`, ARM `yield`):
/// it slows the loop down to about the speed at which the value can change, saves power and, on x86,
/// avoids the pipeline flush of a memory-order violation when the value finally changes. Swift has no
/// intrinsic for it.
static inline void swiftlet_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
