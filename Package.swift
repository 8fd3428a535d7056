// swift-tools-version: 6.0
import PackageDescription

// Release builds run the SIMD kernels; without a target CPU, LLVM scalarises SIMD16<Float> arithmetic
// (DESIGN.md, "Kernels and speed"). SWIFTLET_TARGET_CPU overrides `native` for portable builds,
// for example SWIFTLET_TARGET_CPU=x86-64-v3 swift build -c release.
let targetCPU = Context.environment["SWIFTLET_TARGET_CPU"] ?? "native"
let releaseFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", targetCPU], .when(configuration: .release)),
]
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
    name: "Swiftlet",
    products: [
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Tokenizer", targets: ["Tokenizer"]),
        .library(name: "GPT", targets: ["GPT"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "FineTuneData", targets: ["FineTuneData"]),
        .library(name: "FineTuning", targets: ["FineTuning"]),
        .library(name: "Sampling", targets: ["Sampling"]),
        .library(name: "Generation", targets: ["Generation"]),
        .library(name: "LineEditor", targets: ["LineEditor"]),
        .executable(name: "pretrain", targets: ["pretrain"]),
        .executable(name: "finetune", targets: ["finetune"]),
        .executable(name: "sample", targets: ["sample"]),
        .executable(name: "bench", targets: ["bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Helpers shared by the test targets: fixture paths and running the built executables.
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        // SentencePiece (Debian's libsentencepiece-dev) behind a small C API, and its Swift wrapper.
        .target(name: "CSentencePiece",
                cxxSettings: [.unsafeFlags(["-O2"])],
                linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("sentencepiece_train")]),
        .target(name: "Tokenizer", dependencies: ["CSentencePiece", "Kernels"], swiftSettings: releaseFlags),
        .testTarget(name: "TokenizerTests", dependencies: ["TestSupport", "Tokenizer"]),

        // What Swift has no intrinsic for (x86 `pause` for the thread pool, prefetch, a vector square root), in a C header.
        .target(name: "CIntrinsics"),
        // Cache-blocked SIMD kernels (GEMM, layer forward/backward pairs, AdamW) and the thread pool.
        .target(name: "Kernels", dependencies: ["CIntrinsics"], swiftSettings: releaseFlags),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),

        // The GPT-2 model: configuration, parameter layout, forward/backward, checkpoints, the classifier head,
        // KV-cache decoding.
        .target(name: "GPT", dependencies: ["Kernels"], swiftSettings: releaseFlags),
        .testTarget(name: "GPTTests", dependencies: ["GPT", "Kernels"], exclude: ["Fixtures"]),

        // Token files, corpus preparation, batching, the training loop, metrics.
        .target(name: "Training", dependencies: ["Tokenizer", "Kernels", "GPT"], swiftSettings: releaseFlags),
        .testTarget(name: "TrainingTests", dependencies: ["TestSupport", "Training", "Tokenizer", "GPT"]),

        // JSON lines: a strict parser that keeps member order and number literals, values, a string-literal writer;
        // and the backslash escapes of typed text (finetune --template, sample's /stop).
        .target(name: "JSON", swiftSettings: releaseFlags),

        // Labelled data for fine-tuning: JSONL/CSV/TSV readers, label sets, splits, metrics, prediction output.
        .target(name: "FineTuneData", dependencies: ["JSON"], swiftSettings: releaseFlags),
        .testTarget(name: "FineTuneDataTests", dependencies: ["FineTuneData", "JSON"]),
        // Fine-tuning tasks (a classifier, prompt -> completion) driven by Training's run loop.
        .target(name: "FineTuning", dependencies: ["FineTuneData", "GPT", "JSON", "Training", "Tokenizer", "Kernels"],
                swiftSettings: releaseFlags),

        // Token sampling, stop strings, UTF-8 streaming, prompt files and batch output (model-independent).
        .target(name: "Sampling", dependencies: ["JSON"], swiftSettings: releaseFlags),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling", "JSON"]),
        // Text generation: prompts -> tokens -> BatchDecoder (GPT's KV cache) -> Sampler -> streamed text.
        .target(name: "Generation", dependencies: ["GPT", "Sampling", "Tokenizer"], swiftSettings: releaseFlags),

        // Debian's libedit (apt-get install libedit-dev) behind a tiny C shim: el_set is variadic, which
        // Swift cannot call, so the shim wraps the few calls LineEditor needs.
        .target(name: "CLineEdit", linkerSettings: [.linkedLibrary("edit")]),
        .target(name: "LineEditor", dependencies: ["CLineEdit"], swiftSettings: releaseFlags),
        .testTarget(name: "LineEditorTests", dependencies: ["LineEditor"]),

        // Progress bars and Ctrl-C for the executables.
        .target(name: "TerminalUI", dependencies: [argumentParser], swiftSettings: releaseFlags),
        .testTarget(name: "TerminalUITests", dependencies: ["TerminalUI"]),

        .executableTarget(name: "pretrain",
                          dependencies: ["Training", "Tokenizer", "GPT", "Generation", "Sampling", "TerminalUI", argumentParser],
                          swiftSettings: releaseFlags),
        .testTarget(name: "PretrainTests", dependencies: ["TestSupport", "pretrain", "Tokenizer", "Training", "GPT"]),

        .executableTarget(name: "finetune",
                          dependencies: ["FineTuning", "FineTuneData", "Generation", "Training", "Tokenizer", "GPT",
                                         "TerminalUI", argumentParser],
                          swiftSettings: releaseFlags),
        .testTarget(name: "FinetuneTests",
                    dependencies: ["TestSupport", "finetune", "FineTuning", "FineTuneData", "GPT", "Tokenizer", "Training"],
                    exclude: ["Fixtures"]),

        .executableTarget(name: "sample",
                          dependencies: ["Generation", "GPT", "JSON", "Sampling", "Tokenizer", "Training", "TerminalUI",
                                         "LineEditor", argumentParser],
                          swiftSettings: releaseFlags),
        .testTarget(name: "GenerationTests",
                    dependencies: ["TestSupport", "Generation", "GPT", "Kernels", "Sampling", "Tokenizer", "Training", "sample"],
                    exclude: ["Fixtures"]),

        .executableTarget(name: "bench",
                          dependencies: ["Kernels", "GPT", "Training", "Tokenizer", "Sampling", "FineTuning",
                                         "FineTuneData", "JSON", "TerminalUI", argumentParser],
                          swiftSettings: releaseFlags),
        .testTarget(name: "BenchTests", dependencies: ["TestSupport", "bench"]),
    ],
    swiftLanguageModes: [.v5],
    cxxLanguageStandard: .cxx17
)
