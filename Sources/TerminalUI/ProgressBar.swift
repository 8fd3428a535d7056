import Foundation
import Glibc

/// Progress for long runs: a live one-line bar on a terminal, plain log lines elsewhere (files, CI, pipes).
///
/// The bar redraws at most 10 times a second: `[#######.....] 420/2000 21% | loss 1.8731 | lr 8.2e-04 |
/// 21.3k tok/s | ETA 1m14s`. Without a terminal, `update` prints a line every `plainEvery` steps and the
/// final one.
public final class ProgressBar {
    public let total: Int
    public let isTerminal: Bool
    /// What the count counts, for the plain lines ("step 40/2000 | ...", "sample 3/40 | ...").
    public let unit: String
    private let plainEvery: Int
    private let start = Date()
    private let startStep: Int
    /// Seconds the run had taken before this process (a resumed run's): the plain lines show the run's time, as
    /// metrics.jsonl's `elapsed_s` does; the ETA comes from this process's own rate.
    private let elapsedBefore: Double
    private var lastDraw = Date.distantPast
    private var drawn = false
    /// The bar's width so far: it only narrows during a run (sized afresh at each redraw, it jittered as the
    /// count, the rate and the ETA changed length).
    private var barWidth = 24

    public init(total: Int, startStep: Int = 0, elapsedBefore: Double = 0, plainEvery: Int = 10, unit: String = "step",
                isTerminal: Bool = Terminal.isInteractive(fileDescriptor: STDERR_FILENO)) {
        self.total = total
        self.unit = unit
        self.startStep = startStep
        self.elapsedBefore = elapsedBefore
        self.plainEvery = max(1, plainEvery)
        self.isTerminal = isTerminal
    }

    /// `fields` are shown in order after the count, e.g. [("loss", "1.8731"), ("lr", "8.2e-04")].
    public func update(step: Int, fields: [(String, String)]) {
        let now = Date()
        let done = step - startStep
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - step) : .nan
        if isTerminal {
            guard step >= total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            let (line, width) = Self.layout(step: step, total: total, fields: fields, eta: Self.duration(eta),
                                            columns: max(10, Terminal.columns - 1), maxBar: barWidth)
            barWidth = width
            Terminal.writeError("\r\u{1B}[2K" + Terminal.fit(line))
            drawn = true
        } else if step % plainEvery == 0 || step >= total {
            Terminal.writeError(plainLine(step: step, fields: fields, elapsed: elapsed) + "\n")
        }
    }

    /// A plain line: `step 40/2000 | loss 1.8731 | lr 8.2e-04 | 12.3s`, the time the run's (`elapsedBefore` and
    /// this process's `elapsed`).
    func plainLine(step: Int, fields: [(String, String)], elapsed: Double) -> String {
        let info = fields.map { "\($0.0) \($0.1)" }.joined(separator: " | ")
        return "\(unit) \(step)/\(total) | \(info) | \(String(format: "%.1fs", elapsedBefore + elapsed))"
    }

    /// The terminal line in at most `columns` characters where it can be: `[bar] step/total percent% | fields |
    /// ETA eta`. The bar (24 wide) narrows first and goes below 6, then fields go from the right, so the count and
    /// the ETA stay on a narrow terminal (an 80-column one used to lose the ETA off the end).
    static func line(step: Int, total: Int, fields: [(String, String)], eta: String, columns: Int) -> String {
        layout(step: step, total: total, fields: fields, eta: eta, columns: columns, maxBar: 24).line
    }

    /// `line`, with a bar at most `maxBar` wide, and the bar's width (0 without one).
    static func layout(step: Int, total: Int, fields: [(String, String)], eta: String, columns: Int,
                       maxBar: Int) -> (line: String, barWidth: Int) {
        let percent = total > 0 ? 100 * step / total : 100
        // The count as wide as at the end, so the line does not grow as the digits come.
        let count = String(repeating: " ", count: max(0, "\(total)".count - "\(step)".count)) + "\(step)/\(total) "
            + String(repeating: " ", count: max(0, 3 - "\(percent)".count)) + "\(percent)%"
        var shown = fields.map { "\($0.0) \($0.1)" }
        func text() -> String { ([count] + shown + ["ETA \(eta)"]).joined(separator: " | ") }
        while text().count > columns && !shown.isEmpty { shown.removeLast() }
        let width = min(maxBar, columns - text().count - 3)   // "[" + bar + "] " + text
        guard width >= 6 else { return (text(), 0) }
        let filled = total > 0 ? min(width, width * step / total) : width
        return ("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + text(), width)
    }

    /// On a terminal, replaces the bar with `text` until the next update or log line (what a run does between
    /// steps: "step 500/2000: evaluating on the validation data"); nothing elsewhere.
    public func status(_ text: String) {
        guard isTerminal else { return }
        Terminal.writeError("\r\u{1B}[2K" + Terminal.fit(text))
        drawn = true
        lastDraw = .distantPast   // the next update redraws the bar at once
    }

    /// Ends the bar's line so that later output starts on a fresh one.
    public func finish() {
        if isTerminal && drawn { Terminal.writeError("\n"); drawn = false }
    }

    /// Prints a message above the bar (or as a plain line).
    public func log(_ message: String) {
        if isTerminal && drawn { Terminal.writeError("\r\u{1B}[2K") ; drawn = false; lastDraw = .distantPast }
        Terminal.writeError(message + "\n")
    }

    /// "1h02m", "3m05s", "12s", "0.4s" (tenths below 10 s: a short run is not "0s"), "--" for unknown.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e15 else { return "--" }   // (Int(seconds) must not trap)
        if seconds < 9.95 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        // (Interpolated, not %d: String(format:) takes %d as 32 bits, and long durations wrapped.)
        func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        if s >= 3600 { return "\(s / 3600)h\(twoDigits((s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(twoDigits(s % 60))s" }
        return "\(s)s"
    }
}
