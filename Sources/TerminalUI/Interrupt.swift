import Glibc
import Synchronization

/// Stop requests for long runs: Ctrl-C (SIGINT), `kill` (SIGTERM) and a closed terminal (SIGHUP). The first asks
/// the run to stop at the next safe point (the training loop saves a checkpoint, the sampler ends the current
/// answer) and prints `notice`, if any, at once; a second one at least `repeatWindow` later exits at once with
/// status 128 + its number (130 for SIGINT). A second signal within the window is taken for the same request:
/// `timeout -s INT` and some shells deliver one Ctrl-C twice (to the process and to its group), which used to end
/// a run before it could save.
public enum Interrupt {
    private static let requested = Atomic<Int>(0)
    /// The first signal's number since the last `reset()` (SIGINT until one arrives).
    private static let firstSignal = Atomic<Int>(Int(SIGINT))
    /// The last SIGTERM or SIGHUP ever received (0: none). It outranks a Ctrl-C that came first, even inside the
    /// repeat window and across `reset()`: Ctrl-C then `kill` must end the interactive sampler, not be forgotten.
    private static let ending = Atomic<Int>(0)
    /// CLOCK_MONOTONIC nanoseconds of the first signal since the last `reset()`.
    private static let firstAt = Atomic<Int>(0)
    static let repeatWindowNanoseconds = 1_000_000_000
    /// The notices, one a stop signal, as C strings allocated once, so the handler only calls `write`
    /// (async-signal-safe); indexed by signal number, plain pointers (a dictionary read in a signal handler could
    /// retain its storage).
    private static let signalCount = 65
    nonisolated(unsafe) private static var notices =
        UnsafeMutablePointer<(pointer: UnsafeMutablePointer<CChar>, length: Int)?>.allocate(capacity: signalCount)
    nonisolated(unsafe) private static var quitNotice: (pointer: UnsafeMutablePointer<CChar>, length: Int)?
    static let stopSignals = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the handler. Call once at start-up. `notice` (what the run does now, for example "stopping after
    /// this step and saving DIR/latest") goes to stderr when the first stop request arrives, named after its signal
    /// ("Ctrl-C: ...", "SIGTERM: ..."), with what a second one does: quit at once `quitting` (by default "without
    /// saving").
    public static func install(notice text: String? = nil, quitting: String = "without saving") {
        notices.initialize(repeating: nil, count: signalCount)
        if let text {
            for (signal, name) in [(SIGINT, "Ctrl-C"), (SIGTERM, "SIGTERM"), (SIGHUP, "SIGHUP")] {
                notices[Int(signal)] = cString("\n\(name): \(text) (\(name) again to quit at once \(quitting))\n")
            }
        }
        quitNotice = text.map { _ in cString("\nquit \(quitting)\n") }
        // A parent may have started us with these signals blocked (the mask survives exec): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in stopSignals { sigaddset(&set, signal) }
        sigprocmask(SIG_UNBLOCK, &set, nil)
        for stop in stopSignals {
            signal(stop) { number in
                let now = Interrupt.monotonicNanoseconds()
                if number != SIGINT { Interrupt.ending.store(Int(number), ordering: .sequentiallyConsistent) }
                if Interrupt.requested.add(1, ordering: .sequentiallyConsistent).newValue == 1 {
                    Interrupt.firstAt.store(now, ordering: .sequentiallyConsistent)
                    Interrupt.firstSignal.store(Int(number), ordering: .sequentiallyConsistent)
                    if number >= 0 && Int(number) < Interrupt.signalCount, let (pointer, length) = Interrupt.notices[Int(number)] {
                        _ = write(2, pointer, length)
                    }
                    return
                }
                if now - Interrupt.firstAt.load(ordering: .sequentiallyConsistent) < Interrupt.repeatWindowNanoseconds {
                    return
                }
                if let (pointer, length) = Interrupt.quitNotice { _ = write(2, pointer, length) }
                _exit(128 + number)
            }
        }
    }

    /// For training runs, from their start: a closed output pipe (`pretrain | head -1`) makes the writes fail
    /// instead of killing the run (SIGPIPE) between two checkpoints; the run goes on and saves as usual.
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// True when a stop was requested since the last `reset()`.
    public static var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) > 0 }

    /// The exit status of a run that stopped on request: 128 + the signal's number (130 for Ctrl-C, 143 for `kill`);
    /// a SIGTERM or SIGHUP outranks a Ctrl-C that came before it.
    public static var exitStatus: Int32 {
        let ending = ending.load(ordering: .sequentiallyConsistent)
        return Int32(128 + (ending != 0 ? ending : firstSignal.load(ordering: .sequentiallyConsistent)))
    }

    /// Forgets a handled Ctrl-C (the interactive sampler keeps its session after one).
    public static func reset() { requested.store(0, ordering: .sequentiallyConsistent) }

    private static func monotonicNanoseconds() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }

    private static func cString(_ text: String) -> (pointer: UnsafeMutablePointer<CChar>, length: Int) {
        let length = text.utf8.count
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: length + 1)
        _ = text.withCString { strcpy(pointer, $0) }
        return (pointer, length)
    }
}
