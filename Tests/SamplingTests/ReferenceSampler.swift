import Foundation
@testable import Sampling

/// The plain reference: penalty, softmax in Double, then every filter by SORTING THE WHOLE VOCABULARY,
/// written straight from the documented semantics.
enum ReferenceSampler {
    /// Ids kept after the filters (ascending) and the final distribution over the vocabulary.
    static func filter(logits: [Float], settings: SamplingSettings, previous: [Int32] = []) -> (kept: [Int32], probabilities: [Double]) {
        var l = logits.map(Double.init)
        for id in Set(previous) where id >= 0 && Int(id) < l.count {
            let x = l[Int(id)]
            l[Int(id)] = x > 0 ? x / Double(settings.repetitionPenalty) : x * Double(settings.repetitionPenalty)
        }
        if settings.temperature == 0 {
            let best = l.indices.max(by: { l[$0] < l[$1] || (l[$0] == l[$1] && $0 > $1) })!
            var p = [Double](repeating: 0, count: l.count)
            p[best] = 1
            return ([Int32(best)], p)
        }
        let m = l.max()!
        var p = l.map { exp(($0 - m) / Double(settings.temperature)) }
        let total = p.reduce(0, +)
        p = p.map { $0 / total }
        var keep = [Bool](repeating: true, count: p.count)

        // top-k: everything >= the k-th largest
        if settings.topK > 0 && settings.topK < p.count {
            let kth = p.sorted(by: >)[settings.topK - 1]
            for i in p.indices where p[i] < kth { keep[i] = false }
        }
        // top-p over the survivors, renormalized
        if settings.topP < 1 {
            let survivors = p.indices.filter { keep[$0] }.map { p[$0] }.sorted(by: >)
            let mass = survivors.reduce(0, +)
            var cumulative = 0.0
            var threshold = survivors.last!
            for x in survivors {
                cumulative += x
                if cumulative >= Double(settings.topP) * mass { threshold = x; break }
            }
            for i in p.indices where p[i] < threshold { keep[i] = false }
        }
        // min-p against the largest probability
        if settings.minP > 0 {
            let top = p.max()!
            for i in p.indices where p[i] < Double(settings.minP) * top { keep[i] = false }
        }
        let kept = p.indices.filter { keep[$0] && p[$0] > 0 }
        let keptMass = kept.map { p[$0] }.reduce(0, +)
        var final = [Double](repeating: 0, count: p.count)
        for i in kept { final[i] = p[i] / keptMass }
        return (kept.map { Int32($0) }, final)
    }
}

/// Seeded logits for tests: normal-ish values times `scale`.
func randomLogits(count: Int, scale: Float, seed: UInt64) -> [Float] {
    var g = Xoshiro256StarStar(seed: seed)
    return (0..<count).map { _ in
        // sum of 4 uniforms, centered: a cheap bell curve
        let s = (0..<4).map { _ in g.nextUnitDouble() }.reduce(0, +) - 2
        return Float(s) * scale
    }
}
