import Foundation

/// Picks the next token from a row of logits [V]. Deterministic for a seed; no allocation per token
/// (all scratch is owned by the sampler and sized for the vocabulary when it is created).
///
/// Semantics, in the order the steps apply (Hugging Face's `generate` order):
/// 1. Repetition penalty (CTRL, Keskar et al. 2019, as in HF): for every DISTINCT token id in
///    `previousTokens` (the caller passes the tokens of the current context window), a logit l > 0
///    becomes l / penalty, l < 0 becomes l * penalty (0 stays 0). Ids outside [0, V) are ignored.
/// 2. Temperature T: greedy when T == 0 — the argmax of the penalized logits (lowest id on ties); no other
///    filter matters then. Otherwise w_i = exp((l_i - max l) / T), so p_i = w_i / sum w (NaN logits count
///    as -inf).
/// 3. Top-k (k > 0 and k < V): keep every token with p_i >= the k-th largest probability. Ties with the
///    k-th value are ALL kept, so more than k tokens can survive (HF does the same).
/// 4. Top-p (p < 1), on the distribution renormalized over the top-k survivors: sort them by probability,
///    descending; n is the smallest count whose cumulative mass reaches topP * (survivor mass); keep every
///    survivor with probability >= the n-th largest. Ties with the n-th token are all kept (unlike HF, whose
///    choice among exact ties depends on its sort order); at least one token always survives.
/// 5. Min-p (minP > 0): keep tokens with p_i >= minP * max p (equality kept). Renormalizing does not change
///    ratios to the maximum, and the most probable token survives every filter, so this is a threshold on
///    the unfiltered maximum.
/// Every filter keeps a super-level set {p >= threshold}, so the result is {p_i >= max of the thresholds};
/// the token is drawn from it with probability proportional to p_i (one uniform draw, then a walk in id
/// order).
///
/// Numerics: exp is a polynomial (about 1 ulp, `VectorMath.exp`); masses are Float sums per 256 values
/// added in Double. Boundary decisions can therefore differ from an exact computation only when a
/// cumulative mass lands within rounding (~1e-7 relative) of the top-p target.
///
/// Cost: a few vectorized passes over [V] (max, exp, masked sums) and no allocation; the thresholds are
/// found by partial selection, never by sorting the vocabulary. Top-k uses a bounded min-heap of k values
/// (k <= 256), otherwise a threshold search by count; top-p starts at llama2.c's cutoff (tokens with
/// p < (1 - topP) / (n - 1) cannot be in the nucleus) and searches the threshold by mass: interpolation
/// probes alternating with bisection narrow it with masked-sum passes until at most 256 tokens remain
/// undecided, and a weighted three-way quickselect on those finishes exactly. On a nearly flat distribution
/// over 32000 tokens (where the cutoff drops nothing) that is about 5-7 passes.
public final class Sampler {
    public let vocabularySize: Int
    /// The seed of the current stream (the one drawn at random when none was given).
    public private(set) var seed: UInt64
    private var random: Xoshiro256StarStar

    /// [V] penalized logits, then the unnormalized probabilities w_i.
    private let weights: UnsafeMutablePointer<Float>
    /// [V] values permuted by the selection algorithms (and the top-k heap in its first k slots).
    private let selection: UnsafeMutablePointer<Float>
    /// [V] marks for the distinct tokens of the repetition penalty, all false between calls.
    private let seen: UnsafeMutablePointer<Bool>

    /// Top-k up to this k uses the bounded heap, above it quickselect.
    static let heapLimit = 256

    public init(vocabularySize: Int, seed: UInt64? = nil) {
        precondition(vocabularySize > 0, "the vocabulary must not be empty")
        self.vocabularySize = vocabularySize
        let chosen = seed ?? SeedDerivation.randomSeed()
        self.seed = chosen
        random = Xoshiro256StarStar(seed: chosen)
        weights = .allocate(capacity: vocabularySize)
        selection = .allocate(capacity: vocabularySize)
        seen = .allocate(capacity: vocabularySize)
        seen.initialize(repeating: false, count: vocabularySize)
    }

    deinit {
        weights.deallocate()
        selection.deallocate()
        seen.deallocate()
    }

    /// Restarts the random stream from `seed`.
    public func reseed(_ seed: UInt64) {
        self.seed = seed
        random = Xoshiro256StarStar(seed: seed)
    }

