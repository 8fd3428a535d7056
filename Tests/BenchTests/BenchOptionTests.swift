import TestSupport
import Testing

/// The built `bench` executable.
let BenchCommand = BuiltExecutable("bench")

/// `bench` refuses option values it cannot run with before any work (release builds check no precondition, so
/// a bad value used to run away: `train --threads 0` started threads without end, `--steps 0` read past an
/// empty array). Only refusals run here: none of these starts a measurement.
@Suite struct BenchOptionTests {
    /// A usage error: exit status 64, the message on the first line of stderr, nothing on stdout.
    @Test(arguments: [
        (["train", "--threads", "0"], "--threads must be at least 1 (got 0)"),
        (["train", "--threads=-1"], "--threads must be at least 1 (got -1)"),
        (["train", "--threads", "2000"], "--threads must be at most 1024 (got 2000)"),
        (["train", "--steps", "0"], "--steps must be at least 1 (got 0)"),
        (["train", "--steps=-5"], "--steps must be at least 1 (got -5)"),
        (["train", "--rounds", "0"], "--rounds must be at least 1 (got 0)"),
        (["train", "--batch-size", "0"], "--batch-size must be at least 1 (got 0)"),
        (["sample", "--heads", "5"], "the number of heads (5) must divide the width (288)"),
        (["train", "--peak-gflops", "0"], "--peak-gflops must be a positive number (got 0.0)"),
        (["finetune", "--threads", "0"], "--threads must be at least 1 (got 0)"),
        (["finetune", "--steps=-3"], "--steps must be at least 1 (got -3)"),
        (["finetune", "--batch-size", "0"], "--batch-size must be at least 1 (got 0)"),
        (["finetune", "--steps", "4611686018427387904", "--batch-size", "4"], "--steps must be 1 to 1000000000 (got 4611686018427387904)"),
        (["finetune", "--batch-size", "2000000"], "--batch-size must be 1 to 1048576 (got 2000000)"),
        (["finetune", "--lr", "0"], "--lr must be a positive number (got 0.0)"),
        (["sample", "--threads", "1000000"], "--threads must be at most 1024 (got 1000000)"),
        (["sample", "--tokens", "0"], "--tokens must be at least 1 (got 0)"),
        (["layers", "--threads", "1000000"], "--threads must be at most 1024 (got 1000000)"),
        (["layers", "--threads", "1,,2"], "--threads must be a comma-separated list of positive integers, got '1,,2'"),
        (["layers", "--threads", "1,0"], "--threads must be at least 1 (got 0)"),
        (["kernels", "--threads", "1,,2"], "--threads must be a comma-separated list of positive integers, got '1,,2'"),
        (["kernels", "--threads", "2,1025"], "--threads must be at most 1024 (got 1025)"),
        (["kernels", "--repeats", "0"], "--repeats must be at least 1 (got 0)"),
        (["encode", "--runs", "0"], "--runs must be at least 1 (got 0)"),
        (["encode", "--runs=-2"], "--runs must be at least 1 (got -2)"),
        (["train", "--vocab", "0"], "model vocabulary size must be positive (got 0)"),
        (["train", "--preset", "bogus"], "unknown preset 'bogus' (known: tiny, small, gpt2)"),
        // The trainer is made for (steps + 3) x rounds steps: that product overflowed, and was blamed on --steps.
        (["train", "--steps", "9223372036854775807"], "--steps must be at most 100000 (got 9223372036854775807)"),
        (["train", "--rounds", "1001"], "--rounds must be at most 1000 (got 1001)"),
        // A first-token prefill of 16 tokens trapped in a context of 8; the window must hold every new token.
        (["sample", "--context", "8", "--tokens", "8"],
         "--tokens must be less than --context (8): the 1-token prompt and the new tokens fit the window (got 8)"),
    ])
    func refusedBeforeAnyWork(arguments: [String], message: String) throws {
        let result = try BenchCommand.run(arguments)
        #expect(result.status == 64, "\(arguments): exit \(result.status), stderr: \(result.stderr)")
        #expect(result.stderr == "error: \(message) (see 'bench \(arguments[0]) --help')\n", "\(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)")
    }

