import CIntrinsics
import Glibc

/// AdamW (decoupled weight decay) over a flat buffer of `count` parameters, one pass, step t is 1-based:
///   g = gradientScale * gradient     (the clipping factor: `GradientClipping.scale`; 1 leaves g as it is)
///   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
///   mhat = m / (1 - b1^t);  vhat = v / (1 - b2^t)
///   p -= lr * (mhat / (sqrt(vhat) + eps) + weightDecay * p)
/// Weight decay on/off per tensor group: the model calls this once per flat region with its own weightDecay.
/// The square root is `swiftlet_sqrt16` (vsqrtps): Swift's SIMD16 squareRoot() took 16 scalar roots through
/// libm, and the whole step ran at 3 ns a parameter. Scaling g here rather than in the gradient buffer spares
/// clipping a pass over the gradients (it clipped 1,896 of the 2,000 steps of the quality run), with the same
/// bits: the product g * scale is rounded once either way.
public enum AdamW {
    public static func step(parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, count: Int,
                            learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                            weightDecay: Float, step: Int, gradientScale: Float = 1, pool: ThreadPool = .shared) {
        // A real check, not a precondition (which -Ounchecked removes): step 0 divides by 1 - b^0 = 0, and every
        // parameter it touched would turn NaN without a word.
        guard step >= 1 else { fatalError("AdamW step is 1-based (got \(step))") }
        // Bias corrections in Double (b^t for large t), folded into two multipliers.
        let correction1 = Float(1 / (1 - pow(Double(beta1), Double(step))))
        let correction2 = Float(1 / (1 - pow(Double(beta2), Double(step))))
        let lr = learningRate, b1 = beta1, b2 = beta2, eps = epsilon, wd = weightDecay, scale = gradientScale
        pool.parallelFor(count, minimumChunk: 65_536, chunksPerThread: 2) { range in
            var i = range.lowerBound
            while i + 16 <= range.upperBound {
                let g = LayerVector.load(gradients + i) * scale
                let mi = b1 * LayerVector.load(m + i) + (1 - b1) * g
                let vi = b2 * LayerVector.load(v + i) + (1 - b2) * g * g
                let p = LayerVector.load(parameters + i)
                let update = (mi * correction1) / (swiftlet_sqrt16(vi * correction2) + eps) + wd * p
                LayerVector.store(mi, m + i)
                LayerVector.store(vi, v + i)
                LayerVector.store(p - lr * update, parameters + i)
                i += 16
            }
            while i < range.upperBound {
                let g = gradients[i] * scale
                let mi = b1 * m[i] + (1 - b1) * g
                let vi = b2 * v[i] + (1 - b2) * g * g
                m[i] = mi
                v[i] = vi
                let update = (mi * correction1) / ((vi * correction2).squareRoot() + eps) + wd * parameters[i]
                parameters[i] -= lr * update
                i += 1
            }
        }
    }
}