    /// The next token id. `logits` holds `vocabularySize` values and is not modified.
    public func sample(logits: UnsafePointer<Float>, settings: SamplingSettings,
                       previousTokens: UnsafeBufferPointer<Int32> = UnsafeBufferPointer(start: nil, count: 0)) -> Int32 {
        guard let threshold = prepare(logits: logits, settings: settings, previousTokens: previousTokens) else {
            return greedyToken()
        }
        return draw(threshold: threshold)
    }

    /// One uniform draw r in [0, kept mass), then a walk in id order to the token where the cumulative kept
    /// mass passes r; chunks of 256 are skipped whole by their sums (the same sums as the total's).
    private func draw(threshold: Float) -> Int32 {
        let w = UnsafePointer(weights)
        let v = vocabularySize
        let chunk = VectorMath.chunk
        let r = random.nextUnitDouble() * VectorMath.measure(w, v, atOrAbove: threshold).mass
        var cumulative = 0.0
        var i = 0
        while i < v {
            let mass = VectorMath.chunkMeasure(w, i, min(chunk, v - i), atOrAbove: threshold).mass
            if cumulative + mass > r { break }
            cumulative += mass
            i += chunk
        }
        var last = -1
        for j in i..<min(i + chunk, v) {
            let x = w[j]
            if x >= threshold && x > 0 {
                cumulative += Double(x)
                if r < cumulative { return Int32(j) }
                last = j
            }
        }
        if last >= 0 { return Int32(last) } // rounding inside the chunk: its last kept token
        // Only reached when rounding leaves r at the very top of the mass: the last kept token.
        var j = v - 1
        while j > 0 && !(w[j] >= threshold && w[j] > 0) { j -= 1 }
        return Int32(j)
    }

    /// Array convenience (allocates; for tests and tools, not the generation loop).
    public func sample(logits: [Float], settings: SamplingSettings, previousTokens: [Int32] = []) -> Int32 {
        precondition(logits.count == vocabularySize, "logits must hold vocabularySize values")
        return logits.withUnsafeBufferPointer { l in
            previousTokens.withUnsafeBufferPointer { p in
                sample(logits: l.baseAddress!, settings: settings, previousTokens: p)
            }
        }
    }

    /// The ids that survive the filters (ascending), i.e. those `sample` can return; one id when greedy.
    /// Allocates; meant for tests and inspection.
    public func keptTokens(logits: [Float], settings: SamplingSettings, previousTokens: [Int32] = []) -> [Int32] {
        precondition(logits.count == vocabularySize, "logits must hold vocabularySize values")
        let threshold = logits.withUnsafeBufferPointer { l in
            previousTokens.withUnsafeBufferPointer { p in
                prepare(logits: l.baseAddress!, settings: settings, previousTokens: p)
            }
        }
        guard let threshold else { return [greedyToken()] }
        return (0..<vocabularySize).filter { weights[$0] >= threshold && weights[$0] > 0 }.map { Int32($0) }
    }

    // MARK: - The pipeline

    /// Fills `weights` and returns the keep-threshold on them, or nil for greedy (weights then hold the
    /// penalized logits).
    private func prepare(logits: UnsafePointer<Float>, settings: SamplingSettings,
                         previousTokens: UnsafeBufferPointer<Int32>) -> Float? {
        let v = vocabularySize
        let w = weights
        w.update(from: logits, count: v)
        if settings.repetitionPenalty != 1 { applyRepetitionPenalty(settings.repetitionPenalty, previousTokens) }
        if settings.temperature == 0 { return nil }

        // Softmax numerator: w_i = exp((l_i - max) / T); the maximum weight is exactly 1.
        let maximum = VectorMath.maximum(w, v)
        guard maximum.isFinite else { return nil } // all -inf/NaN, or a +inf logit: take the argmax
        // A temperature so small (subnormal) that 1 / T overflows is greedy's limit, taken as such: the shifted
        // maximum, 0 * inf, would be NaN.
        let scale = 1 / settings.temperature
        guard scale.isFinite else { return nil }
        let total = VectorMath.exponentiate(w, v, shift: maximum, scale: scale)

        var threshold: Float = 0
        // The surviving set so far is {w >= threshold}: its size and mass.
        var survivors = v
        var survivorMass = total
        if settings.topK > 0 && settings.topK < v {
            threshold = settings.topK <= Sampler.heapLimit
                ? kthLargestByHeap(settings.topK)
                : largestThreshold(goal: Double(settings.topK), byMass: false, from: 0)
            (survivorMass, survivors) = VectorMath.measure(w, v, atOrAbove: threshold)
        }
        if settings.topP < 1 && survivors > 1 {
            // llama2.c's cutoff c = (1 - topP) * mass / (survivors - 1): when the largest weight is >= c, at
            // most survivors - 1 tokens lie below c, together holding less than (1 - topP) of the mass, so the
            // tokens >= c already reach topP. Capped at the largest weight (1): when topP < 1 / survivors the
            // cutoff can exceed it, and then the most probable token(s) alone reach the target.
            let topP = Double(settings.topP)
            let cutoff = Float(min((1 - topP) * survivorMass / Double(survivors - 1), 1)).nextDown
            threshold = largestThreshold(goal: topP * survivorMass, byMass: true, from: max(threshold, cutoff))
        }
        if settings.minP > 0 {
            threshold = max(threshold, settings.minP) // minP * max weight, and the max weight is 1
        }
        return threshold
    }

