import Foundation

/// Resume: the samples already in the output must have been made from the prompts given now.
extension BatchOutputWriter {
    /// Throws, naming the file, if a resumed output holds a sample of another prompt than the one at its index now
    /// (it was made from another prompts file), or of an index beyond the prompts. JSONL: each line's "prompt".
    /// A directory: each sample file must start with its prompt as laid out by `layout` (the model's template),
    /// and the prompts settings.json records (`PromptsFingerprint`: their count and hash) must be the first ones
    /// now; a file prefix alone would take a prompt cut short ("And God" for "And God said") for the same.
    /// Call it before `begin(_:)`, which records these prompts in a directory's settings.json.
    public func checkMatches(_ prompts: [PromptRecord], layout: (String) -> String = { $0 }) throws {
        let again = "it was made from another prompts file (use --overwrite to start over)"
        switch destination {
        case .jsonLines(let path):
            for (index, prompt) in completedPrompts.sorted(by: { $0.key < $1.key }) {
                guard index < prompts.count else {
                    throw BatchOutputError(message: "\(path): holds prompt index \(index), but there \(prompts.count == 1 ? "is" : "are") only \(counted(prompts.count, "prompt")); \(again)")
                }
                if prompts[index].prompt != prompt {
                    throw BatchOutputError(message: "\(path): the prompt of index \(index) differs from line \(prompts[index].line) of the prompts file; \(again)")
                }
            }
        case .directory(let directory):
            for key in completed.sorted() {
                let file = (directory as NSString).appendingPathComponent(Self.fileName(for: key))
                guard key.promptIndex < prompts.count else {
                    throw BatchOutputError(message: "\(file): a sample of prompt index \(key.promptIndex), but there \(prompts.count == 1 ? "is" : "are") only \(counted(prompts.count, "prompt")); \(again)")
                }
                let record = prompts[key.promptIndex]
                guard let contents = FileManager.default.contents(atPath: file) else {
                    throw BatchOutputError(message: "\(file): cannot be read to resume the output")
                }
                if !contents.starts(with: layout(record.prompt).utf8) {
                    throw BatchOutputError(message: "\(file): does not start with the prompt of line \(record.line) of the prompts file; \(again)")
                }
            }
            if let recorded = recordedPrompts {
                let file = (directory as NSString).appendingPathComponent(Self.runFileName)
                if recorded.count > prompts.count {
                    throw BatchOutputError(message: "\(file): records samples of \(counted(recorded.count, "prompt")), but the prompts file has only \(prompts.count); \(again)")
                }
                if PromptsFingerprint(prompts.prefix(recorded.count)) != recorded {
                    throw BatchOutputError(message: "\(file): records samples of other prompts than the first \(recorded.count) of the prompts file; \(again)")
                }
            }
            matchedPrompts = PromptsFingerprint(prompts)
        }
    }
}
