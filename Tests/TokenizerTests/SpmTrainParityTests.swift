import TestSupport
import Foundation
import Testing
@testable import Tokenizer

/// Training hands SentencePiece the corpus lines itself (not file names): the model must be the one Debian's
/// spm_train makes from the same file and flags, a path holding a comma must mean that file, and the model must
/// not depend on where or by which process it was trained.
@Suite struct SpmTrainParityTests {
    static let spmTrain = "/usr/bin/spm_train", spmExportVocab = "/usr/bin/spm_export_vocab"

    static func run(_ tool: String, _ arguments: [String], in directory: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) \(arguments)")
        return output
    }

    @Test(arguments: [TokenizerTrainingOptions.ModelType.bpe, .unigram, .char, .word])
    func piecesAndScoresEqualSpmTrain(type: TokenizerTrainingOptions.ModelType) throws {
        try requireSentencePieceTools([Self.spmTrain, Self.spmExportVocab])
        let (directory, _, options, _) = try shakespeareTokenizer(type: type, vocabulary: type == .char ? 100 : 500,
                                                                  modelName: "ours.model")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The same flags on the command line.
        let flags = options.flags.map { "--\($0.0)=\($0.1)" } + ["--input=corpus.txt", "--model_prefix=theirs"]
        _ = try Self.run(Self.spmTrain, flags, in: directory)
        let ours = try Self.run(Self.spmExportVocab, ["--model=ours.model"], in: directory)
        let theirs = try Self.run(Self.spmExportVocab, ["--model=theirs.model"], in: directory)
        #expect(ours == theirs && ours.split(separator: "\n").count >= 60)
    }

    @Test func aPathWithACommaIsOneFileAndModelsAreReproducible() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // SentencePiece's `input` flag would read "notes" and "2024.txt" for "notes,2024.txt".
        try String(repeating: "xyz xyz\n", count: 50).write(toFile: directory + "/notes,2024.txt", atomically: true, encoding: .utf8)
        for decoy in ["notes", "2024.txt"] {
            try String(repeating: "qqq\n", count: 50).write(toFile: directory + "/" + decoy, atomically: true, encoding: .utf8)
        }
        var options = TokenizerTrainingOptions()
        options.modelType = .char
        options.vocabularySize = 50
        let tokenizer = try SentencePieceTokenizer.train(files: [directory + "/notes,2024.txt"],
                                                         modelPath: directory + "/a.model", options: options)
        #expect(try !tokenizer.encode("xyz").contains(Int32(options.unknownId)))
        #expect(try tokenizer.encode("q") == [Int32(options.unknownId)])
        // Trained again elsewhere, the same model byte for byte (no temporary path or file name inside).
        try FileManager.default.createDirectory(atPath: directory + "/elsewhere", withIntermediateDirectories: false)
        _ = try SentencePieceTokenizer.train(files: [directory + "/notes,2024.txt"],
                                             modelPath: directory + "/elsewhere/b.model", options: options)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/a.model"))
                == Data(contentsOf: URL(fileURLWithPath: directory + "/elsewhere/b.model")))
    }
}
