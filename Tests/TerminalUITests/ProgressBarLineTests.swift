import XCTest
@testable import TerminalUI

/// The live bar's line fits the terminal and keeps the step count and the ETA.
final class ProgressBarLineTests: XCTestCase {
    let fields = [("loss", "1.8731"), ("lr", "8.20e-04"), ("tok/s", "45.2k")]

    func testAWideTerminalShowsTheWholeBarAndEveryField() {
        let line = ProgressBar.line(step: 420, total: 2000, fields: fields, eta: "1m14s", columns: 119)
        XCTAssertEqual(line, "[#####...................]  420/2000  21% | loss 1.8731 | lr 8.20e-04 | tok/s 45.2k | ETA 1m14s")
    }

    func testAnEightyColumnTerminalKeepsTheETAWithANarrowerBar() {
        let line = ProgressBar.line(step: 1200, total: 2000, fields: fields, eta: "35s", columns: 79)
        XCTAssertLessThanOrEqual(line.count, 79)
        XCTAssertTrue(line.hasSuffix("| tok/s 45.2k | ETA 35s"), line)
        XCTAssertTrue(line.hasPrefix("["), line)
    }

    func testANarrowTerminalDropsTheBarThenFieldsFromTheRightButNeverTheCountOrTheETA() {
        let line = ProgressBar.line(step: 7, total: 2000, fields: fields, eta: "2m03s", columns: 40)
        XCTAssertEqual(line, "   7/2000   0% | loss 1.8731 | ETA 2m03s")
        let tiny = ProgressBar.line(step: 7, total: 2000, fields: fields, eta: "2m03s", columns: 10)
        XCTAssertEqual(tiny, "   7/2000   0% | ETA 2m03s")   // longer than 10: Terminal.fit cuts it, nothing else can go
    }

    func testTheBarDoesNotWidenAgainOnceNarrowed() {
        let narrow = ProgressBar.layout(step: 1500, total: 2000, fields: fields, eta: "1m14s", columns: 79, maxBar: 24)
        XCTAssertLessThan(narrow.barWidth, 24)
        // A shorter line later (a shorter ETA) keeps the bar as wide as it was, so its edge does not jump about.
        let later = ProgressBar.layout(step: 1990, total: 2000, fields: fields, eta: "1s", columns: 79, maxBar: narrow.barWidth)
        XCTAssertEqual(later.barWidth, narrow.barWidth)
    }

    func testTheBarFillsWithTheSteps() {
        let done = ProgressBar.line(step: 2000, total: 2000, fields: [], eta: "0.0s", columns: 119)
        XCTAssertEqual(done, "[########################] 2000/2000 100% | ETA 0.0s")
    }

    /// A resumed run's plain lines show the run's time, the seconds before this process included (they restarted
    /// at 0.0s while metrics.jsonl's elapsed_s went on).
    func testPlainLinesCountTheTimeBeforeAResume() {
        let bar = ProgressBar(total: 100, startStep: 50, elapsedBefore: 120, plainEvery: 10, isTerminal: false)
        XCTAssertEqual(bar.plainLine(step: 60, fields: [("loss", "1.5")], elapsed: 3.25), "step 60/100 | loss 1.5 | 123.2s")
    }
}

final class DurationTests: XCTestCase {
    func testDurationsReadAsAPersonWouldSayThem() {
        XCTAssertEqual(ProgressBar.duration(0.43), "0.4s")   // a short run is not "0s"
        XCTAssertEqual(ProgressBar.duration(9.94), "9.9s")
        XCTAssertEqual(ProgressBar.duration(9.96), "10s")
        XCTAssertEqual(ProgressBar.duration(74), "1m14s")
        XCTAssertEqual(ProgressBar.duration(3725), "1h02m")
        XCTAssertEqual(ProgressBar.duration(.nan), "--")
        XCTAssertEqual(ProgressBar.duration(1e19), "--")   // beyond Int: the conversion trapped
        XCTAssertEqual(ProgressBar.duration(1e12), "277777777h46m")
        XCTAssertEqual(ProgressBar.duration(9.9e14), "275000000000h00m")   // past 32 bits of hours (%d wrapped)
    }
}
