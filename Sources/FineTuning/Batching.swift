import GPT

/// The order in which a task visits its training examples: a fresh seeded shuffle every epoch. Position p
/// (examples consumed so far) determines everything, so a resumed run continues with the same examples.
struct EpochOrder {
    let count: Int
    let seed: UInt64
    private var epoch = -1
    private var order: [Int] = []

    init(count: Int, seed: UInt64) {
        self.count = count
        self.seed = seed
    }

    /// The example index at position `position`.
    mutating func index(at position: Int) -> Int {
        let e = position / count
        if e != epoch {
            epoch = e
            var generator = SeededGenerator(seed: seed &+ UInt64(e) &* 0x9E37_79B9_7F4A_7C15)
            order = Array(0..<count)
            order.shuffle(using: &generator)
        }
        return order[position % count]
    }
}

/// Right-padded token batches [batch, time] (time = the longest sequence in the batch).
struct PaddedBatch {
    var tokens: [Int32]
    var lengths: [Int]
    var time: Int

    init(_ sequences: [[Int32]], pad: Int32) {
        time = sequences.map(\.count).max() ?? 1
        lengths = sequences.map(\.count)
        tokens = [Int32](repeating: pad, count: sequences.count * time)
        for (b, s) in sequences.enumerated() {
            for (t, id) in s.enumerated() { tokens[b * time + t] = id }
        }
    }
}
