/// op(B) of a product packed ahead of time into the micro-panels the blocked GEMM reads, for a B that several
/// products read unchanged: a weight matrix in the shards of one training pass, each of which would otherwise
/// pack it again (each shard packs every weight twice a pass, for the forward and the input gradient).
///
/// Layout: GEMMPacking.packB's panels, every K step one after the other. With kcStep = `GEMMBlocked.kcStep(k)`
/// and P = ceil(n / NR) panels, K step s (kc_s = min(kcStep, k - s * kcStep) deep) starts at
/// s * kcStep * P * NR, and its panel p at + p * kc_s * NR (kc_s x NR floats, columns past n zero):
///   floats[s * kcStep * P * NR + p * kc_s * NR + i * NR + j] = op(B)[s * kcStep + i, p * NR + j]
/// The storage belongs to the caller (`floatCount` floats); the panels are valid until B changes.
public struct PackedPanels {
    public let floats: UnsafeMutablePointer<Float>
    public let k: Int
    public let n: Int
    /// Panel width: the micro-tile's columns, 16 or 32.
    public let nr: Int

    /// Floats the panels of a k x n op(B) take (this CPU's panel width).
    public static func floatCount(k: Int, n: Int) -> Int { floatCount(k: k, n: n, nr: GEMMMicroKernel.nr) }
    static func floatCount(k: Int, n: Int, nr: Int) -> Int { k * ceilDiv(n, nr) * nr }

    /// The panels of a k x n op(B) at `floats` (`floatCount(k:n:)` of them), for this CPU's panel width; `pack`
    /// fills them.
    public init(floats: UnsafeMutablePointer<Float>, k: Int, n: Int) {
        self.init(floats: floats, k: k, n: n, nr: GEMMMicroKernel.nr)
    }

    /// The same for panels `nr` wide (the tests run both widths).
    init(floats: UnsafeMutablePointer<Float>, k: Int, n: Int, nr: Int) {
        precondition(k > 0 && n > 0 && (nr == 16 || nr == 32), "packed panels need a non-empty B and NR 16 or 32")
        self.floats = floats
        self.k = k
        self.n = n
        self.nr = nr
    }

    /// Packs op(B) (k x n; op(B)[p, j] = b[p * ldb + j], or with `transposed` b[j * ldb + p]) into the panels.
    public func pack(_ b: UnsafePointer<Float>, ldb: Int, transposed: Bool) {
        let kcStep = GEMMBlocked.kcStep(k)
        var p0 = 0
        while p0 < k {
            let kc = min(kcStep, k - p0)
            GEMMPacking.packB(b, ldb: ldb, transposed: transposed, nr: nr, p0: p0, kc: kc, j0: 0, columns: n,
                              panels: 0..<ceilDiv(n, nr), into: floats + p0 * ceilDiv(n, nr) * nr)
            p0 += kc
        }
    }

    /// Panel `panel` of K step `step`; the step's later panels follow it.
    @inline(__always)
    func panels(step: Int, from panel: Int) -> UnsafePointer<Float> {
        let kcStep = GEMMBlocked.kcStep(k), p0 = step * kcStep
        return UnsafePointer(floats + p0 * ceilDiv(n, nr) * nr + panel * min(kcStep, k - p0) * nr)
    }

    /// Whether these are the panels of a k x n op(B) with `nr`-wide tiles.
    func fits(k: Int, n: Int, nr: Int) -> Bool { self.k == k && self.n == n && self.nr == nr }
}
