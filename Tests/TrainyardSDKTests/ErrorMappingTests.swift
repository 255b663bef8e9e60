import Foundation
import HTTPTypes
import OpenAPIRuntime
import Synchronization
import Testing
@testable import Trainyard

/// A transport that answers from a script, one answer per request, and records what it was asked.
final class CannedTransport: ClientTransport, Sendable {
    struct Answer: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: String = ""
        /// No answer at all: the connection failed.
        var unreachable = false
        /// The connection breaks after this many bytes of the body.
        var cutAfter: Int?
    }

    struct NoConnection: Error {}

    private let script: Mutex<[Answer]>
    let requests = Mutex<[HTTPRequest]>([])

    init(_ answers: [Answer]) {
        script = Mutex(answers)
    }

    func send(_ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String) async throws -> (HTTPResponse, HTTPBody?) {
        requests.withLock { $0.append(request) }
        let answer = script.withLock { $0.isEmpty ? Answer(status: 500, body: "script ended") : $0.removeFirst() }
        if answer.unreachable { throw NoConnection() }
        var fields = HTTPFields()
        for (name, value) in answer.headers { fields[HTTPField.Name(name)!] = value }
        guard let cut = answer.cutAfter else {
            return (HTTPResponse(status: .init(code: answer.status), headerFields: fields), HTTPBody(answer.body))
        }
        let bytes = Array(answer.body.utf8)
        let broken = AsyncThrowingStream<ArraySlice<UInt8>, any Error> { continuation in
            continuation.yield(ArraySlice(bytes.prefix(cut)))
            continuation.finish(throwing: NoConnection())
        }
        return (HTTPResponse(status: .init(code: answer.status), headerFields: fields), HTTPBody(broken, length: .unknown))
    }
}

struct ErrorMappingTests {
    static let connection = TrainyardConnection(url: URL(string: "http://trainyard.test:8080")!, apiKey: "KEY123456789.secret")

    static func client(_ answers: [CannedTransport.Answer]) -> (TrainyardClient, CannedTransport) {
        let transport = CannedTransport(answers)
        return (TrainyardClient(connection: connection, transport: transport, retryPause: .milliseconds(1)), transport)
    }

    static func problem(_ status: Int, _ detail: String, errors: String = "") -> CannedTransport.Answer {
        let fields = errors.isEmpty ? "" : #","errors":[\#(errors)]"#
        return .init(
            status: status, headers: ["Content-Type": "application/problem+json"],
            body: #"{"type":"about:blank","title":"t","status":\#(status),"detail":"\#(detail)"\#(fields)}"#)
    }

    @Test func aValidationProblemBecomesFieldErrorsNamingEveryFieldAndRule() async throws {
        let (client, _) = Self.client([
            Self.problem(
                422, "the job spec has 2 invalid field(s)",
                errors: #"{"field":"instance_type","rule":"catalog","message":"no such type"},{"field":"max_wait","rule":"requires_spot","message":"spot only"}"#)
        ])
        do {
            _ = try await client.submit(JobSpec(instanceType: "ml.nope"))
            Issue.record("accepted")
        } catch TrainyardError.validation(let fields, let problem) {
            #expect(fields == [
                FieldError(field: "instance_type", rule: "catalog", message: "no such type"),
                FieldError(field: "max_wait", rule: "requires_spot", message: "spot only"),
            ])
            #expect(problem.detail == "the job spec has 2 invalid field(s)")
            #expect(TrainyardError.validation(fields, problem: problem).description.contains("  - max_wait [requires_spot]: spot only"))
        }
    }

    @Test func eachStatusHasItsCase() async throws {
        let cases: [(Int, (TrainyardError) -> Bool)] = [
            (400, { if case .validation = $0 { true } else { false } }),
            (401, { if case .unauthorized = $0 { true } else { false } }),
            (403, { if case .forbidden = $0 { true } else { false } }),
            (404, { if case .notFound(let problem) = $0 { problem.detail == "training job x not found" } else { false } }),
            (409, { if case .conflict = $0 { true } else { false } }),
            (413, { if case .payloadTooLarge = $0 { true } else { false } }),
        ]
        for (status, matches) in cases {
            let (client, _) = Self.client([Self.problem(status, status == 404 ? "training job x not found" : "no")])
            do {
                _ = try await client.describeJob("x")
                Issue.record("\(status) accepted")
            } catch let error as TrainyardError {
                #expect(matches(error), "\(status): \(error)")
            }
        }
    }