    /// A batch beyond memory is refused before the random tokens are drawn (four batches' worth).
    @Test func batchBeyondMemoryIsRefusedFirst() throws {
        let result = try BenchCommand.run(["train", "--batch-size", "100000000", "--steps", "1", "--rounds", "1",
                                           "--no-reference"])
        #expect(result.status == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.hasPrefix("error: --batch-size: a batch of 100000000 x 64 tokens"), "\(result.stderr)")
        #expect(result.stderr.contains("GB of memory here (nine tenths, less 13 MB for the model's weights, gradients and moments); use a smaller --batch-size or --context"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    /// Buffers beyond memory are refused in one line before they are allocated (each of these trapped: an
    /// allocation that failed, or a `try!` around the decoder's own check), and a model beyond memory is named as
    /// such, not blamed on the batch.
    @Test(arguments: [
        (["sample", "--batch", "100000000", "--no-reference"], "error: decoding 100000000 sequences together"),
        (["layers", "--batch-size", "100000", "--threads", "2"], "error: a batch of 100000 for the layer kernels (their buffers) needs "),
        (["kernels", "--shape", "100000x100000x10", "--no-reference"], "error: --shape 100000x100000x10 (its matrices) needs 40.0 GB"),
        (["kernels", "--shape", "100000x100000x10"], "error: --shape 100000x100000x10 (its matrices, here and in the reference) needs 80.0 GB"),
        (["train", "--context", "100000000", "--no-reference"], "error: --preset: a model of 12.80 billion parameters needs "),
    ])
    func beyondMemoryIsOneLine(arguments: [String], prefix: String) throws {
        let result = try BenchCommand.run(arguments)
        #expect(result.status == 1, "\(arguments): exit \(result.status), stderr: \(result.stderr)")
        #expect(result.stderr.hasPrefix(prefix) && result.stderr.split(separator: "\n").count == 1,
                "\(arguments): \(result.stderr)")
        #expect(!result.stdout.contains("error") && !result.stderr.contains("Fatal"), "\(arguments): \(result.stdout)")
    }

    /// `--no-reference` is reported as such (it was "not available", as if OpenBLAS were missing). (bench train's
    /// missing-script line is checked by hand: its FMA reference takes 10 s and more in a debug build.)
    @Test func aSkippedReferenceIsNamed() throws {
        let kernels = try BenchCommand.run(["kernels", "--gemm-only", "--no-reference", "--repeats", "1", "--rounds", "1",
                                            "--shape", "12x16x32", "--threads", "1"])
        #expect(kernels.status == 0 && kernels.stdout.contains("OpenBLAS reference: skipped (--no-reference)"), "\(kernels.stdout)")
    }

    /// `bench layers --only` measures the kernels whose name contains its text, of every kind (a memory-bound one
    /// here), and is an error when none does (on two threads: no FMA reference, the slow part of a debug run).
    @Test func layersOnlyMeasuresWhatMatchesAndRefusesWhatMatchesNothing() throws {
        let residual = try BenchCommand.run(["layers", "--threads", "2", "--only", "residual"])
        let names = residual.stdout.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
        #expect(residual.status == 0 && names.filter { $0.hasPrefix("residual") } == ["residual_forward", "residual_accumulate"],
                "\(residual.stdout)\(residual.stderr)")
        let nothing = try BenchCommand.run(["layers", "--threads", "2", "--only", "nosuchkernel"])
        #expect(nothing.status == 1 && nothing.stderr.hasPrefix("error: --only nosuchkernel: no kernel's name contains it"),
                "\(nothing.stderr)")
        // The bandwidth reference runs whatever --only says, but is not a kernel it matched.
        let reference = try BenchCommand.run(["layers", "--threads", "2", "--only", "read"])
        #expect(reference.status == 1 && reference.stderr.hasPrefix("error: --only read: no kernel's name contains it"),
                "\(reference.stderr)")
    }

    /// `encode --help` gives the --file default once (argument-parser adds it to the help text).
    @Test func encodeHelpShowsTheFileDefaultOnce() throws {
        let result = try BenchCommand.run(["encode", "--help"])
        #expect(result.status == 0)
        #expect(result.stdout.components(separatedBy: "tinyshakespeare.txt").count == 2, "\(result.stdout)")
    }
}
