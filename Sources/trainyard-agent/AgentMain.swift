import Foundation
import Logging
import TrainyardAgent

/// `trainyard-agent`: started by a provisioner on every worker host, configured through its environment.
@main
struct AgentMain {
    static func main() async {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "trainyard-agent")
        do {
            let configuration = try AgentConfiguration(environment: ProcessInfo.processInfo.environment)
            try await Agent(configuration: configuration, logger: logger).run()
        } catch {
            logger.critical("trainyard-agent failed", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}
