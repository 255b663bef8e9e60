public import Foundation
import Hummingbird
import Logging
import OpenAPIHummingbird
import PostgresNIO
import ServiceLifecycle
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

/// Builds the whole service: database (embedded or external), migrations, bootstrap key, router and API.
///
/// `trainyard serve` and the tests call this same function. With `.embedded` the private cluster is started before
/// the function returns and is stopped, last, when the application shuts down.
/// - Parameter onServerRunning: called with the bound port once the server listens (useful with port 0).
public func buildApplication(
    configuration: ServerConfiguration, database: DatabaseSetup? = nil, logger: Logger,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let catalog = try loadCatalog(configuration.capacityFile)
    var services: [any Service] = []
    let clientConfiguration: PostgresClient.Configuration
    switch database ?? (configuration.databaseURL.map(DatabaseSetup.url) ?? .embedded) {
    case .embedded:
        var postgresLogger = logger
        postgresLogger[metadataKey: "component"] = "postgres"
        let postgres = EmbeddedPostgres(configuration: .init(dataDirectory: configuration.absoluteDataDirectory), logger: postgresLogger)
        try await postgres.start()
        services.append(EmbeddedPostgresService(postgres: postgres))
        clientConfiguration = postgres.clientConfiguration()
    case .url(let url):
        clientConfiguration = try DatabaseURL.configuration(url)
    case .client(let given):
        clientConfiguration = given
    }
    let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
    services.append(client)
    let store = PostgresStore(client: client, logger: logger)
    let readiness = Readiness()

    let router = try buildRouter(store: store, catalog: catalog, readiness: readiness, configuration: configuration)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "trainyard"),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
    app.beforeServerStarts {
        try await Migrator(migrations: Migration.bundled()).migrate(client, logger: logger)
        try await BootstrapAdminKey(store: store, configuredKey: configuration.adminKey, dataDirectory: configuration.absoluteDataDirectory, logger: logger)
            .install()
        readiness.markReady()
        logger.info("trainyard ready", metadata: ["address": "\(configuration.host):\(configuration.port)"])
    }
    return app
}

/// The router with its middleware and the generated API handlers.
func buildRouter(store: PostgresStore, catalog: InstanceCatalog, readiness: Readiness, configuration: ServerConfiguration) throws -> Router<
    BasicRequestContext
> {
    let router = Router()
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: AuthMiddleware(store: store))
    let api = APIImplementation(
        store: store, catalog: catalog, readiness: readiness,
        arnPrefix: "arn:aws:sagemaker:\(configuration.region):\(configuration.account):training-job/")
    try api.registerHandlers(on: router, configuration: .init(dateTranscoder: FlexibleDateTranscoder()))
    return router
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
