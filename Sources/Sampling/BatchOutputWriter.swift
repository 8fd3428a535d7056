import Foundation
import JSON
import Glibc

/// Which sample of which prompt (both 0-based).
public struct SampleKey: Hashable, Sendable, Comparable {
    public let promptIndex: Int
    public let sampleIndex: Int
    public init(promptIndex: Int, sampleIndex: Int) {
        self.promptIndex = promptIndex
        self.sampleIndex = sampleIndex
    }
    public static func < (a: SampleKey, b: SampleKey) -> Bool {
        (a.promptIndex, a.sampleIndex) < (b.promptIndex, b.sampleIndex)
    }
}

/// One finished sample of a batch run.
public struct BatchSample: Sendable {
    public var key: SampleKey
    public var prompt: String
    /// The prompt as the model saw it (laid out by a completion checkpoint's template): what a sample's file in
    /// directory mode starts with. The prompt itself when nil.
    public var laidOutPrompt: String?
    public var completion: String
    /// Number of generated tokens.
    public var tokenCount: Int
    public var settings: SamplingSettings
    /// The seed this sample was generated with (reproduces it).
    public var seed: UInt64
    /// Why generation ended, e.g. "eos", "stop", "length"; omitted from the output when nil.
    public var finishReason: String?
    /// Fields carried from the prompts file (JSONL input).
    public var extraFields: [JSONField]

    public init(key: SampleKey, prompt: String, laidOutPrompt: String? = nil, completion: String, tokenCount: Int,
                settings: SamplingSettings, seed: UInt64, finishReason: String? = nil, extraFields: [JSONField] = []) {
        self.key = key
        self.prompt = prompt
        self.laidOutPrompt = laidOutPrompt
        self.completion = completion
        self.tokenCount = tokenCount
        self.settings = settings
        self.seed = seed
        self.finishReason = finishReason
        self.extraFields = extraFields
    }
}

/// What to do when the output already exists.
public enum ExistingOutputPolicy: Sendable {
    /// Stop with an error (the default: an output is never clobbered silently).
    case refuse
    /// Start over: truncate the JSONL file / delete the sample files of the directory.
    case overwrite
    /// Keep what is there; `completed` tells which samples to skip.
    case resume
}

/// A problem with the output; `description` names the file.
public struct BatchOutputError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

/// Writes the results of batch generation, one sample at a time, so that a run that stops (Ctrl-C, crash)
/// keeps everything finished so far and can be resumed.
///
/// JSONL output: one object a line, appended and flushed to the OS (one `write`) per sample:
/// `{"index": 3, "sample": 1, "prompt": ..., "completion": ..., "tokens": 57, "finish_reason": "eos",
///   "seed": 123, "settings": {...}, "base_seed": 7, "checkpoint": "/abs/dir", "checkpoint_modified": 1764950000.5,
///   "weights": "fp32", <carried fields>}` (the last four once `begin(_:)` gave the run). Carried fields whose name is one of
/// these keys are written as "input_<name>" (`carriedNames`). On resume, an unfinished last line (no newline: the run died
/// mid-write) is cut off when the run begins (`droppedPartialLine`).
///
/// Directory output: one UTF-8 text file per sample holding the prompt followed by the completion, named
/// `prompt-IIII-sample-S.txt` (`fileName(for:)`: prompt index zero-padded to 4 digits, both 0-based), written
/// to a `.partial` file first and renamed, so a file that exists is complete; `settings.json` records the run.
///
/// Resume: `checkMatches(_:layout:)` refuses other prompts than those of the samples already written, and
/// `begin(_:)` a run whose settings differ from those the output records.
public final class BatchOutputWriter {
    public enum Destination: Sendable, Equatable {
        case jsonLines(path: String)
        case directory(path: String)
    }

