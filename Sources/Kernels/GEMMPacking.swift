/// Packing of the GEMM operands into the contiguous micro-panels the micro-kernel reads. Transposes are
/// handled here, by the order in which the source is read; no transposed copy of a matrix is ever made.
enum GEMMPacking {
    /// Packs op(A)[i0 ..< i0+rows, p0 ..< p0+kc] as ceil(rows / MR) panels of kc x MR floats:
    /// dst[panel*kc*MR + p*MR + i] = op(A)[i0 + panel*MR + i, p0 + p]; rows past `rows` are zero.
    /// op(A)[i, p] = a[i*lda + p], or with `transposed` (A stored [k, m]) a[p*lda + i].
    static func packA(_ a: UnsafePointer<Float>, lda: Int, transposed: Bool, i0: Int, rows: Int,
                      p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
        let mr = GEMMMicroKernel.mr
        var out = dst
        var i = 0
        while i < rows {
            let height = min(mr, rows - i)
            if transposed {
                // Each step p reads `height` contiguous floats of row p0+p of the stored [k, m] matrix.
                var src = a + p0 * lda + i0 + i
                if height == mr {
                    // 6 floats a step, as a 4-float and a 2-float vector move (not 6 scalar ones).
                    for _ in 0..<kc {
                        let from = UnsafeRawPointer(src), to = UnsafeMutableRawPointer(out)
                        to.storeBytes(of: from.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                        to.storeBytes(of: from.loadUnaligned(fromByteOffset: 16, as: SIMD2<Float>.self),
                                      toByteOffset: 16, as: SIMD2<Float>.self)
                        out += mr; src += lda
                    }
                } else {
                    for _ in 0..<kc {
                        for r in 0..<mr { out[r] = r < height ? src[r] : 0 }
                        out += mr; src += lda
                    }
                }
            } else {
                // MR row streams of the stored [m, k] matrix, interleaved.
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
                // Row j of the stored [n, k] matrix is column j of op(B): read it contiguously, write with stride NR.
                for j in 0..<width {
                    let src = b + (j0 + jStart + j) * ldb + p0
                    var o = out + j
                    for p in 0..<kc { o.pointee = src[p]; o += nr }
                }
                if width < nr {
                    for p in 0..<kc { for j in width..<nr { out[p * nr + j] = 0 } }
                }
            } else {
                var src = b + p0 * ldb + j0 + jStart
                if width == nr {
                    var o = UnsafeMutableRawPointer(out)
                    for _ in 0..<kc {
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
}
