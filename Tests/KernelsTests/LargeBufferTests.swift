import Testing
@testable import Kernels

@Suite struct LargeBufferTests {
    /// Small and large requests, the large ones around the 2 MiB boundary: zeroed, aligned as promised (64 bytes,
    /// 2 MiB from 2 MiB on), and every byte asked for usable; freed without complaint.
    @Test(arguments: [1, 1000, (2 << 20) - 4, 2 << 20, (2 << 20) + 4, 5_000_000])
    func zeroedAlignedAndWritable(bytes: Int) {
        let memory = LargeBuffer.allocate(bytes: bytes)
        defer { LargeBuffer.deallocate(memory) }
        let address = UInt(bitPattern: memory)
        #expect(address % 64 == 0)
        if bytes >= 2 << 20 { #expect(address % UInt(2 << 20) == 0) }
        let bytesView = memory.bindMemory(to: UInt8.self, capacity: bytes)
        #expect((0..<bytes).allSatisfy { bytesView[$0] == 0 })
        for i in stride(from: 0, to: bytes, by: 4093) { bytesView[i] = 0xAB }
        bytesView[bytes - 1] = 0xCD
        #expect(stride(from: 0, to: bytes - 1, by: 4093).allSatisfy { bytesView[$0] == 0xAB })
        #expect(bytesView[bytes - 1] == 0xCD)
    }

    @Test func floatsAreZero() {
        let floats = LargeBuffer.allocateFloats(700_000)
        defer { LargeBuffer.deallocate(floats) }
        #expect((0..<700_000).allSatisfy { floats[$0] == 0 })
    }
}
