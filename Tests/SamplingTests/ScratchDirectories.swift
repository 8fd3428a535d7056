import Foundation

/// Temporary directories for one test, all under one root that is removed when the value goes away. A suite
/// holds one as a stored property: Swift Testing makes a fresh suite value for every test.
final class ScratchDirectories {
    let root = NSTemporaryDirectory() + "swiftlet-sampling-\(UUID().uuidString)"
    private var made = 0

    /// A new, empty directory under the root.
    func make() -> String {
        made += 1
        let path = root + "/\(made)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }
}
