import Foundation
import Logging
import Testing

@testable import TrainyardAgent

/// The log shipper waits for its spool to close; cancelled, it stops waiting.
@Suite struct LogShipperTests {
    @Test func aCancelledShipperOfASpoolNobodyClosesEnds() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-shipper-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let spool = try LogSpool(path: directory + "/output.log", streams: 2)
        let configuration = try AgentConfiguration(environment: [
            "TRAINYARD_AGENT_SERVER": "http://127.0.0.1:9", "TRAINYARD_AGENT_TOKEN": "host.secret", "TRAINYARD_AGENT_DIR": directory,
        ])
        let connection = ServerConnection(configuration: configuration, logger: Logger(label: "trainyard.tests.shipper"))
        let shipping = Task { try await LogShipper(spool: spool, connection: connection).run() }
        try await Task.sleep(for: .milliseconds(50))
        shipping.cancel()
        // Without the check the shipper waits on the spool's doorbell, which a cancelled task passes at once: it spun
        // until the spool closed, which a command that never started never does.
        let ended = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                _ = try? await shipping.value
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                // Past the deadline: close the spool, so that a shipper that ignores its cancellation ends too and the
                // test fails instead of hanging.
                spool.finish(stream: [])
                spool.finish(stream: [])
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        #expect(ended, "the cancelled shipper did not end within 10 s")
    }
}
