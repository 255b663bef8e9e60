public import Foundation
import Hummingbird
import Metrics
import Logging
import OpenAPIHummingbird
import PostgresNIO
import ServiceLifecycle
package import TrainyardAPI
import TrainyardCore
import TrainyardObjectStore
import TrainyardProvisioning
import TrainyardStore

/// Builds the whole service: database (embedded or external), migrations, bootstrap key, router and API.
///
/// `trainyard serve` and the tests call this same function. With `.embedded` the private cluster is started before
/// the function returns and is stopped, last, when the application shuts down.
/// - Parameter onServerRunning: called with the bound port once the server listens (useful with port 0).
public func buildApplication(
    configuration: ServerConfiguration, database: DatabaseSetup? = nil, provisioner givenProvisioner: (any WorkerPoolProvisioner)? = nil, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let catalog = try loadCatalog(configuration.capacityFile)
    // Checked before the database starts: bad object store settings stop here, leaving nothing running.
    let (objectStore, objectStoreDescriptor, agentSigner) = try await configuration.objectStore.makeStore(
        objectsDirectory: configuration.objectsDirectory, logger: logger)
    let setup = database ?? (configuration.databaseURL.map(DatabaseSetup.url) ?? .embedded)
    let keyMint = try ServerMasterKey.load(
        configured: configuration.masterKey, dataDirectory: configuration.absoluteDataDirectory, sharedDatabase: setup.isShared, logger: logger)
    var services: [any Service] = []
    var embedded: EmbeddedPostgres?
    let clientConfiguration: PostgresClient.Configuration
    switch setup {
    case .embedded:
        var postgresLogger = logger
        postgresLogger[metadataKey: "component"] = "postgres"
        let postgres = EmbeddedPostgres(configuration: .init(dataDirectory: configuration.absoluteDataDirectory), logger: postgresLogger)
        try await postgres.start()
        embedded = postgres
        clientConfiguration = postgres.clientConfiguration().tunedForTheServer(remote: false)
    case .url(let url):
        clientConfiguration = try DatabaseURL.configuration(url).tunedForTheServer(remote: true)
    case .client(let given):
        clientConfiguration = given
    }
    let client = PostgresClient(configuration: clientConfiguration.named(), backgroundLogger: logger)
    services.append(client)
    let store = PostgresStore(client: client, logger: logger, keyCache: APIKeyCache(timeToLive: .milliseconds(Int64(configuration.apiKeyCacheSeconds * 1000))), keyMint: keyMint)
    let readiness = Readiness()
    let address = ServerAddress()
    let jobsDoorbell = Doorbell()
    let attemptsDoorbell = Doorbell()
    let followers = LogFollowers()
    let webhooksDoorbell = Doorbell()
    if let embedded {
        // First in the group, so that it stops last. A crashed cluster is restarted: meanwhile /readyz answers 503 and
        // the controllers wait; once it is back, every live host gets a fresh lease (their heartbeats could not be
        // stored while it was down) before anyone is judged, as after a restart of the service.
        services.insert(
            EmbeddedPostgresService(
                postgres: embedded, onCrash: { readiness.markRecovering() },
                onRestarted: {
                    try await store.extendLiveLeases(by: configuration.workers.hostLease)
                    readiness.markRecovered()
                    jobsDoorbell.ring()
                    attemptsDoorbell.ring()
                    webhooksDoorbell.ring()
                }), at: 0)
    }

    let provisioner: any WorkerPoolProvisioner
    if let given = givenProvisioner {
        provisioner = given
    } else {
        provisioner = try await makeProvisioner(configuration: configuration, catalog: catalog, logger: logger)
    }
    let arns = JobARNs(defaultRegion: configuration.region)

    let interruptions = Interruptions(attempts: store, provisioner: provisioner, noticeSeconds: configuration.workers.spotNotice, logger: logger)
    let capacity = CapacityView(catalog: catalog)
    let routes = KnownRoutes()
    let monitoring = Monitoring(
        isPublic: configuration.metricsPublic, databaseConnectionLimit: clientConfiguration.options.maximumConnections,
        databaseConnections: { try await store.databaseConnections() })
    var agent = AgentOperations(
        attempts: store, jobs: store, logs: store, catalog: catalog, settings: configuration.workers, objectStore: objectStoreDescriptor,
        s3Signer: agentSigner, arns: arns, finalizers: attemptsDoorbell, extractors: MetricExtractors(),
        logger: logger, boundsVolumes: provisioner.capabilities.features.contains(.volumeSizes),
        // Half the database's connections for the agents, however many call at once; the API and the controllers keep the rest.
        admission: AdmissionGate(limit: clientConfiguration.options.maximumConnections / 2))
    agent.metrics = monitoring.metrics
    let secrets = SigV4Secrets(mint: keyMint)
    let router = try buildRouter(
        store: store, objects: ObjectLocation(store: objectStore), secrets: secrets, catalog: catalog, capacity: capacity, readiness: readiness, configuration: configuration, interruptions: interruptions, agent: agent,
        followers: followers, routes: routes, wakeUps: .init(scheduling: jobsDoorbell, webhooks: webhooksDoorbell), provisioner: provisioner.capabilities,
        monitoring: monitoring, logger: logger)
    routes.load(router.routes)

    let scheduler = {
        var scheduler = Scheduler(
            queue: store, attempts: store, catalog: catalog, capacity: capacity, provisioner: provisioner, settings: configuration.workers, address: address,
            logger: logger)
        // /metrics' registry, and the process's metrics system too (a bootstrapped one: the scale benchmark's pass timings).
        scheduler.metrics = MultiplexMetricsHandler(factories: [monitoring.metrics.factory, MetricsSystem.factory])
        return scheduler
    }()
    let leaseReaper = LeaseReaper(attempts: store, provisioner: provisioner, address: address, logger: logger)
    let deadlines = DeadlineEnforcer(attempts: store, settings: configuration.workers, logger: logger)
    let reconciler = Reconciler(attempts: store, provisioner: provisioner, interruptions: interruptions, settings: configuration.workers, address: address, logger: logger)
    let finalizer = Finalizer(
        attempts: store, provisioner: provisioner, location: ObjectLocation(store: objectStore),
        scratchDirectory: configuration.absoluteDataDirectory + "/scratch", logger: logger, metrics: monitoring.metrics)
    // The controllers start after the server listens (so agents can call back) and stop before the database does.
    var controllers: [any Service] = [
        Wakeups(client: client, jobs: jobsDoorbell, attempts: attemptsDoorbell, followers: followers, webhooks: webhooksDoorbell, keys: store.keyCache,
            logger: logger),
        ControllerLoop(name: "scheduler", interval: .seconds(1), minimumGap: .milliseconds(50), doorbell: jobsDoorbell, readiness: readiness, logger: logger, failures: monitoring.metrics) {
            try await scheduler.runOnce()
        },
        // Leases and deadlines pass with time alone; the reconciler asks the backend, which rings no bell.
        ControllerLoop(name: "lease-reaper", interval: .seconds(1), readiness: readiness, logger: logger, failures: monitoring.metrics) { try await leaseReaper.runOnce() },
        ControllerLoop(name: "deadlines", interval: .seconds(1), readiness: readiness, logger: logger, failures: monitoring.metrics) { try await deadlines.runOnce() },
        ControllerLoop(name: "reconciler", interval: .seconds(1), readiness: readiness, logger: logger, failures: monitoring.metrics) { try await reconciler.runOnce() },
        ControllerLoop(name: "finalizer", interval: .seconds(1), doorbell: attemptsDoorbell, readiness: readiness, logger: logger, failures: monitoring.metrics) { try await finalizer.runOnce() },
    ]
    let sender = WebhookSender(outbox: store, settings: configuration.webhooks, logger: logger, metrics: monitoring.metrics)
    controllers.append(
        ControllerLoop(name: "webhooks", interval: .seconds(1), doorbell: webhooksDoorbell, readiness: readiness, logger: logger, failures: monitoring.metrics) {
            try await sender.runOnce()
        })
    if configuration.logRetentionDays > 0 {
        let retention = configuration.logRetentionDays * 86_400
        controllers.append(
            ControllerLoop(name: "log-retention", interval: .seconds(600), readiness: readiness, logger: logger, failures: monitoring.metrics) {
                // In rounds of 100 jobs, so that one transaction never holds locks on a large backlog.
                while try await store.deleteExpiredLogs(endedBefore: Date().addingTimeInterval(-retention)) > 0 {}
            })
    }
    services.append(contentsOf: controllers)
    monitoring.metrics.declare(controllers: controllers.compactMap { ($0 as? ControllerLoop)?.name }, projects: [ProjectRecord.bootstrapName])

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "trainyard"),
        services: services,
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? configuration.port
            address.set(host: configuration.host, port: port)
            address.setListening(true)
            // On shutdown the listening channel closes first: from then on heartbeats cannot arrive, so nobody is judged.
            channel.closeFuture.whenComplete { _ in address.setListening(false) }
            jobsDoorbell.ring()
            await onServerRunning(port)
        },
        logger: logger
    )
    app.beforeServerStarts {
        try await Migrator(migrations: Migration.bundled()).migrate(client, logger: logger)
        let adminKey = try await BootstrapAdminKey(
            projects: store, configuredKey: configuration.adminKey, dataDirectory: configuration.absoluteDataDirectory, mint: keyMint, logger: logger
        ).install()
        secrets.setAdmin(adminKey)
        // Submissions are judged against the pool as admins left it and as the provisioner counts it (Slurm's nodes),
        // before the scheduler's first pass reads both again.
        capacity.update(overrides: try await store.capacityOverrides())
        do {
            capacity.update(reported: try await provisioner.currentCapacity(catalog: catalog))
        } catch {
            logger.warning("the provisioner could not count its hosts at start; the scheduler's first pass tries again", metadata: ["error": "\(error)"])
        }
        // The server being down is not a dead host: every live host gets a fresh lease before anyone is judged.
        try await store.extendLiveLeases(by: configuration.workers.hostLease)
        readiness.markReady()
        jobsDoorbell.ring()
        logger.info("trainyard ready", metadata: ["address": "\(configuration.host):\(configuration.port)"])
    }
    return app
}

