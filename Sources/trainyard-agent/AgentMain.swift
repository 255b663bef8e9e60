import Dispatch
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
            let agent = Agent(configuration: configuration, logger: logger)
            // SIGTERM (a Slurm scancel or preemption) stops the command gracefully; the agent still uploads and reports.
            signal(SIGTERM, SIG_IGN)
            let termination = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
            termination.setEventHandler { agent.terminationSignalReceived() }
            termination.resume()
            defer { termination.cancel() }
            try await agent.run()
        } catch {
            logger.critical("trainyard-agent failed", metadata: ["error": "\(error)"])
            exit(1)
        }
    }
}