    @Test func a429CarriesItsRetryAfterAndIsNotRetried() async throws {
        var answer = Self.problem(429, "project p already has 10000 jobs waiting to run")
        answer.headers["Retry-After"] = "60"
        let (client, transport) = Self.client([answer])
        do {
            _ = try await client.submit(JobSpec(instanceType: "ml.m5.large"))
            Issue.record("accepted")
        } catch TrainyardError.rateLimited(let retryAfter, let problem) {
            #expect(retryAfter == .seconds(60))
            #expect(problem.detail?.contains("waiting to run") == true)
        }
        #expect(transport.requests.withLock { $0.count } == 1)
    }

    @Test func aSubmissionCarriesAnIdempotencyKeyAndIsTriedAgainAfterNoAnswerOrA503() async throws {
        let description = try String(contentsOf: Bundle.module.url(forResource: "description", withExtension: "json", subdirectory: "Resources")!, encoding: .utf8)
        let (client, transport) = Self.client([
            .init(status: 0, unreachable: true),
            Self.problem(503, "starting"),
            .init(status: 201, headers: ["Content-Type": "application/json"], body: description),
        ])
        let job = try await client.submit(JobSpec(instanceType: "ml.m5.large"))
        #expect(job.name == "mnist-1")
        let keys = transport.requests.withLock { $0.map { $0.headerFields[HTTPField.Name("Idempotency-Key")!] } }
        #expect(keys.count == 3)
        #expect(Set(keys).count == 1 && keys[0]?.hasPrefix("sdk-") == true, "\(keys)")
    }

    @Test func aStopIsNotTriedAgainAndAProxysPageIsAnUnexpectedResponse() async throws {
        let (client, transport) = Self.client([.init(status: 502, body: "<html>bad gateway</html>")])
        do {
            _ = try await client.stopJob("x")
            Issue.record("accepted")
        } catch TrainyardError.unexpectedResponse(let status, let body) {
            #expect(status == 502 && body.contains("bad gateway"))
        }
        #expect(transport.requests.withLock { $0.count } == 1)
    }

    @Test func noAnswerAfterTheRetriesSaysWhichServer() async throws {
        let (client, transport) = Self.client(Array(repeating: .init(status: 0, unreachable: true), count: 3))
        do {
            _ = try await client.describeJob("x")
            Issue.record("answered")
        } catch let error as TrainyardError {
            guard case .unreachable(let url, _) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(url.absoluteString == "http://trainyard.test:8080")
            #expect(error.description.contains("cannot reach the Trainyard server at http://trainyard.test:8080"))
        }
        #expect(transport.requests.withLock { $0.count } == 3)
    }

    @Test func everyRequestCarriesTheKey() async throws {
        let (client, transport) = Self.client([Self.problem(404, "no")])
        _ = try? await client.describeJob("x")
        #expect(transport.requests.withLock { $0.first?.headerFields[.authorization] } == "Bearer KEY123456789.secret")
    }
}

