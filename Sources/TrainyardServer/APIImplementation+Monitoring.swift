import Foundation
import OpenAPIRuntime
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

/// What `GET /metrics` needs beside the repositories.
struct Monitoring: Sendable {
    var metrics = ServiceMetrics()
    /// `TRAINYARD_METRICS_PUBLIC`: scrapers need no key.
    var isPublic = false
    /// The server's database pool limit.
    var databaseConnectionLimit = 0
    /// The service's connections to the database now (open, active).
    var databaseConnections: @Sendable () async throws -> (open: Int, active: Int) = { (0, 0) }
}

extension APIImplementation {
    /// The service's metrics for Prometheus: the state of jobs, queues, hosts and capacity read now, beside what was
    /// counted as it happened. An admin key of the bootstrap project, unless the setting opens it.
    func getPrometheusMetrics(_ input: Operations.GetPrometheusMetrics.Input) async throws -> Operations.GetPrometheusMetrics.Output {
        if !monitoring.isPublic {
            let principal = try principal(allowing: { $0 == .admin }, action: "read the service's metrics")
            guard principal.projectName == ProjectRecord.bootstrapName else {
                throw APIError.forbidden(
                    detail: "only admins of the \(ProjectRecord.bootstrapName) project can read the service's metrics (they are every project's); "
                        + "set TRAINYARD_METRICS_PUBLIC=true to let scrapers in without a key")
            }
        }
        let queued = try await queue.queueState()
        let pool = try await currentPool()
        let (open, active) = try await monitoring.databaseConnections()
        let state = ServiceState(
            queue: queued, pool: pool, now: Date(),
            connections: .init(max: monitoring.databaseConnectionLimit, open: open, active: active))
        monitoring.metrics.update(state)
        return .ok(.init(body: .plainText(HTTPBody(monitoring.metrics.exposition()))))
    }
}

extension ServiceState {
    /// The state a scrape reports: every job count; per instance type and market with capacity, or with jobs waiting
    /// or hosts running or kept, the queue, the oldest waiting job's age, the hosts in use, those kept in warm pools and
    /// those left.
    init(queue: QueueState, pool: PoolCapacity, now: Date, connections: Connections) {
        jobs = queue.jobs.map { JobCount(status: $0.key.status.rawValue, secondaryStatus: $0.key.secondaryStatus.rawValue, count: $0.value) }
            .sorted { ($0.status, $0.secondaryStatus) < ($1.status, $1.secondaryStatus) }
        var pools: [Pool] = []
        let types = Set(pool.catalog.all.map(\.name)).union(queue.waiting.keys.map(\.instanceType)).union(queue.inUse.keys.map(\.instanceType))
            .union(queue.warm.keys.map(\.instanceType))
        for type in types.sorted() {
            let capacity = pool.capacity(of: type)
            for spot in [false, true] {
                let key = GangScheduler.Pool(instanceType: type, spot: spot)
                let total = spot ? capacity.spot : capacity.onDemand
                let waiting = queue.waiting[key]
                let inUse = queue.inUse[key] ?? 0
                let warm = queue.warm[key] ?? 0
                guard total > 0 || waiting != nil || inUse > 0 || warm > 0 else { continue }
                pools.append(
                    Pool(
                        instanceType: type, market: spot ? "spot" : "on_demand", queued: waiting?.count ?? 0,
                        oldestQueuedSeconds: waiting.map { max(0, now.timeIntervalSince($0.oldestSubmittedAt)) } ?? 0, inUse: inUse,
                        warm: warm, free: max(0, total - inUse - warm)))
            }
        }
        self.pools = pools
        hosts = Dictionary(uniqueKeysWithValues: queue.hosts.map { ($0.key.rawValue, $0.value) })
        trainingInProgress = queue.trainingInProgress
        databaseConnections = connections
    }
}
