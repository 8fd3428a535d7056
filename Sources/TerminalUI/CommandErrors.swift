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

/// One line on stderr. Through `writeText`, not `FileHandle.write`, which traps on a closed pipe (training runs
/// ignore SIGPIPE: `Interrupt.ignoreBrokenPipes`).
public func printError(_ message: String) {
    writeText(message + "\n", to: stderr)
}

/// Writes all of `text`'s UTF-8 bytes to `stream`. Not `fputs`, which takes a C string and stops at the first NUL
/// byte: a text holding one (a corpus line, a prompt) lost everything after it. False when not every byte could be
/// written (errno says why).
@discardableResult
public func writeText(_ text: String, to stream: UnsafeMutablePointer<FILE>) -> Bool {
    var text = text
    return text.withUTF8 { bytes in fwrite(bytes.baseAddress, 1, bytes.count, stream) == bytes.count }
}

extension ParsableCommand {
    /// The executables' entry point: argument-parser's `main()`, except that a usage error (an unknown option,
    /// a value that does not parse, a failed `validate()`) is one line on stderr, like every other user error:
    /// "error: <what is wrong> (see '<command> --help')", exit status 64. Help and `--version` print as usual;
    /// errors thrown by `run()` arrive here already reported (`reportingErrors`) as an exit code.
    public static func mainWithOneLineErrors(_ given: [String] = Array(CommandLine.arguments.dropFirst())) -> Never {
        let arguments = joiningNegativeValues(given)
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            exit(withError: nil)
        } catch {
            let code = exitCode(for: error)
            if error is ExitCode || code == .success { exit(withError: error) }
            let text = message(for: error).split(separator: "\n").first.map(String.init) ?? String(describing: error)
            printError("error: \(text) (see '\(helpCommand(for: arguments)) --help')")
            Foundation.exit(code.rawValue)
        }
    }

    /// "--option -1" as "--option=-1" (before the first "--"): argument-parser reads a lone "-1" as a short option,
    /// so `--lr -1` said "missing value" instead of reaching the tools' own range check.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var joined: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            if argument == "--" { return joined + arguments[i...] }
            if argument.hasPrefix("--"), !argument.contains("="), i + 1 < arguments.count,
               arguments[i + 1].hasPrefix("-"), Double(arguments[i + 1]) != nil {
                joined.append(argument + "=" + arguments[i + 1])
                i += 2
            } else {
                joined.append(argument)
                i += 1
            }
        }
        return joined
    }

    /// "tool subcommand" for the subcommand the arguments run: the one the first argument names, else the default
    /// one (whose options the root's help does not list); "tool" without subcommands.
    static func helpCommand(for arguments: [String]) -> String {
        let root = configuration.commandName ?? String(describing: self).lowercased()
        let named = arguments.first.flatMap { first in configuration.subcommands.first { $0._commandName == first } }
        guard let sub = named ?? configuration.defaultSubcommand else { return root }
        return root + " " + sub._commandName
    }
}

/// A problem the user can fix, said in one line: `message` is the whole line after "error: ".
public struct UserError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
