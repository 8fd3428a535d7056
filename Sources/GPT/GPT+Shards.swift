import Foundation
import Kernels

/// Data parallelism inside one pass. With a pool of n > 1 threads and a batch of at least n sequences, the
/// training and evaluation passes (`loss`, `forwardBackward`, `forwardHidden` and the task-head
/// `forwardBackward`; not `forward`) split the batch by sequence into n shards and run each shard whole on
/// one thread: a replica of the model (the same parameters, activations of its own, a
/// one-thread pool) runs the shard's forward and backward through the single-threaded kernels. The threads
/// then meet once a pass instead of at every kernel (about 200 hand-offs a `tiny` training step), and every
/// product is packed and computed by one core without splitting small matrices between two.
///
/// Balance: a replica's pool takes the other threads as helpers (`ThreadPool.help`), and a thread whose shard
/// is done runs tasks of the products still running in the other shards (their M blocks or N panels: two
/// thirds of a step's time) and of their elementwise kernels (`parallelFor` cuts a chunk for each helper)
/// until every shard is done. (Attention keeps a scratch a task, so it stays whole on its shard's thread rather
/// than double that scratch.) The shards are equal, but the cores need not be: on this VM one vCPU often runs
/// 20% slower than the other for minutes (a `tiny` step's shards took 16.3 and 20 ms), and hybrid desktop CPUs
/// mix fast and slow cores. Who runs a task does not change what it computes.
///
/// Memory caps the shard count: the extra gradient buffers may take a quarter of the machine's memory
/// (`shardLimit`). Below the thread count, each shard's replica gets a pool of its share of the threads
/// (n / shards, the first n % shards one more).
///
/// Weights: with at most 512 rows a shard, the weight matrices are packed for the GEMM once a pass, before the
/// shards start, and every shard reads the same panels (PackedWeights.swift); else each product packs its own.
///
/// Gradients: shard 0 adds into the model's gradient buffer; shard s > 0 into a buffer of its own (zero between
/// passes), drained into the model's once every shard is done, in shard order. The sum is the whole batch's
/// gradient up to float rounding, and the same threads and inputs give the same bits. Dropout masks are the
/// whole batch's (each shard offsets its element indices), so the thread count does not change them.
extension GPT {
    /// Shards of a pass over `batch` sequences: one a thread (at most `shardLimit`) when every shard gets a
    /// sequence at least, else 1 (the pass runs on this model, its kernels split over the threads, so no thread
    /// idles). Memory: each shard past the first holds a gradient buffer as large as the parameters.
    func shardCount(batch: Int) -> Int {
        let shards = min(pool.threadCount, shardLimit)
        return shards > 1 && batch >= shards ? shards : 1
    }

    /// Most shards whose extra gradient buffers (one a shard past the first, `parameterBytes` each) fit in a
    /// quarter of `memoryBytes`: the `gpt2` preset's 0.5 GB buffers allow 13 shards on a 24 GiB machine, the
    /// `small` preset's 60 MB ones about 100.
    static func shardLimit(parameterBytes: Int, memoryBytes: Int) -> Int {
        1 + memoryBytes / 4 / max(1, parameterBytes)
    }

    /// Threads of shard `s`'s replica when the pool's threads are shared out over `shards`.
    func replicaThreads(_ s: Int, of shards: Int) -> Int {
        pool.threadCount / shards + (s < pool.threadCount % shards ? 1 : 0)
    }

    /// Forgets the replicas (on a new dropout, and when the model goes away), stopping their pools' workers.
    func dropReplicas() {
        for replica in replicas { replica.pool.shutdown() }
        replicas = []
    }

    /// Sequences of shard `s` of `shards` (contiguous, sizes differing by at most one).
    static func shardSequences(_ s: Int, of shards: Int, batch: Int) -> Range<Int> {
        (batch * s / shards)..<(batch * (s + 1) / shards)
    }

    /// Plans the activations a pass over `batch` x `time` with `needs` uses: the shards' (replicas made on first
    /// use), or this model's own when the pass is not sharded.
    func planPass(batch: Int, time: Int, needs: PassNeeds) {
        let shards = shardCount(batch: batch)
        guard shards > 1 else {
            planActivations(batch: batch, time: time, needs: needs)
            return
        }
        if packsWeights(batch: batch, time: time, needs: needs) { packedWeights.allocate() }
        while replicas.count < shards {
            let threads = replicaThreads(replicas.count, of: shards)
            let replicaPool = ThreadPool(threads: threads, helpers: pool.threadCount - threads)
            replicas.append(GPT(replicaOf: self, sharingGradients: replicas.isEmpty, pool: replicaPool))
        }
        for s in 0..<shards {
            replicas[s].planActivations(batch: Self.shardSequences(s, of: shards, batch: batch).count, time: time,
                                        needs: needs)
        }
    }

