import Foundation
import Glibc

/// What a process killed in the middle of a write leaves behind: temporary files and directories named
/// `<prefix><pid>` or `<prefix><pid>-<anything>` next to their destination. Ctrl-C lets a tool remove its own;
/// SIGKILL (an out-of-memory kill, a scheduler's) does not, and a checkpoint's temporary copy can be gigabytes,
/// so the next write of the same destination removes the abandoned ones.
///
/// A writer holds an exclusive `flock` on its temporary while it writes (`hold`); one that can be locked has no
/// writer left. The lock, not the process id in the name, decides: in a container every run may be pid 1, and a
/// dead process's id may belong to another process by now.
public enum AbandonedTemporaries {
    /// The name part after a temporary's prefix: this process's id and a random tag (two processes of one pid,
    /// pid 1 of two containers sharing a volume, must not share a temporary), as `remove` reads it.
    public static func newSuffix() -> String { "\(getpid())-\(UInt32.random(in: 0...UInt32.max))" }

    /// Locks `path` (a file or a directory) for as long as the returned descriptor stays open (`release`).
    public static func hold(_ path: String) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { flock(fd, LOCK_EX) }
        return fd
    }

    public static func release(_ fd: Int32) {
        if fd >= 0 { close(fd) }
    }

    /// Removes the entries of `directory` named `prefix` + a process id (+ `-...`) that no writer holds.
    public static func remove(in directory: String, prefix: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(prefix) {
            guard pid_t(name.dropFirst(prefix.count).prefix { $0 != "-" }) != nil else { continue }
            let path = directory + "/" + name
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { continue }
            let abandoned = flock(fd, LOCK_EX | LOCK_NB) == 0
            close(fd)
            if abandoned { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}
