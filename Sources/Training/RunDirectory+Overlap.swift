import Foundation

/// A run that starts from a checkpoint (`finetune`, `pretrain --init-from`) must not be written over it.
extension RunDirectory {
    /// Refuses an `--out` that is the starting checkpoint, holds it (a run directory whose best/ or latest/ it is)
    /// or lies inside it: `--overwrite` would delete the model the run starts from. Compared on real paths
    /// (symlinks resolved), so another spelling of the same directory is caught too.
    public static func refuseOverlap(out: String, start: String) throws {
        let outParts = realComponents(out), startParts = realComponents(start)
        let relation: String
        if outParts == startParts {
            relation = "is the starting checkpoint"
        } else if startParts.starts(with: outParts) {
            relation = "holds the starting checkpoint \(start)"
        } else if outParts.starts(with: startParts) {
            relation = "lies inside the starting checkpoint \(start)"
        } else {
            return
        }
        throw TrainingError.invalidOption(option: "--out", message: "\(out) \(relation); a new run there would "
            + "replace or mix with the model it starts from: choose another --out")
    }

    /// The components of `path` made absolute, with symlinks resolved as far as the path exists (a part that does
    /// not exist yet is kept as written, after `.` and `..` are resolved lexically).
    static func realComponents(_ path: String) -> [String] {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        var missing: [String] = []
        while true {
            if let resolved = realpath(url.path, nil) {
                defer { free(resolved) }
                return URL(fileURLWithPath: String(cString: resolved)).pathComponents + missing
            }
            if url.path == "/" { return url.pathComponents + missing }
            missing.insert(url.lastPathComponent, at: 0)
            url = url.deletingLastPathComponent()
        }
    }
}
