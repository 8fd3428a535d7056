import Foundation
import Testing
import TestSupport
import FineTuneData
import FineTuning
import GPT
import Tokenizer

/// Prompt -> completion: the template and EOS layout, truncation, and a loss that counts completion tokens only.
@Suite struct CompletionLossTests {
    static func setup() throws -> (GPT, SentencePieceTokenizer) {
        let model = try Checkpoint.load(from: Fixture.languageModel, includeTrainingState: false).model
        let tokenizer = try SentencePieceTokenizer(contentsOf: Fixture.languageModel + "/tokenizer.model")
        return (model, tokenizer)
    }

    @Test func layoutIsTemplatePromptThenCompletionThenEOS() throws {
        let (model, tokenizer) = try Self.setup()
        let eos = try #require(tokenizer.eosId)
        let e = try TaskEncoding.completion(prompt: "the LORD", completion: " is my shepherd", template: "Q: {prompt}\n",
                                            tokenizer: tokenizer, eos: eos, context: model.config.context)
        let prompt = try tokenizer.encode("Q: the LORD\n"), completion = try tokenizer.encode(" is my shepherd")
        #expect(e.sequence == prompt + completion + [eos])
        #expect(e.promptCount == prompt.count)
    }

    /// Too long: the prompt loses tokens from its start first; the completion is cut only when it alone is too long.
    @Test func truncationCutsThePromptFromTheLeft() throws {
        let (_, tokenizer) = try Self.setup()
        let eos = try #require(tokenizer.eosId)
        let prompt = String(repeating: "and the king said unto them ", count: 4)
        let full = try tokenizer.encode(prompt), completion = try tokenizer.encode(" amen") + [eos]
        let context = completion.count + 5
        let e = try TaskEncoding.completion(prompt: prompt, completion: " amen", template: "{prompt}", tokenizer: tokenizer,
                                            eos: eos, context: context)
        #expect(e.sequence.count == context + 1)
        #expect(Array(e.sequence.prefix(e.promptCount)) == Array(full.suffix(e.promptCount)))
        #expect(Array(e.sequence.suffix(completion.count)) == completion)
        let long = try TaskEncoding.completion(prompt: "x", completion: prompt, template: "{prompt}", tokenizer: tokenizer,
                                               eos: eos, context: 6)
        let cut = Array(try tokenizer.encode(prompt).prefix(7))
        #expect(long.promptCount == 0 && long.sequence == cut)
    }

    /// A prompt that lays out to no tokens (an unconditional completion, template "{prompt}") starts from BOS,
    /// as `sample` starts an empty prompt, so the completion's first token is predicted and counted too; cut to
    /// fit, the pair keeps its BOS and loses the end of its completion.
    @Test func anEmptyLayoutStartsFromBOS() throws {
        let (model, tokenizer) = try Self.setup()
        let eos = try #require(tokenizer.eosId), bos = try #require(tokenizer.bosId)
        let completion = try tokenizer.encode(" is my shepherd")
        let e = try TaskEncoding.completion(prompt: "", completion: " is my shepherd", template: "{prompt}",
                                            tokenizer: tokenizer, eos: eos, context: model.config.context)
        #expect(e.sequence == [bos] + completion + [eos] && e.promptCount == 1)
        #expect(e.completionCount == completion.count + 1)
        let (_, counted) = try CompletionTask.lossSum(model, examples: [e], batchSize: 1, pad: 0)
        #expect(counted == completion.count + 1)

        let long = String(repeating: "and the king said unto them ", count: 4)
        let longIds = try tokenizer.encode(long)
        let cut = try TaskEncoding.completion(prompt: "", completion: long, template: "{prompt}", tokenizer: tokenizer,
                                              eos: eos, context: 6)
        #expect(cut.sequence == [bos] + Array(longIds.prefix(6)))
        #expect(cut.promptTokensCut == 0 && cut.completionTokensCut == longIds.count + 1 - 6)
        #expect(CompletionTask.makeBatch([cut], pad: 0).counted == 6)
    }

