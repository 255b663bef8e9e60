import Foundation
import Logging
import TrainyardCore
import TrainyardObjectStore
@testable import TrainyardStore
import TrainyardTestSupport

@testable import TrainyardServer

/// One controller pass at a time, with a test clock, a fake provisioner and no agents, over a repository kind: a real
/// database, or the in-memory twins. Hosts report through the repository as their agents' heartbeats would.
struct ControllerFixture: Sendable {
    static let t0 = Date(timeIntervalSince1970: 1_790_000_000)
    let jobs: any JobRepository
    let attempts: any AttemptRepository
    let queue: any SchedulingQueue
    let provisioner: FakeProvisioner
    let address: ServerAddress
    let project: ProjectRecord
    let settings: WorkerSettings
    /// Clears a host's provisioner reference, as a server that died between the backend's launch and recording it.
    let forgetReference: @Sendable (_ hostID: String) async throws -> Void
    let logger = Logger(label: "trainyard.tests.controllers")

    /// Runs `body` on fresh repositories of `kind`, with the server listening (as far as the controllers can tell).
    static func with(
        _ kind: RepositoryKind, settings: WorkerSettings = WorkerSettings(hostLease: 30, stopGrace: 10, launchTimeout: 60, spotNotice: 5),
        _ body: @escaping @Sendable (ControllerFixture) async throws -> Void
    ) async throws {
        let address = ServerAddress()
        address.set(host: "127.0.0.1", port: 8080)
        address.setListening(true)
        switch kind {
        case .postgres:
            try await TestPostgres.withStore { store in
                let project = try await store.createProject(name: "team").0
                try await body(
                    ControllerFixture(
                        jobs: store, attempts: store, queue: store, provisioner: FakeProvisioner(), address: address, project: project, settings: settings,
                        forgetReference: { id in try await store.client.query("UPDATE hosts SET provisioner_ref = NULL WHERE id = \(id)") }))
            }
        case .inMemory:
            let projects = InMemoryProjectRepository()
            let twin = InMemoryJobRepository(projects: projects, webhooks: InMemoryWebhookRepository())
            let project = try await projects.createProject(name: "team").0
            try await body(
                ControllerFixture(
                    jobs: twin, attempts: twin, queue: twin, provisioner: FakeProvisioner(), address: address, project: project, settings: settings,
                    forgetReference: { id in await twin.forgetReference(hostID: id) }))
        }
    }

    var scheduler: Scheduler {
        Scheduler(
            queue: queue, attempts: attempts, catalog: .standard, capacity: CapacityView(catalog: .standard), provisioner: provisioner, settings: settings,
            address: address, logger: logger)
    }
    var leaseReaper: LeaseReaper { LeaseReaper(attempts: attempts, provisioner: provisioner, address: address, logger: logger) }
    var deadlines: DeadlineEnforcer { DeadlineEnforcer(attempts: attempts, settings: settings, logger: logger) }
    var reconciler: Reconciler {
        Reconciler(
            attempts: attempts, provisioner: provisioner,
            interruptions: Interruptions(attempts: attempts, provisioner: provisioner, noticeSeconds: settings.spotNotice, logger: logger), settings: settings,
            address: address, logger: logger)
    }

    /// Submits a job of `hosts` ml.m5.large hosts at `t0`.
    func submit(_ name: String, hosts: Int = 1, spot: Bool = false, maxRun: Int = 3600, maxWait: Int? = nil, retries: Int = 0) async throws -> JobRecord {
        var spec = JobSpec(instanceType: "ml.m5.large", instanceCount: hosts)
        spec.name = name
        spec.command = ["python3", "train.py"]
        spec.useSpotInstances = spot
        spec.maxRun = maxRun
        spec.maxWait = maxWait
        spec.maxRetryAttempts = retries
        guard case .created(let job, _) = try await jobs.createJob(
            projectID: project.id, name: name, spec: spec, idempotencyKey: nil, requestHash: nil, note: nil, now: Self.t0)
        else { throw TestFailure("\(name) was not created") }
        return job
    }

    /// Submits a job and has the scheduler launch it at `t0`; answers the hosts' ids, in ordinal order.
    func launched(_ name: String, hosts: Int = 1, spot: Bool = false, maxRun: Int = 3600, maxWait: Int? = nil) async throws -> (JobRecord, [String]) {
        let job = try await submit(name, hosts: hosts, spot: spot, maxRun: maxRun, maxWait: maxWait)
        try await scheduler.runOnce(now: Self.t0)
        guard let request = provisioner.calls.launched.last(where: { $0.jobName == name }) else { throw TestFailure("\(name) was not launched") }
        return (job, request.hosts.map(\.id))
    }

    /// A heartbeat of host `id` as its agent would send it, at `t0 + seconds`.
    @discardableResult
    func heartbeat(_ id: String, _ report: AgentReport, at seconds: Double) async throws -> AgentDirective {
        try await attempts.recordHeartbeat(
            hostID: id, report: report, leaseSeconds: settings.hostLease, heartbeatSeconds: settings.heartbeatInterval, spotNoticeSeconds: settings.spotNotice,
            now: Self.t0.addingTimeInterval(seconds))
    }

    func job(_ job: JobRecord) async throws -> JobRecord {
        guard let current = try await jobs.job(id: job.id) else { throw TestFailure("job \(job.name) is gone") }
        return current
    }

    func host(_ id: String) async throws -> HostRecord {
        guard let host = try await attempts.host(id: id) else { throw TestFailure("host \(id) is gone") }
        return host
    }

    static func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
}

extension InMemoryJobRepository {
    /// Clears a host's provisioner reference (``ControllerFixture/forgetReference``).
    func forgetReference(hostID: String) {
        hosts[hostID]?.record.providerRef = nil
    }
}
