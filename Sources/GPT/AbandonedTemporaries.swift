import Foundation
import Glibc

/// What a process killed in the middle of a write leaves behind: temporary files and directories named
/// `<prefix><pid>` or `<prefix><pid>-<anything>` next to their destination. Ctrl-C lets a tool remove its own;
/// SIGKILL (an out-of-memory kill, a scheduler's) does not, and a checkpoint's temporary copy can be gigabytes,
/// so the next write of the same destination removes the ones whose process is gone.
public enum AbandonedTemporaries {
    /// Removes the entries of `directory` named `prefix` + a process id (+ `-...`) when that process no longer
    /// exists. Entries of live processes (this one, a concurrent run, another user's) are left alone.
    public static func remove(in directory: String, prefix: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(prefix) {
            guard let pid = pid_t(name.dropFirst(prefix.count).prefix { $0 != "-" }), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
        }
    }
}
