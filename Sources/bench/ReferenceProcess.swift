import Foundation

/// Runs the reference programs of the benchmarks (OpenBLAS and PyTorch scripts, the C decoder, its compiler).
enum ReferenceProcess {
    struct Output {
        let status: Int32
        let standardOutput: String
        /// The first line of standard error ("" when there is none).
        let firstErrorLine: String

        /// The last line of standard output parsed as a JSON object (the references print one).
        var lastJSONObject: [String: Any]? {
            guard let line = standardOutput.split(separator: "\n").last else { return nil }
            return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
    }

    /// Runs `arguments` through env with `environment` added; nil when it cannot be started. Standard error
    /// goes to a temporary file, so a chatty program cannot fill an unread pipe and block.
    static func run(_ arguments: [String], environment: [String: String] = [:]) -> Output? {
        let errorFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftlet-bench-stderr-\(getpid())-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil),
              let errors = try? FileHandle(forWritingTo: errorFile) else { return nil }
        defer {
            try? errors.close()
            try? FileManager.default.removeItem(at: errorFile)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = errors
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errorText = ((try? String(contentsOf: errorFile, encoding: .utf8)) ?? "")
            .split(separator: "\n").first.map(String.init) ?? ""
        return Output(status: process.terminationStatus, standardOutput: String(decoding: data, as: UTF8.self),
                      firstErrorLine: errorText)
    }
}
