import Foundation
import Testing
@testable import Sampling

@Suite struct VectorMathTests {
    /// The polynomial exp against Foundation's over the range the sampler uses, within a few ulp.
    @Test func expMatchesFoundationOnTheNonPositiveRange() {
        var worst: Float = 0
        var x: Float = -86.9
        while x <= 0 {
            let relative = abs(VectorMath.exp(x) - Foundation.exp(x)) / Foundation.exp(x)
            worst = max(worst, relative)
            x += 0.0137
        }
        #expect(worst < 4 * Float.ulpOfOne, "worst relative error \(worst)")
        #expect(VectorMath.exp(0) == 1)
        #expect(VectorMath.exp(-.infinity) == 0 && VectorMath.exp(.nan) == 0 && VectorMath.exp(-100) == 0)
    }

    @Test func maskedSumsCountAndMinimumAgreeWithPlainLoops() {
        let values = randomLogits(count: 1000 + 7, scale: 1, seed: 3).map { abs($0) }
        values.withUnsafeBufferPointer { p in
            for t in [Float(0), 0.1, 0.5, 1.2, 10] {
                let kept = values.filter { $0 >= t }
                let m = VectorMath.measure(p.baseAddress!, values.count, atOrAbove: t)
                #expect(m.count == kept.count)
                #expect(abs(m.mass - kept.reduce(0.0) { $0 + Double($1) }) < 1e-4)
                #expect(VectorMath.minimum(p.baseAddress!, values.count, atOrAbove: t) == (kept.min() ?? .infinity))
            }
            #expect(VectorMath.maximum(p.baseAddress!, values.count) == values.max())
        }
    }
}
