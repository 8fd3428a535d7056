import Foundation
import Testing
import TestSupport

/// Fixture paths (committed, made by scripts/classifier_parity.py and the commands in its docstring) and a
/// runner for the built `finetune` executable.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    /// A tiny pretrained language model (2 layers, width 16, context 24, 96-piece BPE of KJV text).
    static var languageModel: String { directory + "/tiny-lm" }
    /// A classifier fine-tuned from it on KJV verses (8 labels).
    static var classifier: String { directory + "/tiny-classifier" }
    static var parityLogits: String { directory + "/classifier-logits.json" }
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static var shippedTrain: String { repository + "/corpora/kjv-sections-train.jsonl" }
    static var shippedTest: String { repository + "/corpora/kjv-sections-test.jsonl" }
    static var shippedCompletion: String { repository + "/corpora/proverbs-completion.jsonl" }
}

/// A fresh directory per test, removed when the value goes away.
final class Scratch {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "FinetuneTests-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ contents: String) -> String {
        let file = path + "/" + name
        precondition(FileManager.default.createFile(atPath: file, contents: Data(contents.utf8)), "cannot write \(file)")
        return file
    }

    /// The first `count` lines of a shipped file, written here.
    func head(of file: String, _ count: Int, as name: String) throws -> String {
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").prefix(count)
        return write(name, lines.joined(separator: "\n") + "\n")
    }
}

/// The built `finetune` executable.
let FinetuneCommand = BuiltExecutable("finetune")

/// A refused run: exit status 1 and one line on stderr, "error: " then `prefix`.
func expectError(_ output: BuiltExecutable.Output, startsWith prefix: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(output.status == 1, sourceLocation: sourceLocation)
    #expect(output.stderr.hasPrefix("error: " + prefix), "stderr: \(output.stderr)", sourceLocation: sourceLocation)
    #expect(output.stderr.split(separator: "\n").count == 1, "stderr: \(output.stderr)", sourceLocation: sourceLocation)
}

/// A usage error: exit status 64 and exactly the line "error: <message> (see 'finetune <command> --help')".
func expectUsageError(_ output: BuiltExecutable.Output, _ message: String, command: String = "train",
                      sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(output.status == 64, "exit \(output.status)", sourceLocation: sourceLocation)
    #expect(output.stderr == "error: \(message) (see 'finetune \(command) --help')\n", "stderr: \(output.stderr)",
            sourceLocation: sourceLocation)
}
