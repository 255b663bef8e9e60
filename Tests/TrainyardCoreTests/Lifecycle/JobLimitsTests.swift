import Foundation
import Testing

@testable import TrainyardCore

/// `max_run` and `max_wait` as Core decides them from stored times.
@Suite struct JobLimitsTests {
    static let created = Date(timeIntervalSince1970: 1_790_000_000)

    @Test func maxWaitCountsFromCreationForSpotJobsOnly() {
        var spec = JobSpec(command: ["true"], instanceType: "ml.m5.large", instanceCount: 1, useSpotInstances: true, maxRun: 10, maxWait: 30)
        let limits = JobLimits(spec: spec, createdAt: Self.created)
        #expect(limits.passed(at: Self.created.addingTimeInterval(29.9), trainedSeconds: 0, trainingSince: nil) == nil)
        #expect(limits.passed(at: Self.created.addingTimeInterval(30), trainedSeconds: 0, trainingSince: nil) == .maxWait)
        #expect(limits.deadline(trainedSeconds: 0, trainingSince: nil) == Self.created.addingTimeInterval(30))
        spec.useSpotInstances = false
        let onDemand = JobLimits(spec: spec, createdAt: Self.created)
        #expect(onDemand.maxWaitSeconds == nil)
        #expect(onDemand.deadline(trainedSeconds: 0, trainingSince: nil) == nil)
        #expect(onDemand.passed(at: Self.created.addingTimeInterval(1e6), trainedSeconds: 0, trainingSince: nil) == nil)
    }

    @Test func maxRunCountsTrainingTimeOverAttempts() {
        let limits = JobLimits(maxRunSeconds: 100, maxWaitSeconds: nil, createdAt: Self.created)
        let since = Self.created.addingTimeInterval(500)
        // 40 s trained in earlier attempts: the live one may train 60 s more
        #expect(limits.deadline(trainedSeconds: 40, trainingSince: since) == since.addingTimeInterval(60))
        #expect(limits.passed(at: since.addingTimeInterval(60), trainedSeconds: 40, trainingSince: since) == nil)
        #expect(limits.passed(at: since.addingTimeInterval(60.5), trainedSeconds: 40, trainingSince: since) == .maxRun)
        // waiting does not count against max_run
        #expect(limits.deadline(trainedSeconds: 40, trainingSince: nil) == nil)
        #expect(limits.passed(at: since.addingTimeInterval(1e6), trainedSeconds: 40, trainingSince: nil) == nil)
        // an attempt that ended past it leaves a job due at once
        #expect(limits.deadline(trainedSeconds: 101, trainingSince: nil) == Self.created)
        #expect(limits.passed(at: since, trainedSeconds: 101, trainingSince: nil) == .maxRun)
    }

    @Test func theEarlierLimitSetsTheDeadlineAndMaxRunIsJudgedFirst() {
        let limits = JobLimits(maxRunSeconds: 100, maxWaitSeconds: 300, createdAt: Self.created)
        let since = Self.created.addingTimeInterval(250)
        #expect(limits.deadline(trainedSeconds: 0, trainingSince: since) == Self.created.addingTimeInterval(300))
        #expect(limits.deadline(trainedSeconds: 0, trainingSince: Self.created) == Self.created.addingTimeInterval(100))
        #expect(limits.passed(at: Self.created.addingTimeInterval(400), trainedSeconds: 0, trainingSince: Self.created) == .maxRun)
        #expect(JobLimits.Kind.maxRun.stopReason == .maxRuntime && JobLimits.Kind.maxWait.stopReason == .maxWait)
    }

    @Test func maxPendingCountsTheWaitsForCapacitySummedAndNothingWhileAnAttemptIsOpen() {
        let spec = JobSpec(command: ["true"], instanceType: "ml.m5.large", maxRun: 1000, maxPending: 60)
        let limits = JobLimits(spec: spec, createdAt: Self.created)
        #expect(limits.maxPendingSeconds == 60 && limits.maxWaitSeconds == nil)
        // Just submitted: due 60 s after creation.
        #expect(limits.deadline(trainedSeconds: 0, trainingSince: nil, waits: .submitted(at: Self.created)) == Self.created.addingTimeInterval(60))
        #expect(limits.passed(at: Self.created.addingTimeInterval(59), trainedSeconds: 0, trainingSince: nil, waits: .submitted(at: Self.created)) == nil)
        #expect(limits.passed(at: Self.created.addingTimeInterval(60), trainedSeconds: 0, trainingSince: nil, waits: .submitted(at: Self.created)) == .maxPending)
        // Waited 40 s before its first attempt (started at +40, ended at +100), waiting again since: 20 s are left.
        let attempts: [(startedAt: Date, endedAt: Date?)] = [(Self.created.addingTimeInterval(40), Self.created.addingTimeInterval(100))]
        let again = CapacityWaits.of(createdAt: Self.created, attempts: attempts)
        #expect(again == CapacityWaits(waitedSeconds: 40, waitingSince: Self.created.addingTimeInterval(100)))
        #expect(limits.deadline(trainedSeconds: 60, trainingSince: nil, waits: again) == Self.created.addingTimeInterval(120))
        // An attempt open: no wait goes on, and max_pending cannot pass however long ago the job was created.
        let open = CapacityWaits.of(createdAt: Self.created, attempts: attempts + [(Self.created.addingTimeInterval(110), nil)])
        #expect(open == CapacityWaits(waitedSeconds: 50, waitingSince: nil))
        #expect(limits.passed(at: Self.created.addingTimeInterval(1e5), trainedSeconds: 0, trainingSince: nil, waits: open) == nil)
        #expect(limits.deadline(trainedSeconds: 0, trainingSince: nil, waits: open) == nil)
        // Not loaded (a job without max_pending need not load its waits): not judged.
        #expect(limits.passed(at: Self.created.addingTimeInterval(1e5), trainedSeconds: 0, trainingSince: nil, waits: nil) == nil)
        #expect(JobLimits.Kind.maxPending.stopReason == .maxPending)
    }
}