/// The router with its middleware and the generated API handlers.
func buildRouter(
    store: PostgresStore, objects: ObjectLocation, secrets: SigV4Secrets, catalog: InstanceCatalog, capacity: CapacityView? = nil, readiness: Readiness, configuration: ServerConfiguration, interruptions: Interruptions,
    agent: AgentOperations,
    followers: LogFollowers = LogFollowers(), routes: KnownRoutes = KnownRoutes(),
    wakeUps: LocalWakeUps = LocalWakeUps(), provisioner: ProvisionerCapabilities, monitoring: Monitoring = Monitoring(),
    logger: Logger = Logger(label: "trainyard")
) throws -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestMonitoringMiddleware(metrics: monitoring.metrics, logger: logger))
    router.add(middleware: ProblemMiddleware(routes: routes))
    router.add(middleware: VerbatimResponseHeaders())
    router.add(middleware: InputLimitMiddleware(sourceArchiveBytes: configuration.limits.sourceArchiveBytes))
    router.add(middleware: AuthMiddleware(projects: store, metricsPublic: monitoring.isPublic))
    router.add(middleware: AgentAuthMiddleware(attempts: agent.attempts, admission: agent.admission))
    var api = APIImplementation(
        databaseAnswers: { await store.ping() }, projects: store, jobs: store, logs: store, webhooks: store, attempts: store, queue: store, agent: agent, catalog: catalog, capacity: capacity ?? CapacityView(catalog: catalog),
        readiness: readiness,
        arns: agent.arns, stopGrace: configuration.workers.stopGrace,
        followers: followers, wakeUps: wakeUps, webhookPolicy: configuration.webhooks.policy,
        interruptions: interruptions, provisioner: provisioner, objects: objects, defaultOutputBucket: configuration.objectStore.defaultOutputBucket,
        configuredLocationGrants: configuration.projectLocationGrants, limits: configuration.limits)
    api.monitoring = monitoring
    api.logger = logger
    // Compact JSON with sorted keys (maps such as hyperparameters come out in the same order from every replica): the
    // runtime's default also pretty-printed, which cost a third of the encoding time of an answer.
    try api.registerHandlers(
        on: router, configuration: .init(dateTranscoder: FlexibleDateTranscoder(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]))
    Dashboard(api: api, projects: store).register(on: router)
    let sageMaker = SageMakerEndpoint(api: api, secrets: secrets)
    router.post("/") { request, context in await sageMaker.respond(to: request, context: context) }
    return router
}

