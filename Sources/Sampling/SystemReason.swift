import Foundation

/// The operating system's reason behind a Foundation file error, as `strerror` words it ("Permission denied",
/// "No space left on device"): Foundation wraps the errno in its own error, whose description says less.
func systemReason(_ error: Error) -> String {
    let error = error as NSError
    let posix = error.domain == NSPOSIXErrorDomain ? error : error.userInfo[NSUnderlyingErrorKey] as? NSError
    if let posix, posix.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(posix.code))) }
    return error.localizedDescription
}

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
