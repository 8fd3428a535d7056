import Foundation

/// The C reference of `bench sample`: scripts/runc_style_decoder.c (a run.c-style fp32 decoder: plain dot
/// loops, OpenMP over output rows), compiled here with `cc -Ofast -march=native -fopenmp` and run on the same
/// shape and thread count. Nil (with the reason on stderr) when there is no C compiler or the run fails.
enum RunCStyleReference {
    struct Result {
        let tokensPerSecond: Double
        let weightGBs: Double
    }

    static func measure(source: String, width: Int, layers: Int, heads: Int, vocab: Int, context: Int,
                        tokens: Int, threads: Int, repeats: Int) -> Result? {
        guard FileManager.default.fileExists(atPath: source) else {
            note("C reference source \(source) not found (run from the package root)")
            return nil
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlet-runc-\(getpid())", isDirectory: true)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("runc_style_decoder").path

        let compile = ReferenceProcess.run(["cc", "-Ofast", "-march=native", "-fopenmp", source, "-o", binary, "-lm"])
        guard compile?.status == 0 else {
            note("could not compile \(source) with cc -fopenmp: \(compile?.firstErrorLine ?? "no cc found")")
            return nil
        }
        let arguments = [binary, "--dim", "\(width)", "--layers", "\(layers)", "--heads", "\(heads)",
                         "--vocab", "\(vocab)", "--context", "\(context)", "--tokens", "\(tokens)",
                         "--repeats", "\(repeats)"]
        guard let result = ReferenceProcess.run(arguments, environment: ["OMP_NUM_THREADS": "\(threads)"]),
              result.status == 0, let object = result.lastJSONObject,
              let rate = object["tokens_per_s"] as? Double, let gbs = object["weight_gb_per_s"] as? Double
        else {
            note("the C reference decoder failed")
            return nil
        }
        return Result(tokensPerSecond: rate, weightGBs: gbs)
    }

    private static func note(_ message: String) {
        FileHandle.standardError.write(Data("bench sample: \(message); no C reference\n".utf8))
    }
}
