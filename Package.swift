// swift-tools-version: 6.0
import PackageDescription

// Release builds run the SIMD kernels; without a target CPU, LLVM scalarises SIMD16<Float> arithmetic
// (DESIGN.md, "Kernels and speed"). SWIFTLET_TARGET_CPU overrides `native` for portable builds,
// for example SWIFTLET_TARGET_CPU=x86-64-v3 swift build -c release.
let targetCPU = Context.environment["SWIFTLET_TARGET_CPU"] ?? "native"
let releaseFlags: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-target-cpu", targetCPU], .when(configuration: .release)),
]

let package = Package(
    name: "Swiftlet",
    products: [
        .library(name: "Kernels", targets: ["Kernels"]),
        .library(name: "Sampling", targets: ["Sampling"]),
        .library(name: "LineEditor", targets: ["LineEditor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "Kernels", swiftSettings: releaseFlags),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        // Token sampling, stop strings, UTF-8 streaming, prompt files and batch output (model-independent).
        .target(name: "Sampling", swiftSettings: releaseFlags),
        .testTarget(name: "SamplingTests", dependencies: ["Sampling"]),
        // Debian's libedit (apt-get install libedit-dev) behind a tiny C shim: el_set is variadic, which
        // Swift cannot call, so the shim wraps the few calls LineEditor needs.
        .target(name: "CLineEdit", linkerSettings: [.linkedLibrary("edit")]),
        .target(name: "LineEditor", dependencies: ["CLineEdit"], swiftSettings: releaseFlags),
        .testTarget(name: "LineEditorTests", dependencies: ["LineEditor"]),
    ],
    swiftLanguageModes: [.v5]
)
