import Foundation
import TrainyardCore
import TrainyardStore

/// The implementations a repository contract suite runs over: the PostgreSQL store on a fresh database, and the
/// in-memory twin.
public enum RepositoryKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case postgres
    case inMemory

    public var description: String { rawValue }

    /// Runs `body` with a fresh, empty ``ProjectRepository`` of this kind.
    public func withProjectRepository<T: Sendable>(_ body: @Sendable (any ProjectRepository) async throws -> T) async throws -> T {
        switch self {
        case .postgres: try await TestPostgres.withStore { try await body($0) }
        case .inMemory: try await body(InMemoryProjectRepository())
        }
    }
}

/// A ``LogRepository`` under test, and a way to have jobs running on it whose hosts write logs.
public struct LogRepositoryFixture: Sendable {
    public let logs: any LogRepository
    let start: @Sendable (_ project: String, _ job: String, _ hosts: Int) async throws -> (jobID: Int64, hosts: [HostRecord])

    /// A job `job` of project `project` running on `hosts` hosts (`algo-1`…), as their agents authenticate.
    public func runningJob(project: String, name job: String, hosts: Int = 2) async throws -> (jobID: Int64, hosts: [HostRecord]) {
        try await start(project, job, hosts)
    }
}

/// A job the store would not create, in a fixture that needed it.
public struct FixtureJobNotCreated: Error {}

extension ProjectRepository {
    /// The id of project `name`, created when missing.
    func fixtureProject(_ name: String) async throws -> Int64 {
        if let existing = try await project(named: name) { return existing.id }
        return try await createProject(name: name).0.id
    }
}

extension JobRepository {
    /// Submits a job `name` of `hosts` ml.m5.large hosts running `python3 train.py`.
    func submitFixtureJob(projectID: Int64, name: String, hosts: Int) async throws -> JobRecord {
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.name = name
        spec.instanceCount = hosts
        spec.command = ["python3", "train.py"]
        guard case .created(let job, _) = try await createJob(projectID: projectID, name: name, spec: spec, idempotencyKey: nil, requestHash: nil)
        else { throw FixtureJobNotCreated() }
        return job
    }
}

extension RepositoryKind {
    /// Runs `body` with a fresh, empty ``LogRepository`` of this kind. On PostgreSQL the fixture's jobs are created,
    /// scheduled and their hosts authenticated through the store; in memory they are made up.
    public func withLogRepository<T: Sendable>(_ body: @Sendable (LogRepositoryFixture) async throws -> T) async throws -> T {
        switch self {
        case .postgres:
            return try await TestPostgres.withStore { store in
                try await body(
                    LogRepositoryFixture(logs: store) { projectName, name, count in
                        let job = try await store.submitFixtureJob(projectID: try await store.fixtureProject(projectName), name: name, hosts: count)
                        let plans = try await store.schedule(capacity: .everyType(Capacity(onDemand: 64, spot: 64)), provisioner: "test", launchLeaseSeconds: 60)
                        guard let plan = plans.first(where: { $0.jobID == job.id }) else { throw FixtureJobNotCreated() }
                        var hosts: [HostRecord] = []
                        for launch in plan.hosts {
                            guard let host = try await store.authenticateAgent(launch.token) else { throw FixtureJobNotCreated() }
                            hosts.append(host)
                        }
                        return (job.id, hosts)
                    })
            }
        case .inMemory:
            let tenancy = InMemoryTenancy()
            return try await body(
                LogRepositoryFixture(logs: InMemoryLogRepository()) { project, name, count in
                    let jobID = await tenancy.job(projectID: await tenancy.project(project), name: name)
                    let hosts = (1...count).map { ordinal in
                        HostRecord(
                            id: "job\(jobID)-algo-\(ordinal)", attemptID: jobID, jobID: jobID, name: "algo-\(ordinal)", ordinal: ordinal,
                            instanceType: "ml.m5.large", phase: .training, startedAt: Date())
                    }
                    return (jobID, hosts)
                })
        }
    }
}

/// A ``WebhookRepository`` under test, and a way to have jobs announce events to it.
public struct WebhookRepositoryFixture: Sendable {
    public let webhooks: any WebhookRepository
    let project: @Sendable (_ name: String) async throws -> Int64
    let created: @Sendable (_ projectID: Int64, _ job: String) async throws -> Void
    let stopped: @Sendable (_ projectID: Int64, _ job: String) async throws -> Void