    private func applyRepetitionPenalty(_ penalty: Float, _ tokens: UnsafeBufferPointer<Int32>) {
        let v = vocabularySize
        for t in tokens {
            let i = Int(t)
            guard i >= 0 && i < v && !seen[i] else { continue }
            seen[i] = true
            let l = weights[i]
            weights[i] = l > 0 ? l / penalty : l * penalty
        }
        for t in tokens {
            let i = Int(t)
            if i >= 0 && i < v { seen[i] = false }
        }
    }

    /// Argmax of `weights` (the penalized logits on the greedy path), lowest id on ties, NaN skipped
    /// (0 when every value is NaN): a vectorized maximum, then the first position holding it.
    private func greedyToken() -> Int32 {
        let w = UnsafePointer(weights)
        let v = vocabularySize
        let m = VectorMath.maximum(w, v)
        let target = VectorMath.Vector(repeating: m)
        var i = 0
        while i + VectorMath.width <= v {
            if any(VectorMath.load(w, i) .== target) { break }
            i += VectorMath.width
        }
        while i < v {
            if w[i] == m { return Int32(i) }
            i += 1
        }
        return 0
    }

    // MARK: - Selection

    /// The k-th largest of weights[0..<V] (1 <= k < V), counting repeated values: a min-heap of the k
    /// largest seen so far, whose root is the answer; blocks of 16 with nothing above the root are skipped.
    private func kthLargestByHeap(_ k: Int) -> Float {
        let v = vocabularySize
        let w = weights
        let h = selection
        h.update(from: w, count: k)
        var i = k / 2 - 1
        while i >= 0 { siftDown(h, i, k); i -= 1 }
        var root = h[0]
        func offer(_ j: Int) {
            if w[j] > root {
                h[0] = w[j]
                siftDown(h, 0, k)
                root = h[0]
            }
        }
        var j = k
        while j < v && j % VectorMath.width != 0 { offer(j); j += 1 }
        while j + VectorMath.width <= v {
            if any(VectorMath.load(w, j) .> VectorMath.Vector(repeating: root)) {
                for t in j..<(j + VectorMath.width) { offer(t) }
            }
            j += VectorMath.width
        }
        while j < v { offer(j); j += 1 }
        return root
    }

    /// Gathering and exact selection take over once at most this many weights are left in the interval.
    static let gatherLimit = 256

