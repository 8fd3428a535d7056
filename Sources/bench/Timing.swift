import Glibc

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// How long a measurement first runs its body untimed. Long enough for the scheduler to spread the pool's
/// threads over the cores again after another process (the OpenBLAS or PyTorch reference) has had them: right
/// after such a process, a two-thread GEMM of a fraction of a millisecond ran at one thread's speed for the
/// whole of a measurement, the worker sharing the caller's core.
let warmUpSeconds = 0.2

/// Median and shortest time of one run, in seconds.
struct RunTimes {
    let median: Double
    let best: Double
}

/// Runs `body` to warm up, then `repeats` times; returns the median time of one run in seconds.
func medianSeconds(repeats: Int, _ body: () -> Void) -> Double { runTimes(repeats: repeats, body).median }

/// Runs `body` to warm up (at least once and for at least `warmUpSeconds`), then `repeats` times; the median
/// and the shortest run.
func runTimes(repeats: Int, _ body: () -> Void) -> RunTimes {
    let warmUpStart = monotonicSeconds()
    repeat { body() } while monotonicSeconds() - warmUpStart < warmUpSeconds
    var times: [Double] = []
    times.reserveCapacity(repeats)
    for _ in 0..<max(1, repeats) {
        let start = monotonicSeconds()
        body()
        times.append(monotonicSeconds() - start)
    }
    return RunTimes(median: median(times), best: times.min()!)
}

/// The median of measurements (the mean of the middle two for an even count); NaN for none, rather than a read
/// past the end (the options ask for at least one measurement, but release builds check no index).
func median(_ values: [Double]) -> Double {
    if values.isEmpty { return .nan }
    let sorted = values.sorted()
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
}
