import Foundation
import Testing

@testable import TrainyardServer

/// The dashboard's server-drawn pictures on their own: a chart of any length stays a chart of the series' shape, and the
/// heatmap has a row per host and series, GPUs included.
@Suite struct DashboardRenderingTests {
    static let start = Date(timeIntervalSince1970: 1_764_000_000)

    static func attribute(_ name: String, in svg: String) -> Int? {
        guard let range = svg.range(of: "\(name)=\"") else { return nil }
        return Int(svg[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test func aShortSeriesIsDrawnPointByPointWithItsValues() {
        let points = (0..<5).map { SVGChart.Point(time: Self.start.addingTimeInterval(Double($0)), value: 1 / Double($0 + 1)) }
        let svg = SVGChart().render(points, label: "loss · algo-1")
        #expect(Self.attribute("data-points", in: svg) == 5 && Self.attribute("data-drawn", in: svg) == 5)
        #expect(svg.components(separatedBy: "<circle").count - 1 == 5)
        #expect(svg.contains("<title>0.2</title>") && svg.contains(#"aria-label="loss · algo-1""#))
        #expect(SVGChart().render([], label: "none").isEmpty)
    }

    /// A long series comes as each column's lowest and highest (LogRepository.metricOverview): drawn as a line without
    /// circles, it says how many points the series has, and its spike sets the value range.
    @Test func aLongSeriesIsALineThatSaysHowManyPointsItHas() {
        let chart = SVGChart()
        var points = (0..<(2 * chart.columns)).map { SVGChart.Point(time: Self.start.addingTimeInterval(Double($0) * 170), value: 1 + Double($0 % 7) / 100) }
        points[600].value = 50
        points[601].value = -3
        let svg = chart.render(points, label: "loss", count: 200_000)
        #expect(Self.attribute("data-points", in: svg) == 200_000 && Self.attribute("data-drawn", in: svg) == 2 * chart.columns)
        #expect(!svg.contains("<circle"))
        #expect(svg.contains(#"font-size="10">50</text>"#) && svg.contains(#"font-size="10">-3</text>"#))
        #expect(svg.contains(String(format: ",%.1f", chart.padding)) && svg.contains(String(format: ",%.1f", chart.height - chart.padding)))
    }

    @Test func theHeatmapHasARowPerHostAndSeriesGPUsIncludedDarkerWhenBusier() throws {
        func series(_ metric: String, _ host: String, _ value: Double) -> UtilisationHeatmap.Series {
            .init(metric: metric, host: host, points: (0..<10).map { (Self.start.addingTimeInterval(Double($0) * 5), value) })
        }
        let svg = try #require(
            UtilisationHeatmap.render([
                series("CPUUtilization", "algo-1", 100), series("GPUUtilization", "algo-1", 95), series("GPUMemoryUtilization", "algo-1", 40),
                series("CPUUtilization", "algo-2", 5), .init(metric: "MemoryUtilization", host: "algo-2", points: []),
            ]))
        #expect(Self.attribute("data-rows", in: svg) == 4, "a series without a sample has no row")
        for label in ["algo-1 CPUUtilization", "algo-1 GPUUtilization", "algo-1 GPUMemoryUtilization", "algo-2 CPUUtilization"] {
            #expect(svg.contains(">\(label)</text>"), "\(label)")
        }
        #expect(svg.contains("algo-1 GPUUtilization: 95.0 %") && svg.contains("algo-2 CPUUtilization: 5.0 %"))
        // busier is darker: full use is the darkest blue, 5 % nearly white
        #expect(svg.contains(#"fill="rgb(39,96,235)"><title>algo-1 CPUUtilization: 100.0 %"#), "\(svg)")
        #expect(svg.contains(#"fill="rgb(229,238,254)"><title>algo-2 CPUUtilization: 5.0 %"#), "\(svg)")
        #expect(UtilisationHeatmap.render([.init(metric: "CPUUtilization", host: "algo-1", points: [])]) == nil)
    }
}
