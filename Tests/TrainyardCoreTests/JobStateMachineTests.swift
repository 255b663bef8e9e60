import Foundation
import Testing

@testable import TrainyardCore

@Suite struct JobStateMachineTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// One allowed transition: from a state, an event, to a status pair.
    struct Allowed: Sendable, CustomTestStringConvertible {
        let from: JobState
        let event: JobLifecycleEvent
        let toStatus: JobStatus
        let toSecondary: SecondaryStatus
        var testDescription: String {
            "\(from.status.rawValue)/\(from.secondaryStatus.rawValue) on \(event.name) → \(toStatus.rawValue)/\(toSecondary.rawValue)"
        }
    }

    static func inProgress(_ secondary: SecondaryStatus, interruptions: Int = 0) -> JobState {
        JobState(status: .inProgress, secondaryStatus: secondary, interruptions: interruptions)
    }

    static let stopping = JobState(status: .stopping, secondaryStatus: .stopping, stopRequested: true)

    static let inProgressSecondaries: [SecondaryStatus] = [
        .starting, .pending, .launchingMLInstances, .preparingTrainingStack, .downloading, .training,
        .interrupted, .restarting, .uploading,
    ]

    static let allowed: [Allowed] = {
        var cases: [Allowed] = [
            // the normal walk
            Allowed(from: inProgress(.starting), event: .waitingForCapacity("no capacity"), toStatus: .inProgress, toSecondary: .pending),
            Allowed(from: inProgress(.starting), event: .launching, toStatus: .inProgress, toSecondary: .launchingMLInstances),
            Allowed(from: inProgress(.pending), event: .launching, toStatus: .inProgress, toSecondary: .launchingMLInstances),
            Allowed(from: inProgress(.launchingMLInstances), event: .waitingForCapacity(""), toStatus: .inProgress, toSecondary: .pending),
            Allowed(from: inProgress(.launchingMLInstances), event: .preparing, toStatus: .inProgress, toSecondary: .preparingTrainingStack),
            Allowed(from: inProgress(.preparingTrainingStack), event: .downloading, toStatus: .inProgress, toSecondary: .downloading),
            Allowed(from: inProgress(.downloading), event: .training, toStatus: .inProgress, toSecondary: .training),
            Allowed(from: inProgress(.training), event: .uploading, toStatus: .inProgress, toSecondary: .uploading),
            Allowed(from: inProgress(.uploading), event: .completed, toStatus: .completed, toSecondary: .completed),
            // interruption and restart
            Allowed(from: inProgress(.interrupted, interruptions: 1), event: .waitingForCapacity("spot"), toStatus: .inProgress, toSecondary: .pending),
            Allowed(from: inProgress(.interrupted, interruptions: 1), event: .restarting, toStatus: .inProgress, toSecondary: .restarting),
            Allowed(from: inProgress(.pending, interruptions: 1), event: .restarting, toStatus: .inProgress, toSecondary: .restarting),
            Allowed(from: inProgress(.restarting, interruptions: 1), event: .launching, toStatus: .inProgress, toSecondary: .launchingMLInstances),
            Allowed(from: inProgress(.restarting, interruptions: 1), event: .preparing, toStatus: .inProgress, toSecondary: .preparingTrainingStack),
            Allowed(from: inProgress(.restarting, interruptions: 1), event: .downloading, toStatus: .inProgress, toSecondary: .downloading),
            Allowed(from: inProgress(.restarting, interruptions: 1), event: .training, toStatus: .inProgress, toSecondary: .training),
            Allowed(from: inProgress(.restarting, interruptions: 1), event: .waitingForCapacity("x"), toStatus: .inProgress, toSecondary: .pending),
            // stopping
            Allowed(from: stopping, event: .stopped, toStatus: .stopped, toSecondary: .stopped),
            Allowed(from: stopping, event: .failed(reason: "agent lost"), toStatus: .failed, toSecondary: .failed),
            Allowed(from: stopping, event: .maxRuntimeExceeded, toStatus: .stopped, toSecondary: .maxRuntimeExceeded),
            Allowed(from: stopping, event: .maxWaitExceeded, toStatus: .stopped, toSecondary: .maxWaitTimeExceeded),
            Allowed(from: stopping, event: .maxPendingExceeded, toStatus: .stopped, toSecondary: .stopped),
        ]
        // max_pending stops a job that waits for capacity.
        for secondary: SecondaryStatus in [.starting, .pending, .interrupted, .restarting] {
            cases.append(Allowed(from: inProgress(secondary, interruptions: 1), event: .maxPendingExceeded, toStatus: .stopped, toSecondary: .stopped))
        }
        for secondary: SecondaryStatus in [.launchingMLInstances, .preparingTrainingStack, .downloading, .training, .uploading] {
            cases.append(Allowed(from: inProgress(secondary), event: .interrupted("spot reclaimed"), toStatus: .inProgress, toSecondary: .interrupted))
        }
        for secondary: SecondaryStatus in [.preparingTrainingStack, .downloading, .training, .uploading] {
            cases.append(Allowed(from: inProgress(secondary), event: .maxRuntimeExceeded, toStatus: .stopped, toSecondary: .maxRuntimeExceeded))
        }
        for secondary in inProgressSecondaries {
            cases.append(Allowed(from: inProgress(secondary), event: .failed(reason: "boom"), toStatus: .failed, toSecondary: .failed))
            cases.append(Allowed(from: inProgress(secondary), event: .stopRequested, toStatus: .stopping, toSecondary: .stopping))
            cases.append(Allowed(from: inProgress(secondary), event: .stopped, toStatus: .stopped, toSecondary: .stopped))
            cases.append(Allowed(from: inProgress(secondary), event: .maxWaitExceeded, toStatus: .stopped, toSecondary: .maxWaitTimeExceeded))
        }
        return cases
    }()

    @Test(arguments: allowed)
    func everyAllowedTransitionIsAcceptedAndRecorded(_ testCase: Allowed) throws {
        // given
        var machine = JobStateMachine(state: testCase.from)
        // when
        let transition = try machine.handle(testCase.event, now: Self.now)
        // then
        #expect(transition.fromStatus == testCase.from.status)
        #expect(transition.fromSecondaryStatus == testCase.from.secondaryStatus)
        #expect(transition.toStatus == testCase.toStatus)
        #expect(transition.toSecondaryStatus == testCase.toSecondary)
        #expect(transition.time == Self.now)
        #expect(!transition.message.isEmpty)
        #expect(transition.isTerminal == testCase.toStatus.isTerminal)
        #expect(machine.state.status == testCase.toStatus)
        #expect(machine.state.secondaryStatus == testCase.toSecondary)
    }

    /// One refused event, with the error it must raise.
    struct Refused: Sendable, CustomTestStringConvertible {
        let from: JobState
        let event: JobLifecycleEvent
        let error: JobTransitionError
        var testDescription: String { "\(from.status.rawValue)/\(from.secondaryStatus.rawValue) refuses \(event.name)" }
    }

    static let everyEvent: [JobLifecycleEvent] = [
        .waitingForCapacity("x"), .launching, .preparing, .downloading, .training, .uploading, .completed,
        .failed(reason: "x"), .stopRequested, .stopped, .maxRuntimeExceeded, .maxWaitExceeded, .maxPendingExceeded, .interrupted("x"),
        .restarting,
    ]

    static let refused: [Refused] = {
        var cases: [Refused] = []
        let ended: [JobState] = [
            JobState(status: .completed, secondaryStatus: .completed),
            JobState(status: .failed, secondaryStatus: .failed, failureReason: "x"),
            JobState(status: .stopped, secondaryStatus: .stopped),
            JobState(status: .stopped, secondaryStatus: .maxRuntimeExceeded),
            JobState(status: .stopped, secondaryStatus: .maxWaitTimeExceeded),
        ]
        for state in ended {
            for event in everyEvent {
                cases.append(Refused(from: state, event: event, error: .terminal(state.status)))
            }
        }
        func notAllowed(_ secondary: SecondaryStatus, _ event: JobLifecycleEvent, interruptions: Int = 0) -> Refused {
            Refused(from: inProgress(secondary, interruptions: interruptions), event: event, error: .notAllowed(from: secondary, event: event))
        }
        cases += [
            notAllowed(.starting, .preparing),
            notAllowed(.starting, .downloading),
            notAllowed(.starting, .training),
            notAllowed(.starting, .uploading),
            notAllowed(.starting, .completed),
            notAllowed(.starting, .restarting),
            notAllowed(.starting, .interrupted("x")),
            notAllowed(.starting, .maxRuntimeExceeded),
            notAllowed(.pending, .waitingForCapacity("again")),
            notAllowed(.pending, .preparing),
            notAllowed(.pending, .training),
            notAllowed(.pending, .restarting),
            notAllowed(.pending, .interrupted("x")),
            notAllowed(.pending, .maxRuntimeExceeded),
            notAllowed(.launchingMLInstances, .launching),
            notAllowed(.launchingMLInstances, .training),
            notAllowed(.launchingMLInstances, .completed),
            notAllowed(.launchingMLInstances, .maxRuntimeExceeded),
            notAllowed(.preparingTrainingStack, .training),
            notAllowed(.preparingTrainingStack, .waitingForCapacity("x")),
            notAllowed(.downloading, .uploading),
            notAllowed(.downloading, .preparing),
            notAllowed(.training, .completed),
            notAllowed(.training, .downloading),
            notAllowed(.training, .restarting),
            notAllowed(.training, .waitingForCapacity("x")),
            notAllowed(.uploading, .training),
            notAllowed(.uploading, .uploading),
            notAllowed(.interrupted, .training, interruptions: 1),
            notAllowed(.interrupted, .launching, interruptions: 1),
            notAllowed(.interrupted, .completed, interruptions: 1),
            notAllowed(.interrupted, .interrupted("x"), interruptions: 1),
            notAllowed(.interrupted, .maxRuntimeExceeded, interruptions: 1),
            notAllowed(.restarting, .uploading, interruptions: 1),
            notAllowed(.restarting, .completed, interruptions: 1),
            notAllowed(.restarting, .restarting, interruptions: 1),
            notAllowed(.restarting, .interrupted("x"), interruptions: 1),
            // a job with hosts is past waiting for capacity: max_pending no longer stops it
            notAllowed(.launchingMLInstances, .maxPendingExceeded),
            notAllowed(.training, .maxPendingExceeded),
            notAllowed(.uploading, .maxPendingExceeded),
        ]
        for event: JobLifecycleEvent in [
            .waitingForCapacity("x"), .launching, .preparing, .downloading, .training, .uploading, .completed,
            .interrupted("x"), .restarting,
        ] {
            cases.append(Refused(from: stopping, event: event, error: .notAllowed(from: .stopping, event: event)))
        }
        cases.append(Refused(from: stopping, event: .stopRequested, error: .alreadyStopping))
        return cases
    }()

    @Test(arguments: refused)
    func refusedTransitionsThrowAndLeaveTheStateAlone(_ testCase: Refused) {
        // given
        var machine = JobStateMachine(state: testCase.from)
        // when / then
        #expect(throws: testCase.error) { try machine.handle(testCase.event, now: Self.now) }
        #expect(machine.state == testCase.from)
        #expect(!machine.accepts(testCase.event))
    }

    @Test func aJobWalksFromSubmissionToCompletionWithSageMakersMessages() throws {
        // given
        var machine = JobStateMachine()
        #expect(machine.state == .submitted())
        #expect(JobState.submittedMessage == "Starting the training job")
        // when
        let events: [JobLifecycleEvent] = [.launching, .preparing, .downloading, .training, .uploading, .completed]
        let messages = try events.map { try machine.handle($0, now: Self.now).message }
        // then
        #expect(messages == [
            "Launching requested ML instances",
            "Preparing the instances for training",
            "Downloading input data",
            "Training image download completed. Training in progress.",
            "Uploading generated training model",
            "Training job completed",
        ])
        #expect(machine.state.status == .completed)
        #expect(machine.state.status.isTerminal)
    }

    @Test func aSpotInterruptionWaitsForCapacityThenRestartsTraining() throws {
        // given
        var machine = JobStateMachine(state: Self.inProgress(.training))
        // when
        _ = try machine.handle(.interrupted("Spot instance reclaimed"), now: Self.now)
        _ = try machine.handle(.waitingForCapacity("Waiting for 2 spot ml.g5.xlarge hosts"), now: Self.now)
        let restart = try machine.handle(.restarting, now: Self.now)
        let training = try machine.handle(.training, now: Self.now)
        // then
        #expect(restart.fromSecondaryStatus == .pending)
        #expect(training.toSecondaryStatus == .training)
        #expect(machine.state.interruptions == 1)
        #expect(machine.state.status == .inProgress)
    }

    @Test func stoppingRecordsTheRequestAndEndsStopped() throws {
        // given
        var machine = JobStateMachine(state: Self.inProgress(.training))
        // when
        let stopping = try machine.handle(.stopRequested, now: Self.now)
        let stopped = try machine.handle(.stopped, now: Self.now)
        // then
        #expect(stopping.message == "Stopping the training job")
        #expect(stopping.toStatus == .stopping && !stopping.isTerminal)
        #expect(stopped.message == "Training job stopped")
        #expect(stopped.isTerminal && stopped.changesStatus)
        #expect(machine.state.stopRequested)
    }

    @Test func aFailureKeepsItsReason() throws {
        var machine = JobStateMachine(state: Self.inProgress(.training))
        let transition = try machine.handle(.failed(reason: "AlgorithmError: exit code 1"), now: Self.now)
        #expect(machine.state.failureReason == "AlgorithmError: exit code 1")
        #expect(transition.message.contains("AlgorithmError: exit code 1"))
        #expect(transition.isTerminal)
    }

    @Test func aJobPastMaxWaitEndsStoppedWithMaxWaitTimeExceeded() throws {
        var machine = JobStateMachine(state: Self.inProgress(.pending))
        let transition = try machine.handle(.maxWaitExceeded, now: Self.now)
        #expect(machine.state.status == .stopped)
        #expect(machine.state.secondaryStatus == .maxWaitTimeExceeded)
        #expect(transition.isTerminal)
    }

    @Test func statusesUseSageMakersRawValues() {
        #expect(JobStatus.allCases.map(\.rawValue) == ["InProgress", "Completed", "Failed", "Stopping", "Stopped"])
        #expect(JobStatus.allCases.filter(\.isTerminal) == [.completed, .failed, .stopped])
        #expect(SecondaryStatus.allCases.map(\.rawValue) == [
            "Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack", "Downloading", "Training",
            "Interrupted", "Restarting", "Uploading", "Completed", "Failed", "Stopping", "Stopped",
            "MaxRuntimeExceeded", "MaxWaitTimeExceeded",
        ])
    }

    @Test func aStateRoundTripsThroughJSONAndOldRowsDecode() throws {
        let state = JobState(status: .inProgress, secondaryStatus: .interrupted, interruptions: 2)
        let decoded = try JSONDecoder().decode(JobState.self, from: try JSONEncoder().encode(state))
        #expect(decoded == state)
        let old = try JSONDecoder().decode(JobState.self, from: Data(#"{"status":"Stopping","secondary_status":"Stopping"}"#.utf8))
        #expect(old == JobState(status: .stopping, secondaryStatus: .stopping))
    }
}
