import Testing
import Foundation
@testable import Training

@Suite struct LearningRateScheduleTests {
    let schedule = LearningRateSchedule(maxLR: 1e-3, minLR: 1e-4, warmupSteps: 100, decaySteps: 2000)

    @Test func warmsUpLinearly() {
        #expect(abs(schedule.learningRate(atStep: 0) - 1e-5) < 1e-12)
        #expect(abs(schedule.learningRate(atStep: 49) - 5e-4) < 1e-12)
        #expect(abs(schedule.learningRate(atStep: 99) - 1e-3) < 1e-12)
    }

    @Test func decaysAlongACosineToTheFloor() {
        #expect(abs(schedule.learningRate(atStep: 100) - 1e-3) < 1e-12)
        // Halfway through the decay the cosine term is 0.5: lr = min + 0.5 (max - min).
        #expect(abs(schedule.learningRate(atStep: 1050) - 5.5e-4) < 1e-12)
        #expect(abs(schedule.learningRate(atStep: 2000) - 1e-4) < 1e-12)
        #expect(abs(schedule.learningRate(atStep: 5000) - 1e-4) < 1e-12)
        let lrs = (100...2000).map { schedule.learningRate(atStep: $0) }
        #expect(zip(lrs, lrs.dropFirst()).allSatisfy { $0 >= $1 })
    }
}

@Suite struct MetricsLogTests {
    @Test func writesOneObjectALineWithTheDocumentedKeysAndTruncatesOnResume() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("metrics.jsonl")
        do {
            let log = try MetricsLog(url: url)
            for step in 1...4 {
                try log.append(MetricsRecord(step: step, trainLoss: 4.0 - Double(step) * 0.5, valLoss: step == 4 ? 2.25 : nil,
                                             lr: 1e-3, tokensPerSecond: 1000, elapsedSeconds: Double(step),
                                             extra: step == 4 ? ["accuracy": 0.5] : nil))
            }
        }
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        let last = try JSONSerialization.jsonObject(with: Data(lines[3].utf8)) as! [String: Any]
        #expect(Set(last.keys) == ["step", "train_loss", "val_loss", "lr", "tokens_per_s", "elapsed_s", "accuracy"])
        #expect(last["val_loss"] as? Double == 2.25)
        #expect(try MetricsLog.read(url)[3].extra == ["accuracy": 0.5])

