import Kernels

/// Matrix-vector products of generation, on a weight far larger than the caches (bandwidth-bound).
enum MatVecProduct: String, CaseIterable {
    case vectorTimesMatrix, matrixTimesVector
}

enum MatVecBenchmark {
    static let inputs = 4096, outputs = 4096  // 64 MiB of weights: twice the L3 cache

    /// Median GB/s of weight reads (the 4 * inputs * outputs bytes of W per call).
    static func gbs(product: MatVecProduct, pool: ThreadPool, repeats: Int) -> Double {
        let w = randomBuffer(inputs * outputs), x = randomBuffer(inputs), y = randomBuffer(outputs)
        defer { for buffer in [w, x, y] { LargeBuffer.deallocate(buffer) } }
        let seconds: Double
        switch product {
        case .vectorTimesMatrix:
            seconds = medianSeconds(repeats: repeats) {
                GEMM.vectorTimesMatrix(y: y, x: x, w: w, bias: nil, inputs: inputs, outputs: outputs, pool: pool)
            }
        case .matrixTimesVector:
            seconds = medianSeconds(repeats: repeats) {
                GEMM.matrixTimesVector(y: y, w: w, x: x, outputs: outputs, inputs: inputs, pool: pool)
            }
        }
        return Double(4 * inputs * outputs) / seconds / 1e9
    }
}
