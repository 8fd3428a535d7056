/// Token + position embedding.
///   forward:  out[b,t,:] = wte[tokens[b,t], :] + wpe[t, :]          out [B*T, C], wte [V, C], wpe [maxT, C]
///   backward: dwte[tokens[b,t], :] += dout[b,t,:];  dwpe[t, :] += dout[b,t,:]
/// The backward splits the channels over threads (not the rows), so two rows with the same token never race.
public enum Embedding {
    public static func forward(out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
                               wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>,
                               batch: Int, time: Int, channels: Int, pool: ThreadPool = .shared) {
        let rows = batch * time
        let c = channels
        pool.parallelFor(rows, minimumChunk: max(1, 16_384 / max(c, 1))) { range in
            for row in range {
                let token = Int(tokens[row])
                let t = row % time
                let o = out + row * c, e = wte + token * c, p = wpe + t * c
                var i = 0
                while i + 16 <= c {
                    LayerVector.store(LayerVector.load(e + i) + LayerVector.load(p + i), o + i)
                    i += 16
                }
                while i < c { o[i] = e[i] + p[i]; i += 1 }
            }
        }
    }

    public static func backward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>,
                                dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>,
                                batch: Int, time: Int, channels: Int, pool: ThreadPool = .shared) {
        let c = channels
        // Channel ranges in multiples of 16 so the vector loop covers them.
        let blocks = (c + 15) / 16
        pool.parallelFor(blocks, minimumChunk: 4) { blockRange in
            let lo = blockRange.lowerBound * 16, hi = min(c, blockRange.upperBound * 16)
            for b in 0..<batch {
                for t in 0..<time {
                    let row = b * time + t
                    let d = dout + row * c, w = dwte + Int(tokens[row]) * c, p = dwpe + t * c
                    var i = lo
                    while i + 16 <= hi {
                        let g = LayerVector.load(d + i)
                        LayerVector.store(LayerVector.load(w + i) + g, w + i)
                        LayerVector.store(LayerVector.load(p + i) + g, p + i)
                        i += 16
                    }
                    while i < hi { w[i] += d[i]; p[i] += d[i]; i += 1 }
                }
            }
        }
    }
}
