import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Swiftlet benchmarks (build with -c release).",
        subcommands: [BenchLayers.self])
}