    /// `evaluate` counts every completion token and the EOS of a pair with an empty prompt, and its greedy
    /// completion starts from the same BOS.
    @Test func evaluateCountsTheFirstTokenOfAnUnconditionalCompletion() throws {
        let (_, tokenizer) = try Self.setup()
        let scratch = Scratch()
        let data = scratch.write("empty.jsonl", #"{"prompt": "", "completion": " is my shepherd"}"# + "\n")
        let output = try FinetuneCommand.run(["evaluate", "--checkpoint", Fixture.languageModel, "--data", data,
                                              "--template", "{prompt}", "--generate", "--json", "--threads", "1"])
        #expect(output.status == 0, "stderr: \(output.stderr)")
        let report = try JSONDecoder().decode(CompletionReport.self, from: Data(output.stdout.utf8))
        #expect(report.tokens == (try tokenizer.encode(" is my shepherd").count) + 1, "\(output.stdout)")
    }

    /// Without a BOS in the tokenizer, a pair whose prompt lays out to nothing is refused, naming its line and
    /// the tokenizer.
    @Test func anEmptyLayoutWithoutBOSIsNamed() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var options = TokenizerTrainingOptions()
        options.vocabularySize = 200
        options.bosId = -1
        let corpus = try Fixtures.slice(of: Fixtures.kjv, bytes: 20_000, to: directory, name: "kjv.txt")
        let tokenizer = try SentencePieceTokenizer.train(files: [corpus], modelPath: directory + "/m.model", options: options)
        try #require(tokenizer.bosId == nil)
        let eos = try #require(tokenizer.eosId)
        let pairs = [CompletionExample(prompt: "In the beginning", completion: " God", line: 1),
                     CompletionExample(prompt: "", completion: " God", line: 2)]
        let message = "pairs.jsonl:2: the prompt lays out to no tokens (template \"{prompt}\"), and the tokenizer "
            + "\(tokenizer.path) has no beginning-of-sequence id to start the sequence from"
        do {
            _ = try TaskEncoding.completions(pairs, file: "pairs.jsonl", template: "{prompt}", tokenizer: tokenizer,
                                             eos: eos, context: 24)
            Issue.record("encoded an empty layout without a BOS")
        } catch {
            #expect("\(error)".hasPrefix(message), "\(error)")
        }
        // A template with text of its own lays out every prompt to some tokens.
        let encoded = try TaskEncoding.completions(pairs, file: "pairs.jsonl", template: "Q: {prompt}\n", tokenizer: tokenizer,
                                                   eos: eos, context: 24)
        #expect(encoded.count == 2 && encoded[1].promptCount > 0)
    }

    /// Changing the target of a prompt (or padding) position changes neither the loss nor any gradient;
    /// changing a completion target does.
    @Test func lossIgnoresPromptTargets() throws {
        let (model, tokenizer) = try Self.setup()
        let eos = try #require(tokenizer.eosId)
        let examples = try [("In the beginning", " God created"), ("And the earth was without form", " and void")].map {
            try TaskEncoding.completion(prompt: $0.0, completion: $0.1, template: "{prompt}\n", tokenizer: tokenizer,
                                        eos: eos, context: model.config.context)
        }
        let batch = CompletionTask.makeBatch(examples, pad: 0)
        #expect(batch.counted == examples.reduce(0) { $0 + $1.completionCount })
        func run(_ targets: [Int32]) throws -> (Double, [Float]) {
            model.zeroGradients()
            let loss = try model.forwardBackward(tokens: batch.inputs, targets: targets, weights: batch.weights,
                                                 batch: 2, time: batch.time)
            return (loss, model.gradients.values)
        }
        let (loss, gradients) = try run(batch.targets)
        var changedPrompt = batch.targets
        var promptPositions = 0
        for i in changedPrompt.indices where batch.weights[i] == 0 {
            changedPrompt[i] = (changedPrompt[i] + 7) % Int32(model.config.vocabSize)
            promptPositions += 1
        }
        #expect(promptPositions >= examples[0].promptCount)
        let (loss2, gradients2) = try run(changedPrompt)
        #expect(loss2 == loss)
        #expect(gradients2 == gradients)

        var changedCompletion = batch.targets
        let i = try #require(batch.weights.firstIndex(of: 1))
        changedCompletion[i] = (changedCompletion[i] + 7) % Int32(model.config.vocabSize)
        let (loss3, _) = try run(changedCompletion)
        #expect(loss3 != loss)
    }
}
