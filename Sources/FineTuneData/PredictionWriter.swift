import Foundation
import JSON

/// Writes `predict`'s output: one JSON object per line holding the input row's fields in their order, then
/// `predicted_label` and `probabilities` ({label: p} in label-id order). An input field already named
/// `predicted_label` or `probabilities` is kept as `input_predicted_label` / `input_probabilities`
/// (`input_` again while that name is taken too).
///
/// Nothing is overwritten unless asked: `init` refuses an existing path without `overwrite`, and always one
/// that is the input file or not a regular file (`OutputTarget`); a symlink's target is written. Lines go to a
/// temporary file next to that target, renamed over it by `finish()`, so an interrupted run never leaves a
/// half-written file under the output's name.
public final class PredictionWriter {
    /// The output as given (messages name it).
    public let path: String
    /// The file written: `path`, or the file its symlinks lead to.
    public let target: String
    private let temporaryPath: String
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var finished = false
    public private(set) var linesWritten = 0

    /// `input`: the file the rows come from, which the output may not be.
    public init(path: String, overwrite: Bool, input: String? = nil) throws {
        try Self.checkName(path)
        self.path = path
        target = try OutputTarget.resolve(path, overwrite: overwrite, input: input)
        let temporary = Self.temporaryLocation(of: target)
        // The pid and a random tag (as AbandonedTemporaries.newSuffix, which this target cannot reach); created
        // exclusively, so it is never another's file.
        temporaryPath = temporary.directory + "/" + temporary.prefix
            + "\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw LabelledDataError.writeFailed(file: path, reason: "cannot create a file in its directory ("
                + String(cString: strerror(errno)) + ")")
        }
        // An output replaced (--overwrite) keeps its permissions: the new file, renamed over it, takes them.
        var existing = stat()
        if stat(target, &existing) == 0 { fchmod(fd, existing.st_mode & 0o777) }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        // Held while it is written: a later predict removes a partial output only when no process holds it
        // (AbandonedTemporaries, which finetune's predict calls).
        flock(handle.fileDescriptor, LOCK_EX)
        self.handle = handle
    }

    /// Refuses an output named as a CSV or TSV file (by the extensions the readers take them by): it would hold
    /// JSON Lines under a name that says otherwise. Other names (.jsonl, .txt, none) are written.
    public static func checkName(_ path: String) throws {
        if let format = LabelledDataFormat(fileExtensionOf: path), format != .jsonl {
            throw LabelledDataError.predictionsNotJSONLines(file: path)
        }
    }

    /// Where the lines go until `finish()`: `<directory>/<prefix><pid>-<tag>`, a hidden file beside the output
    /// (`target`), locked (`flock`) while this writer lives.
    public static func temporaryLocation(of path: String) -> (directory: String, prefix: String) {
        let url = URL(fileURLWithPath: path)
        return (url.deletingLastPathComponent().path, ".\(url.lastPathComponent).partial-")
    }

    deinit { discard() }

    /// Removes the partial output (a stopped run's); the output itself is left as it was. Nothing after `finish()`.
    public func discard() {
        guard !finished else { return }
        finished = true
        try? handle.close()
        try? FileManager.default.removeItem(atPath: temporaryPath)
    }

    /// One output line. `probabilities` pairs each label with its probability, in label-id order.
    public func write(fields: [JSONField], predictedLabel: String, probabilities: [(label: String, probability: Double)]) throws {
        try write(fields: fields, predictedLabel: predictedLabel,
                  probabilities: probabilities.map { JSONField(key: $0.label, value: .number($0.probability)) })
    }

    /// The same with Float probabilities (as the model computes them), written in Float's shortest form.
    public func write(fields: [JSONField], predictedLabel: String, probabilities: [(label: String, probability: Float)]) throws {
        try write(fields: fields, predictedLabel: predictedLabel,
                  probabilities: probabilities.map { JSONField(key: $0.label, value: .number($0.probability)) })
    }

    private func write(fields: [JSONField], predictedLabel: String, probabilities: [JSONField]) throws {
        var object = fields
        Self.set(&object, "predicted_label", .string(predictedLabel))
        Self.set(&object, "probabilities", .object(probabilities))
        buffer.append(contentsOf: JSONValue.object(object).serialized.utf8)
        buffer.append(0x0A)
        linesWritten += 1
        if buffer.count >= 1 << 16 { try flush() }
    }

    /// Flushes, closes and renames the temporary file to the output path.
    public func finish() throws {
        guard !finished else { return }
        try flush()
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw LabelledDataError.writeFailed(file: path, reason: error.localizedDescription)
        }
        // rename(2) replaces an existing output atomically (overwrite was allowed at init).
        guard rename(temporaryPath, target) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporaryPath)
            finished = true
            throw LabelledDataError.writeFailed(file: path, reason: reason)
        }
        finished = true
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        do {
            try handle.write(contentsOf: buffer)
        } catch {
            throw LabelledDataError.writeFailed(file: path, reason: error.localizedDescription)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Appends `key`; an input field of that name moves to `input_<key>` (`input_input_<key>` if that is taken,
    /// and so on), so no input data is lost and no key is written twice.
    private static func set(_ fields: inout [JSONField], _ key: String, _ value: JSONValue) {
        if let i = fields.firstIndex(where: { $0.key == key }) {
            var renamed = "input_" + key
            while fields.contains(where: { $0.key == renamed }) { renamed = "input_" + renamed }
            fields[i].key = renamed
        }
        fields.append(JSONField(key: key, value: value))
    }
}
