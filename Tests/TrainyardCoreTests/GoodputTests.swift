import Foundation
import Testing
import TrainyardCore

struct GoodputTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }

    static func attempt(
        _ start: Double, training: Double?, end: Double?, fault: Goodput.Fault? = nil, checkpoint: Double? = nil
    ) -> Goodput.Attempt {
        Goodput.Attempt(
            startedAt: at(start), trainingStartedAt: training.map(at), endedAt: end.map(at), fault: fault, lastCheckpointAt: checkpoint.map(at))
    }

    @Test func aJobWithoutFaultsIsAllProductive() {
        let goodput = Goodput.of([Self.attempt(0, training: 10, end: 110)], jobEndedAt: Self.at(112), now: Self.at(500))
        #expect(goodput.trainingSeconds == 100 && goodput.productiveSeconds == 100 && goodput.lostSeconds == 0)
        #expect(goodput.faults.isEmpty && goodput.autoRecoveries == 0 && goodput.meanRecoverySeconds == nil)
        #expect(goodput.uptimePercent == 98.0)  // 100 s training of the 102 s from its start to the job's end
    }

    @Test func aReclaimLosesTheWorkSinceTheLastCheckpointAndTheResumeIsARecovery() {
        // trains 0-100 (checkpoint at 70), reclaimed at 100; the next attempt starts at 130 and trains from 140 to 240
        let goodput = Goodput.of(
            [
                Self.attempt(120, training: 140, end: 240),
                Self.attempt(-10, training: 0, end: 100, fault: .spotReclaim, checkpoint: 70),
            ], jobEndedAt: Self.at(240), now: Self.at(999))
        #expect(goodput.trainingSeconds == 200)
        #expect(goodput.lostSeconds == 30 && goodput.productiveSeconds == 170)
        #expect(goodput.faults == [.spotReclaim: 1] && goodput.autoRecoveries == 1 && goodput.recoverySeconds == 40)
        #expect(goodput.meanRecoverySeconds == 40)
        #expect(goodput.uptimePercent == 83.3)  // 200 of 240
    }

    @Test func theRunOfEndedAttemptsIsTheUptimeDenominatorAndGrowsByEachAttemptsEndToEnd() {
        let reclaimed = Self.attempt(-10, training: 0, end: 100, fault: .spotReclaim, checkpoint: 70)
        let resumed = Self.attempt(120, training: 140, end: 240)
        #expect(Goodput.runSeconds([]) == 0)
        #expect(Goodput.runSeconds([Self.attempt(0, training: nil, end: 50, fault: .hostLost)]) == 0)  // never trained
        #expect(Goodput.runSeconds([reclaimed]) == 100)
        // The resumed attempt adds the 140 s from the first one's end to its own: down time included.
        #expect(Goodput.runSeconds([resumed, reclaimed]) == 240)
        let whole = Goodput.of([reclaimed, resumed], jobEndedAt: Self.at(240), now: Self.at(999))
        #expect(whole.uptimePercent == (whole.trainingSeconds / Goodput.runSeconds([reclaimed, resumed]) * 1000).rounded() / 10)
    }

    @Test func aFaultBeforeAnyCheckpointLosesAllOfItsTrainingAndACheckpointBeforeTrainingCountsFromTraining() {
        let never = Goodput.of([Self.attempt(0, training: 10, end: 60, fault: .hostLost)], jobEndedAt: nil, now: Self.at(100))
        #expect(never.lostSeconds == 50 && never.productiveSeconds == 0)
        // not recovered yet: the job waits, and that time is down time
        #expect(never.autoRecoveries == 0 && never.faults == [.hostLost: 1] && never.uptimePercent == 55.6)
        let early = Goodput.of([Self.attempt(0, training: 10, end: 60, fault: .hostLost, checkpoint: 5)], jobEndedAt: nil, now: Self.at(100))
        #expect(early.lostSeconds == 50)
    }

    @Test func aSyncAfterTheFaultStruckKeptTheWorkAndOneBeforeItDidNot() {
        // reclaimed: noticed at 90, the final sync at 95, the attempt wound up at 110; trained again from 130
        let saved = Goodput.Attempt(
            startedAt: Self.at(0), trainingStartedAt: Self.at(10), endedAt: Self.at(110), fault: .spotReclaim, faultAt: Self.at(90),
            lastCheckpointAt: Self.at(95))
        let goodput = Goodput.of([saved, Self.attempt(120, training: 130, end: nil)], jobEndedAt: nil, now: Self.at(140))
        #expect(goodput.lostSeconds == 0 && goodput.recoverySeconds == 40)
        // a lost host at 90, the last sync at 60: the training since 60, up to the attempt's end, is done again
        var lost = saved
        lost.fault = .hostLost
        lost.lastCheckpointAt = Self.at(60)
        #expect(Goodput.of([lost], jobEndedAt: nil, now: Self.at(140)).lostSeconds == 50)
    }

    @Test func anAttemptsHostsSayWhenTheFaultStruck() {
        let synced = Self.at(50)
        let lostHost = HostResult(name: "algo-2", ordinal: 2, phase: .lost, exitCode: nil, signal: nil, failureReason: nil, stopped: false, interrupted: false)
        let gang: [(result: HostResult, endedAt: Date?, checkpointAt: Date?)] = [
            (Self.host(.exited, exit: 143, stopped: true), Self.at(70), synced), (lostHost, Self.at(60), nil),
        ]
        let unstopped = Goodput.Attempt(
            startedAt: Self.at(0), trainingStartedAt: Self.at(5), endedAt: Self.at(80), stopReason: .gangFailure, stopRequestedAt: nil, hosts: gang)
        #expect(unstopped.fault == .hostLost && unstopped.faultAt == Self.at(60) && unstopped.lastCheckpointAt == synced)
        let stopped = Goodput.Attempt(
            startedAt: Self.at(0), trainingStartedAt: Self.at(5), endedAt: Self.at(80), stopReason: .gangFailure, stopRequestedAt: Self.at(58), hosts: gang)
        #expect(stopped.faultAt == Self.at(58))
        let running = Goodput.Attempt(
            startedAt: Self.at(0), trainingStartedAt: Self.at(5), endedAt: nil, stopReason: nil, stopRequestedAt: nil,
            hosts: [(Self.host(.training), nil, synced)])
        #expect(running.fault == nil && running.faultAt == nil)
    }

    @Test func aStopLosesNothingAndIsNotRecovered() {
        let goodput = Goodput.of([Self.attempt(0, training: 0, end: 50, fault: .stop, checkpoint: 10)], jobEndedAt: Self.at(55), now: Self.at(99))
        #expect(goodput.lostSeconds == 0 && goodput.productiveSeconds == 50 && goodput.faults == [.stop: 1] && goodput.autoRecoveries == 0)
    }

    @Test func anAttemptThatNeverTrainedLosesNothingButItsFaultCounts() {
        let goodput = Goodput.of(
            [Self.attempt(0, training: nil, end: 20, fault: .hostLost), Self.attempt(30, training: 40, end: nil)], jobEndedAt: nil, now: Self.at(60))
        #expect(goodput.trainingSeconds == 20 && goodput.lostSeconds == 0)
        #expect(goodput.faults == [.hostLost: 1] && goodput.autoRecoveries == 1 && goodput.recoverySeconds == 20)
        #expect(goodput.uptimePercent == 100)
    }

    @Test func aJobThatNeverTrainedHasNoUptime() {
        #expect(Goodput.of([], jobEndedAt: nil, now: Self.at(5)) == Goodput())
        #expect(Goodput.of([Self.attempt(0, training: nil, end: nil)], jobEndedAt: nil, now: Self.at(5)).uptimePercent == nil)
    }

    static func host(_ phase: HostPhase, exit: Int32? = nil, stopped: Bool = false, interrupted: Bool = false) -> HostResult {
        HostResult(name: "algo-1", ordinal: 1, phase: phase, exitCode: exit, signal: nil, failureReason: nil, stopped: stopped, interrupted: interrupted)
    }

    @Test func theFaultIsReadFromTheHostsAndTheStopReason() {
        typealias A = Goodput.Attempt
        #expect(A.fault(hosts: [Self.host(.training)], stopReason: nil, ended: false) == nil)
        #expect(A.fault(hosts: [Self.host(.exited, exit: 0)], stopReason: nil, ended: true) == nil)
        #expect(A.fault(hosts: [Self.host(.exited, exit: 0, stopped: true)], stopReason: .user, ended: true) == .stop)
        #expect(A.fault(hosts: [Self.host(.exited, exit: 0)], stopReason: .maxRuntime, ended: true) == .stop)
        #expect(A.fault(hosts: [Self.host(.exited, exit: 143, stopped: true, interrupted: true)], stopReason: .interruption, ended: true) == .spotReclaim)
        #expect(A.fault(hosts: [Self.host(.exited, exit: 0)], stopReason: .interruption, ended: true) == nil, "its work was done before the reclaim")
        #expect(A.fault(hosts: [Self.host(.lost), Self.host(.exited, exit: 0, stopped: true)], stopReason: .gangFailure, ended: true) == .hostLost)
        #expect(A.fault(hosts: [Self.host(.exited, exit: 1)], stopReason: nil, ended: true) == .userError)
    }
}
