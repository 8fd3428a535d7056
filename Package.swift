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
        .library(name: "GPT", targets: ["GPT"]),
        .library(name: "Training", targets: ["Training"]),
        .executable(name: "bench", targets: ["bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Cache-blocked SIMD kernels (GEMM, layer forward/backward pairs, AdamW) and the thread pool.
        .target(name: "Kernels", swiftSettings: releaseFlags),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),

        // The GPT-2 model: configuration, parameter layout, forward/backward, checkpoints.
        .target(name: "GPT", dependencies: ["Kernels"], swiftSettings: releaseFlags),
        .testTarget(name: "GPTTests", dependencies: ["GPT"], exclude: ["Fixtures"]),

        // Token files, batching, the training loop, metrics.
        .target(name: "Training", dependencies: ["Kernels", "GPT"], swiftSettings: releaseFlags),
        .testTarget(name: "TrainingTests", dependencies: ["Training"]),

        // Progress bars and Ctrl-C for the executables.
        .target(name: "TerminalUI", swiftSettings: releaseFlags),

        .executableTarget(name: "bench", dependencies: ["Kernels", "GPT", "Training", argumentParser],
                          swiftSettings: releaseFlags),
    ],
    swiftLanguageModes: [.v5]
)