/// The provisioner `TRAINYARD_PROVISIONER` names: local processes, or Slurm (checked to answer before the server starts).
func makeProvisioner(configuration: ServerConfiguration, catalog: InstanceCatalog, logger: Logger) async throws -> any WorkerPoolProvisioner {
    let agent = configuration.agentExecutable ?? LocalProcessProvisioner.defaultAgentExecutable()
    switch configuration.provisioner.kind {
    case .local:
        let workers = configuration.workers
        // Each volume keeps room for its agent: a full spool and some more for the output archives' last blocks.
        let disks = LocalProcessProvisioner.DiskSettings(
            volumes: workers.workerVolumes, defaultVolumeGiB: workers.defaultVolumeSizeGiB, reserveBytes: workers.diskReserveBytes,
            keepDirectoriesHours: workers.keepWorkerDirectoriesHours, agentHeadroomBytes: workers.logSpoolLimitBytes + (64 << 20))
        return LocalProcessProvisioner(
            workersDirectory: configuration.workersDirectory, agentExecutable: agent, commandUIDs: workers.commandUIDs, disks: disks,
            spotMarket: workers.spotMarket, logger: logger)
    case .slurm:
        let settings = configuration.provisioner
        if settings.slurmUsers != nil { try checkSlurmUsersCanWork(configuration) }
        let slurm = SlurmProvisioner(
            configuration: .init(
                slurmConf: settings.slurmConf, binDirectory: settings.slurmBin, jobPrefix: settings.slurmJobPrefix,
                stateDirectory: configuration.slurmDirectory, workersDirectory: configuration.workersDirectory, agentExecutable: agent,
                serverURL: settings.slurmServerURL, stopGraceSeconds: configuration.workers.stopGrace, users: settings.slurmUsers),
            mapping: catalog.slurm, logger: logger)
        do {
            try await slurm.checkReachable()
        } catch {
            throw ConfigurationError.unreadable(key: "TRAINYARD_PROVISIONER=slurm", path: settings.slurmConf ?? "the default slurm.conf", reason: "\(error)")
        }
        return slurm
    }
}

