import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Swiftlet's benchmarks; each measures against a reference in the same run.",
        subcommands: [BenchEncode.self]
    )
}
