import Foundation
import Hummingbird
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import TrainyardServer
import TrainyardTestSupport

/// Builds the real application (the same `buildApplication` as `trainyard serve`) on a fresh cloned database and runs
/// `body` against its router.
enum TestApp {
    static let adminToken = "TESTADMIN0001.bootstrap-secret"

    /// `configure` changes the configuration before the application is built (settings a test is about).
    static func run(
        configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: @escaping @Sendable (TestClientProtocol) async throws -> Void
    ) async throws {
        let database = try await TestPostgres.shared.freshDatabase()
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-app-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        var configuration = ServerConfiguration(dataDirectory: dataDir, port: 0, adminKey: adminToken)
        configure(&configuration)
        var logger = Logger(label: "trainyard.tests.app")
        logger.logLevel = .warning
        let app = try await buildApplication(configuration: configuration, database: .client(database), logger: logger)
        try await app.test(.router) { client in try await body(client) }
    }
}

extension TestClientProtocol {
    /// A JSON request with a bearer token.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = TestApp.adminToken, json: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// Creates a project and returns its admin token.
    func project(_ name: String) async throws -> String {
        let response = try await call(.post, "/v1/projects", json: #"{"name":"\#(name)"}"#)
        let body = try response.object()
        return try (body["api_key"] as? [String: Any]).flatMap { $0["token"] as? String } ?? { throw TestFailure("no token in \(body)") }()
    }

    /// Creates a key of `role` in the project of `token` and returns its token.
    func key(role: String, token: String) async throws -> String {
        let response = try await call(.post, "/v1/api-keys", token: token, json: #"{"role":"\#(role)"}"#)
        return try response.object()["token"] as? String ?? { throw TestFailure("no token") }()
    }
}

extension TestResponse {
    func object() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw TestFailure("body is not a JSON object: \(String(buffer: body))")
        }
        return object
    }

    /// The messages of a problem document's `errors`, one per line.
    func messages() throws -> String {
        (try object()["errors"] as? [[String: Any]] ?? []).compactMap { $0["message"] as? String }.joined(separator: "\n")
    }

    /// The `errors` of a problem document as (field, rule) pairs.
    func violations() throws -> [FieldRule] {
        let errors = try object()["errors"] as? [[String: Any]] ?? []
        return errors.map { FieldRule(field: $0["field"] as? String ?? "", rule: $0["rule"] as? String ?? "") }
    }
}

struct FieldRule: Hashable, CustomStringConvertible {
    var field: String
    var rule: String
    var description: String { "\(field)/\(rule)" }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