    /// The id of project `name`, created when missing.
    public func projectID(_ name: String) async throws -> Int64 { try await project(name) }
    /// Submits job `job` in the project: it announces `job.created`.
    public func submit(projectID: Int64, job: String) async throws { try await created(projectID, job) }
    /// Stops the queued job `job`: it announces `job.status_changed` twice (Stopping, Stopped) and `job.stopped`.
    public func stop(projectID: Int64, job: String) async throws { try await stopped(projectID, job) }
}

/// The in-memory fixtures' projects and jobs, numbered as they come.
private actor InMemoryTenancy {
    var projects: [String: Int64] = [:]
    var jobs: [String: Int64] = [:]

    func project(_ name: String) -> Int64 {
        if let id = projects[name] { return id }
        let id = Int64(projects.count + 1)
        projects[name] = id
        return id
    }

    func job(projectID: Int64, name: String) -> Int64 {
        if let id = jobs["\(projectID)/\(name)"] { return id }
        let id = Int64(jobs.count + 1)
        jobs["\(projectID)/\(name)"] = id
        return id
    }
}

extension RepositoryKind {
    /// Runs `body` with a fresh, empty ``WebhookRepository`` of this kind. On PostgreSQL the fixture's jobs are
    /// created and stopped through the store, whose transitions write the deliveries; in memory the events are
    /// written by the jobs' twin's transitions.
    public func withWebhookRepository<T: Sendable>(_ body: @Sendable (WebhookRepositoryFixture) async throws -> T) async throws -> T {
        switch self {
        case .postgres:
            return try await TestPostgres.withStore { store in
                try await body(
                    WebhookRepositoryFixture(
                        webhooks: store,
                        project: { name in try await store.fixtureProject(name) },
                        created: { projectID, name in _ = try await store.submitFixtureJob(projectID: projectID, name: name, hosts: 1) },
                        stopped: { projectID, name in
                            _ = try await store.requestStop(projectID: projectID, name: name, reason: .user, graceSeconds: 0)
                        }))
            }
        case .inMemory:
            // The jobs' twin writes the deliveries its transitions announce, as the store's effect writer does.
            let projects = InMemoryProjectRepository()
            let outbox = InMemoryWebhookRepository()
            let jobs = InMemoryJobRepository(projects: projects, webhooks: outbox)
            return try await body(
                WebhookRepositoryFixture(
                    webhooks: outbox,
                    project: { name in try await projects.fixtureProject(name) },
                    created: { projectID, name in _ = try await jobs.submitFixtureJob(projectID: projectID, name: name, hosts: 1) },
                    stopped: { projectID, name in
                        _ = try await jobs.requestStop(projectID: projectID, name: name, reason: .user, graceSeconds: 0)
                    }))
        }
    }
}

/// Every repository of one kind, sharing their data as the service's do: PostgreSQL's store for each, or the in-memory
/// twins wired together (the jobs' projects are the project twin's, their deliveries go to the webhook twin).
public struct TestRepositories: Sendable {
    public let projects: any ProjectRepository
    public let jobs: any JobRepository
    public let webhooks: any WebhookRepository
    /// The jobs' attempts and hosts (the same store, or the same twin, as `jobs`).
    public let attempts: any AttemptRepository
    /// The scheduling queue over `jobs`.
    public let queue: any SchedulingQueue
}

extension RepositoryKind {
    /// Runs `body` with fresh, empty repositories of this kind.
    public func withRepositories<T: Sendable>(_ body: @Sendable (TestRepositories) async throws -> T) async throws -> T {
        switch self {
        case .postgres:
            return try await TestPostgres.withStore { store in
                try await body(TestRepositories(projects: store, jobs: store, webhooks: store, attempts: store, queue: store))
            }
        case .inMemory:
            let projects = InMemoryProjectRepository()
            let webhooks = InMemoryWebhookRepository()
            let jobs = InMemoryJobRepository(projects: projects, webhooks: webhooks)
            return try await body(TestRepositories(projects: projects, jobs: jobs, webhooks: webhooks, attempts: jobs, queue: jobs))
        }
    }
}

extension PoolCapacity {
    /// A pool of the standard catalog's types, `capacity` hosts of each.
    public static func everyType(_ capacity: Capacity) -> PoolCapacity {
        PoolCapacity(catalog: InstanceCatalog(shapes: InstanceCatalog.standard.all, capacity: [:], defaultCapacity: capacity))
    }

    /// A pool of the standard catalog's types, each with what `capacity` gives it.
    public static func perType(_ capacity: (String) -> Capacity) -> PoolCapacity {
        let shapes = InstanceCatalog.standard.all
        return PoolCapacity(
            catalog: InstanceCatalog(
                shapes: shapes, capacity: Dictionary(uniqueKeysWithValues: shapes.map { ($0.name, capacity($0.name)) }), defaultCapacity: .standardDefault))
    }
}
