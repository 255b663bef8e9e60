package import TrainyardAPI
import TrainyardCore

/// The agent protocol's generated operations: unpack the wire types into Core's (TrainyardAPI's `AgentWire`), let
/// ``AgentOperations`` act, and answer in wire types. ``AgentAuthMiddleware`` has authenticated the host.
extension APIImplementation {
    func getAgentAssignment(_ input: Operations.GetAgentAssignment.Input) async throws -> Operations.GetAgentAssignment.Output {
        .ok(.init(body: .json(.init(try await agent.assignment()))))
    }

    func postAgentHeartbeat(_ input: Operations.PostAgentHeartbeat.Input) async throws -> Operations.PostAgentHeartbeat.Output {
        guard case .json(let report) = input.body else { throw APIError.badRequest(detail: "a heartbeat is an agent report in JSON") }
        return .ok(.init(body: .json(.init(try await agent.heartbeat(AgentReport(report))))))
    }

    func postAgentLogs(_ input: Operations.PostAgentLogs.Input) async throws -> Operations.PostAgentLogs.Output {
        guard case .plainText(let batch) = input.body else { throw APIError.badRequest(detail: "a log batch is text/plain records") }
        return .ok(.init(body: .json(.init(try await agent.shipLogs(batch)))))
    }

    func postAgentS3Signature(_ input: Operations.PostAgentS3Signature.Input) async throws -> Operations.PostAgentS3Signature.Output {
        guard case .json(let call) = input.body else { throw APIError.badRequest(detail: "a signature request is JSON") }
        return .ok(.init(body: .json(.init(try await agent.s3Signature(S3SignatureRequest(call))))))
    }
}
