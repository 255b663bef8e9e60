import Foundation
import Testing

@testable import TrainyardCore

@Suite struct JobNameTests {
    static let pattern = FullMatchPattern("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")!
    /// 2026-11-25 09:31:12.345 UTC
    static let now = Date(timeIntervalSince1970: 1_795_599_072.345)

    @Test func aGeneratedNameCarriesAMillisecondTimestampAndASuffix() {
        // when
        let name = JobName.generate(now: Self.now)
        // then
        #expect(name.hasPrefix("job-2026-11-25-09-31-12-345-"))
        #expect(name.count == "job-2026-11-25-09-31-12-345-".count + 4)
        #expect(Self.pattern.matches(name))
    }

    @Test(arguments: ["job", "resnet", "my_model.v2", "--x--", "", "ünïcode", String(repeating: "long-prefix", count: 10)])
    func generatedNamesAlwaysMatchTheNamePattern(_ prefix: String) {
        let name = JobName.generate(prefix: prefix, now: Self.now)
        #expect(Self.pattern.matches(name), "\(name)")
        #expect((1...63).contains(name.count))
        #expect(JobSpecValidator(catalog: .standard).validate(JobSpec(name: name, command: ["true"], instanceType: "ml.m5.large")) == [])
    }

    @Test func anInvalidPrefixIsCleanedUp() {
        #expect(JobName.generate(prefix: "my_model.v2", now: Self.now).hasPrefix("my-model-v2-2026-"))
        #expect(JobName.generate(prefix: "", now: Self.now).hasPrefix("job-2026-"))
    }

    @Test func twoNamesInTheSameMillisecondDiffer() {
        let names = Set((0..<20).map { _ in JobName.generate(now: Self.now) })
        #expect(names.count > 1)
    }
}
