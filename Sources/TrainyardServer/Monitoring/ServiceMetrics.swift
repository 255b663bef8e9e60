import CoreMetrics
import Prometheus
import Synchronization
import TrainyardCore

/// What the service counts and measures, in one Prometheus registry per application (two servers in one process, as in
/// tests, keep their own), exposed at `GET /metrics`. Events are recorded as they happen (requests, log lines, webhook
/// deliveries, controller passes); the state of jobs, queues, hosts and capacity is read at each scrape
/// (``update(_:)``), so a restarted server reports it at once.
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    /// swift-metrics' view of the registry, for components written against its API (the scheduler's pass timer).
    var factory: any MetricsFactory { PrometheusMetricsFactory(registry: registry) }

    static let requestBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]
    static let deliveryBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    enum Family {
        static var httpRequests: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_http_requests", unitName: "total",
                helpText: "HTTP requests answered, by route template, method and status.")
        }
        static var httpDuration: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_http_request_duration", unitName: "seconds",
                helpText: "Time from a request's arrival to its answer's head, by route template and method.")
        }
        static var logLines: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_log_lines_ingested", unitName: "total", helpText: "Log lines stored from the agents.")
        }
        static var logBytes: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_log_bytes_ingested", unitName: "total",
                helpText: "Bytes of the log lines stored from the agents.")
        }
        static var deliveries: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_webhook_deliveries", unitName: "total",
                helpText: "Webhook delivery tries, by outcome: delivered (a 2xx answer) or failed (another answer, none, or a refused "
                    + "target; tried again on the schedule).")
        }
        static var deliveryDuration: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_webhook_delivery_duration", unitName: "seconds",
                helpText: "Time a webhook receiver took to answer, by outcome.")
        }
        static var controllerFailures: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_controller_pass_failures", unitName: "total",
                helpText: "Controller passes that failed, by controller.")
        }
        static var goodputTraining: MetricNameDescriptor {
            MetricNameDescriptor(
                metricName: "trainyard_goodput_training", unitName: "seconds_total", helpText: "Seconds in Training of the attempts that ended, by project.")
        }
        static var goodputRun: MetricNameDescriptor {
            MetricNameDescriptor(
                metricName: "trainyard_goodput_run", unitName: "seconds_total",
                helpText: "Seconds from each job's first training start to the end of its latest ended attempt (training and the time down between attempts), by project: uptime is training over this.")
        }
        static var goodputLost: MetricNameDescriptor {
            MetricNameDescriptor(
                metricName: "trainyard_goodput_lost", unitName: "seconds_total",
                helpText: "Training seconds done again after faults (since each faulted attempt's last checkpoint sync), by project.")
        }
        static var goodputFaults: MetricNameDescriptor {
            MetricNameDescriptor(
                metricName: "trainyard_goodput_faults", unitName: "total",
                helpText: "Attempts ended by a fault, by project and class (spot_reclaim, host_lost, user_error, stop).")
        }
        static var goodputRecoveries: MetricNameDescriptor {
            MetricNameDescriptor(
                metricName: "trainyard_goodput_recoveries", unitName: "total",
                helpText: "Faults after which a job trained again on its own, by project (counted when the recovering attempt ends).")
        }
        static var goodputRecoverySeconds: MetricNameDescriptor {
            MetricNameDescriptor(
                metricName: "trainyard_goodput_recovery", unitName: "seconds_total", helpText: "Seconds from those faults to training again, by project.")
        }
        static var goodputTrainingInProgress: MetricNameDescriptor {
            MetricNameDescriptor(
                metricName: "trainyard_goodput_training_in_progress", unitName: "seconds",
                helpText: "Seconds in Training so far of the attempts still running, by project: added to trainyard_goodput_training_seconds_total "
                    + "when each ends.")
        }
        static var jobs: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_jobs", unitName: "", helpText: "Jobs in the database, by status and secondary status.")
        }
        static var queueDepth: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_queue_depth", unitName: "", helpText: "Jobs waiting for hosts, by instance type and market.")
        }
        static var queueOldest: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_queue_oldest_age", unitName: "seconds",
                helpText: "Age of the oldest job waiting for hosts (since its submission), by instance type and market; 0 when none waits.")
        }
        static var hosts: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_hosts", unitName: "", helpText: "Hosts of open attempts, by state.")
        }
        static var capacityInUse: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_capacity_in_use", unitName: "",
                helpText: "Hosts running or starting, by instance type and market.")
        }
        static var capacityWarm: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_capacity_warm", unitName: "",
                helpText: "Hosts kept in warm pools for the jobs that match them, by instance type and market.")
        }
        static var capacityFree: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_capacity_free", unitName: "",
                helpText: "Hosts the pool can still start, by instance type and market.")
        }
        static var databaseConnections: MetricNameDescriptor {
            MetricNameDescriptor(metricName: "trainyard_database_connections", unitName: "",
                helpText: "Connections to the database: the server's pool limit (max), and this server's connections open now and busy "
                    + "with a statement (open, active).")
        }
    }

    /// Label sets of the state gauges set by the last scrape: a set absent from the next is set to 0, not left stale.
    private let stateGauges = Mutex<[StateLabel: Prometheus.Gauge]>([:])

    private struct StateLabel: Hashable {
        var family: String
        var labels: [String]
    }

    // MARK: - Events

    func requestAnswered(route: String, method: String, status: Int, after duration: Duration) {
        registry.makeCounter(descriptor: Family.httpRequests, labels: [("route", route), ("method", method), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Family.httpDuration, labels: [("route", route), ("method", method)], buckets: Self.requestBuckets)
            .record(duration)
    }

    func logLinesIngested(_ lines: Int, bytes: Int) {
        registry.makeCounter(descriptor: Family.logLines, labels: []).increment(by: Int64(lines))
        registry.makeCounter(descriptor: Family.logBytes, labels: []).increment(by: Int64(bytes))
    }

    func webhookDelivery(outcome: String, after duration: Duration) {
        registry.makeCounter(descriptor: Family.deliveries, labels: [("outcome", outcome)]).increment()
        registry.makeDurationHistogram(descriptor: Family.deliveryDuration, labels: [("outcome", outcome)], buckets: Self.deliveryBuckets)
            .record(duration)
    }

    /// An attempt of a job of `project` ended: the job's goodput went from `before` (its earlier attempts') to `after`,
    /// and the run its ended attempts cover (``Goodput/runSeconds(_:)``) grew by `runAdded` seconds.
    func attemptEnded(project: String, before: Goodput, after: Goodput, runAdded: Double) {
        let labels = [("project", project)]
        registry.makeCounter(descriptor: Family.goodputRun, labels: labels).increment(by: max(0, runAdded))
        registry.makeCounter(descriptor: Family.goodputTraining, labels: labels).increment(by: max(0, after.trainingSeconds - before.trainingSeconds))
        registry.makeCounter(descriptor: Family.goodputLost, labels: labels).increment(by: max(0, after.lostSeconds - before.lostSeconds))
        for fault in Goodput.Fault.allCases {
            let added = (after.faults[fault] ?? 0) - (before.faults[fault] ?? 0)
            registry.makeCounter(descriptor: Family.goodputFaults, labels: labels + [("class", fault.rawValue)]).increment(by: Int64(max(0, added)))
        }
        registry.makeCounter(descriptor: Family.goodputRecoveries, labels: labels).increment(by: Int64(max(0, after.autoRecoveries - before.autoRecoveries)))
        registry.makeCounter(descriptor: Family.goodputRecoverySeconds, labels: labels)
            .increment(by: max(0, after.recoverySeconds - before.recoverySeconds))
    }

    func controllerPassFailed(_ controller: String) {
        registry.makeCounter(descriptor: Family.controllerFailures, labels: [("controller", controller)]).increment()
    }

    /// Families recorded only when something happens start at 0, so that a dashboard's query finds them on a quiet
    /// service.
    func declare(controllers: [String], projects: [String]) {
        for controller in controllers { registry.makeCounter(descriptor: Family.controllerFailures, labels: [("controller", controller)]).increment(by: Int64(0)) }
        for project in projects {
            attemptEnded(project: project, before: Goodput(), after: Goodput(), runAdded: 0)
            registry.makeGauge(descriptor: Family.goodputTrainingInProgress, labels: [("project", project)]).set(to: 0.0)
        }
        registry.makeCounter(descriptor: Family.logLines, labels: []).increment(by: Int64(0))
        registry.makeCounter(descriptor: Family.logBytes, labels: []).increment(by: Int64(0))
        for outcome in ["delivered", "failed"] {
            registry.makeCounter(descriptor: Family.deliveries, labels: [("outcome", outcome)]).increment(by: Int64(0))
        }
    }

    // MARK: - State, read at each scrape

    /// Sets the state gauges to `state`; label sets of the last scrape that are gone are set to 0.
    func update(_ state: ServiceState) {
        var seen: [StateLabel: Prometheus.Gauge] = [:]
        func set(_ family: MetricNameDescriptor, _ labels: [(String, String)], _ value: Double) {
            let gauge = registry.makeGauge(descriptor: family, labels: labels)
            gauge.set(to: value)
            seen[StateLabel(family: family.name, labels: labels.flatMap { [$0.0, $0.1] })] = gauge
        }
        for count in state.jobs {
            set(Family.jobs, [("status", count.status), ("secondary_status", count.secondaryStatus)], Double(count.count))
        }
        for pool in state.pools {
            let labels = [("instance_type", pool.instanceType), ("market", pool.market)]
            set(Family.queueDepth, labels, Double(pool.queued))
            set(Family.queueOldest, labels, pool.oldestQueuedSeconds)
            set(Family.capacityInUse, labels, Double(pool.inUse))
            set(Family.capacityWarm, labels, Double(pool.warm))
            set(Family.capacityFree, labels, Double(pool.free))
        }
        for (hostState, count) in state.hosts { set(Family.hosts, [("state", hostState)], Double(count)) }
        for (project, seconds) in state.trainingInProgress { set(Family.goodputTrainingInProgress, [("project", project)], seconds) }
        set(Family.databaseConnections, [("state", "max")], Double(state.databaseConnections.max))
        set(Family.databaseConnections, [("state", "open")], Double(state.databaseConnections.open))
        set(Family.databaseConnections, [("state", "active")], Double(state.databaseConnections.active))
        let gone = stateGauges.withLock { previous in
            defer { previous = seen }
            return Array(previous.filter { seen[$0.key] == nil }.values)
        }
        for gauge in gone { gauge.set(to: 0) }
    }

    /// The registry in Prometheus's text exposition format (0.0.4).
    func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}

/// The service's state at one scrape, as the database and the pool's capacity give it.
struct ServiceState: Sendable, Equatable {
    struct JobCount: Sendable, Equatable {
        var status: String
        var secondaryStatus: String
        var count: Int
    }

    /// One instance type and market: what waits for it, what runs on it, what is left of it.
    struct Pool: Sendable, Equatable {
        var instanceType: String
        /// `on_demand` or `spot`.
        var market: String
        var queued: Int
        var oldestQueuedSeconds: Double
        var inUse: Int
        /// Hosts kept in available warm pools for the jobs that match them.
        var warm: Int
        var free: Int
    }

    struct Connections: Sendable, Equatable {
        var max: Int
        var open: Int
        var active: Int
    }

    var jobs: [JobCount]
    var pools: [Pool]
    var hosts: [String: Int]
    /// Seconds in training so far of the attempts still running, by project.
    var trainingInProgress: [String: Double]
    var databaseConnections: Connections
}
