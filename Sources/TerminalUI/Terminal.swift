import Foundation
import Glibc

/// Small helpers for terminal output.
public enum Terminal {
    public static func isInteractive(fileDescriptor: Int32) -> Bool { isatty(fileDescriptor) == 1 }

    /// Columns of the terminal on stderr (80 when unknown).
    public static var columns: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }

    /// Cuts a line to the terminal's width so that it never wraps (a wrapped bar cannot be redrawn).
    public static func fit(_ line: String) -> String {
        let limit = max(10, columns - 1)
        return line.count <= limit ? line : String(line.prefix(limit))
    }

    public static func writeError(_ text: String) {
        writeText(text, to: stderr)
    }
}
