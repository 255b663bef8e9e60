import Logging
import ServiceLifecycle

/// What a process running the server does around it: one logging set-up and one graceful shutdown, for
/// `trainyard serve` and bench/scale's server alike.
public enum ServerProcess {
    /// Sends every log at `configuration`'s level to standard error; answers the server's logger.
    public static func bootstrapLogging(_ configuration: ServerConfiguration) -> Logger {
        // Every line written while a request is handled carries its id (X-Request-Id).
        LoggingSystem.bootstrap(
            { label, metadataProvider in
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: metadataProvider)
                handler.logLevel = configuration.logLevel
                return handler
            }, metadataProvider: RequestID.metadataProvider)
        var logger = Logger(label: "trainyard")
        logger.logLevel = configuration.logLevel
        return logger
    }

    /// Runs `service` until SIGTERM or Ctrl-C, then shuts it down gracefully (the HTTP server, the controllers, then
    /// the embedded cluster), cancelled after 20 s if anything still hangs on (and left after 10 s more), so that a
    /// stop always ends the service.
    public static func run(_ service: some Service, logger: Logger) async throws {
        var group = ServiceGroupConfiguration(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(20)
        group.maximumCancellationDuration = .seconds(10)
        try await ServiceGroup(configuration: group).run()
    }
}
