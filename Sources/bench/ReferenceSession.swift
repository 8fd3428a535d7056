import Foundation

/// A reference program that stays running and answers one request a line: `bench train` sends PyTorch's script
/// (started with `--serve`) a step count, and it times that many steps and prints one JSON line. Both sides can
/// then alternate many short rounds without paying Python's start-up each time.
final class ReferenceSession {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var pending = Data()

    /// Starts `arguments` through env; nil when it cannot be started. Standard error is discarded (a chatty
    /// program must not block on a full pipe); a failed request reads as nil.
    init?(_ arguments: [String]) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        signal(SIGPIPE, SIG_IGN)   // a program that has exited makes the write fail instead of killing us
        guard (try? process.run()) != nil else { return nil }
    }

    /// Sends `request` as a line and returns the JSON object of the answer line; nil when the program has
    /// ended or answered something else.
    func ask(_ request: String) -> [String: Any]? {
        guard process.isRunning else { return nil }
        let sent = (try? input.fileHandleForWriting.write(contentsOf: Data((request + "\n").utf8))) != nil
        guard sent, let line = readLine() else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    }

    private func readLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            pending.append(chunk)
        }
    }

    /// Ends the program's input and waits for it to exit.
    func close() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
