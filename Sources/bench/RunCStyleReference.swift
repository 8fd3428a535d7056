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

        let compile = run(["cc", "-Ofast", "-march=native", "-fopenmp", source, "-o", binary, "-lm"], environment: [:], in: directory)
        guard compile?.status == 0 else {
            note("could not compile \(source) with cc -fopenmp: \(compile?.errorText ?? "no cc found")")
            return nil
        }
        let arguments = [binary, "--dim", "\(width)", "--layers", "\(layers)", "--heads", "\(heads)",
                         "--vocab", "\(vocab)", "--context", "\(context)", "--tokens", "\(tokens)",
                         "--repeats", "\(repeats)"]
        guard let result = run(arguments, environment: ["OMP_NUM_THREADS": "\(threads)"], in: directory), result.status == 0,
              let line = result.output.split(separator: "\n").last,
              let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let rate = object["tokens_per_s"] as? Double, let gbs = object["weight_gb_per_s"] as? Double
        else {
            note("the C reference decoder failed")
            return nil
        }
        return Result(tokensPerSecond: rate, weightGBs: gbs)
    }

    /// Runs a command (through env) and returns its exit status, standard output and first line of standard
    /// error (written to a file, so a chatty compiler cannot fill a pipe and block).
    private static func run(_ arguments: [String], environment: [String: String], in directory: URL)
        -> (status: Int32, output: String, errorText: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errorFile = directory.appendingPathComponent("stderr.txt")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil),
              let errors = try? FileHandle(forWritingTo: errorFile) else { return nil }
        defer { try? errors.close() }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorText = ((try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
            .split(separator: "\n").first.map(String.init) ?? ""
        return (process.terminationStatus, String(decoding: data, as: UTF8.self), errorText)
    }

    private static func note(_ message: String) {
        FileHandle.standardError.write(Data("bench sample: \(message); no C reference\n".utf8))
    }
}
