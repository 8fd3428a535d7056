import Foundation
@testable import GPT
import Kernels

/// A plain, independent GPT-2 forward pass in Double (naive loops, no kernels), reading parameters from a
/// [String: [Double]] keyed by Hugging Face names. Used for the finite-difference gradient check and to check
/// the model's logits.
struct ReferenceGPT {
    let config: GPTConfig
    var tensors: [String: [Double]]
    /// The dropout of a training pass (the masks of Kernels' `Dropout` at the model's sites); nil: none.
    var dropout: (probability: Float, key: UInt64)? = nil

    init(model: GPT) {
        config = model.config
        var t: [String: [Double]] = [:]
        for slot in model.layout.slots {
            t[slot.name] = (0..<slot.count).map { Double(model.parameters.pointer[slot.offset + $0]) }
        }
        tensors = t
    }

    private func layerNorm(_ x: [Double], rows: Int, _ w: [Double], _ b: [Double]) -> [Double] {
        let C = config.width
        var out = x
        for r in 0..<rows {
            let row = x[(r * C)..<(r * C + C)]
            let mean = row.reduce(0, +) / Double(C)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(C)
            let rstd = 1 / (variance + Double(config.layerNormEpsilon)).squareRoot()
            for c in 0..<C { out[r * C + c] = (x[r * C + c] - mean) * rstd * w[c] + b[c] }
        }
        return out
    }

    /// y[rows, n] = x[rows, k] · w[k, n] + b[n]
    private func linear(_ x: [Double], rows: Int, k: Int, n: Int, _ w: [Double], _ b: [Double]?) -> [Double] {
        var y = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows { for j in 0..<n {
            var s = b?[j] ?? 0
            for i in 0..<k { s += x[r * k + i] * w[i * n + j] }
            y[r * n + j] = s
        } }
        return y
    }

    func logits(tokens: [Int32], batch: Int, time: Int) -> [Double] {
        let C = config.width, V = config.vocabSize, N = batch * time
        let wte = tensors["transformer.wte.weight"]!
        let hf = hidden(tokens: tokens, batch: batch, time: time)
        var out = [Double](repeating: 0, count: N * V)
        for r in 0..<N { for v in 0..<V {
            var s = 0.0
            for c in 0..<C { s += hf[r * C + c] * wte[v * C + c] }
            out[r * V + v] = s
        } }
        return out
    }

    /// The final hidden state after ln_f, [batch * time, width].
    func hidden(tokens: [Int32], batch: Int, time: Int) -> [Double] {
        let C = config.width, H = config.heads, hs = C / H, N = batch * time
        let wte = tensors["transformer.wte.weight"]!, wpe = tensors["transformer.wpe.weight"]!
        var x = [Double](repeating: 0, count: N * C)
        for b in 0..<batch { for t in 0..<time { for c in 0..<C {
            x[(b * time + t) * C + c] = wte[Int(tokens[b * time + t]) * C + c] + wpe[t * C + c]
        } } }
        applyDropout(&x, site: .embedding)
        for l in 0..<config.layers {
            func p(_ name: String) -> [Double] { tensors["transformer.h.\(l).\(name)"]! }
            let h1 = layerNorm(x, rows: N, p("ln_1.weight"), p("ln_1.bias"))
            let qkv = linear(h1, rows: N, k: C, n: 3 * C, p("attn.c_attn.weight"), p("attn.c_attn.bias"))
            var y = [Double](repeating: 0, count: N * C)
            for b in 0..<batch { for h in 0..<H { for t in 0..<time {
                var scores = [Double](repeating: 0, count: t + 1)
                for s in 0...t {
                    var dot = 0.0
                    for i in 0..<hs { dot += qkv[(b * time + t) * 3 * C + h * hs + i] * qkv[(b * time + s) * 3 * C + C + h * hs + i] }
                    scores[s] = dot / Double(hs).squareRoot()
                }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let z = e.reduce(0, +)
                var weights = e.map { $0 / z }
                // Attention-weight dropout: element (b, h, t, s) has index ((b * H + h) * time + t) * time + s.
                applyDropout(&weights, site: .attentionWeights(layer: l), firstIndex: ((b * H + h) * time + t) * time)
                for i in 0..<hs {
                    var acc = 0.0
                    for s in 0...t { acc += weights[s] * qkv[(b * time + s) * 3 * C + 2 * C + h * hs + i] }
                    y[(b * time + t) * C + h * hs + i] = acc
                }
            } } }
            var a = linear(y, rows: N, k: C, n: C, p("attn.c_proj.weight"), p("attn.c_proj.bias"))
            applyDropout(&a, site: .attention(layer: l))
            for i in 0..<(N * C) { x[i] += a[i] }
            let h2 = layerNorm(x, rows: N, p("ln_2.weight"), p("ln_2.bias"))
            var f = linear(h2, rows: N, k: C, n: 4 * C, p("mlp.c_fc.weight"), p("mlp.c_fc.bias"))
            let k = (2 / Double.pi).squareRoot()
            f = f.map { 0.5 * $0 * (1 + tanh(k * ($0 + 0.044715 * $0 * $0 * $0))) }
            var m = linear(f, rows: N, k: 4 * C, n: C, p("mlp.c_proj.weight"), p("mlp.c_proj.bias"))
            applyDropout(&m, site: .mlp(layer: l))
            for i in 0..<(N * C) { x[i] += m[i] }
        }
        return layerNorm(x, rows: N, tensors["transformer.ln_f.weight"]!, tensors["transformer.ln_f.bias"]!)
    }

    /// x = x ⊙ mask / (1 - p) at a dropout site, x[i] being element firstIndex + i (nothing without dropout).
    private func applyDropout(_ x: inout [Double], site: ActiveDropout.Site, firstIndex: Int = 0) {
        guard let dropout else { return }
        let scale = 1 / (1 - Double(dropout.probability))
        for i in 0..<x.count {
            let mask = DropoutMask(probability: dropout.probability, key: dropout.key, site: site.index)
            let kept = mask.isKept(index: firstIndex + i)
            x[i] = kept ? x[i] * scale : 0
        }
    }

    /// Weighted mean cross-entropy.
    func loss(tokens: [Int32], targets: [Int32], weights: [Float]?, batch: Int, time: Int) -> Double {
        let V = config.vocabSize
        let z = logits(tokens: tokens, batch: batch, time: time)
        var total = 0.0, weightSum = 0.0
        for r in 0..<(batch * time) {
            let row = z[(r * V)..<(r * V + V)]
            let m = row.max()!
            let lse = log(row.reduce(0) { $0 + exp($1 - m) }) + m
            let w = Double(weights?[r] ?? 1)
            total += w * (lse - z[r * V + Int(targets[r])])
            weightSum += w
        }
        return total / weightSum
    }
}