    public let destination: Destination
    /// Samples already in the output (resume); empty otherwise.
    public private(set) var completed: Set<SampleKey> = []
    /// Resume found an unfinished last line and removed it (`begin(_:)`).
    public internal(set) var droppedPartialLine = false
    /// Resume: where the unfinished last line of the JSONL output starts, to cut it off once the run begins.
    var unfinishedLineOffset: off_t?
    /// Prompt text of each completed JSONL sample, to check the output belongs to the same prompts.
    var completedPrompts: [Int: String] = [:]
    /// Resume of a directory: the prompts its settings.json records (`checkMatches(_:layout:)`).
    var recordedPrompts: PromptsFingerprint?
    /// The prompts of this run (`checkMatches(_:layout:)`), recorded in a directory's settings.json.
    var matchedPrompts: PromptsFingerprint?
    /// What the existing output records of the run that wrote it (resume): each JSONL line, or settings.json.
    var recorded: [RecordedRun] = []
    /// The run now writing (`begin(_:)`).
    var run: BatchRunSettings?
    private var descriptor: Int32 = -1

    static let reservedKeys: Set<String> = ["index", "sample", "prompt", "completion", "tokens", "finish_reason",
                                            "seed", "settings", "base_seed", "checkpoint", "checkpoint_modified", "weights"]

