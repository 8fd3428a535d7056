import GPT
import Testing
@testable import Training

/// The line before a run allocates: the size of a large run (which takes seconds to allocate), and a warning when a
/// run needs more than the memory free now; nothing for a small run with room.
@Suite struct AllocationNoticeTests {
    let plenty = 20e9

    @Test func aLargeRunSaysWhatItAllocates() throws {
        let text = try #require(AllocationNotice.text(config: .gpt2(vocabSize: 4096), batch: 4, time: 1024, free: plenty))
        // 16 bytes for each of the 89.0M parameters, and the activations of 4 x 1024 tokens (Activations.swift).
        #expect(text.hasPrefix("allocating about 6.6 GB"), "\(text)")
        #expect(text.contains("4 x 1024 batch"), "\(text)")
    }

    @Test func aSmallRunWithRoomSaysNothing() {
        #expect(AllocationNotice.text(config: .tiny(vocabSize: 65), batch: 12, time: 64, free: plenty) == nil)
        #expect(AllocationNotice.text(config: .tiny(vocabSize: 65), batch: 12, time: 64, free: nil) == nil)
    }

    @Test func aRunBeyondTheFreeMemoryIsWarned() throws {
        let bytes = GPT.trainingBytes(config: .tiny(vocabSize: 65), batch: 12, time: 64)
        let text = try #require(AllocationNotice.text(config: .tiny(vocabSize: 65), batch: 12, time: 64, free: bytes / 2))
        #expect(text.hasPrefix("note: this run takes about 0.0 GB and 0.0 GB of memory is free now"), "\(text)")
        #expect(text.contains("--batch-size"))
        #expect(AllocationNotice.text(config: .tiny(vocabSize: 65), batch: 12, time: 64, free: bytes) == nil)
    }

    /// A run that holds part of its memory already (a resumed run's loaded weights and moments, which MemAvailable
    /// no longer counts as free) is warned only when the rest is more than what is free: they were counted twice.
    @Test func memoryTheRunHoldsAlreadyIsNotCountedTwice() throws {
        let config = GPTConfig.gpt2(vocabSize: 4096)
        let bytes = GPT.trainingBytes(config: config, batch: 4, time: 1024)
        let weightsAndMoments = 12 * Double(ParameterLayout.parameterCount(of: config))
        let free = bytes - weightsAndMoments / 2
        let text = try #require(AllocationNotice.text(config: config, batch: 4, time: 1024, held: weightsAndMoments, free: free))
        #expect(text == String(format: "allocating about %.1f GB more, beside the %.1f GB the loaded model holds, before "
                               + "the first step", (bytes - weightsAndMoments) / 1e9, weightsAndMoments / 1e9), "\(text)")
        let short = try #require(AllocationNotice.text(config: config, batch: 4, time: 1024, held: weightsAndMoments,
                                                       free: (bytes - weightsAndMoments) / 2))
        #expect(short.hasPrefix("note: this run takes about 6.6 GB ("), "\(short)")
    }
}
