/// Layer normalisation over the last axis.
///   forward:  mean[n] = (1/C) sum_c x[n,c];  rstd[n] = 1 / sqrt((1/C) sum_c (x[n,c] - mean)^2 + eps)
///             out[n,c] = (x[n,c] - mean[n]) * rstd[n] * weight[c] + bias[c]        x, out [N, C]
///   backward: xhat = (x - mean) rstd;  g = dout * weight
///             dinput = rstd * (g - mean_c(g) - xhat * mean_c(g * xhat))        (=, or += when accumulate)
///             dweight[c] += sum_n dout[n,c] * xhat[n,c];  dbias[c] += sum_n dout[n,c]
/// Forward reads each row twice: once for both moments (sums of x - x[0], shifted against cancellation), once
/// to write the output. Backward splits the rows over threads; each thread sums its dweight/dbias share in a
/// partial buffer on the caller's stack, added into dweight/dbias at the end.
public enum LayerNorm {
    public static func forward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                               rows: Int, channels: Int, epsilon: Float = 1e-5, pool: ThreadPool = .shared) {
        let c = channels
        pool.parallelFor(rows, minimumChunk: max(1, 16_384 / max(c, 1)), chunksPerThread: 2) { range in
            for row in range {
                let x = input + row * c, o = out + row * c
                let shift = x[0]
                var s1 = Vector16(), s2 = Vector16()
                var i = 0
                while i + 16 <= c {
                    let d = LayerVector.load(x + i) - shift
                    s1 += d
                    s2 += d * d
                    i += 16
                }
                var t1 = LayerVector.sum(s1), t2 = LayerVector.sum(s2)
                while i < c { let d = x[i] - shift; t1 += d; t2 += d * d; i += 1 }
                let m1 = t1 / Float(c)
                let variance = max(0, t2 / Float(c) - m1 * m1)
                let mu = shift + m1
                let r = 1 / (variance + epsilon).squareRoot()
                mean[row] = mu
                rstd[row] = r
                i = 0
                while i + 16 <= c {
                    let y = (LayerVector.load(x + i) - mu) * r * LayerVector.load(weight + i) + LayerVector.load(bias + i)
                    LayerVector.store(y, o + i)
                    i += 16
                }
                while i < c { o[i] = (x[i] - mu) * r * weight[i] + bias[i]; i += 1 }
            }
        }
    }

    public static func backward(dinput: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                rows: Int, channels: Int, accumulate: Bool, pool: ThreadPool = .shared) {
        let c = channels
        if rows <= 0 || c <= 0 { return }
        let chunks = max(1, min(pool.threadCount, rows * c / 32_768))
        withUnsafeTemporaryAllocation(of: Float.self, capacity: chunks * 2 * c) { partialBuffer in
            let partial = partialBuffer.baseAddress!
            pool.run(tasks: chunks) { chunk in
                let dw = partial + chunk * 2 * c, db = dw + c
                dw.initialize(repeating: 0, count: 2 * c)
                for row in (rows * chunk / chunks)..<(rows * (chunk + 1) / chunks) {
                    backwardRow(dx: dinput + row * c, dw: dw, db: db, dy: dout + row * c, x: input + row * c,
                                weight: weight, mean: mean[row], rstd: rstd[row], channels: c, accumulate: accumulate)
                }
            }
            for chunk in 0..<chunks {
                let dw = partial + chunk * 2 * c, db = dw + c
                for i in 0..<c { dweight[i] += dw[i]; dbias[i] += db[i] }
            }
        }
    }

    @inline(__always)
    static func backwardRow(dx: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>,
                            db: UnsafeMutablePointer<Float>, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                            weight: UnsafePointer<Float>, mean mu: Float, rstd r: Float, channels c: Int,
                            accumulate: Bool) {
        // Pass 1: the two row means, and this row's share of dweight/dbias.
        var sg = Vector16(), sgx = Vector16()
        var i = 0
        while i + 16 <= c {
            let xhat = (LayerVector.load(x + i) - mu) * r
            let d = LayerVector.load(dy + i)
            let g = d * LayerVector.load(weight + i)
            sg += g
            sgx += g * xhat
            LayerVector.store(LayerVector.load(dw + i) + d * xhat, dw + i)
            LayerVector.store(LayerVector.load(db + i) + d, db + i)
            i += 16
        }
        var tg = LayerVector.sum(sg), tgx = LayerVector.sum(sgx)
        while i < c {
            let xhat = (x[i] - mu) * r
            let g = dy[i] * weight[i]
            tg += g; tgx += g * xhat
            dw[i] += dy[i] * xhat; db[i] += dy[i]
            i += 1
        }
        let meanG = tg / Float(c), meanGX = tgx / Float(c)
        // Pass 2: the input gradient.
        i = 0
        while i + 16 <= c {
            let xhat = (LayerVector.load(x + i) - mu) * r
            let g = LayerVector.load(dy + i) * LayerVector.load(weight + i)
            var v = (g - meanG - xhat * meanGX) * r
            if accumulate { v += LayerVector.load(dx + i) }
            LayerVector.store(v, dx + i)
            i += 16
        }
        while i < c {
            let xhat = (x[i] - mu) * r
            let v = (dy[i] * weight[i] - meanG - xhat * meanGX) * r
            dx[i] = accumulate ? dx[i] + v : v
            i += 1
        }
    }
}
