import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Swiftlet benchmarks: speeds measured against a reference in the same run.",
        subcommands: [BenchKernels.self, BenchEncode.self])
}
