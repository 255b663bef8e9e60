import Foundation
import Testing
import TrainyardCore
import TrainyardTestSupport

@testable import TrainyardServer

/// `LeaseReaper.runOnce`: a host is lost when its lease has run out, not a second before, and only while heartbeats
/// could arrive.
@Suite struct LeaseReaperPassTests {
    @Test(arguments: RepositoryKind.allCases)
    func aHostWhoseHeartbeatsStoppedIsLostOnceItsLeaseRunsOutAndTornDown(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let (_, hosts) = try await f.launched("quiet", hosts: 2)
            try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 10)
            try await f.heartbeat(hosts[1], AgentReport(phase: .training), at: 10)
            // algo-2 keeps calling in; algo-1 falls silent after t0 + 10 (lease 30 s).
            try await f.heartbeat(hosts[1], AgentReport(phase: .training), at: 35)

            try await f.leaseReaper.runOnce(now: ControllerFixture.at(39.9))
            #expect(try await f.host(hosts[0]).phase == .training)
            #expect(f.provisioner.calls.terminated.isEmpty)

            try await f.leaseReaper.runOnce(now: ControllerFixture.at(40.1))
            let lost = try await f.host(hosts[0])
            #expect(lost.phase == .lost)
            #expect(try await f.host(hosts[1]).phase == .training)
            #expect(f.provisioner.calls.terminated == [[hosts[0]: try #require(lost.providerRef)]])
            // The gang is told to stop: the attempt cannot go on without algo-1.
            let directive = try await f.heartbeat(hosts[1], AgentReport(phase: .training), at: 41)
            #expect(directive.action == .stop)

            // A host already judged is not judged again (algo-2's lease lasts until t0 + 71).
            try await f.leaseReaper.runOnce(now: ControllerFixture.at(70))
            #expect(f.provisioner.calls.terminated.count == 1)
        }
    }

    @Test(arguments: RepositoryKind.allCases)
    func silenceWhileTheServerDoesNotListenProvesNothing(_ kind: RepositoryKind) async throws {
        try await ControllerFixture.with(kind) { f in
            let (_, hosts) = try await f.launched("paused")
            try await f.heartbeat(hosts[0], AgentReport(phase: .training), at: 10)
            f.address.setListening(false)
            try await f.leaseReaper.runOnce(now: ControllerFixture.at(600))
            #expect(try await f.host(hosts[0]).phase == .training)
            #expect(f.provisioner.calls.terminated.isEmpty)
        }
    }
}
