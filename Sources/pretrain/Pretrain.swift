import ArgumentParser
import TerminalUI

/// `pretrain`: train a GPT language model (the default subcommand), prepare a corpus (tokenizer + token files),
/// measure a checkpoint on whole texts, inspect tokenizers.
@main
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Learn a tokenizer and a GPT language model from plain text.",
        discussion: "'pretrain' alone runs 'pretrain train'; its options: 'pretrain train --help'.",
        subcommands: [Train.self, Prepare.self, Evaluate.self, Tokenize.self, Decode.self],
        defaultSubcommand: Train.self
    )

    static func main() { mainWithOneLineErrors() }
}
