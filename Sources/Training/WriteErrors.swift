import Foundation
import GPT

/// Runs `body`, turning a Foundation file error into one line that names `path` and the system's reason
/// ("OUT/metrics.jsonl: cannot write: Permission denied") instead of NSError's dump of its user info.
func writing<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CocoaError {
        let underlying = error.underlying.map { $0 as NSError }
        let reason = underlying.flatMap { $0.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32($0.code))) : nil }
        throw CheckpointError.writeFailed(path: path, reason: reason ?? error.localizedDescription)
    }
}
