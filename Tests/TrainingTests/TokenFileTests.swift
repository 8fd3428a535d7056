import TestSupport
import Foundation
import Testing
import GPT
@testable import Training

@Suite struct TokenFileTests {
    /// The header numpy writes for a 1-D array: built here by hand from the .npy format description.
    static func expectedHeader(descr: String, count: Int) -> [UInt8] {
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(count),), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        let length = dict.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length % 256), UInt8(length / 256)] + Array(dict.utf8)
    }

    @Test(arguments: [(TokenDType.uint16, 0), (.uint16, 1), (.uint16, 12345), (.uint32, 7), (.uint32, 5000)])
    func writesAndReadsBackIdentically(dtype: TokenDType, count: Int) throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let maximum = dtype == .uint16 ? 65535 : 1_000_000
        var generator = SeededGenerator(seed: UInt64(count))   // seeded: a failure repeats
        var ids = (0..<count).map { _ in Int32(Int.random(in: 0...maximum, using: &generator)) }
        if count > 2 { ids[0] = 0; ids[1] = Int32(maximum) }
        let path = directory + "/t.npy"
        try TokenFileWriter.write(ids, to: path, dtype: dtype)

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let header = Self.expectedHeader(descr: dtype.descr, count: count)
        #expect(Array(bytes.prefix(header.count)) == header)
        #expect(header.count % 64 == 0)
        #expect(bytes.count == header.count + count * dtype.byteWidth)

        let file = try TokenFile(path: path)
        #expect(file.dtype == dtype && file.count == count)
        #expect(file.allTokens() == ids)
        for i in stride(from: 0, to: count, by: max(1, count / 50)) { #expect(file[i] == ids[i]) }
    }

    /// `largestId` reads ids as the unsigned numbers they are, aligned or not; `fingerprint` tells files apart by
    /// their ids alone.
    @Test func largestIdAndFingerprint() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = (0..<1001).map { Int32(($0 * 7919) % 60_000) }
        try TokenFileWriter.write(ids, to: directory + "/a.npy", dtype: .uint16)
        try TokenFileWriter.write(ids, to: directory + "/a32.npy", dtype: .uint32)
        var changed = ids, early = ids, topBits = ids
        changed[999] += 1   // in the bytes after the last whole 256-byte block
        early[10] += 1      // in the first block
        // The top bits of two words of one lane (ids 3 and 131: bits 63 of words 0 and 32), which a multiply-only
        // hash cannot tell from the original.
        topBits[3] ^= 0x8000; topBits[131] ^= 0x8000
        try TokenFileWriter.write(changed, to: directory + "/b.npy", dtype: .uint16)
        try TokenFileWriter.write(early, to: directory + "/c.npy", dtype: .uint16)
        try TokenFileWriter.write(topBits, to: directory + "/d.npy", dtype: .uint16)
        let a = try TokenFile(path: directory + "/a.npy"), b = try TokenFile(path: directory + "/b.npy")
        let c = try TokenFile(path: directory + "/c.npy"), d = try TokenFile(path: directory + "/d.npy")
        #expect(Set([a.fingerprint, b.fingerprint, c.fingerprint, d.fingerprint]).count == 4)
        #expect(a.largestId == Int64(ids.max()!) && b.largestId == Int64(changed.max()!))
        #expect(try TokenFile(path: directory + "/a32.npy").largestId == Int64(ids.max()!))
        #expect(a.fingerprint == (try TokenFile(path: directory + "/a.npy")).fingerprint && a.fingerprint != b.fingerprint)
        #expect(a.fingerprint.count == 16)
        // uint32 ids of 2^31 and more, after a header of 126 bytes (the ids two bytes off alignment).
        var dict = "{'descr': '<u4', 'fortran_order': False, 'shape': (3,), }"
        while (10 + dict.utf8.count + 1) % 64 != 62 { dict += " " }
        dict += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dict.utf8.count), 0] + Array(dict.utf8)
        for id: UInt32 in [5, 0x8000_0001, 9] { withUnsafeBytes(of: id.littleEndian) { bytes += $0 } }
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/high.npy"))
        let high = try TokenFile(path: directory + "/high.npy")
        #expect(high.count == 3 && high.largestId == 0x8000_0001)
    }

    @Test func dtypeFollowsTheVocabulary() {
        #expect(TokenDType.fitting(vocabularySize: 65536) == .uint16)
        #expect(TokenDType.fitting(vocabularySize: 65537) == .uint32)
    }

    @Test func movingTheTailSplitsTheIds() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids = (0..<3_000_000).map { Int32($0 % 60000) }   // more than one copy buffer of bytes
        let train = try TokenFileWriter(path: directory + "/train.npy", dtype: .uint16)
        try train.append(Array(ids[..<1_000_000]))
        try train.append(Array(ids[1_000_000...]))
        let val = try TokenFileWriter(path: directory + "/val.npy", dtype: .uint16)
        try train.moveTail(after: 2_700_000, to: val)
        try train.finish()
        try val.finish()
        #expect(try TokenFile(path: directory + "/train.npy").allTokens() == Array(ids[..<2_700_000]))
        #expect(try TokenFile(path: directory + "/val.npy").allTokens() == Array(ids[2_700_000...]))
    }

    @Test func rejectsIdsOutsideTheDtype() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: TokenFileError.idTooLarge(path: directory + "/t.npy", id: 70000, dtype: "uint16")) {
            try TokenFileWriter.write([1, 70000], to: directory + "/t.npy", dtype: .uint16)
        }
    }

    /// A writer's errors name the file as it will be shown (a preparation's DIR/train.npy, not its hidden temporary):
    /// a full disk, say, or here a directory that cannot hold it and an id that does not fit.
    @Test func errorsNameTheFileAsShown() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: TokenFileError.writeFailed(path: "data/train.npy", reason: "No such file or directory")) {
            _ = try TokenFileWriter(path: directory + "/missing/train.npy", dtype: .uint16, shownAs: "data/train.npy")
        }
        let writer = try TokenFileWriter(path: directory + "/t.npy", dtype: .uint16, shownAs: "data/val.npy")
        #expect(throws: TokenFileError.idTooLarge(path: "data/val.npy", id: 70000, dtype: "uint16")) {
            try [Int32(70000)].withUnsafeBufferPointer { try writer.append($0) }
        }
    }

    @Test func badFilesAreClearErrors() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = directory + "/good.npy"
        try TokenFileWriter.write([1, 2, 3, 4], to: good, dtype: .uint16)
        let data = try Data(contentsOf: URL(fileURLWithPath: good))

        let truncated = directory + "/truncated.npy"
        try data.dropLast(3).write(to: URL(fileURLWithPath: truncated))
        #expect(throws: TokenFileError.sizeMismatch(path: truncated, expectedBytes: data.count, actualBytes: data.count - 3)) {
            try TokenFile(path: truncated)
        }
        let text = directory + "/text.npy"
        try Data("hello, this is not numpy at all".utf8).write(to: URL(fileURLWithPath: text))
        #expect(throws: TokenFileError.notNumPy(path: text, reason: "it does not start with the NumPy magic \\x93NUMPY")) {
            try TokenFile(path: text)
        }
        func header(_ dict: String) -> Data {
            var d = dict
            while (10 + d.utf8.count + 1) % 64 != 0 { d += " " }
            d += "\n"
            return Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(d.utf8.count), 0] + Array(d.utf8))
        }
        let floats = directory + "/floats.npy"
        try (header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }") + Data(count: 4)).write(to: URL(fileURLWithPath: floats))
        #expect(throws: TokenFileError.unsupported(path: floats, reason: "element type '<f4'")) { try TokenFile(path: floats) }
        let matrix = directory + "/matrix.npy"
        try (header("{'descr': '<u2', 'fortran_order': False, 'shape': (2, 2), }") + Data(count: 8)).write(to: URL(fileURLWithPath: matrix))
        #expect(throws: TokenFileError.unsupported(path: matrix, reason: "shape (2, 2) is not one-dimensional")) { try TokenFile(path: matrix) }
        for shape in ["(-5,)", "(18446744073709551616,)"] {   // negative; beyond Int
            let odd = directory + "/odd-shape.npy"
            try (header("{'descr': '<u2', 'fortran_order': False, 'shape': \(shape), }") + Data(count: 8)).write(to: URL(fileURLWithPath: odd))
            #expect(throws: TokenFileError.notNumPy(path: odd, reason: "shape \(shape) does not give a token count")) { try TokenFile(path: odd) }
        }
        // A shape whose byte count overflows Int (a damaged header); as uint32, 2^62 + 1 ids (4 bytes each) wrap to
        // exactly the 4 data bytes that follow, so only the overflow check refuses it.
        for (descr, count) in [("<u2", Int.max), ("<u4", Int.max / 2 + 2)] {
            let huge = directory + "/huge.npy"
            try (header("{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(count),), }") + Data(count: 4))
                .write(to: URL(fileURLWithPath: huge))
            #expect(throws: TokenFileError.notNumPy(path: huge, reason: "its header promises \(count) tokens, more than any file holds")) {
                try TokenFile(path: huge)
            }
        }
        // A FIFO in a token file's place is refused at once (opening it for reading would wait for a writer).
        let fifo = directory + "/fifo.npy"
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: TokenFileError.cannotOpen(path: fifo, reason: "it is not a regular file")) { try TokenFile(path: fifo) }
        #expect(throws: TokenFileError.cannotOpen(path: directory + "/none.npy", reason: "No such file or directory")) {
            try TokenFile(path: directory + "/none.npy")
        }
        #expect(TokenFileError.sizeMismatch(path: truncated, expectedBytes: 1, actualBytes: 0).description.hasPrefix(truncated + ": "))
    }

    /// numpy itself must read our files, and our header must be byte for byte what numpy.save writes.
    @Test func numpyAgrees() throws {
        let python = "/usr/bin/env"   // the python3 on PATH, as a user would run it
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ids16: [Int32] = (0..<1000).map { Int32($0 * 65 % 65536) }
        let ids32: [Int32] = (0..<1000).map { Int32($0 * 70001) }
        try TokenFileWriter.write(ids16, to: directory + "/ours16.npy", dtype: .uint16)
        try TokenFileWriter.write(ids32, to: directory + "/ours32.npy", dtype: .uint32)
        let script = """
        import numpy as np, sys
        d = sys.argv[1]
        a = np.load(d + '/ours16.npy', mmap_mode='r'); b = np.load(d + '/ours32.npy', mmap_mode='r')
        assert a.dtype == np.dtype('<u2') and a.shape == (1000,), (a.dtype, a.shape)
        assert b.dtype == np.dtype('<u4') and b.shape == (1000,), (b.dtype, b.shape)
        assert (a == (np.arange(1000) * 65 % 65536)).all()
        assert (b == np.arange(1000, dtype=np.uint64) * 70001).all()
        np.save(d + '/numpy16.npy', np.asarray(a)); np.save(d + '/numpy32.npy', np.asarray(b))
        print('ok')
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["python3", "-c", script, directory]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch {
            Issue.record("cannot run python3 (install python3-numpy): \(error)")
            return
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "numpy check failed (is python3-numpy installed?): \(output)")
        for width in ["16", "32"] {
            let ours = try Data(contentsOf: URL(fileURLWithPath: directory + "/ours\(width).npy"))
            let theirs = try Data(contentsOf: URL(fileURLWithPath: directory + "/numpy\(width).npy"))
            #expect(ours == theirs, "numpy.save writes different bytes for uint\(width)")
        }
        #expect(try TokenFile(path: directory + "/numpy16.npy").allTokens() == ids16)
    }
}