struct DownloadCheckTests {
    /// The description of a completed job whose model.tar.gz has 11 bytes and the SHA-256 `recorded`.
    static func description(recorded: String) throws -> String {
        try String(contentsOf: Bundle.module.url(forResource: "description", withExtension: "json", subdirectory: "Resources")!, encoding: .utf8)
            .replacingOccurrences(
                of: #""model_artifacts":{"s3_model_artifacts":"s3://trainyard/default/mnist-1/output/model.tar.gz"}"#,
                with: #""status":"Completed","model_artifacts":{"s3_model_artifacts":"s3://trainyard/default/mnist-1/output/model.tar.gz","size_bytes":11,"sha256":"\#(recorded)"}"#
            ).replacingOccurrences(of: #""status":"InProgress","#, with: "")
    }

    /// SHA-256 of "model bytes".
    static let modelBytes = "9cb7487000bc86ac36ce83c4acfabe8878552be99572a6770f65ab1d048a5c48"

    /// A client whose download of the 11-byte model breaks after 5 bytes, and is answered `resumed` when it asks again.
    static func cutAfterFiveBytesThen(_ resumed: CannedTransport.Answer) throws -> (TrainyardClient, CannedTransport) {
        ErrorMappingTests.client([
            .init(status: 200, headers: ["Content-Type": "application/json"], body: try description(recorded: modelBytes)),
            .init(status: 200, headers: ["Content-Type": "application/gzip"], body: "model bytes", cutAfter: 5), resumed,
        ])
    }

    static func target() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sdk-download-\(UUID().uuidString)/model.tar.gz")
    }

    @Test func aBrokenDownloadAsksForTheRestOfThisArchiveAndAPartIsAppended() async throws {
        let (client, transport) = try Self.cutAfterFiveBytesThen(.init(status: 206, headers: ["Content-Type": "application/gzip", "Content-Range": "bytes 5-10/11"], body: " bytes"))
        let target = Self.target()
        defer { try? FileManager.default.removeItem(at: target.deletingLastPathComponent()) }
        let model = try await client.download(.model, of: "mnist-1", to: target)
        #expect(model.sha256 == Self.modelBytes && model.sizeBytes == 11)
        #expect(try String(contentsOf: target, encoding: .utf8) == "model bytes")
        let resumption = try #require(transport.requests.withLock { $0.last })
        #expect(resumption.headerFields[.range] == "bytes=5-" && resumption.headerFields[.ifRange] == "\"\(Self.modelBytes)\"")
    }

    @Test func aResumptionAnsweredWholeStartsAgainInsteadOfGluingTwoCopies() async throws {
        let (client, _) = try Self.cutAfterFiveBytesThen(.init(status: 200, headers: ["Content-Type": "application/gzip"], body: "model bytes"))
        let target = Self.target()
        defer { try? FileManager.default.removeItem(at: target.deletingLastPathComponent()) }
        let model = try await client.download(.model, of: "mnist-1", to: target)
        #expect(model.sha256 == Self.modelBytes && model.sizeBytes == 11)
        #expect(try String(contentsOf: target, encoding: .utf8) == "model bytes")
    }

    @Test func aPartThatIsNotTheRestIsRefused() async throws {
        let (client, _) = try Self.cutAfterFiveBytesThen(.init(status: 206, headers: ["Content-Type": "application/gzip", "Content-Range": "bytes 0-10/11"], body: "model bytes"))
        let target = Self.target()
        defer { try? FileManager.default.removeItem(at: target.deletingLastPathComponent()) }
        await #expect(throws: TrainyardError.self) { try await client.download(.model, of: "mnist-1", to: target) }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path)) ?? []).isEmpty)
    }

    @Test func bytesThatAreNotTheRecordedArchiveAreRefusedAndLeaveNoFile() async throws {
        // The description records a SHA-256 that is not the one of the bytes the download answers.
        let recorded = "c5de0e8b0e2b36f4e8c1ad51d41b1a8d8b3b5e0bbb4b5dc0a3e2b6ea8f0c0001"
        let description = try Self.description(recorded: recorded)
        let (client, _) = ErrorMappingTests.client([
            .init(status: 200, headers: ["Content-Type": "application/json"], body: description),
            .init(status: 200, headers: ["Content-Type": "application/gzip"], body: "other bytes"),
        ])
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sdk-download-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("model.tar.gz")
        do {
            _ = try await client.download(.model, of: "mnist-1", to: target)
            Issue.record("kept bytes that are not the archive")
        } catch TrainyardError.checksumMismatch(let what, let expected, let actual) {
            #expect(what == "mnist-1's model.tar.gz" && expected == recorded && actual != recorded)
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).isEmpty)
    }
}
