import TestSupport
import Foundation
import Testing

/// `finetune --resume` continues a run with its own settings: every option of `finetune train` other than the
/// few a resume honours is refused by name, never ignored. The options come from the command's own help dump,
/// so an option added later is covered too.
@Suite struct ResumeOptionsTests {
    /// What `--resume` honours (--overwrite contradicts it and is a usage error of its own; --data and --val-file
    /// say where the run's data files are now).
    static let honoured: Set<String> = ["resume", "out", "task", "steps", "eval-every", "checkpoint-every", "patience",
                                        "data", "val-file",
                                        "threads", "overwrite", "help"]

    /// Values for the options to which "1" is not a valid value.
    static let validValues = ["val-fraction": "0.5", "class-weights": "balanced", "dropout": "0.5", "template": "{prompt}"]

    /// (name, takes a value) of every option and flag of `finetune train`.
    static func trainOptions() throws -> [(name: String, takesValue: Bool)] {
        let dump = try FinetuneCommand.run(["train", "--experimental-dump-help"])
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        let arguments = try #require((root["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
        return arguments.compactMap { argument in
            let names = (argument["names"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            guard let long = names.max(by: { $0.count < $1.count }) else { return nil }
            return (long, argument["kind"] as? String == "option")
        }
    }

    @Test func everySettingAResumeDoesNotHonourIsRefusedByName() throws {
        let options = try Self.trainOptions()
        #expect(options.count > 30, "\(options)")
        let out = NSTemporaryDirectory() + "ResumeOptionsTests-" + UUID().uuidString
        for option in options where !Self.honoured.contains(option.name) {
            // A value each option accepts on its own (a bad one is a usage error, before --resume is looked at).
            let given = ["--" + option.name] + (option.takesValue ? [Self.validValues[option.name] ?? "1"] : [])
            let output = try FinetuneCommand.run(["--resume", "--out", out] + given)
            expectError(output, startsWith: "--resume: a resumed run keeps the settings it started with; leave out --\(option.name) (")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        let nothing = try FinetuneCommand.run(["--resume", "--out", out])
        expectError(nothing, startsWith: "--resume: \(out) does not exist: there is no run to resume")
    }
}
