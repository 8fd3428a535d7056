import CIntrinsics
import Glibc
import Synchronization

/// A persistent pool of worker threads for data-parallel kernels.
///
/// `run(tasks:_:)` calls `body(i)` once for every `i` in `0..<tasks`, spread over the workers and the calling
/// thread (which works too), and returns when all calls have finished. Tasks are claimed one at a time from a
/// shared counter, so uneven tasks balance themselves. Nothing is allocated per call.
///
/// Workers spin briefly after a job (kernels come in quick succession during a training step) and then sleep
/// on a condition variable, so an idle pool costs no CPU. Every wait polls with the CPU's spin hint first
/// (a hand-off is noticed within a fraction of a microsecond) and only then with `sched_yield` (which keeps
/// an oversubscribed machine fair but costs a system call a poll); see `SpinWait`.
///
/// Helpers: a pool made with `helpers: n` also lets up to n threads that are not its own join its jobs, through
/// `help()`. The shards of a data-parallel training pass run on one-thread pools like this, and a thread whose
/// shard is done helps with the tasks of the kernels still running in the others (GPT+Shards.swift): on a
/// machine whose cores run at different speeds, the faster one takes over part of the slower one's work.
///
/// The claim word packs the job's generation (high 24 bits), its task count (20 bits) and the next task index
/// (low 20 bits), so one atomic load gives all three consistently: a worker or helper that comes late and still
/// holds an old generation can never claim a task of a newer job, nor a task past the end of its own.
public final class ThreadPool: @unchecked Sendable {
    /// The pool the kernels use unless given another. Replace it (for example from `--threads`) before any
    /// kernel runs: `ThreadPool.shared = ThreadPool(threads: 1)`.
    nonisolated(unsafe) public static var shared = ThreadPool(threads: ThreadPool.availableCores)

    /// Online cores of this machine (at most `maximumThreads`, the largest pool there is).
    public static var availableCores: Int { min(maximumThreads, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }

    /// Most threads a pool may be asked for on the command line (`--threads`): far more than any core count,
    /// far fewer than a mistyped number that would exhaust the process's threads or address space.
    public static let maximumThreads = 1024

    /// Nil when `threads` is a thread count a tool can use, else what is wrong with it.
    public static func problem(withThreads threads: Int) -> String? {
        if threads < 1 { return "--threads must be at least 1 (got \(threads))" }
        if threads > maximumThreads { return "--threads must be at most \(maximumThreads) (got \(threads))" }
        return nil
    }

    /// A note when `threads` is more than the cores here (allowed, and the results are the same, but the threads
    /// take turns on the cores: a training step measured 20% slower), else nil.
    public static func oversubscriptionNote(threads: Int) -> String? {
        guard threads > availableCores else { return nil }
        return "note: --threads \(threads) is more than the \(availableCores) cores here; the threads take turns on them, "
            + "which is slower than one a core"
    }

    /// Threads that work on a job, the caller included.
    public let threadCount: Int
    /// Threads from elsewhere that may join a job through `help()`.
    public let helpers: Int
    /// Most tasks of one job that may run at once.
    public var concurrency: Int { threadCount + helpers }

    private typealias Job = (Int) -> Void

    private let claim = Atomic<UInt64>(0)       // generation << 40 | task count << 20 | next task index
    private let finished = Atomic<Int>(0)       // tasks of the current job that have returned
    private let jobPointer = Atomic<UInt>(0)    // address of the current job's closure box
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var generation: UInt64 = 0          // touched by the submitting thread only

    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var threads: [pthread_t] = []
    private let submitLock = Mutex<Void>(())   // one job at a time

    /// Most tasks in one job (20 bits of the claim word).
    public static let maxTasks = 1 << 20 - 1
    private static let countShift: UInt64 = 20, generationShift: UInt64 = 40
    private static let indexMask: UInt64 = 1 << 20 - 1

    public init(threads: Int, helpers: Int = 0) {
        // Not a precondition: release builds (-Ounchecked) drop those, and `1..<threads` below would then start
        // threads without end for a count under 1. Tools check --threads first (`problem(withThreads:)`).
        if !(1...ThreadPool.maximumThreads).contains(threads) {
            fatalError("a thread pool needs 1 to \(ThreadPool.maximumThreads) threads, not \(threads)")
        }
        precondition(helpers >= 0, "helpers cannot be negative")
        threadCount = threads
        self.helpers = helpers
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&wake, nil)
        for _ in 1..<threads {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let status = pthread_create(&thread, nil, { raw in
                let pool = Unmanaged<ThreadPool>.fromOpaque(raw!).takeRetainedValue()
                pool.workerLoop()
                return nil
            }, context)
            precondition(status == 0, "pthread_create failed: \(status)")
            self.threads.append(thread)
        }
    }