    /// Whether a pass over `batch` x `time` has shards short enough to read weights packed ahead
    /// (`PackedWeights`): sharded, with at most `PackedWeights.maxShardRows` rows a shard.
    func hasShortShards(batch: Int, time: Int) -> Bool {
        let shards = shardCount(batch: batch)
        return shards > 1 && (batch + shards - 1) / shards * time <= PackedWeights.maxShardRows
    }

    /// Whether a pass over `batch` x `time` with `needs` packs the weights ahead for its shards: short shards, and
    /// the packed weights there already or fitting in memory beside the pass (`packedWeightsFit`).
    func packsWeights(batch: Int, time: Int, needs: PassNeeds) -> Bool {
        hasShortShards(batch: batch, time: time)
            && (packedWeights.allocatedBytes > 0 || packedWeightsFit(batch: batch, time: time, needs: needs))
    }

    /// Runs `body(model, sequences, shard)` for every shard of a pass over `batch` x `time` tokens, in parallel:
    /// one replica a shard, or this model alone (shard 0, every sequence) when the pass is not sharded. A thread
    /// done with its shard helps the others' kernels until all are done. The activations must be planned
    /// (`planPass`). The `weights` forms the shards read are packed first when the shards are short and
    /// `planPass` made their buffer (`packsWeights`), and serve until the shards are done.
    func inShards(batch: Int, time: Int, weights: PackedWeights.Forms,
                  _ body: (_ model: GPT, _ sequences: Range<Int>, _ shard: Int) -> Void) {
        let shards = shardCount(batch: batch)
        guard shards > 1 else { return body(self, 0..<batch, 0) }
        let packs = hasShortShards(batch: batch, time: time) && packedWeights.allocatedBytes > 0
        if packs { packedWeights.pack(weights, parameters: parameters.pointer, pool: pool) }
        defer { if packs { packedWeights.release() } }
        shardsDone.store(0, ordering: .relaxed)
        pool.run(tasks: shards) { s in
            body(replicas[s], Self.shardSequences(s, of: shards, batch: batch), s)
            shardsDone.add(1, ordering: .acquiringAndReleasing)
            ThreadPool.help(while: { shardsDone.load(ordering: .acquiring) < shards }) {
                // A shard no thread has started yet (its thread is still waking) is taken whole.
                var ran = pool.help()
                for other in 0..<shards where other != s { ran = replicas[other].pool.help() || ran }
                return ran
            }
        }
    }

    /// `inShards`, one shard after the other in shard order, on the calling thread.
    func inShardsSerially(batch: Int, _ body: (_ model: GPT, _ sequences: Range<Int>) -> Void) {
        let shards = shardCount(batch: batch)
        guard shards > 1 else { return body(self, 0..<batch) }
        for s in 0..<shards { body(replicas[s], Self.shardSequences(s, of: shards, batch: batch)) }
    }

    /// Adds what the shards of a pass over `batch` sequences collected in buffers of their own into this
    /// model's gradients, in shard order, and leaves those buffers zero.
    func drainShardGradients(batch: Int) {
        let shards = shardCount(batch: batch)
        guard shards > 1 else { return }
        for replica in replicas[1..<shards] {
            GradientBuffers.drain(replica.gradients.pointer, into: gradients.pointer, count: layout.totalCount,
                                  pool: pool)
        }
    }

    /// Runs `pass(model, sequences)` over the batch (planned here for `needs`, then `inShards`) and returns the sum of what the passes return, in shard order. With `addsGradients`, the
    /// shards' gradients are drained into this model's after the pass.
    func sumOverShards(batch: Int, time: Int, needs: PassNeeds, addsGradients: Bool, weights: PackedWeights.Forms,
                       _ pass: (_ model: GPT, _ sequences: Range<Int>) -> Double) -> Double {
        planPass(batch: batch, time: time, needs: needs)
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: shardCount(batch: batch)) { sums in
            inShards(batch: batch, time: time, weights: weights) { model, sequences, s in
                sums[s] = pass(model, sequences)
            }
            if addsGradients { drainShardGradients(batch: batch) }
            return sums.reduce(0, +)
        }
    }
}
