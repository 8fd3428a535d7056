import Foundation
import JSON
import Glibc

/// The run a batch output records (see `BatchRunSettings`): checked on resume, written for what comes next.
extension BatchOutputWriter {
    /// The file of a directory output that records its run.
    public static let runFileName = "settings.json"

    /// The base seed the existing output records (resume), so a resume without --seed continues its seeds.
    public var recordedBaseSeed: UInt64? { recorded.lazy.compactMap(\.baseSeed).first }

    /// Starts writing the samples of `run` (after `checkMatches(_:layout:)`, whose prompts a directory's settings.json
    /// records): refuses it, naming the option, when the samples already in the output
    /// were written with other settings (a resume must not mix them), cuts off the unfinished last line a resumed
    /// JSONL output ended with, and records it (JSONL: on every line to
    /// come; a directory: in settings.json).
    public func begin(_ run: BatchRunSettings) throws {
        for record in recorded {
            if let difference = record.difference(from: run) {
                throw BatchOutputError(message: "\(record.place): written with \(difference); --resume continues an output only with the settings that wrote it (--overwrite starts over)")
            }
        }
        self.run = run
        if case .jsonLines(let path) = destination, let offset = unfinishedLineOffset {
            guard truncate(path, offset) == 0 else {
                throw BatchOutputError(message: "\(path): cannot cut off its unfinished last line: \(String(cString: strerror(errno)))")
            }
            unfinishedLineOffset = nil
            droppedPartialLine = true
        }
        guard case .directory(let directory) = destination else { return }
        let object = JSONValue.object(run.fields + [JSONField(key: "settings", value: (try? JSONLineParser.parse(
            ArraySlice(BatchRunSettings.settingsJSON(run.sampling).utf8))) ?? .null)] + (matchedPrompts.map { [$0.field] } ?? []))
        let file = (directory as NSString).appendingPathComponent(Self.runFileName)
        // Through settings.json.partial, as the samples: a kill meanwhile leaves a name the next open removes.
        try replaceFile(file, with: object.serialized + "\n")
    }

    /// Resume of a directory: the run its settings.json records (none in directories written before it existed).
    func readRunFile(directory: String) throws {
        let file = (directory as NSString).appendingPathComponent(Self.runFileName)
        var info = stat()
        guard lstat(file, &info) == 0 else { return }
        // Anything else in its place (a FIFO, a device, a link that leads nowhere) is not "no settings": resuming
        // without their checks would mix samples of other settings into the directory.
        guard stat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let data = FileManager.default.contents(atPath: file) else {
            throw BatchOutputError(message: "\(file): cannot be read as the run's settings; refusing to resume into \(directory)")
        }
        // Every version that wrote the file wrote its settings object and base seed (only "prompts" came later).
        func has(_ key: String, _ fields: [JSONField], _ kind: (JSONValue) -> Bool) -> Bool {
            fields.contains { $0.key == key && kind($0.value) }
        }
        guard case .object(let fields)? = try? JSONLineParser.parse(ArraySlice(data)),
              has("settings", fields, { if case .object = $0 { true } else { false } }),
              has("base_seed", fields, { if case .number = $0 { true } else { false } }) else {
            throw BatchOutputError(message: "\(file): not the run settings this program writes; refusing to resume into \(directory)")
        }
        recorded = [RecordedRun(place: file, fields: fields)]
        do { recordedPrompts = try PromptsFingerprint.recorded(in: fields) } catch let error as BatchOutputError {
            throw BatchOutputError(message: "\(file): \(error.message); refusing to resume into \(directory)")
        }
    }
}
