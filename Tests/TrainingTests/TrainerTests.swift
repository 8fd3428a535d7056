import Foundation
import Testing
import GPT
@testable import Training

/// A very small model and a synthetic token stream, so that whole training runs take well under a second.
private struct TinySetup {
    let directory: URL
    let train: TokenFile
    let val: TokenFile
    let config: GPTConfig

    init(dropout: Float = 0) throws {
        config = GPTConfig(layers: 2, heads: 2, width: 16, context: 8, vocabSize: 23, dropout: dropout)
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // A learnable stream: a noisy counter modulo the vocabulary.
        var generator = SeededGenerator(seed: 7)
        let ids = (0..<3000).map { i in Int32((i + Int(generator.next() % 3 == 0 ? 5 : 0)) % 23) }
        try TokenFileWriter.write(Array(ids[..<2700]), to: directory.appendingPathComponent("train.npy").path, dtype: .uint16)
        try TokenFileWriter.write(Array(ids[2700...]), to: directory.appendingPathComponent("val.npy").path, dtype: .uint16)
        train = try TokenFile(path: directory.appendingPathComponent("train.npy").path)
        val = try TokenFile(path: directory.appendingPathComponent("val.npy").path)
    }

    func options(steps: Int, batch: Int = 3, accum: Int = 1) -> TrainingOptions {
        var o = TrainingOptions()
        o.batchSize = batch
        o.gradAccum = accum
        o.context = 8
        o.steps = steps
        o.learningRate = 3e-3
        o.minLearningRate = 3e-4
        o.warmupSteps = 2
        o.evalEvery = 3
        o.evalBatches = 2
        o.checkpointEvery = 0
        o.seed = 11
        return o
    }

    func trainer(_ options: TrainingOptions) throws -> Trainer {
        try Trainer(model: try GPT(config: config, seed: 5), train: train, validation: val, options: options)
    }

    /// A trainer that resumes `model` at a checkpoint's `state`.
    func trainer(resuming model: GPT, state: TrainingState, options: TrainingOptions) throws -> Trainer {
        try Trainer(model: model, train: train, validation: val, options: options, step: state.step,
                    generator: SeededGenerator(state: state.generatorState))
    }

