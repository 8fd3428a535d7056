import Foundation

/// Linear warm-up, then cosine decay to a floor (nanoGPT's `get_lr`).
///
///   step < warmup:            lr = maxLR * (step + 1) / warmup
///   warmup <= step < decay:   lr = minLR + 0.5 * (1 + cos(pi * (step - warmup) / (decay - warmup))) * (maxLR - minLR)
///   step >= decay:            lr = minLR
///
/// `step` counts optimizer steps from 0; `decaySteps` is usually the total number of steps.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var maxLR: Double
    public var minLR: Double
    public var warmupSteps: Int
    public var decaySteps: Int

    public init(maxLR: Double, minLR: Double, warmupSteps: Int, decaySteps: Int) {
        self.maxLR = maxLR
        self.minLR = minLR
        self.warmupSteps = warmupSteps
        self.decaySteps = decaySteps
    }

    public func learningRate(atStep step: Int) -> Double {
        let step = max(0, step)   // a negative step is the first one (not a negative rate)
        if step < warmupSteps { return maxLR * Double(step + 1) / Double(warmupSteps) }
        if step >= decaySteps { return minLR }
        let progress = Double(step - warmupSteps) / Double(max(1, decaySteps - warmupSteps))
        return minLR + 0.5 * (1 + cos(Double.pi * progress)) * (maxLR - minLR)
    }
}
