import Foundation
import Glibc

/// Crash-safe writes: a file is written to a temporary name in the same directory, flushed to disk (fsync) and
/// renamed over the destination; a directory is written complete under a temporary name and then swapped in,
/// so a reader sees either the old checkpoint or the new one, never a mixture or a half-written file.
public enum AtomicFiles {
    /// Writes `byteCount` bytes produced by `produce` (which calls `write` as often as it likes).
    static func writeFile(at path: String, _ produce: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        // Not NSString's deletingLastPathComponent: on Linux it traps on a bare name ("x", ".").
        let url = URL(fileURLWithPath: path), directory = url.deletingLastPathComponent().path
        let temporary = directory + "/.\(url.lastPathComponent).tmp-" + AbandonedTemporaries.newSuffix()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 { throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        var closed = false
        defer {
            if !closed { close(fd) }
            unlink(temporary)   // no-op once renamed
        }
        try produce { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            closed = true
            throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        closed = true
        if rename(temporary, path) != 0 {
            throw CheckpointError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        syncDirectory(directory)
    }

    /// Writes `data` (a temporary `.<name>.tmp-<pid>-<tag>` beside `path`, which a killed writer leaves: see
    /// `AbandonedTemporaries`).
    public static func writeFile(at path: String, data: Data) throws {
        try writeFile(at: path) { write in try data.withUnsafeBytes { try write($0) } }
    }

    /// Removes the temporary copies of `destination` (a file's or a directory's: `.<name>.tmp-...`, and a directory's
    /// old contents moved aside, `.<name>.old-...`) that writers killed meanwhile left and no writer holds.
    public static func removeAbandonedTemporaries(of destination: String) {
        let url = URL(fileURLWithPath: destination)
        let parent = url.deletingLastPathComponent().path, name = url.lastPathComponent
        AbandonedTemporaries.remove(in: parent, prefix: ".\(name).tmp-")
        AbandonedTemporaries.remove(in: parent, prefix: ".\(name).old-")
    }

    /// Creates a fresh temporary directory next to `destination`, lets `fill` write into it, then swaps it in
    /// place of `destination` (atomically with renameat2(RENAME_EXCHANGE) when the kernel offers it; else by
    /// moving the old one aside first) and removes the old contents. Temporary copies that killed processes left
    /// beside `destination` are removed first.
    static func writeDirectory(at destination: String, _ fill: (_ temporaryDirectory: String) throws -> Void) throws {
        let url = URL(fileURLWithPath: destination).standardizedFileURL
        let parent = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw CheckpointError.writeFailed(path: parent, reason: error.localizedDescription)
        }
        removeAbandonedTemporaries(of: url.path)
        let tag = AbandonedTemporaries.newSuffix()
        let temporary = parent + "/.\(name).tmp-\(tag)"
        if mkdir(temporary, 0o755) != 0 {
            throw CheckpointError.writeFailed(path: temporary, reason: String(cString: strerror(errno)))
        }
        let lock = AbandonedTemporaries.hold(temporary)   // until it is swapped in or removed
        var swapped = false
        defer {
            if !swapped { try? fm.removeItem(atPath: temporary) }
            AbandonedTemporaries.release(lock)
        }
        do { try fill(temporary) } catch let CheckpointError.writeFailed(path, reason) where path.hasPrefix(temporary + "/") {
            // Named as the file it was to become (the hidden temporary is gone; the old checkpoint stays).
            throw CheckpointError.writeFailed(path: url.path + path.dropFirst(temporary.count), reason: reason)
        }
        syncDirectory(temporary)

        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue {
                throw CheckpointError.writeFailed(path: url.path, reason: "exists and is not a directory")
            }
            if exchange(temporary, url.path) {
                swapped = true   // `temporary` now holds the old checkpoint
                try? fm.removeItem(atPath: temporary)
            } else {
                let old = parent + "/.\(name).old-\(tag)"
                if rename(url.path, old) != 0 || rename(temporary, url.path) != 0 {
                    throw CheckpointError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
                }
                swapped = true
                try? fm.removeItem(atPath: old)
            }
        } else {
            if rename(temporary, url.path) != 0 {
                throw CheckpointError.writeFailed(path: url.path, reason: String(cString: strerror(errno)))
            }
            swapped = true
        }
        syncDirectory(parent)
    }

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    /// renameat2(RENAME_EXCHANGE): swaps two paths in one step. False if unavailable or refused.
    private static func exchange(_ a: String, _ b: String) -> Bool {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { return false }
        let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
        let renameExchange: UInt32 = 2
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
