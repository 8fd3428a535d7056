import Testing
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
}