    /// A training run in the subdirectory `name`.
    func run(_ name: String, _ trainer: Trainer, _ record: RunRecord) throws -> TrainingRun {
        try TrainingRun(directory: RunDirectory(path: directory.appendingPathComponent(name).path), trainer: trainer,
                        record: record, details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// `run`'s metrics.jsonl has the steps, training losses and validation losses of `reference`'s.
private func expectSameLosses(_ run: TrainingRun, _ reference: TrainingRun) throws {
    let want = try MetricsLog.read(URL(fileURLWithPath: reference.directory.metrics))
    let got = try MetricsLog.read(URL(fileURLWithPath: run.directory.metrics))
    #expect(got.map(\.step) == want.map(\.step))
    #expect(got.map(\.trainLoss) == want.map(\.trainLoss))
    #expect(got.map(\.valLoss) == want.map(\.valLoss))
}

@Suite struct TrainerTests {
    @Test func lossFallsOnALearnableStream() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        var options = setup.options(steps: 60)
        options.learningRate = 1e-2
        options.minLearningRate = 1e-3
        let trainer = try setup.trainer(options)
        let before = try #require(try trainer.evaluate())
        var losses: [Double] = []
        while !trainer.isFinished { losses.append(try trainer.runStep().loss) }
        let after = try #require(try trainer.evaluate())
        #expect(losses.count == 60)
        #expect(after < before - 0.5, "validation loss \(before) -> \(after)")
    }

    /// k micro-batches of B rows draw the same windows as one batch of k*B rows, so one optimizer step must
    /// give the same loss and the same parameters (up to float summation order).
    @Test func gradientAccumulationEqualsOneLargerBatch() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let accumulated = try setup.trainer(setup.options(steps: 2, batch: 2, accum: 3))
        let large = try setup.trainer(setup.options(steps: 2, batch: 6, accum: 1))
        for _ in 0..<2 {
            let a = try accumulated.runStep(), b = try large.runStep()
            #expect(abs(a.loss - b.loss) <= 1e-5 * abs(b.loss))
            #expect(abs(a.gradientNorm - b.gradientNorm) <= 1e-4 * b.gradientNorm)
        }
        let p = accumulated.model.parameters, q = large.model.parameters
        var worst: Float = 0
        for i in 0..<p.count { worst = max(worst, abs(p.pointer[i] - q.pointer[i])) }
        #expect(worst < 1e-5, "largest parameter difference \(worst)")
    }

    /// A stop request between the micro-batches of a step abandons it before its update, with the batch generator
    /// put back: the step taken afterwards is the one an uninterrupted trainer takes (it waited for every micro-batch,
    /// minutes at --grad-accum 32 of a large model).
    @Test func aStepIsAbandonedBetweenMicroBatchesAndTakenAgainWhole() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let interrupted = try setup.trainer(setup.options(steps: 3, batch: 2, accum: 3))
        let straight = try setup.trainer(setup.options(steps: 3, batch: 2, accum: 3))
        _ = (try interrupted.runStep(), try straight.runStep())
        var asked = 0
        #expect(throws: StepInterrupted.self) {
            _ = try interrupted.runStep(shouldStop: { asked += 1; return asked == 2 })   // after two micro-batches
        }
        #expect(asked == 2 && interrupted.step == 1 && interrupted.generator.state == straight.generator.state)
        let a = try interrupted.runStep(), b = try straight.runStep()
        #expect(a.loss == b.loss && a.gradientNorm == b.gradientNorm)
        #expect(interrupted.model.parameters.values == straight.model.parameters.values)
    }

    /// A token file with an id outside the model's vocabulary is refused when the trainer is made, naming the
    /// file (it stopped the run at the first batch that drew the id, a library caller's run mid-way).
    @Test func idsOutsideTheVocabularyAreRefusedUpFront() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let path = setup.directory.appendingPathComponent("wide.npy").path
        try TokenFileWriter.write((0..<500).map { Int32($0 == 321 ? 23 : $0 % 23) }, to: path, dtype: .uint16)
        let wide = try TokenFile(path: path)
        #expect(throws: TrainingError.vocabularyMismatch(path: path, maxId: 23, vocabularySize: 23)) {
            _ = try Trainer(model: try GPT(config: setup.config, seed: 5), train: setup.train, validation: wide,
                            options: setup.options(steps: 1))
        }
    }

    /// Evaluation too: a batch of a step's windows in micro-batches gives the figure of the one larger batch (it
    /// took --eval-batches batches of --batch-size windows, so splitting a step changed the validation set), and a
    /// smaller step evaluates other windows.
    @Test func evaluationTakesAStepsWindowsHoweverItIsSplit() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let split = try #require(try setup.trainer(setup.options(steps: 1, batch: 2, accum: 3)).evaluate())
        let whole = try #require(try setup.trainer(setup.options(steps: 1, batch: 6, accum: 1)).evaluate())
        let fewer = try #require(try setup.trainer(setup.options(steps: 1, batch: 2, accum: 1)).evaluate())
        #expect(abs(split - whole) <= 1e-6 * whole, "\(split) against \(whole)")
        #expect(abs(fewer - whole) > 1e-4 * whole, "\(fewer) against \(whole)")
    }

    /// Stopping after N steps, saving, loading and continuing gives bit-identical losses to 2N steps straight:
    /// the checkpoint holds everything a step depends on (parameters, AdamW moments, step, generator state;
    /// dropout masks are a function of the seed and the step).
    @Test(arguments: [Float(0), 0.2])
    func resumeContinuesBitForBit(dropout: Float) throws {
        let setup = try TinySetup(dropout: dropout)
        defer { setup.remove() }
        let options = setup.options(steps: 12)
        let straight = try setup.trainer(options)
        var straightLosses: [Double] = []
        while !straight.isFinished { straightLosses.append(try straight.runStep().loss) }

        let first = try setup.trainer(options)
        let run = try TrainingRun(directory: RunDirectory(path: setup.directory.appendingPathComponent("run").path),
                                  trainer: first, record: RunRecord(options: options, dataDirectory: setup.directory.path),
                                  details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
        var steps = 0
        let outcome = try run.run(shouldStop: { steps == 6 }) { event in if case .step = event { steps += 1 } }
        #expect(outcome == .stopped(step: 6))

        let loaded = try Checkpoint.load(from: run.directory.latest)
        #expect(loaded.model.config.dropout == dropout)
        let state = try #require(loaded.trainingState)
        let resumed = try Trainer(model: loaded.model, train: setup.train, validation: setup.val, options: options,
                                  step: state.step, generator: SeededGenerator(state: state.generatorState))
        var resumedLosses: [Double] = []
        while !resumed.isFinished { resumedLosses.append(try resumed.runStep().loss) }
        #expect(resumedLosses == Array(straightLosses[6...]))
        // The stop came before step 6's evaluation: it was left to the resumed run (its line is not logged yet).
        let metrics = try MetricsLog.read(URL(fileURLWithPath: run.directory.metrics))
        #expect(metrics.map(\.step) == Array(1...5))
        #expect(metrics.compactMap(\.trainLoss) == Array(straightLosses[..<5]))
        #expect(metrics.filter { $0.valLoss != nil }.map(\.step) == [3])
        let record = try RunRecord.decode(state.configuration, path: "training state")
        #expect(record.pendingStep?.step == 6 && record.pendingStep?.trainLoss == straightLosses[5])
    }

    /// A checkpoint's config.json notes give its step, and a validation loss only when that step was evaluated:
    /// one the run's notes came with (a fine-tuning run starts from its source checkpoint's) does not stay.
    @Test func aCheckpointOfAnUnevaluatedStepCarriesNoValidationLoss() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let options = setup.options(steps: 12)
        let run = try TrainingRun(directory: RunDirectory(path: setup.directory.appendingPathComponent("run").path),
                                  trainer: try setup.trainer(options),
                                  record: RunRecord(options: options, dataDirectory: setup.directory.path),
                                  details: SwiftletDetails(notes: ["val_loss": "9.5", "step": "999"]), extraFiles: [],
                                  bosTokenId: nil, eosTokenId: nil)
        var steps = 0
        #expect(try run.run(shouldStop: { steps == 4 }) { event in if case .step = event { steps += 1 } } == .stopped(step: 4))
        let latest = try Checkpoint.readConfig(directory: run.directory.latest).hf.swiftlet?.notes
        #expect(latest?["step"] == "4" && latest?["val_loss"] == nil)
        let evaluated = try MetricsLog.read(URL(fileURLWithPath: run.directory.metrics)).first { $0.valLoss != nil }
        let best = try Checkpoint.readConfig(directory: run.directory.best).hf.swiftlet?.notes
        #expect(evaluated?.step == 3 && best?["step"] == "3" && best?["val_loss"] == evaluated?.valLoss.map { String($0) })
    }

    /// A stop request during an evaluation does not wait for it: the step before it is saved with the evaluation
    /// pending, and the resumed run evaluates it first, so its metrics (validation losses included) and best/
    /// equal an uninterrupted run's.
    @Test func aStopDuringAnEvaluationIsFinishedByTheResumedRun() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let options = setup.options(steps: 9)
        let newRun = setup.run
        let straight = try newRun("straight", try setup.trainer(options),
                                  RunRecord(options: options, dataDirectory: setup.directory.path))
        #expect(try straight.run() == .finished(step: 9))

        // Stopped on the first evaluation batch of step 6 (the request arrives once step 6 has run).
        let first = try newRun("stopped", try setup.trainer(options),
                               RunRecord(options: options, dataDirectory: setup.directory.path))
        var steps = 0
        #expect(try first.run(shouldStop: { steps == 6 }) { event in if case .step = event { steps += 1 } } == .stopped(step: 6))
        let loaded = try Checkpoint.load(from: first.directory.latest)
        let state = try #require(loaded.trainingState)
        let record = try RunRecord.decode(state.configuration, path: "training state")
        let resumedTrainer = try setup.trainer(resuming: loaded.model, state: state, options: options)
        let resumed = try newRun("stopped", resumedTrainer, record)
        #expect(resumed.hasPendingStep)
        #expect(try resumed.run() == .finished(step: 9))

        try expectSameLosses(resumed, straight)
        let best = try #require(try Checkpoint.load(from: resumed.directory.best).trainingState?.step)
        #expect(best == (try Checkpoint.load(from: straight.directory.best).trainingState?.step))
    }

    /// A run killed after an evaluation saved best/ and before any latest/ (no --checkpoint-every: finetune's default)
    /// resumes from best/, which holds the whole training state of its step, and ends as the uninterrupted run does:
    /// the same metrics and weights. (It could not be resumed at all: "holds no run to resume".)
    @Test func aRunKilledBeforeItsFirstLatestResumesFromBest() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let options = setup.options(steps: 9)   // evaluations at 3, 6 and 9; latest/ only at the end
        let newRun = setup.run
        let straight = try newRun("straight", try setup.trainer(options),
                                  RunRecord(options: options, dataDirectory: setup.directory.path))
        // The run's directory as a SIGKILL would leave it right after the last best/ before the end: copied then.
        let killed = setup.directory.appendingPathComponent("killed").path
        var killedAt = 0
        #expect(try straight.run(observe: { event in
            guard case let .checkpoint(path, step) = event, path == straight.directory.best, step < 9 else { return }
            try? FileManager.default.removeItem(atPath: killed)
            try? FileManager.default.copyItem(atPath: straight.directory.path, toPath: killed)
            killedAt = step
        }) == .finished(step: 9))
        try #require(killedAt > 0)
        let directory = RunDirectory(path: killed)
        #expect(!Checkpoint.isCheckpoint(directory.latest))
        let checkpoint = try #require(directory.resumeCheckpoint())
        #expect(checkpoint == directory.best)
        // A new run there is told to --resume it (it was "a run that saved no checkpoint to resume").
        let refusal = #expect(throws: TrainingError.self) { try directory.checkPreviousRun(overwrite: false) }
        #expect("\(refusal.map { $0 as Any } ?? "")".contains("continue it with --resume"), "\(String(describing: refusal))")

        let loaded = try Checkpoint.load(from: checkpoint)
        let state = try #require(loaded.trainingState)
        #expect(state.step == killedAt)
        let resumedTrainer = try setup.trainer(resuming: loaded.model, state: state, options: options)
        let resumed = try newRun("killed", resumedTrainer, try RunRecord.decode(state.configuration, path: "training state"))
        #expect(try resumed.run() == .finished(step: 9))
        try expectSameLosses(resumed, straight)
        #expect(try Checkpoint.load(from: resumed.directory.latest).model.parameters.values
                == Checkpoint.load(from: straight.directory.latest).model.parameters.values)
        // latest/ at a later step than best/ is the one a resume takes.
        #expect(RunDirectory(path: straight.directory.path).resumeCheckpoint() == straight.directory.latest)
    }

    /// A run stopped during an evaluation and resumed with a patience its count of evaluations without a new best
    /// already reaches is not "stopped early" before that evaluation has run: the resumed run evaluates the pending
    /// step, logs it, and then stops on the patience.
    @Test func aPendingEvaluationRunsBeforeThePatienceStopsARun() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let options = setup.options(steps: 9)
        let path = setup.directory.appendingPathComponent("run").path
        let first = try TrainingRun(directory: RunDirectory(path: path), trainer: try setup.trainer(options),
                                    record: RunRecord(options: options, dataDirectory: setup.directory.path),
                                    details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
        var steps = 0
        #expect(try first.run(shouldStop: { steps == 6 }) { event in if case .step = event { steps += 1 } } == .stopped(step: 6))
        let loaded = try Checkpoint.load(from: first.directory.latest)
        let state = try #require(loaded.trainingState)
        var record = try RunRecord.decode(state.configuration, path: "training state")
        #expect(record.pendingStep?.step == 6)
        record.evaluationsSinceBest = 1
        record.bestObjective = -1e300   // no evaluation can improve on it
        let trainer = try Trainer(model: loaded.model, train: setup.train, validation: setup.val, options: options,
                                  step: state.step, generator: SeededGenerator(state: state.generatorState))
        let resumed = try TrainingRun(directory: RunDirectory(path: path), task: trainer, record: record,
                                      details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil, patience: 1)
        #expect(!resumed.stoppedEarly)
        #expect(try resumed.run() == .finished(step: 6))
        #expect(resumed.stoppedEarly && resumed.record.evaluationsSinceBest == 2)
        let logged = try MetricsLog.read(URL(fileURLWithPath: resumed.directory.metrics))
        #expect(logged.last?.step == 6 && logged.last?.valLoss != nil)
    }

    /// Without validation data nothing is evaluated, so no evaluation is announced: the progress bar's "evaluating on
    /// the validation data" status stood in place of the bar at every --eval-every step, and after the last step
    /// stayed on the terminal as the run's last line.
    @Test func aRunWithoutValidationDataAnnouncesNoEvaluation() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let options = setup.options(steps: 6)
        let trainer = try Trainer(model: try GPT(config: setup.config, seed: 5), train: setup.train, validation: nil,
                                  options: options)
        let run = try TrainingRun(directory: RunDirectory(path: setup.directory.appendingPathComponent("run").path),
                                  trainer: trainer, record: RunRecord(options: options, dataDirectory: setup.directory.path),
                                  details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
        var announced: [Int] = []
        let observe = { (event: TrainingRun.Event) in if case let .evaluating(step) = event { announced.append(step) } }
        #expect(try run.evaluateStart(observe: observe) == nil)
        #expect(try run.run(observe: observe) == .finished(step: 6))
        #expect(announced.isEmpty, "\(announced)")
    }

    @Test func aRunWritesBestLatestMetricsAndACurve() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        var options = setup.options(steps: 9)
        options.checkpointEvery = 4
        let run = try TrainingRun(directory: RunDirectory(path: setup.directory.appendingPathComponent("run").path),
                                  trainer: try setup.trainer(options),
                                  record: RunRecord(options: options, dataDirectory: setup.directory.path),
                                  details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
        var checkpoints: [Int] = []
        var evaluations: [Int] = []
        let outcome = try run.run(observe: { event in
            if case let .checkpoint(path, step) = event, path == run.directory.latest { checkpoints.append(step) }
            if case let .evaluation(step, _, _) = event { evaluations.append(step) }
            // Each evaluation is announced before it runs (the progress bar's "evaluating" status).
            if case let .evaluating(step) = event { evaluations.append(-step) }
        })
        #expect(outcome == .finished(step: 9))
        #expect(checkpoints == [4, 8, 9])
        #expect(evaluations == [-3, 3, -6, 6, -9, 9])
        let best = try Checkpoint.load(from: run.directory.best)
        let record = try RunRecord.decode(try #require(best.trainingState).configuration, path: "best")
        #expect(record.bestStep == best.trainingState?.step)
        #expect(try String(contentsOfFile: run.directory.lossCurve, encoding: .utf8).hasPrefix("<svg"))
        #expect(try RunDirectory.resolveCheckpoint(run.directory.path, prefer: .best) == run.directory.best)
        #expect(try RunDirectory.resolveCheckpoint(run.directory.path + "//", prefer: .best) == run.directory.best)
        // A run directory before its first checkpoint (or any directory without one) says so.
        let empty = setup.directory.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        #expect(throws: CheckpointError.noCheckpoint(path: empty)) {
            _ = try RunDirectory.resolveCheckpoint(empty, prefer: .best)
        }
    }

    /// SIGKILL during a save leaves its temporary copy beside latest/ or best/ (after the swap, the copy holds the old
    /// checkpoint while it is removed). A save of the same checkpoint removes it, but the final save of a finished run
    /// has no next one: the copy stayed for good, a whole checkpoint large. A run opened again (`--resume`, even of a
    /// finished run) removes the copies no writer holds, and metrics.jsonl and loss.svg are written through
    /// temporaries it recognises too (Foundation's atomic write left `.dat.nosync...` files in the run directory).
    @Test func aRunOpenedAgainRemovesWhatKilledSavesLeft() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let options = setup.options(steps: 4)
        let path = setup.directory.appendingPathComponent("run").path
        _ = try TrainingRun(directory: RunDirectory(path: path), trainer: try setup.trainer(options),
                            record: RunRecord(options: options, dataDirectory: setup.directory.path),
                            details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil).run()
        let killed = [".latest.tmp-4194305-77", ".latest.old-1-78", ".best.tmp-\(getpid())-80"]
        for name in killed + [".best.tmp-1-79"] {
            try FileManager.default.createDirectory(atPath: path + "/" + name, withIntermediateDirectories: false)
            try Data(count: 1000).write(to: URL(fileURLWithPath: path + "/" + name + "/model.safetensors"))
        }
        try Data(count: 10).write(to: URL(fileURLWithPath: path + "/.metrics.jsonl.tmp-4194305-81"))
        let writer = AbandonedTemporaries.hold(path + "/.best.tmp-1-79")   // a save in progress
        defer { AbandonedTemporaries.release(writer) }
        let loaded = try Checkpoint.load(from: path + "/latest")
        let state = try #require(loaded.trainingState)
        let record = try RunRecord.decode(state.configuration, path: "training state")
        let trainer = try Trainer(model: loaded.model, train: setup.train, validation: setup.val, options: options,
                                  step: state.step, generator: SeededGenerator(state: state.generatorState))
        let resumed = try TrainingRun(directory: RunDirectory(path: path), trainer: trainer, record: record,
                                      details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
        #expect(resumed.nothingToTrain(improved: "validation loss") != nil)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasPrefix(".") }
        #expect(hidden == [".best.tmp-1-79"])
    }

    /// A NaN in the weights makes the loss NaN: the step is refused, named, and the parameters stay as they were.
    @Test func nonFiniteLossStopsTheRunAndNamesTheStep() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        let options = setup.options(steps: 5)
        let trainer = try setup.trainer(options)
        let run = try TrainingRun(directory: RunDirectory(path: setup.directory.appendingPathComponent("run").path),
                                  trainer: trainer, record: RunRecord(options: options, dataDirectory: setup.directory.path),
                                  details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
        var steps = 0
        _ = try run.run(shouldStop: { steps == 2 }) { event in if case .step = event { steps += 1 } }
        let saved = Array(trainer.model.parameters.buffer)
        trainer.model.parameters.pointer[0] = .nan
        #expect {
            _ = try run.run()
        } throws: { error in
            guard case let .nonFiniteLoss(step, _, checkpoint) = error as? TrainingError else { return false }
            return step == 3 && checkpoint == run.directory.latest
        }
        #expect(trainer.step == 2)
        let onDisk = try Checkpoint.load(from: run.directory.latest)
        #expect(Array(onDisk.model.parameters.buffer) == saved)
    }

    /// A finite loss whose gradient is not (an overflow in the backward pass) stops the step before AdamW: the
    /// error names the step, and the parameters are left as they were (the step applies no update at all).
    @Test func aNonFiniteGradientStopsTheStepBeforeTheUpdate() throws {
        let model = try GPT(config: GPTConfig(layers: 1, heads: 2, width: 8, context: 4, vocabSize: 11), seed: 3)
        let options = TrainingOptions()
        for bad in [Float.infinity, .nan] {
            model.zeroGradients()
            for i in 0..<model.gradients.count { model.gradients.pointer[i] = 1e-3 }
            model.gradients.pointer[model.gradients.count / 2] = bad
            let before = Array(model.parameters.buffer)
            #expect(throws: TrainingError.nonFiniteGradient(step: 8, checkpoint: nil)) {
                _ = try options.finishStep(model, loss: 2.5, completedSteps: 7)
            }
            #expect(Array(model.parameters.buffer) == before)
        }
        // The same gradients made finite are applied.
        model.gradients.pointer[model.gradients.count / 2] = 1e-3
        let before = Array(model.parameters.buffer)
        let result = try options.finishStep(model, loss: 2.5, completedSteps: 7)
        #expect(result.step == 8 && Array(model.parameters.buffer) != before)
    }

    /// An update that breaks the model (a learning rate of 1e39) shows first in the evaluation after the step:
    /// the run stops naming the step, writes that step's line (its validation loss as null) and saves nothing.
    @Test func nonFiniteValidationLossStopsTheRun() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        var options = setup.options(steps: 5)
        options.learningRate = 1e39
        options.minLearningRate = 0
        options.warmupSteps = 0
        options.evalEvery = 1
        let trainer = try setup.trainer(options)
        let run = try TrainingRun(directory: RunDirectory(path: setup.directory.appendingPathComponent("run").path),
                                  trainer: trainer, record: RunRecord(options: options, dataDirectory: setup.directory.path),
                                  details: SwiftletDetails(), extraFiles: [], bosTokenId: nil, eosTokenId: nil)
        #expect {
            _ = try run.run()
        } throws: { error in
            guard case let .nonFiniteValidationLoss(step, loss, checkpoint) = error as? TrainingError else { return false }
            return step == 1 && !loss.isFinite && checkpoint == nil
        }
        let records = try MetricsLog.read(URL(fileURLWithPath: run.directory.metrics))
        #expect(records.map(\.step) == [1] && records[0].trainLoss?.isFinite == true && records[0].valLoss == nil)
        #expect(!FileManager.default.fileExists(atPath: run.directory.best))
    }

    /// A batch beyond memory is a --batch-size error; when the model's buffers and the shards' gradient copies
    /// leave no room at all, it is a --threads error (fewer threads, fewer copies).
    @Test func memoryRefusalsNameTheOptionThatHelps() {
        func option(available: Double) -> String? {
            do {
                try Trainer.namingBatchSize {
                    throw GPTError.doesNotFitInMemory(what: "a batch", bytes: 1e9, available: available, committed: 2e9,
                                                      holding: "the model's weights", memory: 3e9)
                }
            } catch let TrainingError.invalidOption(option, _) {
                return option
            } catch {}
            return nil
        }
        #expect(option(available: 5e8) == "--batch-size")
        #expect(option(available: -1e8) == "--threads")
    }

    @Test func impossibleOptionsAreRefusedByName() throws {
        let setup = try TinySetup()
        defer { setup.remove() }
        var o = setup.options(steps: 5)
        o.batchSize = 0
        #expect(throws: TrainingError.invalidOption(option: "--batch-size", message: "must be at least 1 (got 0)")) {
            _ = try setup.trainer(o)
        }
        o = setup.options(steps: 5)
        o.context = 9
        #expect(throws: TrainingError.invalidOption(option: "--context", message: "9 is longer than the model's context of 8 positions")) {
            _ = try setup.trainer(o)
        }
        o = setup.options(steps: 5)
        o.context = 8
        let short = setup.directory.appendingPathComponent("short.npy").path
        try TokenFileWriter.write([1, 2, 3], to: short, dtype: .uint16)
        let model = try GPT(config: setup.config, seed: 1)
        #expect(throws: TrainingError.dataTooShort(path: short, tokens: 3, needed: 9)) {
            _ = try Trainer(model: model, train: try TokenFile(path: short), validation: nil, options: o)
        }
        // Refused before the activations were planned (a long context's took gigabytes, then the run was refused).
        #expect(model.memory.activationBytes == 0)
    }
}

