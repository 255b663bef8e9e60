import Foundation

/// Each host's utilisation over time as a heatmap drawn on the server: a row per host and metric (CPU, memory, GPU and
/// GPU memory, as the agents sample them in percent), a column per time slice, darker for busier. A slice is the mean
/// of the points it is given: for a long series, each chart column's lowest and highest.
enum UtilisationHeatmap {
    struct Series {
        var metric: String
        var host: String
        var points: [(Date, Double)]
    }

    static let columns = 60
    static let cell = (width: 10.0, height: 16.0)
    static let labelWidth = 210.0

    /// The SVG, or nil without a sample.
    static func render(_ series: [Series]) -> String? {
        let rows = series.filter { !$0.points.isEmpty }.sorted { ($0.host, $0.metric) < ($1.host, $1.metric) }
        let times = rows.flatMap { $0.points.map { $0.0.timeIntervalSince1970 } }
        guard let start = times.min(), let end = times.max() else { return nil }
        let span = max(end - start, 1)
        let width = labelWidth + Double(columns) * cell.width
        let height = Double(rows.count) * cell.height + 18
        var parts: [String] = []
        for (index, row) in rows.enumerated() {
            let y = Double(index) * cell.height
            parts.append(#"<text x="0" y="\#(y + 12)" font-size="11">\#(SVGChart.escape("\(row.host) \(row.metric)"))</text>"#)
            // The mean of each time slice's samples.
            var sums = [Double](repeating: 0, count: columns)
            var counts = [Int](repeating: 0, count: columns)
            for (time, value) in row.points where value.isFinite {
                let column = min(columns - 1, Int((time.timeIntervalSince1970 - start) / span * Double(columns)))
                sums[column] += value
                counts[column] += 1
            }
            for column in 0..<columns where counts[column] > 0 {
                let mean = sums[column] / Double(counts[column])
                // Percent of one core or of the memory; a multi-core process can pass 100 %.
                let level = max(0, min(1, mean / 100))
                let x = labelWidth + Double(column) * cell.width
                parts.append(
                    String(
                        format: #"<rect class="cell" x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="rgb(%d,%d,%d)"><title>%@</title></rect>"#, x, y,
                        cell.width - 1, cell.height - 2, Int(239 - 200 * level), Int(246 - 150 * level), 255 - Int(20 * level),
                        SVGChart.escape(String(format: "%@ %@: %.1f %%", row.host, row.metric, mean))))
            }
        }
        parts.append(
            #"<text x="\#(labelWidth)" y="\#(height - 4)" font-size="10">\#(Dashboard.time(Date(timeIntervalSince1970: start))) … \#(Dashboard.time(Date(timeIntervalSince1970: end)))</text>"#
        )
        return #"<svg class="heatmap" role="img" aria-label="utilisation per host" viewBox="0 0 \#(Int(width)) \#(Int(height))" width="\#(Int(width))" height="\#(Int(height))" data-rows="\#(rows.count)">"#
            + parts.joined() + "</svg>"
    }
}
