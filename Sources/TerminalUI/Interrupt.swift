import Glibc
import Synchronization

/// Ctrl-C handling for long runs: the first SIGINT asks the run to stop at the next safe point (the training
/// loop saves a checkpoint, the sampler ends the current answer); a second one while the first is pending
/// exits at once with status 130.
public enum Interrupt {
    private static let requested = Atomic<Int>(0)

    /// Installs the handler. Call once at start-up.
    public static func install() {
        // A parent may have started us with SIGINT blocked (the mask survives exec): unblock it.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigprocmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            if Interrupt.requested.add(1, ordering: .sequentiallyConsistent).newValue >= 2 {
                _exit(130)
            }
        }
    }

    /// True when Ctrl-C was pressed since the last `reset()`.
    public static var isRequested: Bool { requested.load(ordering: .sequentiallyConsistent) > 0 }

    /// Forgets a handled Ctrl-C (the interactive sampler keeps its session after one).
    public static func reset() { requested.store(0, ordering: .sequentiallyConsistent) }
}
