import Foundation

/// A metric series drawn as an SVG line chart on the server: the page shows it without JavaScript.
struct SVGChart {
    struct Point {
        var time: Date
        var value: Double
    }

    var width = 640.0
    var height = 160.0
    var padding = 28.0

    /// Points drawn with a circle each (and their value as a tooltip); a longer series is a line alone.
    static let maximumDots = 200
    /// Pixel columns the line spans: the store keeps at most two points a column (``LogRepository/metricOverview(jobID:columns:)``).
    var columns: Int { Int(width - 2 * padding) }

    /// The chart's markup: the line, each point as a circle when there are few, the value range and the time range as
    /// labels. Nothing drawn for no point. `count`: how many points the series has, when `points` are fewer (each
    /// column's lowest and highest).
    func render(_ points: [Point], label: String, count: Int? = nil) -> String {
        guard let first = points.first else { return "" }
        let times = points.map { $0.time.timeIntervalSince1970 }
        let values = points.map(\.value).filter(\.isFinite)
        let (t0, t1) = (times.min() ?? 0, times.max() ?? 0)
        let (v0, v1) = (values.min() ?? 0, values.max() ?? 0)
        let spanT = t1 > t0 ? t1 - t0 : 1
        let spanV = v1 > v0 ? v1 - v0 : 1
        func x(_ t: Double) -> Double { padding + (t - t0) / spanT * (width - 2 * padding) }
        func y(_ v: Double) -> Double { height - padding - (v - v0) / spanV * (height - 2 * padding) }
        let drawn = points.filter { $0.value.isFinite }
        let path = drawn.map { String(format: "%.1f,%.1f", x($0.time.timeIntervalSince1970), y($0.value)) }.joined(separator: " ")
        let dots = drawn.count > Self.maximumDots ? "" : drawn.map { point in
            String(format: #"<circle class="point" cx="%.1f" cy="%.1f" r="2.5"><title>%@</title></circle>"#,
                   x(point.time.timeIntervalSince1970), y(point.value), Self.escape("\(point.value)"))
        }.joined()
        return """
            <svg class="chart" role="img" aria-label="\(Self.escape(label))" viewBox="0 0 \(Int(width)) \(Int(height))" width="\(Int(width))" height="\(Int(height))" data-points="\(count ?? drawn.count)" data-drawn="\(drawn.count)">\
            <polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="\(path)"/>\(dots)\
            <text x="2" y="\(Int(padding) - 10)" font-size="10">\(Self.escape(Self.number(v1)))</text>\
            <text x="2" y="\(Int(height) - 6)" font-size="10">\(Self.escape(Self.number(v0)))</text>\
            <text x="\(Int(width / 2))" y="\(Int(height) - 6)" font-size="10" text-anchor="middle">\(Self.escape(Dashboard.time(first.time))) … \(Self.escape(Dashboard.time(points.last?.time ?? first.time)))</text>\
            </svg>
            """
    }

    static func number(_ value: Double) -> String { value == value.rounded() && abs(value) < 1e12 ? String(Int(value)) : String(format: "%.4g", value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
