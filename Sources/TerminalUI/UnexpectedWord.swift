import Foundation

/// The error for a word on a command line that no option takes, when the tool's default command caught it: a
/// command given after options (commands come first), a second file after an option that takes one, or a
/// mistyped command (`pretrain evalute`).
public func unexpectedWordProblem(_ word: String, tool: String, commands: [String], fileOption: String?) -> String {
    if commands.contains(word) {
        return "'\(word)' is a command of \(tool): give it first (\(tool) \(word) ...)"
    }
    if let fileOption, FileManager.default.fileExists(atPath: word) {
        return "'\(word)' is no option's value: give each file with its own \(fileOption)"
    }
    return "'\(word)' is neither a command of \(tool) (\(commands.joined(separator: ", "))) nor an option's value"
}
