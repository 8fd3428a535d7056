import ArgumentParser
import Foundation

/// Runs a command body; a thrown error becomes one line "error: <message>" on stderr and exit status 1.
public func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("error: \(error)")
        throw ExitCode.failure
    }
}

public func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
