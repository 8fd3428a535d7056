import ArgumentParser
import Foundation
import JSON
import Tokenizer
import Training

/// Encoding throughput of the preparation path (CorpusEncoder streaming into a token file) with 1 and 2
/// threads, next to Debian's `spm_encode --output_format=id` on the same model and file in the same run.
struct BenchEncode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Corpus encoding throughput (MB/s) against spm_encode on the same model and file."
    )

    @Option(name: .customLong("file"), help: "Corpus file to measure; may repeat.")
    var files: [String] = ["../shared/data/tinyshakespeare.txt", "corpora/kjv.txt"]

    @Option(help: "Tokenizer model type trained for the measurement.")
    var tokenizerType: TokenizerTrainingOptions.ModelType = .bpe

    @Option(help: "Vocabulary size of the trained tokenizer.")
    var vocabSize: Int = 4096

    @Option(help: "Timed runs of each measurement (the median is reported).")
    var runs: Int = 5

    @Option(help: "spm_encode binary.")
    var spmEncode: String = "/usr/bin/spm_encode"

    @Flag(help: "Measure without Swiftlet's segment cache (SentencePiece's own encoding on every line).")
    var noSegmentCache = false

    @Flag(help: "Print one JSON object a line.")
    var json = false

    func validate() throws {
        try OptionCheck.atLeastOne(["runs": runs])
    }

    func run() throws {
        guard FileManager.default.isExecutableFile(atPath: spmEncode) else {
            printError("error: \(spmEncode): not found; install Debian's sentencepiece package (apt-get install sentencepiece)")
            throw ExitCode.failure
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }

        for given in files {
            // The shared data sits beside the clone, or two levels up from a git worktree.
            let file = FileManager.default.fileExists(atPath: given) || !given.hasPrefix("../shared/")
                ? given : "../" + given
            do {
                try measure(file: file, scratch: scratch)
            } catch {
                printError("error: \(error)")
                throw ExitCode.failure
            }
        }
    }

    private func measure(file: String, scratch: String) throws {
        let bytes = try InputFile.scanCorpus(file).bytes
        var options = TokenizerTrainingOptions()
        options.modelType = tokenizerType
        options.vocabularySize = vocabSize
        let model = scratch + "/bench.model"
        let tokenizer = try SentencePieceTokenizer.train(files: [file], modelPath: model, options: options)
        if noSegmentCache { tokenizer.usesSegmentCache = false }
        let cache = tokenizer.usesSegmentCache

        // Interleave the three measurements run by run, so that a change in the machine's load (it is shared)
        // hits all of them alike; report medians.
        let dtype = TokenDType.fitting(vocabularySize: tokenizer.vocabularySize)
        var spmTimes: [Double] = [], oursTimes: [Int: [Double]] = [1: [], 2: []]
        var tokens = 0
        for _ in 0..<runs {
            spmTimes.append(try runSpmEncode(model: model, file: file))
            for threads in [1, 2] {
                let encoder = CorpusEncoder(tokenizer: tokenizer, threads: threads)
                let writer = try TokenFileWriter(path: scratch + "/bench.npy", dtype: dtype)
                let start = DispatchTime.now().uptimeNanoseconds
                try encoder.encode(file: file) { try writer.append($0) }
                try writer.finish()
                oursTimes[threads]!.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                tokens = writer.count
            }
        }
        let spm = median(spmTimes)
        let ours = oursTimes.mapValues(median)
        let megabytes = Double(bytes) / 1e6
        let name = URL(fileURLWithPath: file).lastPathComponent
        let spmRate = megabytes / spm
        for threads in [1, 2] {
            let rate = megabytes / ours[threads]!
            if json {
                print("{\"name\":\"encode\",\"file\":\(jsonStringLiteral(name)),\"bytes\":\(bytes),\"tokens\":\(tokens),\"model\":\"\(tokenizerType.rawValue)\",\"vocab\":\(tokenizer.vocabularySize),\"threads\":\(threads),\"segment_cache\":\(cache),\"mb_per_s\":\(String(format: "%.2f", rate)),\"spm_encode_mb_per_s\":\(String(format: "%.2f", spmRate)),\"ratio\":\(String(format: "%.3f", rate / spmRate))}")
            } else {
                print(String(format: "%@  %@ %d  cache %@  threads %d: %7.2f MB/s   spm_encode: %7.2f MB/s   ratio %.2fx",
                             name, tokenizerType.rawValue, tokenizer.vocabularySize, cache ? "on " : "off", threads,
                             rate, spmRate, rate / spmRate))
            }
        }
    }

    /// Wall time of `spm_encode --model M --output_format=id < file > /dev/null`.
    private func runSpmEncode(model: String, file: String) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spmEncode)
        process.arguments = ["--model", model, "--output_format=id"]
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        let start = DispatchTime.now().uptimeNanoseconds
        try process.run()
        process.waitUntilExit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard process.terminationStatus == 0 else {
            throw TokenizerError.encodingFailed(reason: "spm_encode exited with status \(process.terminationStatus)")
        }
        return seconds
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

extension TokenizerTrainingOptions.ModelType: ExpressibleByArgument {}
