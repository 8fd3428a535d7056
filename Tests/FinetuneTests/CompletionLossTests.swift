import Foundation
import Testing
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
