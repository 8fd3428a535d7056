import Glibc

/// Seconds on the monotonic clock.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Median and shortest time of one run, in seconds.
struct RunTimes {
    let median: Double
    let best: Double
}

/// Runs `body` once to warm up, then `repeats` times; returns the median time of one run in seconds.
func medianSeconds(repeats: Int, _ body: () -> Void) -> Double { runTimes(repeats: repeats, body).median }

/// Runs `body` once to warm up, then `repeats` times; the median and the shortest run.
func runTimes(repeats: Int, _ body: () -> Void) -> RunTimes {
    body()
    var times: [Double] = []
    times.reserveCapacity(repeats)
    for _ in 0..<max(1, repeats) {
        let start = monotonicSeconds()
        body()
        times.append(monotonicSeconds() - start)
    }
    return RunTimes(median: median(times), best: times.min()!)
}

/// The median of measurements (the mean of the middle two for an even count).
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    let n = sorted.count
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
}
