import Testing
import TrainyardCore

/// How an ended attempt's hosts, stop reason and retry budget decide what happens to the job, one failure class each.
@Suite struct AttemptOutcomeTests {
    static func host(_ ordinal: Int, phase: HostPhase = .exited, exit: Int32? = 0, stopped: Bool = false, interrupted: Bool = false) -> HostResult {
        HostResult(
            name: "algo-\(ordinal)", ordinal: ordinal, phase: phase, exitCode: exit, signal: nil, failureReason: nil, stopped: stopped,
            interrupted: interrupted)
    }

    static func decide(_ hosts: [HostResult], _ reason: StopReason?, budget: Int = 0, used: Int = 0, codes: [Int] = []) -> AttemptOutcome {
        AttemptOutcome.decide(hosts: hosts, stopReason: reason, maxRetryAttempts: budget, retriesUsed: used, retryOnExitCodes: codes)
    }

    @Test func aReclaimedGangIsInterruptedNamingTheReclaimedHost() {
        let hosts = [Self.host(1, exit: 143, stopped: true), Self.host(2, exit: 143, stopped: true, interrupted: true)]
        #expect(Self.decide(hosts, .interruption) == .interrupted(reason: "CapacityError: spot capacity reclaimed host algo-2"))
    }

    @Test func anInterruptionIsNotChargedToTheRetryBudgetEvenWithNoneLeft() {
        // A host killed before it could report (lost) during the notice is still the interruption's doing.
        let hosts = [Self.host(1, phase: .lost, exit: nil, interrupted: true)]
        #expect(Self.decide(hosts, .interruption, budget: 0, used: 0) == .interrupted(reason: "CapacityError: spot capacity reclaimed host algo-1"))
    }

    @Test func aGangThatFinishedBeforeTheNoticeReachedItCompletes() {
        #expect(Self.decide([Self.host(1), Self.host(2, interrupted: true)], .interruption) == .completed)
    }

    @Test func maxWaitAndAUserStopDecideOverEverythingElse() {
        let hosts = [Self.host(1, exit: 143, stopped: true), Self.host(2, phase: .lost, exit: nil)]
        #expect(Self.decide(hosts, .maxWait) == .maxWaitExceeded)
        #expect(Self.decide(hosts, .user) == .stopped)
    }

    @Test func aLostHostIsAnInfrastructureFailureRetriedWithinTheBudgetOnly() {
        let hosts = [Self.host(1, exit: 143, stopped: true), Self.host(2, phase: .lost, exit: nil)]
        #expect(Self.decide(hosts, .gangFailure, budget: 1, used: 0) == .retry(reason: "InternalServerError: host algo-2 stopped heartbeating"))
        #expect(
            Self.decide(hosts, .gangFailure, budget: 1, used: 1)
                == .failed(reason: "InternalServerError: host algo-2 stopped heartbeating (after 1 retries, max_retry_attempts)"))
    }

    @Test func userCodeFailuresAreRetriedOnlyForTheListedExitCodes() {
        let hosts = [Self.host(1, exit: 3)]
        #expect(Self.decide(hosts, nil, budget: 2) == .failed(reason: "AlgorithmError: host algo-1 exited with code 3"))
        #expect(Self.decide(hosts, nil, budget: 2, codes: [3]) == .retry(reason: "AlgorithmError: host algo-1 exited with code 3"))
    }
}
