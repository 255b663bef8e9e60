import Foundation
import TrainyardCore

/// What the provisioner tells an agent through its environment.
public struct AgentConfiguration: Sendable {
    /// `TRAINYARD_AGENT_SERVER`: the server's base URL.
    public var serverURL: String
    /// `TRAINYARD_AGENT_TOKEN`: the attempt-scoped token, `<host id>.<secret>`.
    public var token: String
    /// `TRAINYARD_AGENT_DIR`: the worker's own directory (logs, scratch).
    public var directory: String
    /// `TRAINYARD_AGENT_LAYOUT_ROOT`: where the `/opt/ml` tree is (`/opt/ml` in a mount namespace, else the directory).
    public var layoutRoot: String
    /// `TRAINYARD_AGENT_OUTAGE_LIMIT`: seconds calls to the server are retried while it is unreachable (a restart)
    /// before the agent stops its command and exits; default 3600. The server's setting, in the assignment, replaces it.
    public var serverOutageLimitSeconds: Double
    /// `TRAINYARD_AGENT_STOP_GRACE`: seconds between SIGTERM and SIGKILL of the command when the agent itself gets
    /// SIGTERM (a backend's stop or preemption); default 120, as SageMaker.
    public var stopGraceSeconds: Double

    public init(environment: [String: String]) throws {
        func required(_ key: String) throws -> String {
            guard let value = environment[key], !value.isEmpty else { throw AgentError.missingSetting(key) }
            return value
        }
        serverURL = try required("TRAINYARD_AGENT_SERVER")
        guard let url = URL(string: serverURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            throw AgentError.invalidSetting("TRAINYARD_AGENT_SERVER", value: serverURL, expected: "the server's base URL, http(s)://host:port")
        }
        token = try required("TRAINYARD_AGENT_TOKEN")
        directory = try required("TRAINYARD_AGENT_DIR")
        layoutRoot = environment["TRAINYARD_AGENT_LAYOUT_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? directory
        serverOutageLimitSeconds = environment["TRAINYARD_AGENT_OUTAGE_LIMIT"].flatMap(Double.init) ?? 3600
        stopGraceSeconds = environment["TRAINYARD_AGENT_STOP_GRACE"].flatMap(Double.init) ?? 120
    }
}

/// Why an agent stopped early.
public enum AgentError: Error, CustomStringConvertible {
    case missingSetting(String)
    case invalidSetting(String, value: String, expected: String)
    case rejected(status: Int, body: String)
    case serverUnreachable(seconds: Double, lastError: String)
    case staging(channel: String, reason: String)
    case archive(String)
    case logSpool(String)
    case checkpoint(String)
    /// The job's volume, or the disk under it, is full.
    case disk(WorkerDiskFailure)

    var isServerUnreachable: Bool {
        if case .serverUnreachable = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .missingSetting(let key): "\(key) is not set; trainyard-agent is started by a provisioner, which sets it"
        case .invalidSetting(let key, let value, let expected): "\(key) is \(value); expected \(expected)"
        case .logSpool(let reason): "InternalServerError: shipping the log failed: \(reason)"
        case .rejected(let status, let body): "the server refused the agent (\(status)): \(body)"
        case .serverUnreachable(let seconds, let error): "the server was unreachable for \(Int(seconds)) s: \(error)"
        case .staging(let channel, let reason): "ClientError: could not stage input channel \(channel): \(reason)"
        case .archive(let reason): "InternalServerError: could not archive outputs: \(reason)"
        case .checkpoint(let reason): "InternalServerError: checkpoint sync failed: \(reason)"
        case .disk(let failure): failure.description
        }
    }
}
