import ArgumentParser
import TerminalUI

/// `finetune`: adapt a pretrained checkpoint to labelled text (the default subcommand), evaluate the result,
/// predict with a classifier.
@main
struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a GPT checkpoint on labelled text: a classifier or prompt -> completion pairs.",
        discussion: "Without a subcommand, finetune trains: 'finetune help train' lists the training options.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, PredictCommand.self],
        defaultSubcommand: TrainCommand.self
    )

    static func main() { mainWithOneLineErrors() }
}
