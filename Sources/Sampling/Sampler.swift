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
/// Cost: the thresholds are found by partial selection, never by sorting the vocabulary. Top-k uses a
/// bounded min-heap of k values (k <= 256) or a three-way quickselect; top-p first drops tokens that cannot
/// be in the nucleus (p < (1 - topP) / (n - 1) of the mass, llama2.c's cutoff), then runs a weighted
/// quickselect on the rest (expected O(V), also on a nearly flat distribution where the cutoff drops nothing).
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
        let w = weights
        let v = vocabularySize
        var mass = 0.0
        for i in 0..<v where w[i] >= threshold { mass += Double(w[i]) }
        let r = random.nextUnitDouble() * mass
        var cumulative = 0.0
        var last = -1
        for i in 0..<v {
            let x = w[i]
            if x >= threshold && x > 0 {
                cumulative += Double(x)
                if r < cumulative { return Int32(i) }
                last = i
            }
        }
        return Int32(max(last, 0)) // only reached when rounding leaves r at the very top of the mass
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
        var maximum = -Float.infinity
        for i in 0..<v where w[i] > maximum { maximum = w[i] }
        guard maximum.isFinite else { return nil } // all -inf/NaN, or a +inf logit: take the argmax
        let inverseT = 1 / settings.temperature
        var total = 0.0
        for i in 0..<v {
            let e = Foundation.exp((w[i] - maximum) * inverseT)
            let x = e.isNaN ? 0 : e
            w[i] = x
            total += Double(x)
        }

        var threshold: Float = 0
        // The surviving set so far is {w >= threshold}: its size and mass.
        var survivors = v
        var survivorMass = total
        if settings.topK > 0 && settings.topK < v {
            threshold = kthLargestWeight(settings.topK)
            survivors = 0
            survivorMass = 0
            for i in 0..<v where w[i] >= threshold {
                survivors += 1
                survivorMass += Double(w[i])
            }
        }
        if settings.topP < 1 && survivors > 1 {
            threshold = max(threshold, nucleusThreshold(topP: Double(settings.topP), floor: threshold,
                                                        survivors: survivors, survivorMass: survivorMass))
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

    /// Argmax of `weights` (the penalized logits on the greedy path), lowest id on ties, NaN skipped.
    private func greedyToken() -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        var found = false
        for i in 0..<vocabularySize {
            let x = weights[i]
            if x > bestValue || (!found && x == bestValue) {
                best = i
                bestValue = x
                found = true
            }
        }
        return Int32(best)
    }

    // MARK: - Selection

    /// The k-th largest of weights[0..<V] (1 <= k < V), counting repeated values.
    private func kthLargestWeight(_ k: Int) -> Float {
        let v = vocabularySize
        let w = weights
        let a = selection
        if k <= Sampler.heapLimit {
            // Min-heap of the k largest seen so far; its root is the k-th largest.
            a.update(from: w, count: k)
            var i = k / 2 - 1
            while i >= 0 { siftDown(a, i, k); i -= 1 }
            var root = a[0]
            for j in k..<v where w[j] > root {
                a[0] = w[j]
                siftDown(a, 0, k)
                root = a[0]
            }
            return root
        }
        a.update(from: w, count: v)
        var lo = 0, hi = v, above = 0
        while lo < hi {
            let (gt, lt, _, _) = partitionDescending(a, lo, hi, pivot: medianOfThree(a, lo, hi))
            let greater = gt - lo, equal = lt - gt
            if above + greater >= k {
                hi = gt
            } else if above + greater + equal >= k {
                return a[gt]
            } else {
                above += greater + equal
                lo = lt
            }
        }
        return a[max(lo - 1, 0)] // unreachable for 1 <= k <= V
    }

    /// The smallest weight w* such that the weights >= w* among the survivors (weights >= floor) reach
    /// topP * survivorMass. Candidates below llama2.c's cutoff (1 - topP) * mass / (survivors - 1) cannot
    /// matter: together they hold less than (1 - topP) of the mass, so the rest already reaches topP.
    private func nucleusThreshold(topP: Double, floor: Float, survivors: Int, survivorMass: Double) -> Float {
        let v = vocabularySize
        let w = weights
        let a = selection
        // Capped at the largest weight (1): when topP < 1 / survivors the cutoff can exceed it, and then the
        // most probable token(s) alone reach the target.
        let cutoff = min((1 - topP) * survivorMass / Double(survivors - 1), 1)
        var n = 0
        var smallest = Float.infinity
        for i in 0..<v {
            let x = w[i]
            if x >= floor && Double(x) >= cutoff {
                a[n] = x
                n += 1
                smallest = min(smallest, x)
            }
        }
        let target = topP * survivorMass
        var lo = 0, hi = n
        var above = 0.0 // mass of the candidates known to be larger than a[lo..<hi]
        while lo < hi {
            let (gt, lt, greaterMass, equalMass) = partitionDescending(a, lo, hi, pivot: medianOfThree(a, lo, hi))
            if above + greaterMass >= target {
                hi = gt
            } else if above + greaterMass + equalMass >= target {
                return a[gt]
            } else {
                above += greaterMass + equalMass
                lo = lt
            }
        }
        return smallest // rounding left the candidates just short of the target: keep them all
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
