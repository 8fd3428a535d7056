import Foundation

/// Paths shared by the tests: the package root (from this file's path) and the workspace's shared data.
public enum Fixtures {
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The workspace's shared data sits beside the clone (CI) or two levels up (a git worktree under wt/).
    public static let sharedData: String = {
        let candidates = ["../shared/data", "../../shared/data"].map {
            packageRoot.appendingPathComponent($0).standardized.path
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? candidates[0]
    }()
    public static let shakespeare = sharedData + "/tinyshakespeare.txt"
    public static let kjv = packageRoot.appendingPathComponent("corpora/kjv.txt").path

    /// Waits (polling) until the file at `path` holds at least `count` complete lines, or `timeout` seconds pass:
    /// how the tests let a started process get far enough before they signal it.
    public static func waitForLines(in path: String, atLeast count: Int, timeout: TimeInterval) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let data = FileManager.default.contents(atPath: path), data.filter({ $0 == 0x0A }).count >= count { return }
            usleep(2_000)
        }
    }

    /// A fresh temporary directory for one test.
    public static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-test-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The first `bytes` of a file, cut at a line break, written to `directory/name`.
    public static func slice(of source: String, bytes: Int, to directory: String, name: String) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        var end = min(bytes, data.count)
        while end < data.count && data[end - 1] != 0x0A { end += 1 }
        let path = directory + "/" + name
        try data.prefix(end).write(to: URL(fileURLWithPath: path))
        return path
    }
}
