import Testing
import Foundation
import Glibc
import Synchronization
@testable import Kernels

@Suite struct ThreadPoolTests {
    @Test func everyTaskRunsExactlyOnce() {
        let pool = ThreadPool(threads: 3)
        defer { pool.shutdown() }
        for tasks in [1, 2, 3, 7, 64, 1000] {
            let counts = UnsafeMutablePointer<Int>.allocate(capacity: tasks)
            counts.initialize(repeating: 0, count: tasks)
            defer { counts.deallocate() }
            // Many jobs in a row exercise the hand-over between generations.
            for _ in 0..<200 { pool.run(tasks: tasks) { i in counts[i] += 1 } }
            #expect((0..<tasks).allSatisfy { counts[$0] == 200 })
        }
    }

    @Test func parallelForCoversTheRangeWithoutOverlap() {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        for count in [0, 1, 5, 1001] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0, count: max(count, 1))
            defer { hits.deallocate() }
            pool.parallelFor(count, chunksPerThread: 4) { range in for i in range { hits[i] += 1 } }
            #expect((0..<count).allSatisfy { hits[$0] == 1 })
        }
    }

    @Test func sleepingWorkersWakeForNewJobs() {
        let pool = ThreadPool(threads: 2)
        defer { pool.shutdown() }
        let total = Atomic<Int>(0)
        for _ in 0..<3 {
            usleep(50_000) // long enough for the worker to stop spinning and sleep
            pool.run(tasks: 16) { _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 48)
    }

    /// A one-thread pool that takes a helper: while its owner runs 1,000 jobs in a row, another thread calls
    /// `help()` as fast as it can (as a shard's thread does once its own shard is done). Every task runs exactly
    /// once a job, some of them on the helper, and `help()` on a pool with no open task does nothing.
    @Test func helperJoinsJobsWithoutRunningATaskTwice() {
        let pool = ThreadPool(threads: 1, helpers: 1)
        defer { pool.shutdown() }
        #expect(pool.concurrency == 2)
        #expect(!pool.help())
        let tasks = 48, jobs = 1_000
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: tasks)
        counts.initialize(repeating: 0, count: tasks)
        defer { counts.deallocate() }
        let stop = Atomic<Bool>(false), onHelper = Atomic<Int>(0), helperRunning = Atomic<Bool>(false)
        let helperDone = DispatchSemaphore(value: 0)
        let helper = Thread {
            helperRunning.store(true, ordering: .releasing)
            while !stop.load(ordering: .acquiring) { pool.help() }
            helperDone.signal()
        }
        helper.start()
        while !helperRunning.load(ordering: .acquiring) { usleep(100) }
        let owner = pthread_self()
        for _ in 0..<jobs {
            pool.run(tasks: tasks) { i in
                counts[i] += 1
                if pthread_equal(pthread_self(), owner) == 0 { onHelper.add(1, ordering: .relaxed) }
                for _ in 0..<50 { busyWork() }   // tasks long enough for the helper to claim some
            }
        }
        stop.store(true, ordering: .releasing)
        helperDone.wait()
        #expect((0..<tasks).allSatisfy { counts[$0] == jobs })
        #expect(onHelper.load(ordering: .relaxed) > 0)
        #expect(!pool.help())
    }
}

@inline(never) private func busyWork() { _ = getpid() }