/// A saved run configuration whose values no run can use is the training state's error, not an option's the user
/// did not type (it said "--batch-size: must be at least 1"); values an earlier version could write (steps above
/// today's bound) are left to the run's own check, which names the option that changes them.
@Suite struct RunRecordValueTests {
    @Test func damagedValuesNameTheFile() throws {
        var record = RunRecord(options: TrainingOptions(), elapsedSeconds: 12, dataDirectory: "/data")
        record.evaluationsSinceBest = 3
        let good = try record.json()
        #expect(try RunRecord.decode(good, path: "state").elapsedSeconds == 12)
        for (from, to, says) in [("\"batchSize\":12", "\"batchSize\":0", "--batch-size must be at least 1 (got 0)"),
                                 ("\"steps\":2000", "\"steps\":0", "--steps must be at least 1 (got 0)"),
                                 ("\"epsilon\":1e-08", "\"epsilon\":-1", "AdamW's epsilon must be a positive number (got -1.0)"),
                                 ("\"elapsedSeconds\":12", "\"elapsedSeconds\":-5",
                                  "the training time must be a finite number of seconds, not negative (got -5.0)"),
                                 ("\"evaluationsSinceBest\":3", "\"evaluationsSinceBest\":9223372036854775807",
                                  "the evaluations since the best cannot be 9223372036854775807")] {
            #expect(good.contains(from), "\(good)")
            let error = #expect(throws: CheckpointError.self) { try RunRecord.decode(good.replacingOccurrences(of: from, with: to), path: "state") }
            #expect(error?.description == "state: the saved run configuration is damaged: " + says, "\(String(describing: error))")
        }
        // Beyond today's bounds but written by an earlier version: read; the run's check names --steps.
        let older = try RunRecord.decode(good.replacingOccurrences(of: "\"steps\":2000", with: "\"steps\":2000000000"), path: "state")
        #expect(throws: TrainingError.invalidOption(option: "--steps", message: "must be 1 to 1000000000 (got 2000000000)")) {
            try older.options.validate(modelContext: 64)
        }
    }
}
