import Foundation

/// Renders training and validation loss against the step as a small standalone SVG picture.
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

    /// The picture of `metrics.jsonl` records: train loss (blue) and validation loss (orange).
    public static func render(records: [MetricsRecord], title: String) -> String {
        let train = records.compactMap { r in r.trainLoss.map { (r.step, $0) } }.filter { $0.1.isFinite }
        let val = records.compactMap { r in r.valLoss.map { (r.step, $0) } }.filter { $0.1.isFinite }
        return render(series: [Series(name: "train", color: "#1f77b4", points: train),
                               Series(name: "validation", color: "#ff7f0e", points: val)], title: title)
    }

    public static func render(series: [Series], title: String, width: Double = 720, height: Double = 420) -> String {
        let left = 64.0, right = 20.0, top = 36.0, bottom = 48.0
        let plotW = width - left - right, plotH = height - top - bottom
        let all = series.flatMap(\.points)
        let minStep = Double(all.map(\.step).min() ?? 0), maxStep = Double(all.map(\.step).max() ?? 1)
        var lo = all.map(\.loss).min() ?? 0, hi = all.map(\.loss).max() ?? 1
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
        for (index, s) in series.enumerated() where !s.points.isEmpty {
            let path = s.points.map { "\(f(x($0.step))),\(f(y($0.loss)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.6\" points=\"\(path)\"/>\n"
            if s.points.count == 1, let p = s.points.first {
                svg += "<circle cx=\"\(f(x(p.step)))\" cy=\"\(f(y(p.loss)))\" r=\"3\" fill=\"\(s.color)\"/>\n"
            }
            let legendY = top + 16 + Double(index) * 16
            svg += "<line x1=\"\(f(left + plotW - 120))\" y1=\"\(f(legendY - 4))\" x2=\"\(f(left + plotW - 100))\" y2=\"\(f(legendY - 4))\" stroke=\"\(s.color)\" stroke-width=\"2\"/>\n"
            svg += "<text x=\"\(f(left + plotW - 94))\" y=\"\(f(legendY))\">\(escape(s.name))</text>\n"
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

    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
