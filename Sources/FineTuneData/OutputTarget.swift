import Foundation
import Glibc

/// Where an output file really goes, checked before anything is written. A symlink is followed (the file it
/// names is replaced, the link stays); an output that exists must be a regular file (a FIFO or a device cannot be
/// replaced by renaming a finished file over it) and may not be the input being read (`--out` = `--input`, also
/// through a link or a hard link), which `--overwrite` would destroy.
public enum OutputTarget {
    /// The path to write for `path`: the end of its chain of symlinks (at most 40 links, as the kernel follows).
    public static func resolve(_ path: String, overwrite: Bool, input: String? = nil) throws -> String {
        let target = try followLinks(path)
        var status = stat()
        guard stat(target, &status) == 0 else { return target }   // a new file (errors come when it is created)
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw LabelledDataError.isDirectory(file: path)
        default:
            throw LabelledDataError.outputNotRegularFile(file: path, kind: kind(status.st_mode))
        }
        if let input, isSameFile(status, input) {
            throw LabelledDataError.outputIsInput(file: path, input: input)
        }
        if !overwrite { throw LabelledDataError.outputExists(file: path) }
        return target
    }

    private static func followLinks(_ path: String) throws -> String {
        var current = path
        for _ in 0..<40 {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else {
                return current
            }
            current = destination.hasPrefix("/") ? destination
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(destination).path
        }
        throw LabelledDataError.writeFailed(file: path, reason: "too many levels of symbolic links")
    }

    private static func isSameFile(_ output: stat, _ input: String) -> Bool {
        var status = stat()
        return stat(input, &status) == 0 && status.st_dev == output.st_dev && status.st_ino == output.st_ino
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a named pipe (FIFO)"
        case S_IFCHR, S_IFBLK: return "a device"
        case S_IFSOCK: return "a socket"
        default: return "a special file"
        }
    }
}
