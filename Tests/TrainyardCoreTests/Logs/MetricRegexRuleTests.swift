import Foundation
import Testing

@testable import TrainyardCore

@Suite struct MetricRegexRuleTests {
    @Test(arguments: [
        "^(a|a)*$", "(a+)+$", "(a*)*", "((ab)*)+", "(\\d+\\.?)*x", "(?:x|y)+z", "(a{1,5}){2,}", "(.*){10}", "([0-9]+,?)+$",
    ])
    func aRepeatedGroupThatRepeatsOrAlternatesIsRefused(_ pattern: String) {
        #expect(MetricRegexRule.refusal(pattern) == MetricRegexRule.nestedMessage)
    }

    @Test(arguments: ["(\\w+) \\1", "(?<v>a)\\k<v>"])
    func aBackreferenceIsRefused(_ pattern: String) {
        #expect(MetricRegexRule.refusal(pattern) == MetricRegexRule.backreferenceMessage)
    }

    /// SageMaker's documented examples and the shapes users write.
    @Test(arguments: [
        "loss=([0-9.eE+-]+)", "Train_acc=(.*?);", "#quality_metric: host=\\S+, epoch=\\S+, train binary_classification_accuracy <score>=(\\S+)",
        "acc: ([0-9]+)%", "(train|val)_loss=([0-9.]+)", "[0-9]+(?= epochs done)", "(a+)?b", "\\Q(a+)+\\E", "[(a+)+]", "x{2}y", "(ab){3}",
        "\\(a+\\)+",
    ])
    func ordinaryMetricRegexesPass(_ pattern: String) {
        #expect(MetricRegexRule.refusal(pattern) == nil, "\(pattern)")
    }

    @Test func extractionStopsAtItsDeadlineAndSearchesOnlyTheLinesStart() {
        let slow = MetricExtractor([MetricDefinition(name: "slow", regex: ".*.*.*.*.*.*.*.*x=([0-9]+)")])
        let line = String(repeating: "a", count: 16_000)
        let result = slow.values(in: line, deadline: .now + .milliseconds(20))
        #expect(result.timedOut)
        #expect(result.values.isEmpty)
        // A value past the searched prefix is not seen.
        let fast = MetricExtractor([MetricDefinition(name: "loss", regex: "loss=([0-9]+)")])
        #expect(fast.values(in: String(repeating: " ", count: MetricExtractor.matchedPrefixLength) + "loss=3").values.isEmpty)
        #expect(fast.values(in: "loss=3").values.map(\.value) == [3])
    }

    @Test func theDepthGaugeCountsNestingOutsideStrings() {
        var gauge = JSONDepthGauge(limit: 3)
        let shallow = gauge.feed(Array(#"{"a":[["[[[[\"]]"]]}"#.utf8))
        #expect(shallow)
        var deep = JSONDepthGauge(limit: 3)
        let first = deep.feed(Array("[[".utf8))
        let second = deep.feed(Array("[{".utf8))
        #expect(first && !second)
    }

    @Test func priorityRangesFollowTheRole() {
        #expect(PriorityPolicy.range(role: .member, serviceAdmin: false) == -1000...0)
        #expect(PriorityPolicy.range(role: .admin, serviceAdmin: false) == -1000...100)
        #expect(PriorityPolicy.range(role: .admin, serviceAdmin: true) == -1000...1000)
        #expect(PriorityPolicy.violation(1, role: .member, serviceAdmin: false)?.rule == "range")
        #expect(PriorityPolicy.violation(5000, role: .member, serviceAdmin: false) == nil)  // the validator's range
    }
}
