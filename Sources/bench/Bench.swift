import ArgumentParser
import Kernels
import TerminalUI

@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Swiftlet benchmarks (build with -c release): speeds measured against a reference in the same run.",
        subcommands: [BenchKernels.self, BenchLayers.self, BenchTrain.self, BenchSample.self, BenchEncode.self,
                      BenchFinetune.self])

    /// Errors as one line, as the other tools print them ("error: ... (see 'bench train --help')").
    static func main() { mainWithOneLineErrors() }
}

/// The option checks the subcommands' `validate()` share. Each throws the ValidationError argument-parser reports
/// (exit status 64) before any work starts; release builds drop preconditions, so nothing later catches a bad value.
enum OptionCheck {
    /// Every (option name, value) given is at least 1.
    static func atLeastOne(_ options: KeyValuePairs<String, Int>) throws {
        for (name, value) in options where value < 1 {
            throw ValidationError("--\(name) must be at least 1 (got \(value))")
        }
    }

    /// A thread count a pool can have (1...ThreadPool.maximumThreads).
    static func threads(_ threads: Int) throws {
        if let problem = ThreadPool.problem(withThreads: threads) { throw ValidationError(problem) }
    }

    /// The thread counts of a comma-separated --threads list ("1,2"; spaces allowed, empty entries not).
    static func threadList(_ list: String) throws -> [Int] {
        let counts = list.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.filter { $0 != " " }) }
        guard counts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--threads must be a comma-separated list of positive integers, got '\(list)'")
        }
        for count in counts { try threads(count!) }
        return counts.map { $0! }
    }
}