    /// The largest weight t >= `start` whose measure — the mass (byMass) or the count of the weights >= t —
    /// is >= goal; that is the n-th largest weight, n the smallest count reaching the goal. Requires
    /// measure(>= start) >= goal (if rounding breaks that, every weight >= start is kept).
    /// Vectorized measuring passes narrow [lo, hi) until few weights remain in it — interpolation probes,
    /// alternating with bisection on the bit patterns (ordered like the positive floats) so that progress
    /// never stalls — and a three-way quickselect on those weights finishes exactly.
    private func largestThreshold(goal: Double, byMass: Bool, from start: Float) -> Float {
        let v = vocabularySize
        let w = UnsafePointer(weights)
        // Raising lo to the smallest weight >= start changes no measure and lets interpolation see the data.
        var lo = max(start, VectorMath.minimum(w, v, atOrAbove: start))
        if !lo.isFinite { lo = start }
        var hi = Float(1).nextUp
        var atLo = VectorMath.measure(w, v, atOrAbove: lo)
        var atHi = (mass: 0.0, count: 0)
        func value(_ m: (mass: Double, count: Int)) -> Double { byMass ? m.mass : Double(m.count) }
        if value(atLo) < goal { return lo }
        func probe(_ t: Float) {
            guard t > lo && t < hi else { return }
            let m = VectorMath.measure(w, v, atOrAbove: t)
            if value(m) >= goal { lo = t; atLo = m } else { hi = t; atHi = m }
        }
        var step = 0
        while atLo.count - atHi.count > Sampler.gatherLimit {
            let before = (lo, hi)
            if step % 2 == 0 {
                // Interpolate the answer as if the measure were spread evenly over the bit patterns of
                // [lo, hi) (linear within an octave, logarithmic across octaves), and probe just either side
                // of it, a third of the gather limit's worth of weights apart: on smooth data the answer
                // lands between the two probes and both ends are tight at once.
                let fraction = (value(atLo) - goal) / (value(atLo) - value(atHi))
                let span = Double(hi.bitPattern - lo.bitPattern)
                let guess = Double(lo.bitPattern) + span * fraction
                let margin = max(1, span * Double(Sampler.gatherLimit / 3) / Double(atLo.count - atHi.count))
                probe(Float(bitPattern: UInt32(max(Double(lo.bitPattern), (guess - margin).rounded()))))
                probe(Float(bitPattern: UInt32(min(Double(hi.bitPattern), (guess + margin).rounded()))))
            } else {
                // Bisection on the bit patterns guarantees progress on any distribution.
                probe(Float(bitPattern: lo.bitPattern / 2 + hi.bitPattern / 2 + (lo.bitPattern & hi.bitPattern & 1)))
            }
            if before == (lo, hi) && step % 2 == 1 { break } // no float left strictly inside
            step += 1
        }
        // Exact finish among the weights in [lo, hi).
        let a = selection
        var n = 0
        var smallest = hi
        func gather(_ i: Int) {
            let x = w[i]
            if x >= lo && x < hi {
                a[n] = x
                n += 1
                smallest = min(smallest, x)
            }
        }
        let width = VectorMath.width
        let low = VectorMath.Vector(repeating: lo), high = VectorMath.Vector(repeating: hi)
        var i = 0
        while i + width <= v {
            let x = VectorMath.load(w, i)
            if any((x .>= low) .& (x .< high)) {
                for j in i..<(i + width) { gather(j) }
            }
            i += width
        }
        while i < v { gather(i); i += 1 }
        var first = 0, last = n
        var above = value(atHi) // measure of the weights known to be larger than a[first..<last]
        while first < last {
            let (gt, lt, greaterMass, equalMass) = partitionDescending(a, first, last, pivot: medianOfThree(a, first, last))
            let greater = byMass ? greaterMass : Double(gt - first)
            let equal = byMass ? equalMass : Double(lt - gt)
            if above + greater >= goal {
                last = gt
            } else if above + greater + equal >= goal {
                return a[gt]
            } else {
                above += greater + equal
                first = lt
            }
        }
        return n > 0 ? smallest : lo // rounding left the sums just short of the goal: keep them all
    }

    /// Three-way partition of a[lo..<hi] around `pivot`, descending: a[lo..<gt] > pivot,
    /// a[gt..<lt] == pivot, a[lt..<hi] < pivot. Also returns the sums of the first two parts.
    @inline(__always)
    private func partitionDescending(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int, pivot: Float)
        -> (gt: Int, lt: Int, greaterMass: Double, equalMass: Double) {
        var gt = lo, i = lo, lt = hi
        var greaterMass = 0.0, equalMass = 0.0
        while i < lt {
            let x = a[i]
            if x > pivot {
                a[i] = a[gt]
                a[gt] = x
                greaterMass += Double(x)
                gt += 1
                i += 1
            } else if x < pivot {
                lt -= 1
                a[i] = a[lt]
                a[lt] = x
            } else {
                equalMass += Double(x)
                i += 1
            }
        }
        return (gt, lt, greaterMass, equalMass)
    }

    @inline(__always)
    private func medianOfThree(_ a: UnsafeMutablePointer<Float>, _ lo: Int, _ hi: Int) -> Float {
        let x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi - 1]
        return max(min(x, y), min(max(x, y), z))
    }

    @inline(__always)
    private func siftDown(_ h: UnsafeMutablePointer<Float>, _ start: Int, _ count: Int) {
        var i = start
        let x = h[i]
        while true {
            var child = 2 * i + 1
            if child >= count { break }
            if child + 1 < count && h[child + 1] < h[child] { child += 1 }
            if h[child] >= x { break }
            h[i] = h[child]
            i = child
        }
        h[i] = x
    }
}
