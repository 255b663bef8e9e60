import Foundation
import Testing

@testable import TrainyardCore

/// Core's lifecycle reducer, input by input, state by state, without a database: what the store carries out is what
/// these tables say.
@Suite struct JobAggregateTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func job(_ secondary: SecondaryStatus, interruptions: Int = 0) -> JobState {
        let status: JobStatus = switch secondary {
        case .completed: .completed
        case .failed: .failed
        case .stopped, .maxRuntimeExceeded, .maxWaitTimeExceeded: .stopped
        case .stopping: .stopping
        default: .inProgress
        }
        return JobState(status: status, secondaryStatus: secondary, interruptions: interruptions)
    }

    static let everySecondary: [SecondaryStatus] = [
        .starting, .pending, .launchingMLInstances, .preparingTrainingStack, .downloading, .training, .interrupted, .restarting,
        .uploading, .stopping, .completed, .failed, .stopped, .maxRuntimeExceeded, .maxWaitTimeExceeded,
    ]

    /// Every input the store feeds, with the attempt it comes with.
    static let everyInput: [(LifecycleInput, AttemptState?, [HostPhase], StopReason?)] = [
        (.capacityDenied(message: "Waiting for 2 spot ml.g5.xlarge host(s): 0 of 1 free"), nil, [], nil),
        (.capacityDenied(message: "The backend holds the attempt queued"), .running, [.launching], nil),
        (.capacityGranted, .running, [.launching, .launching], nil),
        (.backendPlaced, .running, [.launching], nil),
        (.hostsProgressed, .running, [.training, .downloading], nil),
        (.hostsProgressed, .running, [.exited, .exited], nil),
        (.hostsProgressed, .running, [.lost, .training], .gangFailure),
        (.hostReported(failedByItself: false), .running, [.training, .training], nil),
        (.hostReported(failedByItself: true), .running, [.exited, .training], nil),
        (.hostReported(failedByItself: false), .ending, [.exited, .exited], .user),
        (.stopRequested(.user, graceSeconds: 30), .running, [.training], nil),
        (.stopRequested(.maxWait, graceSeconds: 30), nil, [], nil),
        (.attemptFinalized(.completed), .ending, [.exited], nil),
        (.attemptFinalized(.interrupted(reason: "CapacityError: spot capacity reclaimed host algo-1")), .ending, [.exited], .interruption),
        (.attemptFinalized(.retry(reason: "InternalServerError: host algo-2 stopped heartbeating")), .ending, [.lost], .gangFailure),
        (.attemptFinalized(.failed(reason: "AlgorithmError: exit 3")), .ending, [.exited], .gangFailure),
        (.attemptFinalized(.stopped), .ending, [.exited], .user),
        (.deadlinePassed(graceSeconds: 5), .running, [.training], nil),
        (.hostEnded(.failed), .running, [.exited, .training], nil),
        (.hostEnded(.lost), .running, [.lost, .exited], .user),
        (.hostEnded(.reclaimed(noticeSeconds: 120)), .running, [.training, .training], nil),
        (.hostEnded(.lost), .ending, [.lost], .gangFailure),
        (.deadlinePassed(graceSeconds: 5), nil, [], nil),
    ]

    /// The invariants of every input in every state: an answer always (never an input dropped without a word), a
    /// chain of transitions that starts where the job stood and ends where the aggregate now stands, and a job
    /// left as it was whenever nothing was recorded.
    @Test(arguments: everySecondary)
    func everyInputInEveryStateAnswersAndKeepsItsWord(_ secondary: SecondaryStatus) {
        for (input, attempt, phases, stopReason) in Self.everyInput {
            for interruptions in [0, 1] {
                let before = JobAggregate(
                    state: Self.job(secondary, interruptions: interruptions), attempt: attempt, hostPhases: phases, stopReason: stopReason,
                    limits: Self.spotLimits, trainedSeconds: 50, trainingSince: attempt == nil ? nil : Self.now.addingTimeInterval(-60),
                    deadline: Self.now.addingTimeInterval(-10))
                var after = before
                let effects = after.handle(input, now: Self.now)
                let context = Comment(rawValue: "\(secondary.rawValue) (interruptions \(interruptions)) on \(input.name)")
                #expect(!effects.isEmpty, context)
                let transitions = effects.compactMap(\.transition)
                if transitions.isEmpty {
                    #expect(after.state.status == before.state.status && after.state.secondaryStatus == before.state.secondaryStatus, context)
                } else {
                    #expect(transitions.first?.fromSecondaryStatus == before.state.secondaryStatus, context)
                    #expect(transitions.last?.toSecondaryStatus == after.state.secondaryStatus, context)
                    for (earlier, later) in zip(transitions, transitions.dropFirst()) {
                        #expect(earlier.toSecondaryStatus == later.fromSecondaryStatus, context)
                    }
                    #expect(transitions.allSatisfy { $0.time == Self.now }, context)
                }
                // An ended job never changes again.
                if before.state.status.isTerminal { #expect(transitions.isEmpty, context) }
            }
        }
    }

    /// One row: a job in `from`, an input with its attempt, and what comes of it in a few words (the secondary
    /// statuses recorded, then the other effects).
    struct Row: Sendable, CustomTestStringConvertible {
        var from: JobState
        var input: LifecycleInput
        var attempt: AttemptState? = nil
        var phases: [HostPhase] = []
        var stopReason: StopReason? = nil
        var limits: JobLimits? = nil
        var trained: Double = 0
        var trainingSince: Date? = nil
        var deadline: Date? = nil
        var waits: CapacityWaits? = nil
        var keepAlive: Int? = nil
        var onPool = false
        var expected: [String]
        var testDescription: String { "\(from.secondaryStatus.rawValue) on \(input.name) → \(expected.joined(separator: ", "))" }
    }

    /// The effects in a few words each.
    static func words(_ effects: [LifecycleEffect]) -> [String] {
        effects.map { effect in
            switch effect {
            case .record(let transition): "→ \(transition.toSecondaryStatus.rawValue)"
            case .startTrainingClock: "start training clock"
            case .markAttemptEnding: "attempt ending"
            case .stopAttempt(let reason, let grace): "stop attempt \(reason.rawValue) \(Int(grace)) s"
            case .endAttempt(let reason): "end attempt: \(reason)"
            case .countTrainingTime(let seconds): "count \(Int(seconds)) s trained"
            case .setDeadline(let deadline): "deadline \(deadline.map { "+\(Int($0.timeIntervalSince(now))) s" } ?? "none")"
            case .countRetry: "count retry"
            case .countInterruption: "count interruption"
            case .keepWarmPool(let pool): "warm pool \(pool.status.rawValue)\(pool.expiresAt.map { " until +\(Int($0.timeIntervalSince(now))) s" } ?? "")"
            case .wake(.jobWatchers): "wake job watchers"
            case .wake(.finalizer): "wake finalizer"
            case .direct(let action, let grace): "direct \(action.rawValue) \(Int(grace)) s"
            case .unchanged: "unchanged"
            case .refused: "refused"
            }
        }
    }

    static let rows: [Row] = [
        // The scheduler's decisions.
        Row(from: job(.starting), input: .capacityDenied(message: "no room"), expected: ["→ Pending"]),
        Row(from: job(.interrupted, interruptions: 1), input: .capacityDenied(message: "no room"), expected: ["→ Pending"]),
        Row(from: job(.pending), input: .capacityDenied(message: "another message"), expected: ["unchanged"]),
        Row(from: job(.training), input: .capacityDenied(message: "no room"), attempt: .running, phases: [.training], expected: ["unchanged"]),
        Row(
            from: job(.launchingMLInstances), input: .capacityDenied(message: "queued by Slurm"), attempt: .ending, phases: [.exited],
            expected: ["unchanged"]),
        Row(
            from: job(.launchingMLInstances), input: .capacityDenied(message: "queued by Slurm"), attempt: .running, phases: [.launching],
            expected: ["→ Pending"]),
        Row(from: job(.starting), input: .capacityGranted, attempt: .running, expected: ["→ LaunchingMLInstances", "wake job watchers"]),
        Row(from: job(.pending), input: .capacityGranted, attempt: .running, expected: ["→ LaunchingMLInstances", "wake job watchers"]),
        Row(
            from: job(.pending, interruptions: 1), input: .capacityGranted, attempt: .running,
            expected: ["→ Restarting", "→ LaunchingMLInstances", "wake job watchers"]),
        Row(
            from: job(.interrupted, interruptions: 1), input: .capacityGranted, attempt: .running,
            expected: ["→ Restarting", "→ LaunchingMLInstances", "wake job watchers"]),
        Row(from: job(.stopped), input: .capacityGranted, attempt: .running, expected: ["refused"]),
        Row(from: job(.training), input: .capacityGranted, attempt: .running, expected: ["refused"]),
        // The backend's word on a queued attempt.
        Row(from: job(.pending), input: .backendPlaced, attempt: .running, phases: [.launching], expected: ["→ LaunchingMLInstances"]),
        Row(from: job(.preparingTrainingStack), input: .backendPlaced, attempt: .running, phases: [.preparing], expected: ["unchanged"]),
        Row(from: job(.pending), input: .backendPlaced, attempt: .ended, phases: [.lost], expected: ["unchanged"]),
        // The job follows its slowest host forward.
        Row(
            from: job(.launchingMLInstances), input: .hostsProgressed, attempt: .running, phases: [.preparing, .launching],
            expected: ["unchanged"]),
        Row(
            from: job(.launchingMLInstances), input: .hostsProgressed, attempt: .running, phases: [.training, .downloading],
            expected: ["→ PreparingTrainingStack", "→ Downloading", "wake job watchers"]),
        Row(
            from: job(.launchingMLInstances), input: .hostsProgressed, attempt: .running, phases: [.training, .training],
            expected: ["→ PreparingTrainingStack", "→ Downloading", "→ Training", "start training clock", "wake job watchers"]),
        Row(
            from: job(.pending), input: .hostsProgressed, attempt: .running, phases: [.preparing],
            expected: ["→ LaunchingMLInstances", "→ PreparingTrainingStack", "wake job watchers"]),
        Row(from: job(.pending), input: .hostsProgressed, attempt: .running, phases: [.launching], expected: ["unchanged"]),
        Row(from: job(.training), input: .hostsProgressed, attempt: .running, phases: [.training, .uploading], expected: ["unchanged"]),
        Row(
            from: job(.training), input: .hostsProgressed, attempt: .running, phases: [.exited, .exited],
            expected: ["attempt ending", "wake finalizer"]),
        Row(
            from: job(.downloading), input: .hostsProgressed, attempt: .running, phases: [.exited, .exited],
            expected: ["→ Training", "start training clock", "wake job watchers", "attempt ending", "wake finalizer"]),
        Row(
            from: job(.preparingTrainingStack), input: .hostsProgressed, attempt: .running, phases: [.lost, .training],
            stopReason: .gangFailure, expected: ["unchanged"]),
        Row(
            from: job(.preparingTrainingStack), input: .hostsProgressed, attempt: .running, phases: [.lost, .exited],
            stopReason: .gangFailure, expected: ["attempt ending", "wake finalizer"]),
        Row(from: job(.training), input: .hostsProgressed, attempt: .ending, phases: [.exited, .exited], expected: ["unchanged"]),
        Row(from: job(.stopping), input: .hostsProgressed, attempt: .running, phases: [.training], stopReason: .user, expected: ["unchanged"]),
        Row(from: job(.training), input: .hostsProgressed, attempt: .running, expected: ["unchanged"]),
        // A host ending before its gang stops the rest: at once when it failed or was lost, within the notice when
        // its provider reclaims it; a user's stop still decides how the attempt ends.
        Row(
            from: job(.training), input: .hostEnded(.failed), attempt: .running, phases: [.exited, .training],
            expected: ["stop attempt gang_failure 0 s"]),
        Row(
            from: job(.training), input: .hostEnded(.lost), attempt: .running, phases: [.lost, .exited],
            expected: ["stop attempt gang_failure 0 s", "attempt ending", "wake finalizer"]),
        Row(
            from: job(.stopping), input: .hostEnded(.lost), attempt: .running, phases: [.lost, .training], stopReason: .user,
            expected: ["stop attempt user 0 s"]),
        Row(
            from: job(.downloading), input: .hostEnded(.reclaimed(noticeSeconds: 120)), attempt: .running, phases: [.downloading],
            expected: ["stop attempt interruption 120 s"]),
        Row(from: job(.training), input: .hostEnded(.failed), attempt: .ending, phases: [.exited], expected: ["unchanged"]),
        // Stops: a live attempt is asked to stop with its grace; a job without one ends now.
        Row(
            from: job(.training), input: .stopRequested(.user, graceSeconds: 30), attempt: .running, phases: [.training],
            expected: ["→ Stopping", "stop attempt user 30 s", "wake job watchers"]),
        Row(
            from: job(.training), input: .stopRequested(.user, graceSeconds: 30), attempt: .running, phases: [.training],
            stopReason: .interruption, expected: ["→ Stopping", "stop attempt user 30 s", "wake job watchers"]),
        Row(
            from: job(.training), input: .stopRequested(.maxRuntime, graceSeconds: 5), attempt: .running, phases: [.training],
            stopReason: .interruption, expected: ["→ Stopping", "stop attempt interruption 5 s", "wake job watchers"]),
        Row(from: job(.pending), input: .stopRequested(.user, graceSeconds: 30), expected: ["→ Stopping", "→ Stopped", "wake job watchers"]),
        Row(
            from: job(.pending), input: .stopRequested(.maxWait, graceSeconds: 30),
            expected: ["→ Stopping", "→ MaxWaitTimeExceeded", "wake job watchers"]),
        Row(
            from: job(.interrupted, interruptions: 1), input: .stopRequested(.maxWait, graceSeconds: 30),
            expected: ["→ Stopping", "→ MaxWaitTimeExceeded", "wake job watchers"]),
        Row(
            from: job(.training), input: .stopRequested(.maxRuntime, graceSeconds: 30), attempt: .ending, phases: [.exited],
            expected: ["→ Stopping", "→ MaxRuntimeExceeded", "wake job watchers"]),
        Row(from: job(.stopping), input: .stopRequested(.user, graceSeconds: 30), attempt: .running, expected: ["refused"]),
        Row(from: job(.completed), input: .stopRequested(.user, graceSeconds: 30), expected: ["refused"]),
        // The finalizer's verdicts.
        Row(
            from: job(.training), input: .attemptFinalized(.completed), attempt: .ending,
            expected: ["→ Uploading", "→ Completed", "wake job watchers", "end attempt: Completed"]),
        Row(
            from: job(.training), input: .attemptFinalized(.interrupted(reason: "reclaimed")), attempt: .ending,
            expected: ["→ Interrupted", "count interruption", "wake job watchers", "end attempt: Interrupted: reclaimed"]),
        Row(
            from: job(.preparingTrainingStack), input: .attemptFinalized(.retry(reason: "host lost")), attempt: .ending,
            expected: ["→ Starting", "count retry", "wake job watchers", "end attempt: host lost"]),
        Row(
            from: job(.training), input: .attemptFinalized(.failed(reason: "AlgorithmError: exit 3")), attempt: .ending,
            expected: ["→ Failed", "wake job watchers", "end attempt: AlgorithmError: exit 3"]),
        Row(
            from: job(.stopping), input: .attemptFinalized(.stopped), attempt: .ending,
            expected: ["→ Stopped", "wake job watchers", "end attempt: Stopped"]),
        Row(
            from: job(.stopping), input: .attemptFinalized(.maxRuntimeExceeded), attempt: .ending,
            expected: ["→ MaxRuntimeExceeded", "wake job watchers", "end attempt: MaxRuntimeExceeded"]),
        // A job being stopped is neither retried nor resumed: it ends, with the attempt's reason.
        Row(
            from: job(.stopping), input: .attemptFinalized(.retry(reason: "host lost")), attempt: .ending,
            expected: ["→ Failed", "wake job watchers", "end attempt: host lost"]),
        // A job the machine cannot complete from where it stands still ends, never left hanging.
        Row(
            from: job(.pending), input: .attemptFinalized(.completed), attempt: .ending,
            expected: ["refused", "→ Failed", "wake job watchers", "end attempt: Completed"]),
        Row(
            from: job(.stopped), input: .attemptFinalized(.completed), attempt: .ending,
            expected: ["unchanged", "end attempt: Completed"]),
        Row(from: job(.training), input: .attemptFinalized(.completed), attempt: .ended, expected: ["unchanged"]),
        // A job with keep_alive_period that ends on its hosts keeps them warm, whichever way it ended on them; a host lost
        // leaves no pool to keep; a job resumed or retried keeps none, nor a job that asked for none.
        Row(
            from: job(.training), input: .attemptFinalized(.completed), attempt: .ending, phases: [.exited, .exited], keepAlive: 600,
            expected: ["→ Uploading", "→ Completed", "warm pool Available until +600 s", "wake job watchers", "end attempt: Completed"]),
        Row(
            from: job(.stopping), input: .attemptFinalized(.stopped), attempt: .ending, phases: [.exited], keepAlive: 60,
            expected: ["→ Stopped", "warm pool Available until +60 s", "wake job watchers", "end attempt: Stopped"]),
        Row(
            from: job(.training), input: .attemptFinalized(.failed(reason: "AlgorithmError: exit 3")), attempt: .ending, phases: [.exited],
            keepAlive: 60,
            expected: ["→ Failed", "warm pool Available until +60 s", "wake job watchers", "end attempt: AlgorithmError: exit 3"]),
        Row(
            from: job(.stopping), input: .attemptFinalized(.retry(reason: "host lost")), attempt: .ending, phases: [.exited, .lost], keepAlive: 60,
            expected: ["→ Failed", "warm pool Terminated", "wake job watchers", "end attempt: host lost"]),
        Row(
            from: job(.training), input: .attemptFinalized(.interrupted(reason: "reclaimed")), attempt: .ending, phases: [.exited], keepAlive: 60,
            expected: ["→ Interrupted", "count interruption", "wake job watchers", "end attempt: Interrupted: reclaimed"]),
        Row(
            from: job(.training), input: .attemptFinalized(.completed), attempt: .ending, phases: [.exited], keepAlive: 0,
            expected: ["→ Uploading", "→ Completed", "wake job watchers", "end attempt: Completed"]),
        // Stopped while its outputs were merged, a job still ended on its hosts.
        Row(
            from: job(.stopped), input: .attemptFinalized(.completed), attempt: .ending, phases: [.exited], keepAlive: 60,
            expected: ["warm pool Available until +60 s", "unchanged", "end attempt: Completed"]),
        // A job running on a kept pool leaves it with its attempt: ended, when its period was set to 0 meanwhile; when it
        // goes back to the queue, as well (it will start on other hosts).
        Row(
            from: job(.training), input: .attemptFinalized(.completed), attempt: .ending, phases: [.exited], keepAlive: 0, onPool: true,
            expected: ["→ Uploading", "→ Completed", "warm pool Terminated", "wake job watchers", "end attempt: Completed"]),
        Row(
            from: job(.training), input: .attemptFinalized(.interrupted(reason: "reclaimed")), attempt: .ending, phases: [.exited], keepAlive: 60,
            onPool: true,
            expected: ["→ Interrupted", "count interruption", "warm pool Terminated", "wake job watchers", "end attempt: Interrupted: reclaimed"]),
        Row(
            from: job(.training), input: .attemptFinalized(.completed), attempt: .ending, phases: [.exited], keepAlive: 60, onPool: true,
            expected: ["→ Uploading", "→ Completed", "warm pool Available until +60 s", "wake job watchers", "end attempt: Completed"]),
    ]

    @Test(arguments: rows)
    func eachInputDoesWhatTheTableSays(_ row: Row) {
        var aggregate = JobAggregate(state: row.from, attempt: row.attempt, hostPhases: row.phases, stopReason: row.stopReason, keepAlivePeriod: row.keepAlive,
            onWarmPool: row.onPool)
        #expect(Self.words(aggregate.handle(row.input, now: Self.now)) == row.expected)
    }

    /// `max_run` 100 s, `max_wait` 1,000 s, created 900 s ago.
    static let spotLimits = JobLimits(maxRunSeconds: 100, maxWaitSeconds: 1000, createdAt: now.addingTimeInterval(-900))

    /// `max_run` 100 s, `max_pending` 120 s.
    static let pendingLimits = JobLimits(maxRunSeconds: 100, maxWaitSeconds: nil, maxPendingSeconds: 120, createdAt: now.addingTimeInterval(-900))

    static let deadlineRows: [Row] = [
        // The training clock starts: max_run's deadline is what is left of it.
        Row(
            from: job(.downloading), input: .hostsProgressed, attempt: .running, phases: [.training], limits: spotLimits, trained: 40,
            deadline: now.addingTimeInterval(100),
            expected: ["→ Training", "start training clock", "wake job watchers", "deadline +60 s"]),
        // An attempt ends: its training counts, and only max_wait binds while the job waits again.
        Row(
            from: job(.training), input: .attemptFinalized(.interrupted(reason: "reclaimed")), attempt: .ending, limits: spotLimits,
            trained: 40, trainingSince: now.addingTimeInterval(-30), deadline: now.addingTimeInterval(30),
            expected: [
                "→ Interrupted", "count interruption", "wake job watchers", "count 30 s trained", "end attempt: Interrupted: reclaimed",
                "deadline +100 s",
            ]),
        // The deadline comes: Core judges which limit passed and stops the job for it.
        Row(
            from: job(.training), input: .deadlinePassed(graceSeconds: 5), attempt: .running, phases: [.training], limits: spotLimits,
            trained: 40, trainingSince: now.addingTimeInterval(-61), deadline: now.addingTimeInterval(-1),
            expected: ["→ Stopping", "stop attempt max_runtime 5 s", "wake job watchers", "deadline none"]),
        Row(
            from: job(.pending), input: .deadlinePassed(graceSeconds: 5),
            limits: JobLimits(maxRunSeconds: 100, maxWaitSeconds: 900, createdAt: now.addingTimeInterval(-900)),
            deadline: now, expected: ["→ Stopping", "→ MaxWaitTimeExceeded", "wake job watchers", "deadline none"]),
        // A deadline stored before the clock moved is put right, and nothing stops.
        Row(
            from: job(.training), input: .deadlinePassed(graceSeconds: 5), attempt: .running, phases: [.training], limits: spotLimits,
            trained: 0, trainingSince: now.addingTimeInterval(-10), deadline: now.addingTimeInterval(-5),
            expected: ["unchanged", "deadline +90 s"]),
        Row(
            from: job(.stopping), input: .deadlinePassed(graceSeconds: 5), attempt: .running, phases: [.training], limits: spotLimits,
            trainingSince: now.addingTimeInterval(-200), deadline: now.addingTimeInterval(-100), expected: ["unchanged", "deadline none"]),
        Row(from: job(.training), input: .deadlinePassed(graceSeconds: 5), attempt: .running, expected: ["unchanged"]),
        // max_pending: a job waiting for capacity past it is stopped at once, with no attempt to wait for.
        Row(
            from: job(.pending), input: .deadlinePassed(graceSeconds: 5), limits: pendingLimits,
            deadline: now, waits: CapacityWaits(waitedSeconds: 20, waitingSince: now.addingTimeInterval(-100)),
            expected: ["→ Stopping", "→ Stopped", "wake job watchers", "deadline none"]),
        // Not yet: 20 s waited before, 90 s now, of 120.
        Row(
            from: job(.interrupted), input: .deadlinePassed(graceSeconds: 5), limits: pendingLimits,
            deadline: now, waits: CapacityWaits(waitedSeconds: 20, waitingSince: now.addingTimeInterval(-90)),
            expected: ["unchanged", "deadline +10 s"]),
        // Capacity comes: the wait ends, and max_pending no longer sets the deadline (max_run's clock has not started).
        Row(
            from: job(.pending), input: .capacityGranted, limits: pendingLimits, deadline: now.addingTimeInterval(10),
            waits: CapacityWaits(waitedSeconds: 20, waitingSince: now.addingTimeInterval(-90)),
            expected: ["→ LaunchingMLInstances", "wake job watchers", "deadline none"]),
        // An interrupted attempt ends: the job waits again, and what is left of max_pending counts from now.
        Row(
            from: job(.training), input: .attemptFinalized(.interrupted(reason: "reclaimed")), attempt: .ending, limits: pendingLimits,
            trainingSince: now.addingTimeInterval(-30), deadline: now.addingTimeInterval(70),
            waits: CapacityWaits(waitedSeconds: 20, waitingSince: nil),
            expected: [
                "→ Interrupted", "count interruption", "wake job watchers", "count 30 s trained", "end attempt: Interrupted: reclaimed",
                "deadline +100 s",
            ]),
        // A heartbeat that changes nothing leaves the stored deadline alone (within a millisecond).
        Row(
            from: job(.training), input: .hostsProgressed, attempt: .running, phases: [.training], limits: spotLimits,
            trainingSince: now.addingTimeInterval(-10), deadline: now.addingTimeInterval(90.0004), expected: ["unchanged"]),
    ]

    @Test(arguments: deadlineRows)
    func deadlinesAreCoresFromStoredTimes(_ row: Row) {
        var aggregate = JobAggregate(
            state: row.from, attempt: row.attempt, hostPhases: row.phases, stopReason: row.stopReason, limits: row.limits,
            trainedSeconds: row.trained, trainingSince: row.trainingSince, deadline: row.deadline, waits: row.waits)
        #expect(Self.words(aggregate.handle(row.input, now: Self.now)) == row.expected)
    }

    @Test func aHeartbeatIsToldToStopWithWhatIsLeftOfTheFirstStopsGrace() {
        var running = JobAggregate(state: Self.job(.training), attempt: .running, hostPhases: [.training, .training])
        #expect(running.directive(now: Self.now, heartbeatSeconds: 2) == AgentDirective(action: .proceed, graceSeconds: 0, heartbeatIntervalSeconds: 2))
        _ = running.handle(.hostEnded(.reclaimed(noticeSeconds: 120)), now: Self.now)
        #expect(running.directive(now: Self.now.addingTimeInterval(20), heartbeatSeconds: 2).graceSeconds == 100)
        // A later stop keeps the first one's clock.
        _ = running.handle(.stopRequested(.user, graceSeconds: 30), now: Self.now.addingTimeInterval(20))
        #expect(running.stopReason == .user)
        #expect(running.directive(now: Self.now.addingTimeInterval(130), heartbeatSeconds: 2) == AgentDirective(action: .stop, graceSeconds: 0, heartbeatIntervalSeconds: 2))
        let ending = JobAggregate(state: Self.job(.training), attempt: .ending, hostPhases: [.exited])
        #expect(ending.directive(now: Self.now, heartbeatSeconds: 2).action == .stop)
    }

    /// A heartbeat's input ends with the host's answer, decided after what the report changed: a failed command stops
    /// its gang at once, so its reporter is told to stop; a late report of a host already ended changes nothing.
    @Test func aHeartbeatsEffectsEndWithTheHostsDirective() {
        var running = JobAggregate(state: Self.job(.training), attempt: .running, hostPhases: [.training, .training])
        #expect(running.handle(.hostReported(failedByItself: false), now: Self.now).last == .direct(.proceed, graceSeconds: 0))
        running.hostPhases = [.exited, .training]
        let failed = running.handle(.hostReported(failedByItself: true), now: Self.now)
        #expect(failed.contains(.stopAttempt(.gangFailure, graceSeconds: 0)))
        #expect(failed.last == .direct(.stop, graceSeconds: 0))
        var reclaimed = JobAggregate(state: Self.job(.training), attempt: .running, hostPhases: [.training])
        _ = reclaimed.handle(.hostEnded(.reclaimed(noticeSeconds: 120)), now: Self.now)
        #expect(reclaimed.handle(.hostReported(failedByItself: false), now: Self.now.addingTimeInterval(20)).last == .direct(.stop, graceSeconds: 100))
        // Only a heartbeat is answered.
        #expect(running.handle(.hostsProgressed, now: Self.now).allSatisfy { $0.directive == nil })
        #expect(JobAggregate.directiveForEndedHost(lost: true, attemptRunning: true) == .stop)
        #expect(JobAggregate.directiveForEndedHost(lost: false, attemptRunning: false) == .stop)
        #expect(JobAggregate.directiveForEndedHost(lost: false, attemptRunning: true) == .proceed)
    }

    /// The ended attempt's outcome is the aggregate's: its stop reason and what is left of its retry budget decide it.
    @Test func anEndedAttemptsOutcomeFollowsItsStopReasonAndTheRetriesLeft() {
        let lost = [
            HostResult(
                name: "algo-1", ordinal: 1, phase: .lost, exitCode: nil, signal: nil, failureReason: "InternalServerError: host algo-1 stopped heartbeating",
                stopped: false)
        ]
        var aggregate = JobAggregate(
            state: Self.job(.training), attempt: .ending, hostPhases: [.lost], stopReason: .gangFailure,
            retries: RetryBudget(maxRetryAttempts: 2, retriesUsed: 1, retryOnExitCodes: []))
        #expect(aggregate.outcome(of: lost) == .retry(reason: "InternalServerError: host algo-1 stopped heartbeating"))
        aggregate.retries?.retriesUsed = 2
        #expect(aggregate.outcome(of: lost) == .failed(reason: "InternalServerError: host algo-1 stopped heartbeating" + AttemptOutcome.budgetNote(2)))
        aggregate.retries = nil
        #expect(aggregate.outcome(of: lost) == .failed(reason: "InternalServerError: host algo-1 stopped heartbeating" + AttemptOutcome.budgetNote(0)))
        aggregate.stopReason = .user
        #expect(aggregate.outcome(of: lost) == .stopped)
    }

    @Test func aStopKeepsTheReasonThatDecidesTheEnding() {
        #expect(StopReason.prevailing(current: nil, requested: .maxRuntime) == .maxRuntime)
        #expect(StopReason.prevailing(current: .gangFailure, requested: .user) == .user)
        #expect(StopReason.prevailing(current: .interruption, requested: .maxWait) == .maxWait)
        #expect(StopReason.prevailing(current: .user, requested: .maxWait) == .user)
        #expect(StopReason.prevailing(current: .maxWait, requested: .user) == .maxWait)
        #expect(StopReason.prevailing(current: .interruption, requested: .maxRuntime) == .interruption)
        #expect(StopReason.prevailing(current: .maxRuntime, requested: .gangFailure) == .maxRuntime)
    }

    @Test func theAggregateRemembersWhatItDecided() {
        var aggregate = JobAggregate(state: Self.job(.training), attempt: .running, hostPhases: [.exited], stopReason: nil)
        _ = aggregate.handle(.hostsProgressed, now: Self.now)
        #expect(aggregate.attempt == .ending)
        _ = aggregate.handle(.attemptFinalized(.completed), now: Self.now)
        #expect(aggregate.attempt == .ended)
        #expect(aggregate.state.status == .completed)
        var stopping = JobAggregate(state: Self.job(.training), attempt: .running, hostPhases: [.training], stopReason: .gangFailure)
        _ = stopping.handle(.stopRequested(.user, graceSeconds: 10), now: Self.now)
        #expect(stopping.stopReason == .user)
        #expect(stopping.state.status == .stopping)
    }
}