        // Resuming from step 2 drops what came after it, then appends.
        do {
            let log = try MetricsLog(url: url, keepThrough: 2)
            try log.append(MetricsRecord(step: 3, trainLoss: 9, elapsedSeconds: 3))
        }
        let records = try MetricsLog.read(url)
        #expect(records.map(\.step) == [1, 2, 3])
        #expect(records[2].trainLoss == 9)
    }

    /// A diverged run's NaN validation loss and infinite perplexity are written as null, and read back as absent.
    @Test func nonFiniteValuesAreWrittenAsNull() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("metrics.jsonl")
        try MetricsLog(url: url).append(MetricsRecord(step: 1, trainLoss: 2, valLoss: .nan, elapsedSeconds: 1,
                                                      extra: ["perplexity": .infinity]))
        #expect(try String(contentsOf: url, encoding: .utf8).contains("\"val_loss\":null"))
        let record = try #require(try MetricsLog.read(url).first)
        #expect(record.trainLoss == 2 && record.valLoss == nil && record.extra == nil)
    }

    /// Resuming drops a last line that a killed run left half-written; a damaged line elsewhere is named.
    @Test func resumingDropsAnUnfinishedLastLineAndNamesADamagedOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("metrics.jsonl")
        let good = "{\"elapsed_s\":1,\"step\":1,\"train_loss\":3}\n{\"elapsed_s\":2,\"step\":2,\"train_loss\":2.5}\n"
        try Data((good + "{\"elapsed_s\":3,\"st").utf8).write(to: url)
        #expect(throws: MetricsLogError.notAMetricsLine(path: url.path, line: 3, unfinished: true)) {
            _ = try MetricsLog.read(url)
        }
        #expect(try MetricsLog(url: url, keepThrough: 2).droppedUnfinishedLine)
        #expect(try String(contentsOf: url, encoding: .utf8) == good)
        #expect(try !MetricsLog(url: url, keepThrough: 2).droppedUnfinishedLine)

        try Data(("{\"elapsed_s\":1,\"step\":1}\ngarbage\n" + good).utf8).write(to: url)
        #expect(throws: MetricsLogError.notAMetricsLine(path: url.path, line: 2, unfinished: false)) {
            _ = try MetricsLog(url: url, keepThrough: 2)
        }
        #expect("\(MetricsLogError.notAMetricsLine(path: "run/metrics.jsonl", line: 2, unfinished: false))"
                .hasPrefix("run/metrics.jsonl:2: not a line of metrics"))
    }

    @Test func lossCurveIsAnSVGWithBothSeries() {
        let records = (0..<50).map { MetricsRecord(step: $0, trainLoss: 4 - Double($0) * 0.05,
                                                   valLoss: $0 % 10 == 0 ? 4.1 - Double($0) * 0.05 : nil,
                                                   elapsedSeconds: 0) }
        let svg = LossCurveSVG.render(records: records, title: "tiny <run>")
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.contains("tiny &lt;run&gt;"))
        // A control character (in a run directory's name) is not allowed in XML, even as a reference.
        #expect(LossCurveSVG.escape("a\u{1B}b & c") == "a\u{FFFD}b &amp; c")
        #expect(svg.components(separatedBy: "<polyline").count == 3)
        // 50 train points and 5 validation points.
        let polylines = svg.components(separatedBy: "points=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        #expect(polylines.map { $0.split(separator: " ").count } == [50, 5])
    }

    /// A classifier's records (macro F1 at its evaluations) add a third line on a 0-1 axis at the right, placed by
    /// that axis (F1 0.5 halfway down the plot), and its legend; a language model's picture has neither.
    @Test func aClassifiersMacroF1GetsItsOwnAxis() {
        var records: [MetricsRecord] = []
        for step in 1...20 {
            let evaluated = step % 5 == 0
            records.append(MetricsRecord(step: step, trainLoss: 2 - Double(step) * 0.05,
                                         valLoss: evaluated ? 2.1 - Double(step) * 0.05 : nil, elapsedSeconds: 0,
                                         extra: evaluated ? ["macro_f1": Double(step) / 40, "accuracy": 0.5] : nil))
        }
        let svg = LossCurveSVG.render(records: records, title: "classifier")
        let polylines = svg.components(separatedBy: "points=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(polylines.map { $0.split(separator: " ").count } == [20, 4, 4])
        #expect(svg.contains(">validation macro F1</text>") && svg.contains("stroke=\"#2ca02c\""))
        // Step 20's F1 of 0.5 sits halfway between the plot's top (36) and bottom (420 - 48).
        let last = polylines[2].split(separator: " ").last.map(String.init) ?? ""
        #expect(last.hasSuffix(",204.0"), "\(last)")
        let plain = LossCurveSVG.render(records: records.map { var r = $0; r.extra = nil; return r }, title: "lm")
        #expect(!plain.contains("macro F1") && plain.components(separatedBy: "<polyline").count == 3)
    }

    /// Axis labels fall on round values: the default run's curve (loss 3.3-8.6 over steps 1-1500) gets losses 4, 6, 8
    /// and steps 500, 1000, 1500, not 3.30, 4.62, ... and 1, 376, ...
    @Test func lossCurveTicksAreRoundValues() {
        #expect(LossCurveSVG.tickStep(span: 8.59 - 3.30) == 2)
        #expect(LossCurveSVG.ticks(from: 3.30, to: 8.59, step: 2) == [4, 6, 8])
        #expect(LossCurveSVG.tickStep(span: 1499) == 500)
        #expect(LossCurveSVG.ticks(from: 1, to: 1500, step: 500) == [500, 1000, 1500])
        #expect(LossCurveSVG.tickStep(span: 0.2) == 0.05)
        #expect(LossCurveSVG.tickStep(span: 10) == 2)
        let records = (1...1500).map { MetricsRecord(step: $0, trainLoss: 8.59 - 5.29 * Double($0) / 1500, valLoss: nil,
                                                     elapsedSeconds: 0) }
        let svg = LossCurveSVG.render(records: records, title: "default")
        for label in [">500<", ">1000<", ">1500<", ">4<", ">6<", ">8<"] { #expect(svg.contains(label), "\(label)") }
        #expect(!svg.contains(">376<"))
    }
}

@Suite struct ScheduleChangeNoteTests {
    func options(steps: Int, lr: Double = 1e-3, minLR: Double = 1e-4) -> TrainingOptions {
        var o = TrainingOptions()
        o.steps = steps; o.learningRate = lr; o.minLearningRate = minLR; o.warmupSteps = 10
        return o
    }

    @Test func aFinishedRunGivenMoreStepsIsToldItsRateJumpsAndHowToKeepTheFinalOne() throws {
        let note = try #require(options(steps: 50).scheduleChangeNote(saved: options(steps: 30), completedSteps: 30, ratesCanChange: true))
        let next = options(steps: 50).schedule.learningRate(atStep: 30)
        #expect(next > 4e-4)   // back up the cosine, from the saved schedule's 1e-4
        #expect(note.contains("step 31 runs at lr \(String(format: "%.2e", next)), where the saved schedule had 1.00e-04"))
        #expect(note.contains("pass --lr 0.0001 --min-lr 0.0001"))
        // finetune's resume keeps the rates: the same note without advice it would refuse to follow.
        let fixed = try #require(options(steps: 50).scheduleChangeNote(saved: options(steps: 30), completedSteps: 30, ratesCanChange: false))
        #expect(fixed.contains("step 31 runs at lr") && !fixed.contains("--lr"), "\(fixed)")
    }

    @Test func aRunStoppedEarlyAndGivenMoreStepsIsToldButNeedsNoAdvice() throws {
        let note = try #require(options(steps: 50).scheduleChangeNote(saved: options(steps: 30), completedSteps: 20, ratesCanChange: true))
        #expect(note.contains("step 21 runs at lr"))
        #expect(!note.contains("--min-lr"))
    }

    @Test func anUnchangedScheduleOrOneThatAgreesAtTheNextStepSaysNothing() {
        #expect(options(steps: 30).scheduleChangeNote(saved: options(steps: 30), completedSteps: 12, ratesCanChange: true) == nil)
        // Both schedules are at their floor: the next rate is the same.
        #expect(options(steps: 40).scheduleChangeNote(saved: options(steps: 30), completedSteps: 45, ratesCanChange: true) == nil)
        // Still warming up: the warm-up does not depend on --steps.
        #expect(options(steps: 50).scheduleChangeNote(saved: options(steps: 30), completedSteps: 5, ratesCanChange: true) == nil)
    }

    /// The advice gives the saved rate exactly: following it, the schedules agree and no note comes again.
    @Test func followingTheAdviceGivesTheSavedRateExactly() throws {
        let saved = options(steps: 30, lr: 0.00123456, minLR: 0.000123456)
        let note = try #require(options(steps: 50, lr: 0.00123456, minLR: 0.000123456)
            .scheduleChangeNote(saved: saved, completedSteps: 30, ratesCanChange: true))
        #expect(note.contains("pass --lr 0.000123456 --min-lr 0.000123456"), "\(note)")
        #expect(options(steps: 50, lr: 0.000123456, minLR: 0.000123456).scheduleChangeNote(saved: saved, completedSteps: 30, ratesCanChange: true) == nil)
        // Rates that agree to three digits are written in full, so the note never reads "1.23e-04 where ... 1.23e-04".
        let close = try #require(options(steps: 50, lr: 1.2340001e-4, minLR: 1.2340001e-4)
            .scheduleChangeNote(saved: saved, completedSteps: 30, ratesCanChange: true))
        #expect(close.contains("runs at lr 0.00012340001, where the saved schedule had 0.000123456"), "\(close)")
    }

    @Test func aNewPeakRateIsNoted() {
        #expect(options(steps: 30, lr: 2e-3).scheduleChangeNote(saved: options(steps: 30), completedSteps: 12, ratesCanChange: true) != nil)
    }
}
