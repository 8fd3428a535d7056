import Foundation

/// The C reference of `bench sample`: scripts/runc_style_decoder.c (a run.c-style fp32 decoder: plain dot
/// loops, OpenMP over output rows), compiled here with `cc -Ofast -march=native -fopenmp` and run on the same
/// shape and thread count. Nil (with the reason on stderr) when there is no C compiler or the run fails.
enum RunCStyleReference {
    struct Result {
        let tokensPerSecond: Double
        let weightGBs: Double
    }

    /// The compiled decoder, ready to be timed (its directory is removed with it).
    final class Decoder {
        let directory: URL
        let arguments: [String]
        let threads: Int

        init(directory: URL, arguments: [String], threads: Int) {
            self.directory = directory
            self.arguments = arguments
            self.threads = threads
        }

        deinit { try? FileManager.default.removeItem(at: directory) }

        /// One run of the reference: the median of its own `repeats` timed generations. Nil when it fails.
        func measure() -> Result? {
            guard let result = ReferenceProcess.run(arguments, environment: ["OMP_NUM_THREADS": "\(threads)"]),
                  result.status == 0, let object = result.lastJSONObject,
                  let rate = object["tokens_per_s"] as? Double, let gbs = object["weight_gb_per_s"] as? Double
            else {
                RunCStyleReference.note("the C reference decoder failed")
                return nil
            }
            return Result(tokensPerSecond: rate, weightGBs: gbs)
        }
    }

    /// Compiles `source` for the given shape; nil (with the reason on stderr) when that fails.
    static func compile(source: String, width: Int, layers: Int, heads: Int, vocab: Int, context: Int,
                        tokens: Int, threads: Int, repeats: Int) -> Decoder? {
        guard FileManager.default.fileExists(atPath: source) else {
            note("C reference source \(source) not found (run from the package root)")
            return nil
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlet-runc-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let binary = directory.appendingPathComponent("runc_style_decoder").path
        let compile = ReferenceProcess.run(["cc", "-Ofast", "-march=native", "-fopenmp", source, "-o", binary, "-lm"])
        guard compile?.status == 0 else {
            try? FileManager.default.removeItem(at: directory)
            note("could not compile \(source) with cc -fopenmp: \(compile?.firstErrorLine ?? "no cc found")")
            return nil
        }
        let arguments = [binary, "--dim", "\(width)", "--layers", "\(layers)", "--heads", "\(heads)",
                         "--vocab", "\(vocab)", "--context", "\(context)", "--tokens", "\(tokens)",
                         "--repeats", "\(repeats)"]
        return Decoder(directory: directory, arguments: arguments, threads: threads)
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("bench sample: \(message); no C reference\n".utf8))
    }
}
