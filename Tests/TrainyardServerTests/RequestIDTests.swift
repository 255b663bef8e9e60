import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import InMemoryLogging
import Logging
import NIOCore
import Testing

@testable import TrainyardServer

/// The request id in the lines written while a request's answer is streamed, after its handler has returned.
@Suite struct RequestIDTests {
    @Test func aLineWrittenWhileABodyStreamsCarriesTheRequestsId() async throws {
        let logs = InMemoryLogHandler()
        let logger = Logger(label: "request-id-test") { _ in
            var handler = logs
            handler.metadataProvider = RequestID.metadataProvider
            return handler
        }
        let router = Router()
        router.add(middleware: RequestMonitoringMiddleware(metrics: ServiceMetrics(), logger: logger))
        router.get("/stream") { _, _ -> Response in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    logger.info("writing the body")
                    try await writer.write(ByteBuffer(string: "streamed"))
                    try await writer.finish(nil)
                })
        }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/stream", method: .get, headers: [.requestID: "trace-77"])
            #expect(response.status == .ok && String(buffer: response.body) == "streamed")
            #expect(response.headers[.requestID] == "trace-77")
        }
        let line = try #require(logs.entries.first { "\($0.message)" == "writing the body" })
        #expect(line.metadata["request"] == "trace-77", "\(line.metadata)")
    }
}
