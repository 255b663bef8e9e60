import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import TrainyardCore
import TrainyardServer
import TrainyardTestSupport

/// Per-project limits that need a setting below their default to be reached in a test.
@Suite struct ProjectLimitTests {
    static func run(limits: RequestLimits, _ body: @escaping @Sendable (TestClientProtocol) async throws -> Void) async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-app-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        var configuration = ServerConfiguration(dataDirectory: dataDir, port: 0, adminKey: TestApp.adminToken)
        configuration.limits = limits
        var logger = Logger(label: "trainyard.tests.limits")
        logger.logLevel = .warning
        let app = try await buildApplication(configuration: configuration, database: .client(database), logger: logger)
        try await app.test(.router) { client in try await body(client) }
    }

    /// A project fills its queue (the scheduler does not run here, so every job stays queued); the next submission is a
    /// 429 with Retry-After, and another project still submits.
    @Test func aProjectWithAFullQueueGets429WithRetryAfter() async throws {
        try await Self.run(limits: RequestLimits(queuedJobsPerProject: 3)) { client in
            let team = try await client.project("busy")
            for index in 0..<3 { #expect(try await client.call(.post, "/v1/jobs", token: team, json: InputHardeningTests.simple("queued-\(index)")).status == .created) }
            let refused = try await client.call(.post, "/v1/jobs", token: team, json: InputHardeningTests.simple("one-more"))
            #expect(refused.status.code == 429)
            #expect(refused.headers[.retryAfter] == "60")
            #expect(
                try refused.object()["detail"] as? String
                    == "project busy already has 3 jobs waiting to run, its limit (TRAINYARD_MAX_QUEUED_JOBS is 3); submit again once some have started, or stop some")
            #expect(try await client.call(.get, "/v1/jobs/one-more", token: team).status == .notFound)
            #expect(try await client.call(.post, "/v1/jobs", json: InputHardeningTests.simple("elsewhere")).status == .created)
        }
    }

    @Test func limitSettingsAreReadAndCheckedFromTheEnvironment() throws {
        let configuration = try ServerConfiguration(
            environment: ["TRAINYARD_MAX_QUEUED_JOBS": "50", "TRAINYARD_MAX_WEBHOOKS": "5", "TRAINYARD_MAX_LOG_FOLLOWERS": "2"])
        #expect(configuration.limits == RequestLimits(queuedJobsPerProject: 50, webhooksPerProject: 5, logFollowersPerKey: 2))
        #expect(ServerConfiguration.environmentKeys.contains("TRAINYARD_MAX_LOG_FOLLOWERS"))
        #expect(throws: ConfigurationError.self) { try ServerConfiguration(environment: ["TRAINYARD_MAX_WEBHOOKS": "0"]) }
        do {
            _ = try ServerConfiguration(environment: ["TRAINYARD_MAX_QUEUED_JOBS": "many"])
            Issue.record("accepted")
        } catch {
            #expect("\(error)" == "TRAINYARD_MAX_QUEUED_JOBS=many is not valid: expected a whole number, 1 to 10000000")
        }
    }
}
