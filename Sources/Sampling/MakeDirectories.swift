import Foundation

/// Makes `path` and the directories above it that are missing (`mkdir -p`); nil when done, else the system's
/// reason ("Not a directory" under a file, where FileManager said "error 512").
func makeDirectories(_ path: String) -> String? {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        return isDirectory.boolValue ? nil : String(cString: strerror(ENOTDIR))
    }
    let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
    if parent != path, let reason = makeDirectories(parent) { return reason }
    return mkdir(path, 0o777) == 0 || errno == EEXIST ? nil : String(cString: strerror(errno))
}
