import Foundation

/// One of the package's executables as built next to the test bundle (.build/<config>/NAME), run with its
/// standard output and error captured.
public struct BuiltExecutable: Sendable {
    public let name: String
    public init(_ name: String) { self.name = name }

    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct NotBuilt: Error, CustomStringConvertible {
        public let name: String
        public var description: String { "the \(name) executable was not found next to the test bundle (\(Bundle.main.bundleURL.path))" }
    }

    /// Its path, or nil when it was not built.
    public var path: String? {
        let candidates = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        for directory in candidates {
            let path = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs it to completion with `stdin` as standard input (else /dev/null), in `directory` if given. With
    /// `mergingOutput`, standard error goes to the same file as standard output (as `> log 2>&1` does), and
    /// `stdout` holds both.
    public func run(_ arguments: [String], stdin: String? = nil, in directory: String? = nil,
                    mergingOutput: Bool = false) throws -> Output {
        try run(arguments, stdinBytes: stdin.map { Data($0.utf8) }, in: directory, mergingOutput: mergingOutput)
    }

    /// The same with standard input given as bytes (which need not be UTF-8).
    public func run(_ arguments: [String], stdinBytes: Data?, in directory: String? = nil,
                    mergingOutput: Bool = false) throws -> Output {
        guard let binary = path else { throw NotBuilt(name: name) }
        let scratch = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"
        precondition(FileManager.default.createFile(atPath: outPath, contents: nil), "cannot create \(outPath)")
        precondition(FileManager.default.createFile(atPath: errPath, contents: nil), "cannot create \(errPath)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardOutput = output
        process.standardError = mergingOutput ? output : try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        if let stdinBytes {
            let inPath = scratch + "/stdin"
            try stdinBytes.write(to: URL(fileURLWithPath: inPath))
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      stdout: try String(contentsOfFile: outPath, encoding: .utf8),
                      stderr: try String(contentsOfFile: errPath, encoding: .utf8))
    }

    /// Runs it with standard output sent to `stdout` (a file such as /dev/full, or a pipe's closed end) and `stdin`
    /// as standard input (else /dev/null); returns the finished process and what it wrote on standard error.
    public func run(_ arguments: [String], stdout: FileHandle, stdin: String? = nil) throws -> (process: Process, stderr: String) {
        guard let binary = path else { throw NotBuilt(name: name) }
        let scratch = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let errPath = scratch + "/stderr", inPath = scratch + "/stdin"
        precondition(FileManager.default.createFile(atPath: errPath, contents: nil), "cannot create \(errPath)")
        precondition(FileManager.default.createFile(atPath: inPath, contents: Data((stdin ?? "").utf8)), "cannot create \(inPath)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = stdin == nil ? FileHandle.nullDevice : try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        try process.run()
        process.waitUntilExit()
        return (process, try String(contentsOfFile: errPath, encoding: .utf8))
    }
}
