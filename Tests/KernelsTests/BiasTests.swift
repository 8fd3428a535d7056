import Testing
@testable import Kernels

@Suite struct BiasTests {
    // Columns: a tail only, 64-wide blocks plus 16-wide blocks plus a tail, and the MLP width at test scale.
    @Test(arguments: [(5, 3), (9, 100), (33, 1536)], [1, 2])
    func backwardSumsRowsAndAccumulates(shape: (Int, Int), threads: Int) {
        let pool = ThreadPool(threads: threads)
        defer { pool.shutdown() }
        let (rows, columns) = shape
        var rng = LayerRandom(seed: 10)
        let dy = rng.floats(rows * columns)
        let start = rng.floats(columns)
        var dbias = start
        Bias.backward(dbias: &dbias, dy: dy, rows: rows, columns: columns, pool: pool)
        let expected = (0..<columns).map { c in
            Double(start[c]) + (0..<rows).map { Double(dy[$0 * columns + c]) }.reduce(0, +)
        }
        #expect(layerWorstError(dbias, expected, atol: 1e-5, rtol: 1e-5) <= 1)
    }
}