    /// Stops the workers. The shared pool lives for the whole process; other pools call this when done.
    public func shutdown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&wake)
        pthread_mutex_unlock(&mutex)
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }

    /// Calls `body(i)` for every `i` in `0..<tasks`, in parallel, and waits for all of them.
    public func run(tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 0 { return }
        if tasks == 1 || concurrency == 1 {
            for i in 0..<tasks { body(i) }
            return
        }
        precondition(tasks <= ThreadPool.maxTasks, "a job of \(tasks) tasks is more than a pool can hand out")
        submitLock.withLock { _ in
            withoutActuallyEscaping(body) { escapable in
                var box: Job = escapable
                withUnsafeMutablePointer(to: &box) { boxPointer in
                    generation &+= 1
                    let gen = generation & 0xFF_FFFF
                    finished.store(0, ordering: .relaxed)
                    jobPointer.store(UInt(bitPattern: boxPointer), ordering: .relaxed)
                    claim.store(gen << ThreadPool.generationShift | UInt64(tasks) << ThreadPool.countShift,
                                ordering: .sequentiallyConsistent)
                    if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                        pthread_mutex_lock(&mutex)
                        pthread_cond_broadcast(&wake)
                        pthread_mutex_unlock(&mutex)
                    }
                    drain(generation: gen)
                    var wait = SpinWait()
                    while finished.load(ordering: .acquiring) < tasks { wait.pause() }
                }
            }
        }
    }

    /// Splits `0..<count` into about `concurrency * chunksPerThread` contiguous ranges (each at least
    /// `minimumChunk` long) and runs `body(range)` on each in parallel. Counting the helpers lets a thread done
    /// with its own shard take part in the other shard's elementwise kernels.
    public func parallelFor(_ count: Int, minimumChunk: Int = 1, chunksPerThread: Int = 1,
                            _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let wanted = max(1, concurrency * chunksPerThread)
        let chunks = max(1, min(wanted, count / max(1, minimumChunk)))
        if chunks == 1 { body(0..<count); return }
        run(tasks: chunks) { i in
            body((count * i / chunks)..<(count * (i + 1) / chunks))
        }
    }

    /// Runs tasks of this pool's current job, if it has any left, on the calling thread: a helper (at most
    /// `helpers` threads from elsewhere), or one of the pool's own threads from inside a task of the same job
    /// (it then takes tasks no other thread has claimed yet). Returns at once when no task is open; returns
    /// whether it ran any.
    @discardableResult
    public func help() -> Bool {
        drain(generation: claim.load(ordering: .acquiring) >> ThreadPool.generationShift)
    }

    /// Calls `helpRound` (which calls `help()` on other pools and returns whether any ran a task) until `busy`
    /// turns false, pausing between idle rounds as a waiting thread does.
    public static func help(while busy: () -> Bool, _ helpRound: () -> Bool) {
        var wait = SpinWait()
        while busy() {
            if helpRound() { wait = SpinWait() } else { wait.pause() }
        }
    }

    // MARK: - Workers

    /// Claims and runs tasks of job `gen` until none is left (or the job is no longer current); returns whether
    /// it ran any.
    @discardableResult
    private func drain(generation gen: UInt64) -> Bool {
        var ran = false
        while true {
            let state = claim.load(ordering: .acquiring)
            if state >> ThreadPool.generationShift != gen { return ran }
            let index = Int(state & ThreadPool.indexMask)
            let count = Int((state >> ThreadPool.countShift) & ThreadPool.indexMask)
            if index >= count { return ran }
            let (exchanged, _) = claim.compareExchange(expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
            if !exchanged { continue }
            // A claimed task keeps its job alive: the submitter waits for it before publishing another job.
            let box = UnsafeMutablePointer<Job>(bitPattern: jobPointer.load(ordering: .relaxed))!
            box.pointee(index)
            finished.add(1, ordering: .releasing)
            ran = true
        }
    }

    private func workerLoop() {
        var seen: UInt64 = 0
        while true {
            // Spin a little: the next kernel of a training step usually follows within microseconds.
            var wait = SpinWait()
            var gen = claim.load(ordering: .acquiring) >> ThreadPool.generationShift
            while gen == seen && wait.polls < SpinWait.pollsBeforeSleeping && !stopping.load(ordering: .relaxed) {
                wait.pause()
                gen = claim.load(ordering: .acquiring) >> ThreadPool.generationShift
            }
            if gen == seen {
                pthread_mutex_lock(&mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while claim.load(ordering: .sequentiallyConsistent) >> ThreadPool.generationShift == seen
                        && !stopping.load(ordering: .sequentiallyConsistent) {
                    pthread_cond_wait(&wake, &mutex)
                }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
                gen = claim.load(ordering: .acquiring) >> ThreadPool.generationShift
            }
            if stopping.load(ordering: .relaxed) { return }
            seen = gen
            drain(generation: gen)
        }
    }
}

/// The pause between two polls of a shared atomic. The first `hintedPolls` polls only issue the CPU's spin hint
/// (x86 `pause`, tens of nanoseconds): the other threads of a training step hand work over every few
/// microseconds, and a `sched_yield` per poll made the poll itself a system call (about 7% of a `tiny`
/// training step in `perf`, the caller noticing the end of a job late). After that, polls yield the core, so
/// a thread waiting for one that the OS has descheduled lets it run.
private struct SpinWait {
    static let hintedPolls = 2_000          // about 50-100 microseconds of `pause` on current x86 cores
    static let pollsBeforeSleeping = 20_000 // then `sched_yield` polls; a worker sleeps after these
    private(set) var polls = 0

    @inline(__always)
    mutating func pause() {
        if polls < SpinWait.hintedPolls { swiftlet_spin_hint() } else { sched_yield() }
        polls += 1
    }
}
