import Testing
@testable import Training

/// The windows of a whole-text evaluation: every prediction scored once, with the context the stride promises.
@Suite struct EvaluationWindowsTests {
    /// Every stream of 0-40 tokens, context 1-8, every stride: each target 1 ..< N is scored by exactly one
    /// window, windows lie inside the stream, and a target sees min(j, T - S + 1) tokens before it at least.
    @Test func everyTargetIsScoredOnceWithTheContextTheStridePromises() {
        for tokens in 0...40 {
            for context in 1...8 {
                for stride in 1...context {
                    let windows = EvaluationWindows(tokenCount: tokens, context: context, stride: stride)
                    var scoredBy = [Int](repeating: 0, count: max(tokens, 1))
                    var leastContext = [Int](repeating: Int.max, count: max(tokens, 1))
                    for index in 0..<windows.count {
                        let w = windows[index]
                        #expect(w.start >= 0 && w.start + windows.length + 1 <= tokens, "\(tokens) \(context) \(stride) \(w)")
                        #expect(w.firstScored >= 0 && w.firstScored < windows.length)
                        for position in w.firstScored..<windows.length {
                            let target = w.start + position + 1
                            scoredBy[target] += 1
                            leastContext[target] = min(leastContext[target], position + 1)
                        }
                    }
                    let targets = tokens >= 2 ? Array(1..<tokens) : []
                    #expect(targets.allSatisfy { scoredBy[$0] == 1 }, "\(tokens) \(context) \(stride): \(scoredBy)")
                    #expect(scoredBy.reduce(0, +) == windows.scoredTargets)
                    let promised = windows.length - windows.stride + 1
                    #expect(targets.allSatisfy { leastContext[$0] >= min($0, promised) }, "\(tokens) \(context) \(stride)")
                }
            }
        }
    }

    /// With the stride equal to the context, windows tile the stream without overlap (the last one moved back to
    /// end at the last token when the stream is not a whole number of windows).
    @Test func theDefaultStrideTilesTheStream() {
        let windows = EvaluationWindows(tokenCount: 1 + 4 * 64 + 10, context: 64, stride: 64)
        #expect(windows.count == 5)
        #expect((0..<4).map { windows[$0] } == (0..<4).map { EvaluationWindows.Window(start: 64 * $0, firstScored: 0) })
        #expect(windows[4] == EvaluationWindows.Window(start: 4 * 64 + 10 - 64, firstScored: 54))
        let exact = EvaluationWindows(tokenCount: 1 + 3 * 64, context: 64, stride: 64)
        #expect(exact.count == 3 && exact[2] == EvaluationWindows.Window(start: 128, firstScored: 0))
    }

    /// A stream shorter than the context is one window of all of it; fewer than 2 tokens are no window.
    @Test func shortStreams() {
        let short = EvaluationWindows(tokenCount: 5, context: 64, stride: 64)
        #expect(short.length == 4 && short.count == 1 && short[0] == EvaluationWindows.Window(start: 0, firstScored: 0))
        #expect(EvaluationWindows(tokenCount: 1, context: 64, stride: 64).count == 0)
        #expect(EvaluationWindows(tokenCount: 0, context: 64, stride: 64).scoredTargets == 0)
    }
}
