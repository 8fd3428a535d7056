import ArgumentParser

/// `pretrain`: prepare a corpus (tokenizer + token files) and inspect tokenizers. The training command joins
/// as the default subcommand: add it to `subcommands` and set `defaultSubcommand`.
@main
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Learn a tokenizer and a GPT language model from plain text.",
        subcommands: [Prepare.self, Tokenize.self]
    )
}
