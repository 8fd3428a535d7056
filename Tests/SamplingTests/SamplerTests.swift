import Foundation
import Testing
@testable import Sampling

@Suite struct SamplerTests {
    @Test func temperatureZeroIsArgmaxWithLowestIdOnTies() {
        let sampler = Sampler(vocabularySize: 6, seed: 1)
        #expect(sampler.sample(logits: [0, 3, -1, 3, 2, 1], settings: .greedy) == 1)
        for seed in 0..<20 as Range<UInt64> {
            let logits = randomLogits(count: 500, scale: 3, seed: seed)
            let big = Sampler(vocabularySize: 500, seed: seed)
            let expected = logits.indices.max(by: { logits[$0] < logits[$1] })!
            // Greedy ignores the other filters and the random stream.
            var settings = SamplingSettings.greedy
            settings.topK = 3
            settings.topP = 0.1
            #expect(big.sample(logits: logits, settings: settings) == Int32(expected))
        }
    }

    /// Temperatures down to the smallest subnormal approach greedy: the argmax is drawn every time (below about 3e-39,
    /// 1 / T overflowed to infinity and every weight became NaN, so tokens came out at random).
    @Test func aVanishingTemperatureIsGreedy() {
        let logits = randomLogits(count: 500, scale: 3, seed: 9)
        let expected = Int32(logits.indices.max(by: { logits[$0] < logits[$1] })!)
        for temperature: Float in [1e-30, 1e-38, .leastNormalMagnitude / 4, .leastNonzeroMagnitude] {
            let sampler = Sampler(vocabularySize: 500, seed: 3)
            for _ in 0..<20 {
                #expect(sampler.sample(logits: logits, settings: SamplingSettings(temperature: temperature)) == expected,
                        "temperature \(temperature)")
            }
        }
    }

    /// The kept sets equal those of the reference that sorts the whole vocabulary, on random logits,
    /// flat and peaked, for every combination of filters (both top-k paths: heap for k <= 256, quickselect).
    @Test func filtersKeepExactlyTheReferenceTokens() {
        let vocabulary = 500
        let sampler = Sampler(vocabularySize: vocabulary, seed: 7)
        var compared = 0
        for (trial, scale) in [Float(0.01), 0.5, 2, 8].enumerated() {
            let logits = randomLogits(count: vocabulary, scale: scale, seed: UInt64(100 + trial))
            for temperature in [Float(0.7), 1.5] {
                for topK in [0, 1, 7, 40, 256, 257, 499] {
                    for topP in [Float(1), 0.95, 0.9, 0.5, 0.05] {
                        for minP in [Float(0), 0.3] {
                            let settings = SamplingSettings(temperature: temperature, topK: topK, topP: topP, minP: minP)
                            let expected = ReferenceSampler.filter(logits: logits, settings: settings).kept
                            let actual = sampler.keptTokens(logits: logits, settings: settings)
                            #expect(actual == expected, "scale \(scale) T \(temperature) k \(topK) p \(topP) min-p \(minP)")
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared == 4 * 2 * 7 * 5 * 2)
    }

    /// A vocabulary large enough that the threshold searches narrow the interval over several passes before
    /// the exact finish (more than 256 undecided tokens), including one with many tied logits.
    @Test func largeVocabularyThresholdSearchMatchesReference() {
        let vocabulary = 2000
        let sampler = Sampler(vocabularySize: vocabulary, seed: 1)
        let smooth = [Float(0.01), 0.3, 3].enumerated().map { randomLogits(count: vocabulary, scale: $1, seed: UInt64(500 + $0)) }
        let tied = randomLogits(count: vocabulary, scale: 2, seed: 600).map { ($0 * 4).rounded() / 4 }
        for logits in smooth + [tied] {
            for settings in [SamplingSettings(topP: 0.9), SamplingSettings(topP: 0.5), SamplingSettings(topP: 0.99),
                             SamplingSettings(temperature: 0.8, topK: 1000, topP: 0.9),
                             SamplingSettings(topK: 3000, topP: 1), SamplingSettings(topK: 257, topP: 0.95, minP: 0.01)] {
                let expected = ReferenceSampler.filter(logits: logits, settings: settings).kept
                #expect(sampler.keptTokens(logits: logits, settings: settings) == expected,
                        "k \(settings.topK) p \(settings.topP) kept \(expected.count)")
            }
        }
    }

    @Test func tiesAtTheBoundaryAreAllKept() {
        let logits: [Float] = [2, 2, 2, 1, 1, 0]
        let sampler = Sampler(vocabularySize: 6, seed: 3)
        func kept(_ s: SamplingSettings) -> [Int32] { sampler.keptTokens(logits: logits, settings: s) }
        #expect(kept(SamplingSettings(topK: 1, topP: 1)) == [0, 1, 2])
        #expect(kept(SamplingSettings(topK: 2, topP: 1)) == [0, 1, 2])
        #expect(kept(SamplingSettings(topK: 4, topP: 1)) == [0, 1, 2, 3, 4])
        // p(2) = 0.2584 each: two of them reach 0.5, and their tie is kept whole.
        #expect(kept(SamplingSettings(topP: 0.5)) == [0, 1, 2])
        // The three 2s hold 0.775; 0.8 needs one of the 1s, and so both.
        #expect(kept(SamplingSettings(topP: 0.8)) == [0, 1, 2, 3, 4])
        #expect(kept(SamplingSettings(topP: 1, minP: 0.5)) == [0, 1, 2])
        #expect(kept(SamplingSettings(topP: 1, minP: 0.3)) == [0, 1, 2, 3, 4])
        // All equal: every filter keeps everything.
        let flat = [Float](repeating: 0.25, count: 6)
        #expect(sampler.keptTokens(logits: flat, settings: SamplingSettings(topK: 2, topP: 0.1, minP: 0.9)) == [0, 1, 2, 3, 4, 5])
    }

    /// Top-p is computed on the distribution renormalized over the top-k survivors (HF's order).
    @Test func topPAppliesAfterTopK() {
        let logits = [0.4, 0.3, 0.2, 0.1].map { Float(log($0)) }
        let sampler = Sampler(vocabularySize: 4, seed: 3)
        // Alone, top-p 0.55 needs 0.4 + 0.3.
        #expect(sampler.keptTokens(logits: logits, settings: SamplingSettings(topP: 0.55)) == [0, 1])
        // After top-2, 0.4 / 0.7 = 0.571 already reaches 0.55.
        #expect(sampler.keptTokens(logits: logits, settings: SamplingSettings(topK: 2, topP: 0.55)) == [0])
    }

    @Test func repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOncePerToken() {
        let logits: [Float] = [2, -1, 0.5, -3, 1]
        let previous: [Int32] = [0, 1, 1, 7, -2] // 1 twice (penalized once), ids out of range ignored
        let sampler = Sampler(vocabularySize: 5, seed: 1)
        var greedy = SamplingSettings.greedy
        #expect(sampler.sample(logits: logits, settings: greedy, previousTokens: previous) == 0)
        greedy.repetitionPenalty = 4 // logits become [0.5, -4, 0.5, -3, 1]
        #expect(sampler.sample(logits: logits, settings: greedy, previousTokens: previous) == 4)
        // With min-p: keep l >= 1 + ln(minP). -4 survives 0.005 (e^-5 = 0.0067), -16 would not.
        var s = SamplingSettings(topP: 1, minP: 0.005, repetitionPenalty: 4)
        #expect(sampler.keptTokens(logits: logits, settings: s, previousTokens: previous) == [0, 1, 2, 3, 4])
        s.minP = 0.5 // l >= 0.307
        #expect(sampler.keptTokens(logits: logits, settings: s, previousTokens: previous) == [0, 2, 4])
        // The same on random logits against the reference.
        let random = randomLogits(count: 300, scale: 2, seed: 42)
        let context: [Int32] = (0..<80).map { Int32(($0 * 37) % 300) }
        let settings = SamplingSettings(temperature: 0.9, topK: 50, topP: 0.8, minP: 0.01, repetitionPenalty: 1.3)
        let big = Sampler(vocabularySize: 300, seed: 2)
        #expect(big.keptTokens(logits: random, settings: settings, previousTokens: context)
            == ReferenceSampler.filter(logits: random, settings: settings, previous: context).kept)
        // The logits passed in are not modified.
        #expect(logits == [2, -1, 0.5, -3, 1])
    }

    @Test func sameSeedSameSequenceDifferentSeedsDiffer() {
        let logits = randomLogits(count: 200, scale: 1, seed: 9)
        let settings = SamplingSettings(temperature: 1, topK: 0, topP: 0.95)
        func run(_ sampler: Sampler) -> [Int32] { (0..<300).map { _ in sampler.sample(logits: logits, settings: settings) } }
        let a = run(Sampler(vocabularySize: 200, seed: 1234))
        let b = run(Sampler(vocabularySize: 200, seed: 1234))
        let c = run(Sampler(vocabularySize: 200, seed: 1235))
        #expect(a == b)
        #expect(a != c)
        // A random seed is reported, and reseeding with it replays the stream.
        let unseeded = Sampler(vocabularySize: 200)
        let first = run(unseeded)
        unseeded.reseed(unseeded.seed)
        #expect(run(unseeded) == first)
        // Batch seeds: distinct per (prompt, sample), stable.
        let seeds = Set((0..<10).flatMap { p in (0..<5).map { s in SeedDerivation.seed(base: 7, promptIndex: p, sampleIndex: s) } })
        #expect(seeds.count == 50)
        #expect(SeedDerivation.seed(base: 7, promptIndex: 3, sampleIndex: 1) == SeedDerivation.seed(base: 7, promptIndex: 3, sampleIndex: 1))
    }

    /// Many draws follow the filtered softmax: Pearson's chi-square against the reference probabilities stays
    /// below df + 6 sqrt(2 df) (far in the tail for a correct sampler; seeded, so it cannot flake), and no
    /// filtered token is ever drawn.
    @Test func drawsFollowTheFilteredDistribution() {
        let vocabulary = 30
        let logits = randomLogits(count: vocabulary, scale: 1.5, seed: 77)
        for settings in [SamplingSettings(temperature: 0.8, topK: 12, topP: 0.9, minP: 0.02),
                         SamplingSettings(temperature: 1.3, topP: 1),
                         SamplingSettings(temperature: 1, topP: 0.6, repetitionPenalty: 1.5)] {
            let previous: [Int32] = [0, 1, 2, 3]
            let reference = ReferenceSampler.filter(logits: logits, settings: settings, previous: previous)
            let sampler = Sampler(vocabularySize: vocabulary, seed: 2024)
            let draws = 5_000 // debug builds run SIMD code slowly; the bound below is not tightened by N
            var counts = [Int](repeating: 0, count: vocabulary)
            for _ in 0..<draws { counts[Int(sampler.sample(logits: logits, settings: settings, previousTokens: previous))] += 1 }
            var chiSquare = 0.0
            for i in 0..<vocabulary {
                let expected = reference.probabilities[i] * Double(draws)
                if expected == 0 {
                    #expect(counts[i] == 0, "token \(i) is filtered out but was drawn")
                } else {
                    chiSquare += pow(Double(counts[i]) - expected, 2) / expected
                }
            }
            let df = Double(reference.kept.count - 1)
            #expect(reference.kept.count > 2)
            #expect(chiSquare < df + 6 * (2 * df).squareRoot(), "chi-square \(chiSquare) with \(df) degrees of freedom")
        }
    }

    @Test func maskedAndNonFiniteLogitsAreNeverDrawn() {
        let sampler = Sampler(vocabularySize: 5, seed: 5)
        let logits: [Float] = [-.infinity, 1, .nan, 1, -.infinity]
        for _ in 0..<200 {
            let t = sampler.sample(logits: logits, settings: SamplingSettings(topP: 1))
            #expect(t == 1 || t == 3)
        }
        #expect(sampler.sample(logits: [0, .infinity, 3, 0, 0], settings: SamplingSettings()) == 1)
        #expect(sampler.sample(logits: [Float](repeating: -.infinity, count: 5), settings: SamplingSettings()) == 0)
    }

    @Test func invalidSettingsAreRefusedWithAClearMessage() throws {
        func message(_ change: (inout SamplingSettings) -> Void) -> String? {
            var s = SamplingSettings()
            change(&s)
            do { try s.validate(); return nil } catch { return "\(error)" }
        }
        #expect(message { _ in } == nil)
        #expect(message { $0.temperature = -0.1 }?.contains("temperature") == true)
        #expect(message { $0.temperature = .nan }?.contains("temperature") == true)
        #expect(message { $0.topK = -1 }?.contains("top-k") == true)
        #expect(message { $0.topP = 0 }?.contains("top-p must be in (0, 1]") == true)
        #expect(message { $0.topP = 1.5 }?.contains("top-p") == true)
        #expect(message { $0.minP = 1 }?.contains("min-p must be in [0, 1)") == true)
        #expect(message { $0.minP = -0.1 }?.contains("min-p") == true)
        #expect(message { $0.repetitionPenalty = 0 }?.contains("repetition-penalty") == true)
        #expect(message { $0.maxNewTokens = 0 }?.contains("max-tokens") == true)
        #expect(message { $0.stopStrings = ["ok", ""] }?.contains("stop string") == true)
    }

    @Test func settingsRoundTripThroughJSONAndMissingKeysTakeDefaults() throws {
        let s = SamplingSettings(temperature: 0.7, topK: 40, topP: 0.95, minP: 0.05, repetitionPenalty: 1.1,
                                 maxNewTokens: 64, seed: 99, stopStrings: ["\n\n"])
        let data = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(SamplingSettings.self, from: data) == s)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"top_k\":40") && text.contains("\"max_new_tokens\":64"))
        #expect(try JSONDecoder().decode(SamplingSettings.self, from: Data("{}".utf8)) == SamplingSettings())
        #expect(try JSONDecoder().decode(SamplingSettings.self, from: Data("{\"top_k\": 5}".utf8)).topK == 5)
    }
}
