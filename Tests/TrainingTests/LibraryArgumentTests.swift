import Foundation
import Testing
import Training

/// Arguments a library caller can get wrong are refused with an error, not a trap or, in a release build (whose
/// -Ounchecked drops preconditions), a read past a buffer or a broken file.
@Suite struct LibraryArgumentTests {
    static func tokenFile(_ ids: [Int32], dtype: TokenDType = .uint16, in directory: String, name: String) throws -> String {
        let path = directory + "/" + name
        let writer = try TokenFileWriter(path: path, dtype: dtype)
        try writer.append(ids)
        try writer.finish()
        return path
    }

    @Test func batchSamplerNeedsPositiveSizes() throws {
        let directory = NSTemporaryDirectory() + "/swiftlet-args-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = try TokenFile(path: try Self.tokenFile(Array(0..<40), in: directory, name: "t.npy"))
        #expect(throws: TrainingError.invalidOption(option: "batchSize", message: "must be at least 1 (got -2)")) {
            _ = try BatchSampler(tokens: file, batchSize: -2, context: 8)
        }
        #expect(throws: TrainingError.invalidOption(option: "context", message: "must be at least 1 (got -3)")) {
            _ = try BatchSampler(tokens: file, batchSize: 2, context: -3)
        }
    }

    @Test func aTailMovesOnlyWhenThereIsOne() throws {
        let directory = NSTemporaryDirectory() + "/swiftlet-args-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let a = try TokenFileWriter(path: directory + "/a.npy", dtype: .uint16)
        try a.append([1, 2, 3, 4])
        let b = try TokenFileWriter(path: directory + "/b.npy", dtype: .uint16)
        let wide = try TokenFileWriter(path: directory + "/w.npy", dtype: .uint32)
        #expect(throws: TokenFileError.self) { try a.moveTail(after: 10, to: b) }
        #expect(throws: TokenFileError.self) { try a.moveTail(after: -1, to: b) }
        #expect(throws: TokenFileError.self) { try a.moveTail(after: 2, to: wide) }
        // Nothing was moved by the refused calls: a proper split still gives 1, 2 | 3, 4.
        try a.moveTail(after: 2, to: b)
        try a.finish()
        try b.finish()
        #expect(try TokenFile(path: directory + "/a.npy").count == 2 && TokenFile(path: directory + "/b.npy").count == 2)
    }

    @Test func aNegativeStepIsTheFirstOne() {
        let schedule = LearningRateSchedule(maxLR: 1e-3, minLR: 1e-4, warmupSteps: 10, decaySteps: 100)
        #expect(schedule.learningRate(atStep: -3) == schedule.learningRate(atStep: 0))
        #expect(schedule.learningRate(atStep: 0) > 0)
    }
}