    /// `prompts`, the prompts file, is refused as the output or a file in the output directory (it would be
    /// replaced or appended to).
    public init(destination: Destination, existing: ExistingOutputPolicy, prompts: String? = nil) throws {
        self.destination = destination
        let input = prompts.flatMap { path in FileIdentity(path: path).map { (path, $0) } }
        switch destination {
        case .jsonLines(let path):
            if let (prompts, identity) = input, FileIdentity(path: path) == identity {
                throw BatchOutputError(message: "\(path): is the prompts file \(prompts) itself; give another --out")
            }
            try openJSONLines(path, existing)
        case .directory(let path): try openDirectory(path, existing, prompts: input)
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// The file name of a sample in directory mode, e.g. `prompt-0003-sample-1.txt`.
    public static func fileName(for key: SampleKey) -> String {
        let index = String(key.promptIndex)
        return "prompt-" + String(repeating: "0", count: max(0, 4 - index.count)) + index
            + "-sample-\(key.sampleIndex).txt"
    }

    /// Appends one sample (JSONL) or writes its file (directory); flushed before returning.
    public func write(_ sample: BatchSample) throws {
        switch destination {
        case .jsonLines(let path):
            try writeAll(BatchOutputWriter.jsonLine(for: sample, run: run) + "\n", to: descriptor, path: path)
        case .directory(let directory):
            let final = (directory as NSString).appendingPathComponent(BatchOutputWriter.fileName(for: sample.key))
            try replaceFile(final, with: (sample.laidOutPrompt ?? sample.prompt) + sample.completion)
        }
        completed.insert(sample.key)
    }

    /// Writes `text` to `final + ".partial"` and renames it to `final`, so a file of the directory that exists is
    /// complete; a run killed meanwhile leaves the `.partial`, which the next open removes (`isLeftover`).
    func replaceFile(_ final: String, with text: String) throws {
        let partial = final + ".partial"
        let fd = open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw systemError("cannot create", partial) }
        do {
            try writeAll(text, to: fd, path: partial)
        } catch {
            close(fd)
            unlink(partial)   // (a full disk: nothing half-written stays)
            throw error
        }
        close(fd)
        guard rename(partial, final) == 0 else { throw systemError("cannot rename to \(final)", partial) }
    }

    /// The JSONL line of a sample (without the newline), recording `run` when given.
    public static func jsonLine(for sample: BatchSample, run: BatchRunSettings? = nil) -> String {
        var parts = [
            "\"index\": \(sample.key.promptIndex)",
            "\"sample\": \(sample.key.sampleIndex)",
            "\"prompt\": " + jsonStringLiteral(sample.prompt),
            "\"completion\": " + jsonStringLiteral(sample.completion),
            "\"tokens\": \(sample.tokenCount)",
        ]
        if let reason = sample.finishReason { parts.append("\"finish_reason\": " + jsonStringLiteral(reason)) }
        parts.append("\"seed\": \(sample.seed)")
        parts.append("\"settings\": " + BatchRunSettings.settingsJSON(sample.settings))
        for field in run?.fields ?? [] { parts.append(jsonStringLiteral(field.key) + ": " + field.value.serialized) }
        for (field, name) in zip(sample.extraFields, carriedNames(sample.extraFields.map(\.key))) {
            parts.append(jsonStringLiteral(name) + ": " + field.value.serialized)
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// The output names of carried fields: their own, except that a reserved key takes "input_" in front, again
    /// until the name is neither reserved nor another carried field's (an input with "index" and "input_index"
    /// gives "input_input_index" and "input_index", not "input_index" twice).
    static func carriedNames(_ keys: [String]) -> [String] {
        var taken = reservedKeys.union(keys)
        return keys.map { key in
            guard reservedKeys.contains(key) else { return key }
            var name = "input_" + key
            while taken.contains(name) { name = "input_" + name }
            taken.insert(name)
            return name
        }
    }

    /// How every JSONL line this program writes starts.
    static let lineStart = "{\"index\": "

    // MARK: - Opening

    private func openJSONLines(_ path: String, _ existing: ExistingOutputPolicy) throws {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists && isDirectory.boolValue {
            throw BatchOutputError(message: "\(path): is a directory; give a file name for --out (or use --out-dir)")
        }
        // A FIFO or device would be written through (a FIFO blocks until something reads it): only files.
        var status = stat()
        if exists && stat(path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG {
            throw BatchOutputError(message: "\(path): not a regular file (a named pipe or a device); give a file for --out")
        }
        var flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
        switch existing {
        case .refuse:
            if exists {
                throw BatchOutputError(message: "\(path): already exists; pass --overwrite to replace it or --resume to continue it")
            }
            flags |= O_EXCL
        case .overwrite:
            flags |= O_TRUNC
        case .resume:
            if exists { try readCompletedLines(path) }
        }
        descriptor = open(path, flags, 0o644)
        if descriptor < 0 { throw systemError("cannot open for writing", path) }
    }

    /// Resume: collects (index, sample) of every complete line. An unfinished last line (the run died while
    /// writing it) must start like an output line (`{"index": `); it is cut off only when the run begins
    /// (`begin(_:)`), after every check passed: a file that is not an output of this program, or a resume that
    /// is refused, leaves the file as it was.
    private func readCompletedLines(_ path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchOutputError(message: "\(path): cannot be read to resume it")
        }
        let bytes = Array(data)
        let completeEnd = (bytes.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
        func notOurs(_ lineNumber: Int, _ what: String) -> BatchOutputError {
            BatchOutputError(message: "\(path):\(lineNumber): \(what) (expected a JSON object with \"index\", \"sample\" and \"prompt\"); refusing to resume into it")
        }
        var lineNumber = 0
        for line in bytes[..<completeEnd].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard case .object(let fields)? = try? JSONLineParser.parse(ArraySlice(line)),
                  case .string(let prompt)? = fields.last(where: { $0.key == "prompt" })?.value,
                  case let record = RecordedRun(place: "\(path):\(lineNumber)", fields: fields), let key = record.key,
                  key.promptIndex >= 0, key.sampleIndex >= 0 else {
                throw notOurs(lineNumber, "not an output line of this program")
            }
            completed.insert(key)
            completedPrompts[key.promptIndex] = prompt
            recorded.append(record)
        }
        let unfinished = bytes[completeEnd...]
        if !unfinished.isEmpty {
            let lineStart = Array(BatchOutputWriter.lineStart.utf8)
            guard unfinished.starts(with: lineStart) || lineStart.starts(with: unfinished) else {
                throw notOurs(bytes[..<completeEnd].count { $0 == UInt8(ascii: "\n") } + 1,
                              "an unfinished last line that is not the start of an output line of this program")
            }
            unfinishedLineOffset = off_t(completeEnd)
        }
    }

    private func openDirectory(_ path: String, _ existing: ExistingOutputPolicy,
                               prompts: (path: String, identity: FileIdentity)?) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if !isDirectory.boolValue { throw BatchOutputError(message: "\(path): exists and is not a directory") }
        } else {
            if let reason = makeDirectories(path) {
                throw BatchOutputError(message: "\(path): cannot create the output directory (\(reason))")
            }
        }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw BatchOutputError(message: "\(path): cannot list the output directory")
        }
        // The files it would replace, remove or write into: the sample files (and their .partial) and settings.json.
        // (Any other file is refused below.)
        if let prompts {
            for name in names where BatchOutputWriter.parseFileName(name.hasSuffix(".partial") ? String(name.dropLast(8)) : name) != nil
                                    || name == BatchOutputWriter.runFileName {
                let file = (path as NSString).appendingPathComponent(name)
                if FileIdentity(path: file) == prompts.identity {
                    throw BatchOutputError(message: "\(file): is the prompts file \(prompts.path) itself; give another --out-dir")
                }
            }
        }
        var samples: [(String, SampleKey)] = []
        var others: [String] = []
        for name in names {
            if BatchOutputWriter.isLeftover(name) {
                try? FileManager.default.removeItem(atPath: (path as NSString).appendingPathComponent(name))
            } else if let key = BatchOutputWriter.parseFileName(name) {
                samples.append((name, key))
            } else if name != BatchOutputWriter.runFileName {
                others.append(name)
            }
        }
        // A directory holding anything else (a run directory, say) is not an output of ours: its settings.json
        // would be replaced, and the samples mixed with other files.
        if !others.isEmpty {
            let listed = others.sorted().prefix(3).joined(separator: ", ") + (others.count > 3 ? ", ..." : "")
            throw BatchOutputError(message: "\(path): holds other files (\(listed)); give a new or empty --out-dir")
        }
        guard !samples.isEmpty else { return }
        switch existing {
        case .refuse:
            throw BatchOutputError(message: "\(path): already holds \(counted(samples.count, "sample file")); pass --overwrite to replace them or --resume to continue")
        case .overwrite:
            for (name, _) in samples {
                let file = (path as NSString).appendingPathComponent(name)
                guard unlink(file) == 0 else { throw systemError("cannot remove", file) }
            }
        case .resume:
            completed = Set(samples.map { $0.1 })
            try readRunFile(directory: path)
        }
    }