/// With `TRAINYARD_SLURM_USERS`, agents run as the projects' users: they cannot read the service's filesystem store
/// (its alone), and must reach their attempt's directories through every directory above them.
func checkSlurmUsersCanWork(_ configuration: ServerConfiguration) throws {
    if case .filesystem = configuration.objectStore {
        throw ConfigurationError.invalid(
            key: "TRAINYARD_SLURM_USERS", value: "(set)",
            expected: "an S3 object store beside it (TRAINYARD_OBJECT_STORE=s3://bucket): agents that run as a project's Slurm user cannot "
                + "read the service's own filesystem store")
    }
    for directory in [configuration.slurmDirectory, configuration.workersDirectory] {
        var ancestor = (directory as NSString).deletingLastPathComponent
        while ancestor != "/", !ancestor.isEmpty {
            var status = stat()
            if stat(ancestor, &status) == 0, status.st_mode & S_IXOTH == 0 {
                throw ConfigurationError.invalid(
                    key: "TRAINYARD_SLURM_USERS", value: "(set)",
                    expected: "\(directory) reachable by the projects' users, but \(ancestor) is closed to them (mode "
                        + "\(String(status.st_mode & 0o7777, radix: 8))): give it o+x (chmod o+x \(ancestor)) or move TRAINYARD_DATA_DIR")
            }
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
    }
}

/// The built-in catalog, or the capacity file's.
func loadCatalog(_ path: String?) throws -> InstanceCatalog {
    guard let path else { return .standard }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ConfigurationError.unreadable(key: "TRAINYARD_CAPACITY", path: path, reason: "the file cannot be read")
    }
    do {
        return try InstanceCatalog.parse(capacityFile: data)
    } catch {
        throw ConfigurationError.unreadable(key: "TRAINYARD_CAPACITY", path: path, reason: "\(error)")
    }
}
