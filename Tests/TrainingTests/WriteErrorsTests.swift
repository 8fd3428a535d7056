import TestSupport
import Foundation
import Testing
import GPT
@testable import Training

/// Foundation's file errors reach the user as one line naming the path and the system's reason.
@Suite struct WriteErrorsTests {
    @Test func aFoundationErrorBecomesOneLine() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/plain.txt"
        _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        // A directory under a regular file: ENOTDIR, whoever runs the test (root too).
        #expect(throws: CheckpointError.writeFailed(path: file + "/run", reason: "Not a directory")) {
            try writing(file + "/run") { try FileManager.default.createDirectory(atPath: file + "/run", withIntermediateDirectories: true) }
        }
        // Other errors pass through unchanged.
        #expect(throws: CheckpointError.missingFile(path: "elsewhere")) {
            try writing(file) { throw CheckpointError.missingFile(path: "elsewhere") }
        }
    }
}