    /// Whether `name` is what a run killed while writing a file of the directory left: a sample's or settings.json's
    /// `.partial`, or the temporary of Foundation's atomic write (`.dat.nosync...`), which earlier versions wrote
    /// settings.json with.
    static func isLeftover(_ name: String) -> Bool {
        guard name.hasSuffix(".partial") else { return name.hasPrefix(".dat.nosync") }
        let final = String(name.dropLast(8))
        return final == runFileName || parseFileName(final) != nil
    }

    /// The key of a `prompt-IIII-sample-S.txt` name, nil for any other name.
    static func parseFileName(_ name: String) -> SampleKey? {
        guard name.hasPrefix("prompt-"), name.hasSuffix(".txt") else { return nil }
        let middle = name.dropFirst(7).dropLast(4)
        let parts = middle.components(separatedBy: "-sample-")
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let p = Int(parts[0]), let s = Int(parts[1]) else { return nil }
        // Only the name this program writes for the key: "prompt-5-sample-00.txt" named a file it would then look
        // for as "prompt-0005-sample-0.txt", and a second spelling counted one sample twice.
        let key = SampleKey(promptIndex: p, sampleIndex: s)
        return fileName(for: key) == name ? key : nil
    }

    // MARK: - Writing

    private func writeAll(_ text: String, to fd: Int32, path: String) throws {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw systemError("cannot write", path)
            }
            offset += n
        }
        bytes.removeAll()
    }

    private func systemError(_ what: String, _ path: String) -> BatchOutputError {
        BatchOutputError(message: "\(path): \(what): \(String(cString: strerror(errno)))")
    }
}
