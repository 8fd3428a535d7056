/// The per-element check of a matrix product against Double (GEMMTests, PanelProductTests): element (i, j)
/// of `result` (rows m, leading dimension ld >= n) must satisfy Higham's dot-product bound (3.1)
///     |got - exact| <= gamma_(k+2) * (sum_p |term(i, j, p)| + |bias_j| + |old_ij|),  gamma_n = n u / (1 - n u),
/// u = 2^-24, the +2 covering the bias and the old value (`old`: the result before an accumulating product).
/// Columns n..<ld must still hold `sentinel`. Returns the number of elements that fail.
func productBoundViolations(_ result: [Float], rows m: Int, columns n: Int, ld: Int, k: Int, sentinel: Float,
                            bias: [Float]?, old: [Float]?, term: (_ i: Int, _ j: Int, _ p: Int) -> Double) -> Int {
    let u = Double(Float.ulpOfOne) / 2
    let gamma = Double(k + 2) * u / (1 - Double(k + 2) * u)
    var bad = 0
    for i in 0..<m {
        for j in 0..<ld {
            let got = result[i * ld + j]
            if j >= n {
                if got != sentinel { bad += 1 }
                continue
            }
            var exact = 0.0, magnitude = 0.0
            for p in 0..<k {
                let t = term(i, j, p)
                exact += t
                magnitude += abs(t)
            }
            if let bias { exact += Double(bias[j]); magnitude += abs(Double(bias[j])) }
            if let old { exact += Double(old[i * ld + j]); magnitude += abs(Double(old[i * ld + j])) }
            if !(abs(Double(got) - exact) <= gamma * magnitude) { bad += 1 }
        }
    }
    return bad
}
