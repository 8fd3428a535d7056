import ArgumentParser

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Swiftlet benchmarks (build with -c release): speeds measured against a reference in the same run.",
        subcommands: [BenchKernels.self, BenchLayers.self, BenchTrain.self, BenchSample.self, BenchEncode.self,
                      BenchFinetune.self])
}
