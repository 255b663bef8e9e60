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
        #expect(JobSpecValidator(catalog: .standard, provisioner: ProvisionerCapabilities(name: "local")).validate(JobSpec(name: name, command: ["true"], instanceType: "ml.m5.large")) == [])
    }

    @Test func anInvalidPrefixIsCleanedUp() {
        #expect(JobName.generate(prefix: "my_model.v2", now: Self.now).hasPrefix("my-model-v2-2026-"))
        #expect(JobName.generate(prefix: "", now: Self.now).hasPrefix("job-2026-"))
    }

    @Test func twoNamesInTheSameMillisecondDiffer() {
        let names = Set((0..<20).map { _ in JobName.generate(now: Self.now) })
        #expect(names.count > 1)
    }

    @Test func theTimestampIsTheUTCCalendarDateAcrossLeapYearsAndCenturies() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // 1900 to 2400 in uneven steps (month ends, 29 February, 1900 and 2100 not leap, 2000 leap), plus exact edges.
        var instants: [Double] = [0, -1, 951_782_400, 951_868_800, 4_107_542_400, 1_795_599_072.345, 1_795_599_072.9996]
        var t = -2_208_988_800.0
        while t < 13_569_465_600 {
            instants.append(t)
            t += 7_777_777.123
        }
        for instant in instants {
            let date = Date(timeIntervalSince1970: instant)
            let milliseconds = (instant * 1000).rounded()
            let whole = Date(timeIntervalSince1970: (milliseconds / 1000).rounded(.down))
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: whole)
            let expected = String(
                format: "%04d-%02d-%02d-%02d-%02d-%02d-%03d", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!,
                Int(milliseconds - (milliseconds / 1000).rounded(.down) * 1000))
            #expect(JobName.timestamp(date) == expected, "at \(instant)")
        }
    }
}

@Suite struct CommandGroupRecordTests {
    @Test func theRecordRoundTripsAndOldFilesStillParse() {
        let record = CommandGroupRecord(processGroup: 4242, leaderStartTime: 987_654)
        #expect(CommandGroupRecord(text: record.text) == record)
        #expect(CommandGroupRecord(text: "4242\n") == CommandGroupRecord(processGroup: 4242, leaderStartTime: nil))
        #expect(CommandGroupRecord(text: "1\n") == nil)
        #expect(CommandGroupRecord(text: "") == nil)
    }

    @Test func statFieldsAreFoundPastACommandNameWithSpacesAndParentheses() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
        // priority nice threads itrealvalue starttime ...
        let line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 987654 1000 200"
        #expect(CommandGroupRecord.processGroup(statLine: line) == 4242)
        #expect(CommandGroupRecord.startTime(statLine: line) == 987_654)
    }
}
