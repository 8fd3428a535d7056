import Foundation

/// What a training run needs besides the weights to resume exactly: the optimizer step count, the random
/// generator's state, the position in the data, and the run's effective configuration (JSON chosen by the
/// caller). The AdamW moments are saved next to it from the model's own buffers.
public struct TrainingState: Codable, Equatable, Sendable {
    /// Optimizer steps completed (the next AdamW step is step + 1).
    public var step: Int
    /// `SeededGenerator.state` (saved as hexadecimal strings so all 64 bits survive any JSON reader).
    public var generatorState: [UInt64]
    /// Where the data reader is (its meaning belongs to the training loop).
    public var dataPosition: Int
    /// The effective training configuration as a JSON document.
    public var configuration: String

    public init(step: Int, generatorState: [UInt64], dataPosition: Int, configuration: String) {
        self.step = step
        self.generatorState = generatorState
        self.dataPosition = dataPosition
        self.configuration = configuration
    }

    enum CodingKeys: String, CodingKey {
        case step, generatorState = "generator_state", dataPosition = "data_position", configuration
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        step = try c.decode(Int.self, forKey: .step)
        dataPosition = try c.decode(Int.self, forKey: .dataPosition)
        configuration = try c.decode(String.self, forKey: .configuration)
        let words = try c.decode([String].self, forKey: .generatorState)
        generatorState = try words.map {
            guard let value = UInt64($0, radix: 16) else {
                throw DecodingError.dataCorruptedError(forKey: .generatorState, in: c,
                                                       debugDescription: "not a hexadecimal word")
            }
            return value
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(generatorState.map { String($0, radix: 16) }, forKey: .generatorState)
        try c.encode(dataPosition, forKey: .dataPosition)
        try c.encode(configuration, forKey: .configuration)
    }
}
