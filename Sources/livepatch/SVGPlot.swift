import Foundation

/// Minimal SVG charts for the report: no plotting package is available
/// offline, and two charts need little more than scaled polylines.
enum SVGPlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]
    static let width = 720.0, height = 420.0
    static let left = 70.0, right = 170.0, top = 40.0, bottom = 50.0

    struct Series {
        let name: String
        let points: [(x: Double, y: Double)]
    }

    /// Lines on log-log axes (thread counts and latencies span decades).
    static func logLines(title: String, xLabel: String, yLabel: String, series: [Series]) -> String {
        let xs = series.flatMap { $0.points.map(\.x) }.filter { $0 > 0 }
        let ys = series.flatMap { $0.points.map(\.y) }.filter { $0 > 0 }
        guard let xMin = xs.min(), let xMax = xs.max(), let yMinRaw = ys.min(), let yMaxRaw = ys.max() else {
            return frame(title: title, body: "")
        }
        let yMin = pow(10, floor(log10(yMinRaw))), yMax = pow(10, ceil(log10(yMaxRaw)))
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double {
            xMax == xMin ? left + plotW / 2 : left + (log10(x) - log10(xMin)) / (log10(xMax) - log10(xMin)) * plotW
        }
        func py(_ y: Double) -> Double {
            top + plotH - (log10(max(y, yMin)) - log10(yMin)) / (log10(yMax) - log10(yMin)) * plotH
        }
        var body = axes(xLabel: xLabel, yLabel: yLabel)
        var decade = yMin
        while decade <= yMax * 1.0001 {
            body += line(left, py(decade), left + plotW, py(decade), stroke: "#dddddd")
            body += text(left - 6, py(decade) + 4, format(decade), anchor: "end")
            decade *= 10
        }
        for x in Set(xs).sorted() { body += text(px(x), top + plotH + 18, format(x), anchor: "middle") }
        for (i, s) in series.enumerated() {
            let color = palette[i % palette.count]
            let pts = s.points.filter { $0.x > 0 && $0.y > 0 }.map { "\(r(px($0.x))),\(r(py($0.y)))" }
            body += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts.joined(separator: " "))\"/>\n"
            for p in s.points where p.x > 0 && p.y > 0 {
                body += "<circle cx=\"\(r(px(p.x)))\" cy=\"\(r(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>\n"
            }
            body += legend(i, s.name, color)
        }
        return frame(title: title, body: body)
    }

    /// A bar and its error bar (a confidence interval around `value`).
    struct Bar {
        let label: String
        let value: Double, low: Double, high: Double
    }

    /// Horizontal bars with error bars, a value axis with ticks, and a
    /// dashed reference line (the floor, at 1.0).
    static func bars(title: String, xLabel: String, items: [Bar], reference: Double, referenceLabel: String) -> String {
        let maxV = max(items.map { max($0.value, $0.high) }.filter(\.isFinite).max() ?? 1, reference)
        let step = tickStep(maxV)
        let axisMax = (maxV / step).rounded(.up) * step
        // Labels are long ("lp_func_enter+exit, in transition, HIRAMATSU"):
        // about 6.5 px a character at 12 px sans-serif.
        let labelW = 20 + 6.5 * Double(items.map(\.label.count).max() ?? 10)
        let plotW = width - 60
        let barH = 18.0, gap = 6.0
        let axisY = top + Double(items.count) * (barH + gap)
        let h = axisY + bottom + 20
        func px(_ v: Double) -> Double { labelW + min(max(v, 0), axisMax) / axisMax * plotW }
        let totalW = labelW + plotW + 60
        var body = ""
        var tick = 0.0
        while tick <= axisMax * 1.0001 {
            body += line(px(tick), top - 4, px(tick), axisY, stroke: "#e5e5e5")
            body += line(px(tick), axisY, px(tick), axisY + 5, stroke: "black")
            body += text(px(tick), axisY + 18, format(tick), anchor: "middle")
            tick += step
        }
        body += line(labelW, axisY, labelW + plotW, axisY, stroke: "black")
        for (i, item) in items.enumerated() where item.value.isFinite {
            let y = top + Double(i) * (barH + gap), mid = y + barH / 2
            body += text(labelW - 8, y + barH - 5, item.label, anchor: "end")
            body += "<rect x=\"\(r(labelW))\" y=\"\(r(y))\" width=\"\(r(px(item.value) - labelW))\" height=\"\(r(barH))\" fill=\"\(palette[0])\"/>\n"
            body += line(px(item.low), mid, px(item.high), mid, stroke: "black")
            body += line(px(item.low), mid - 5, px(item.low), mid + 5, stroke: "black")
            body += line(px(item.high), mid - 5, px(item.high), mid + 5, stroke: "black")
            body += text(px(item.high) + 5, y + barH - 5, String(format: "%.2f", item.value), anchor: "start")
        }
        body += "<line x1=\"\(r(px(reference)))\" y1=\"\(r(top - 6))\" x2=\"\(r(px(reference)))\" y2=\"\(r(axisY))\" "
            + "stroke=\"#d62728\" stroke-width=\"1.5\" stroke-dasharray=\"6,4\"/>\n"
        body += text(px(reference) + 4, top - 8, referenceLabel, anchor: "start")
        body += text(labelW + plotW / 2, h - 10, xLabel, anchor: "middle")
        return frame(title: title, body: body, width: totalW, height: h)
    }

    /// 1, 2 or 5 times a power of ten: about 5 to 10 ticks up to `maxV`.
    static func tickStep(_ maxV: Double) -> Double {
        let raw = maxV / 6, magnitude = pow(10, floor(log10(raw)))
        return [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    }

    // MARK: - pieces

    static func frame(title: String, body: String, width w: Double = width, height h: Double = height) -> String {
        """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(w))" height="\(Int(h))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(r(w / 2))" y="22" text-anchor="middle" font-size="15">\(escape(title))</text>
        \(body)</svg>

        """
    }

    static func axes(xLabel: String, yLabel: String) -> String {
        let plotH = height - top - bottom
        return line(left, top, left, top + plotH, stroke: "black")
            + line(left, top + plotH, width - right, top + plotH, stroke: "black")
            + text((left + width - right) / 2, height - 12, xLabel, anchor: "middle")
            + "<text transform=\"translate(16,\(r(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
    }

    static func legend(_ i: Int, _ name: String, _ color: String) -> String {
        let y = top + 10 + Double(i) * 18
        return line(width - right + 12, y - 4, width - right + 32, y - 4, stroke: color, widthPx: 3)
            + text(width - right + 38, y, name, anchor: "start")
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, widthPx: Double = 1) -> String {
        "<line x1=\"\(r(x1))\" y1=\"\(r(y1))\" x2=\"\(r(x2))\" y2=\"\(r(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(widthPx)\"/>\n"
    }

    static func text(_ x: Double, _ y: Double, _ s: String, anchor: String) -> String {
        "<text x=\"\(r(x))\" y=\"\(r(y))\" text-anchor=\"\(anchor)\">\(escape(s))</text>\n"
    }

    static func r(_ v: Double) -> String { String(format: "%.1f", v) }

    static func format(_ v: Double) -> String {
        v >= 1 && v == v.rounded() ? String(Int(v)) : String(format: "%g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
