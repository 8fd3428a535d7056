import Foundation

/// Renders training and validation loss against the step as a small standalone SVG picture; a classifier's
/// validation macro F1, when the records hold it, on a second axis (0 to 1) at the right.
public enum LossCurveSVG {
    public struct Series {
        public var name: String
        public var color: String
        public var points: [(step: Int, loss: Double)]
        public init(name: String, color: String, points: [(step: Int, loss: Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    /// The picture of `metrics.jsonl` records: train loss (blue) and validation loss (orange), and a classifier's
    /// validation macro F1 (green, right-hand axis).
    public static func render(records: [MetricsRecord], title: String) -> String {
        let train = records.compactMap { r in r.trainLoss.map { (r.step, $0) } }.filter { $0.1.isFinite }
        let val = records.compactMap { r in r.valLoss.map { (r.step, $0) } }.filter { $0.1.isFinite }
        let f1 = records.compactMap { r in r.extra?["macro_f1"].map { (r.step, $0) } }.filter { $0.1.isFinite }
        return render(series: [Series(name: "train", color: "#1f77b4", points: train),
                               Series(name: "validation", color: "#ff7f0e", points: val)],
                      rightAxis: f1.isEmpty ? nil : Series(name: "validation macro F1", color: "#2ca02c", points: f1),
                      title: title)
    }

    /// `series` against the loss axis at the left; `rightAxis`, a score in [0, 1], against its own axis at the right.
    public static func render(series: [Series], rightAxis: Series? = nil, title: String, width: Double = 720,
                              height: Double = 420) -> String {
        let left = 64.0, right = rightAxis == nil ? 20.0 : 56.0, top = 36.0, bottom = 48.0
        let plotW = width - left - right, plotH = height - top - bottom
        let all = series.flatMap(\.points) + (rightAxis?.points ?? [])
        let minStep = Double(all.map(\.step).min() ?? 0), maxStep = Double(all.map(\.step).max() ?? 1)
        let losses = series.flatMap(\.points)
        var lo = losses.map(\.loss).min() ?? 0, hi = losses.map(\.loss).max() ?? 1
        if hi - lo < 1e-9 { lo -= 0.5; hi += 0.5 }
        let pad = (hi - lo) * 0.05
        lo -= pad; hi += pad
        let stepSpan = max(maxStep - minStep, 1)
        func x(_ step: Int) -> Double { left + (Double(step) - minStep) / stepSpan * plotW }
        func y(_ loss: Double) -> Double { top + (hi - loss) / (hi - lo) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
        viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(f(width / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>

        """
        // Grid lines and labels at round values (steps of 1, 2 or 5 times a power of ten, about five an axis).
        let lossStep = tickStep(span: hi - lo)
        let decimals = max(0, Int(-floor(log10(lossStep) + 1e-9)))   // 0.5 -> 1, 0.05 -> 2, 2 -> 0
        for loss in ticks(from: lo, to: hi, step: lossStep) {
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y(loss)))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y(loss)))\" stroke=\"#ddd\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(loss) + 4))\" text-anchor=\"end\">\(String(format: "%.\(decimals)f", loss))</text>\n"
        }
        for step in ticks(from: minStep, to: maxStep, step: max(1, tickStep(span: stepSpan))) {
            svg += "<text x=\"\(f(x(Int(step))))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(Int(step))</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
        svg += "<text x=\"\(f(left + plotW / 2))\" y=\"\(f(height - 10))\" text-anchor=\"middle\">step</text>\n"
        svg += "<text transform=\"translate(16 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">loss</text>\n"
        // The score axis: 0 at the bottom of the plot, 1 at the top.
        func yScore(_ score: Double) -> Double { top + (1 - score) * plotH }
        if let rightAxis {
            for score in stride(from: 0.0, through: 1.0, by: 0.2) {
                svg += "<text x=\"\(f(left + plotW + 6))\" y=\"\(f(yScore(score) + 4))\">\(String(format: "%.1f", score))</text>\n"
            }
            svg += "<text transform=\"translate(\(f(width - 12)) \(f(top + plotH / 2))) rotate(90)\" text-anchor=\"middle\">"
                + "\(escape(rightAxis.name))</text>\n"
        }
        let drawn = series.map { ($0, y) } + (rightAxis.map { [($0, yScore)] } ?? [])
        for (index, (s, yOf)) in drawn.enumerated() where !s.points.isEmpty {
            let path = s.points.map { "\(f(x($0.step))),\(f(yOf($0.loss)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\" points=\"\(path)\"/>\n"
            if s.points.count == 1, let p = s.points.first {
                svg += "<circle cx=\"\(f(x(p.step)))\" cy=\"\(f(yOf(p.loss)))\" r=\"3\" fill=\"\(s.color)\"/>\n"
            }
            let legendY = top + 16 + Double(index) * 16
            let legendX = left + plotW - (rightAxis == nil ? 120 : 160)   // room for "validation macro F1"
            svg += "<line x1=\"\(f(legendX))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(legendX + 20))\" y2=\"\(f(legendY - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(f(legendX + 26))\" y=\"\(f(legendY))\">\(escape(s.name))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// A round spacing for about five ticks over `span`: 1, 2 or 5 times a power of ten.
    static func tickStep(span: Double) -> Double {
        let rough = max(span, 1e-12) / 5
        let magnitude = pow(10, floor(log10(rough)))
        let residual = rough / magnitude
        return magnitude * (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1)
    }

    /// The multiples of `step` in [lo, hi].
    static func ticks(from lo: Double, to hi: Double, step: Double) -> [Double] {
        var values: [Double] = []
        var k = (lo / step).rounded(.up)
        while k * step <= hi + step * 1e-9 {
            values.append(k * step)
            k += 1
        }
        return values
    }

    /// Text as XML character data: &, < and > escaped, and the control characters XML 1.0 forbids even as
    /// references (a run directory's name may hold one) shown as U+FFFD.
    static func escape(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default: out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF ? "\u{FFFD}" : scalar)
            }
        }
        return out
    }
}
