/// Packing of the GEMM operands into the contiguous micro-panels the micro-kernel reads. Transposes are
/// handled here, by the order in which the source is read; no transposed copy of a matrix is ever made.
enum GEMMPacking {
    /// Packs op(A)[i0 ..< i0+rows, p0 ..< p0+kc] as ceil(rows / MR) panels of kc x MR floats:
    /// dst[panel*kc*MR + p*MR + i] = op(A)[i0 + panel*MR + i, p0 + p]; rows past `rows` are zero.
    /// op(A)[i, p] = a[i*lda + p], or with `transposed` (A stored [k, m]) a[p*lda + i].
    static func packA(_ a: UnsafePointer<Float>, lda: Int, transposed: Bool, i0: Int, rows: Int,
                      p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
        let mr = GEMMMicroKernel.mr
        if transposed {
            // Row by row: each step p reads `rows` contiguous floats of row p0+p of the stored [k, m] matrix
            // once and deals them out to the panels. (Panel by panel, each cache line was read up to 3 times,
            // and with a power-of-two row stride the lines one panel reads all fall in the same few L1 sets.)
            let fullPanels = rows / mr, rest = rows % mr
            // Panels whose 6 floats can move as one 8-float vector: the 2 floats past them are still inside the
            // packed rows (so the load stays in bounds), and land in the panel's slot for step p + 1, which that
            // step then rewrites (so not on the last step). The rest move as a 4-float and a 2-float vector.
            let widePanels = rows >= 8 ? min(fullPanels, (rows - 8) / mr + 1) : 0
            for p in 0..<kc {
                let src = a + (p0 + p) * lda + i0
                // The stored rows are activations the forward wrote long before (L3): fetch 8 rows ahead.
                if p + 8 < kc { LayerVector.prefetch(src + 8 * lda, count: rows) }
                var out = dst + p * mr
                let wide = p + 1 < kc ? widePanels : 0
                for panel in 0..<wide {
                    let eight = UnsafeRawPointer(src + panel * mr).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(out).storeBytes(of: eight, as: SIMD8<Float>.self)
                    out += kc * mr
                }
                for panel in wide..<fullPanels {
                    let from = UnsafeRawPointer(src + panel * mr), to = UnsafeMutableRawPointer(out)
                    to.storeBytes(of: from.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                    to.storeBytes(of: from.loadUnaligned(fromByteOffset: 16, as: SIMD2<Float>.self),
                                  toByteOffset: 16, as: SIMD2<Float>.self)
                    out += kc * mr
                }
                if rest > 0 {
                    for r in 0..<mr { out[r] = r < rest ? src[fullPanels * mr + r] : 0 }
                }
            }
            return
        }
        // MR row streams of the stored [m, k] matrix, interleaved.
        var out = dst
        var i = 0
        while i < rows {
            let height = min(mr, rows - i)
            let base = a + (i0 + i) * lda + p0
            if height == mr {
                let r0 = base, r1 = base + lda, r2 = base + 2 * lda
                let r3 = base + 3 * lda, r4 = base + 4 * lda, r5 = base + 5 * lda
                for p in 0..<kc {
                    out[0] = r0[p]; out[1] = r1[p]; out[2] = r2[p]
                    out[3] = r3[p]; out[4] = r4[p]; out[5] = r5[p]
                    out += mr
                }
            } else {
                for p in 0..<kc {
                    for r in 0..<mr { out[r] = r < height ? base[r * lda + p] : 0 }
                    out += mr
                }
            }
            i += mr
        }
    }

    /// Packs panels `panels` (NR = `nr`, 16 or 32, wide) of op(B)[p0 ..< p0+kc, j0 ..< j0+columns], each kc x NR floats:
    /// dst[panel*kc*NR + p*NR + j] = op(B)[p0 + p, j0 + panel*NR + j]; columns past `columns` are zero.
    /// op(B)[p, j] = b[p*ldb + j], or with `transposed` (B stored [n, k]) b[j*ldb + p].
    static func packB(_ b: UnsafePointer<Float>, ldb: Int, transposed: Bool, nr: Int, p0: Int, kc: Int,
                      j0: Int, columns: Int, panels: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        for panel in panels {
            let out = dst + panel * kc * nr
            let jStart = panel * nr
            let width = min(nr, columns - jStart)
            if transposed {
                // Row j of the stored [n, k] matrix is column j of op(B). Blocks of 8 rows x 8 steps are loaded
                // as 8 vectors, transposed in registers and stored as 8 vectors; the rest is moved one float at
                // a time, reading rows contiguously and writing with stride NR.
                let fullBlocks = width / 8, blockedSteps = kc / 8 * 8
                for block in 0..<fullBlocks {
                    let src = b + (j0 + jStart + block * 8) * ldb + p0
                    var p = 0
                    while p < blockedSteps {
                        transposeBlock8(from: src + p, stride: ldb, to: out + p * nr + block * 8, outStride: nr)
                        p += 8
                    }
                }
                for j in 0..<width {
                    let src = b + (j0 + jStart + j) * ldb + p0
                    let firstStep = j < fullBlocks * 8 ? blockedSteps : 0
                    var o = out + firstStep * nr + j
                    for p in firstStep..<kc { o.pointee = src[p]; o += nr }
                }
                if width < nr {
                    for p in 0..<kc { for j in width..<nr { out[p * nr + j] = 0 } }
                }
            } else {
                var src = b + p0 * ldb + j0 + jStart
                if width == nr {
                    var o = UnsafeMutableRawPointer(out)
                    for p in 0..<kc {
                        // Rows of B are ldb apart (the weights, last written by AdamW, come from L3): fetch the
                        // panel's row 8 steps ahead.
                        if p + 8 < kc { LayerVector.prefetch(src + 8 * ldb, count: nr) }
                        let raw = UnsafeRawPointer(src)
                        for v in 0..<(nr / 16) {
                            o.storeBytes(of: raw.loadUnaligned(fromByteOffset: v * 64, as: SIMD16<Float>.self),
                                         toByteOffset: v * 64, as: SIMD16<Float>.self)
                        }
                        o += nr * 4; src += ldb
                    }
                } else {
                    for p in 0..<kc {
                        for j in 0..<nr { out[p * nr + j] = j < width ? src[j] : 0 }
                        src += ldb
                    }
                }
            }
        }
    }

    /// out[c * outStride + r] = src[r * stride + c] for r, c in 0..<8: an 8 x 8 transpose through registers.
    ///
    /// Read the 64 floats as one vector, element (r, c) at index 8r + c, whose six bits are r2 r1 r0 c2 c1 c0.
    /// One round puts the even-indexed elements first, then the odd ones: the element at index x moves to x / 2
    /// or 32 + x / 2, a rotation of the six bits right by one. Three rounds give c2 c1 c0 r2 r1 r0, the
    /// transpose. In eight-float rows a round is: new row q < 4 = the even elements of rows 2q, 2q + 1, new row
    /// q + 4 = their odd elements (a two-source permute each, `vpermt2ps`). Building the columns from 64 single
    /// elements instead made LLVM emit scalar broadcasts and blends, 1.4 times slower in L1 (session 23).
    @inline(__always)
    static func transposeBlock8(from src: UnsafePointer<Float>, stride: Int, to out: UnsafeMutablePointer<Float>,
                                outStride: Int) {
        let raw = UnsafeRawPointer(src)
        var r0 = raw.loadUnaligned(as: SIMD8<Float>.self)
        var r1 = raw.loadUnaligned(fromByteOffset: 4 * stride, as: SIMD8<Float>.self)
        var r2 = raw.loadUnaligned(fromByteOffset: 8 * stride, as: SIMD8<Float>.self)
        var r3 = raw.loadUnaligned(fromByteOffset: 12 * stride, as: SIMD8<Float>.self)
        var r4 = raw.loadUnaligned(fromByteOffset: 16 * stride, as: SIMD8<Float>.self)
        var r5 = raw.loadUnaligned(fromByteOffset: 20 * stride, as: SIMD8<Float>.self)
        var r6 = raw.loadUnaligned(fromByteOffset: 24 * stride, as: SIMD8<Float>.self)
        var r7 = raw.loadUnaligned(fromByteOffset: 28 * stride, as: SIMD8<Float>.self)
        for _ in 0..<3 {
            let p0 = SIMD16(lowHalf: r0, highHalf: r1), p1 = SIMD16(lowHalf: r2, highHalf: r3)
            let p2 = SIMD16(lowHalf: r4, highHalf: r5), p3 = SIMD16(lowHalf: r6, highHalf: r7)
            r0 = p0.evenHalf; r1 = p1.evenHalf; r2 = p2.evenHalf; r3 = p3.evenHalf
            r4 = p0.oddHalf; r5 = p1.oddHalf; r6 = p2.oddHalf; r7 = p3.oddHalf
        }
        let o = UnsafeMutableRawPointer(out)
        o.storeBytes(of: r0, as: SIMD8<Float>.self)
        o.storeBytes(of: r1, toByteOffset: 4 * outStride, as: SIMD8<Float>.self)
        o.storeBytes(of: r2, toByteOffset: 8 * outStride, as: SIMD8<Float>.self)
        o.storeBytes(of: r3, toByteOffset: 12 * outStride, as: SIMD8<Float>.self)
        o.storeBytes(of: r4, toByteOffset: 16 * outStride, as: SIMD8<Float>.self)
        o.storeBytes(of: r5, toByteOffset: 20 * outStride, as: SIMD8<Float>.self)
        o.storeBytes(of: r6, toByteOffset: 24 * outStride, as: SIMD8<Float>.self)
        o.storeBytes(of: r7, toByteOffset: 28 * outStride, as: SIMD8<Float>.self)
    }
}
