import Foundation
import Glibc
import Synchronization
import Testing
import TrainyardCore
import TrainyardServer

/// Webhooks cannot reach inside: targets on the server's own or private addresses are refused when a subscription is
/// made and again at every send, redirects are not followed, a slow receiver is cut off at the try's deadline, and what
/// is kept of an answer is short and printable. Real servers, real receivers on loopback.
@Suite(.serialized) struct WebhookTargetTests {
    /// The settings of a server that allows no internal address (the default), with the tests' fast retries.
    static let denying = WebhookSettings(schedule: LiveApp.fastWebhooks.schedule, timeout: 2, disableAfter: 60)

    static func refusalMessage(_ target: String, _ what: String, allow: String) -> String {
        "webhook target \(target) \(what); allowed only with TRAINYARD_WEBHOOK_ALLOWED_NETWORKS naming it (e.g. \(allow))"
    }

    /// The tries of a subscription's deliveries, oldest delivery first.
    static func tries(_ app: LiveApp, _ hook: String) async throws -> [[String: Any]] {
        let deliveries = try await app.request(.GET, "/v1/webhooks/\(hook)/deliveries").1["deliveries"] as? [[String: Any]] ?? []
        return deliveries.reversed().flatMap { $0["attempts"] as? [[String: Any]] ?? [] }
    }

    @Test func loopbackMappedAndMetadataTargetsAreRefusedWhenSubscribingByDefault() async throws {
        try await WebhookReceiver.run { receiver, url in
            try await LiveApp.run(webhooks: Self.denying) { app in
                // Given a receiver that really listens on 127.0.0.1, and a server that allows no internal address.
                let port = try #require(URL(string: url)?.port)
                let cases = [
                    ("http://127.0.0.1:\(port)/hook", Self.refusalMessage("127.0.0.1", "is a loopback address", allow: "127.0.0.1/32")),
                    (
                        "http://[::ffff:127.0.0.1]:\(port)/hook",
                        Self.refusalMessage("::ffff:127.0.0.1", "is an IPv4-mapped address of 127.0.0.1, a loopback address", allow: "127.0.0.1/32")
                    ),
                    (
                        "http://169.254.169.254/latest/meta-data/iam/", Self.refusalMessage("169.254.169.254", "is a cloud metadata service address", allow: "169.254.169.254/32")
                    ),
                    ("http://10.1.2.3:8500/v1/kv/", Self.refusalMessage("10.1.2.3", "is a private address", allow: "10.1.2.3/32")),
                    ("http://[fe90::1]/x", Self.refusalMessage("fe90::1", "is a link-local address", allow: "fe90::1/128")),
                ]
                for (target, message) in cases {
                    // When a member subscribes it.
                    let (status, problem) = try await app.request(.POST, "/v1/webhooks", json: #"{"url":"\#(target)","events":["*"]}"#)
                    // Then it is refused, saying what the address is and which setting allows it.
                    let error = (problem["errors"] as? [[String: Any]])?.first ?? [:]
                    #expect(status == 422, "\(target)")
                    #expect(error["field"] as? String == "url" && error["rule"] as? String == "address", "\(target): \(error)")
                    #expect(error["message"] as? String == message)
                }
                // A name that resolves to loopback is refused as its address is.
                let (status, problem) = try await app.request(.POST, "/v1/webhooks", json: #"{"url":"http://localhost:\#(port)/hook","events":["*"]}"#)
                let message = ((problem["errors"] as? [[String: Any]])?.first?["message"] as? String) ?? ""
                #expect(status == 422)
                #expect(message.hasPrefix("webhook target localhost resolves to ") && message.contains(", a loopback address; allowed only with"), "\(message)")
                #expect((try await app.request(.GET, "/v1/webhooks").1["webhooks"] as? [Any])?.isEmpty == true)
                #expect(receiver.received.isEmpty)
            }
        }
    }

    @Test func aTargetIsJudgedAgainAtEverySendAndARefusedOneIsARecordedFailedTry() async throws {
        try await WebhookReceiver.run { receiver, url in
            try await LiveApp.restartable { database, directory, port in
                let receiverPort = try #require(URL(string: url)?.port)
                let mapped = "http://[::ffff:127.0.0.1]:\(receiverPort)/hook"
                // Given subscriptions made while loopback was allowed (as if their host had resolved elsewhere then).
                let hooks = Mutex<[String]>([])
                try await LiveApp.run(database: database, dataDirectory: directory, port: port) { app in
                    for target in [url, mapped] {
                        let hook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: target, events: #"["job.created"]"#)
                        hooks.withLock { $0.append(hook.id) }
                    }
                }
                // When the server runs without the allowance and a job is created.
                try await LiveApp.run(database: database, dataDirectory: directory, port: port, webhooks: Self.denying) { app in
                    try await app.submit(try WorkerTests.job(app, "judged-at-send", script: "true"))
                    let (direct, viaMapped) = hooks.withLock { ($0[0], $0[1]) }
                    // Then each delivery's try fails without a connection, saying why, and the receiver hears nothing.
                    for (hook, message) in [
                        (direct, Self.refusalMessage("127.0.0.1", "is a loopback address", allow: "127.0.0.1/32")),
                        (viaMapped, Self.refusalMessage("::ffff:127.0.0.1", "is an IPv4-mapped address of 127.0.0.1, a loopback address", allow: "127.0.0.1/32")),
                    ] {
                        try await eventually("a refused try of \(hook)", timeout: .seconds(30)) { try await !Self.tries(app, hook).isEmpty }
                        let first = try #require(try await Self.tries(app, hook).first)
                        #expect(first["error"] as? String == message)
                        #expect(first["status_code"] == nil && first["response_excerpt"] == nil)
                    }
                    #expect(receiver.received.isEmpty)
                }
            }
        }
    }

    @Test func aRedirectToLoopbackIsNotFollowed() async throws {
        try await WebhookReceiver.run { inner, innerURL in
            try await WebhookReceiver.run { outer, outerURL in
                try await LiveApp.run { app in
                    // Given a receiver that answers every delivery with a redirect to another local receiver.
                    outer.answer(.redirect(status: 302, location: innerURL))
                    let hook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: outerURL, events: #"["job.created"]"#)
                    outer.trust(hook.secret)
                    // When a job is created.
                    try await app.submit(try WorkerTests.job(app, "redirected", script: "true"))
                    // Then the try is a failure that says the redirect was not followed, and the other receiver gets nothing.
                    try await eventually("the redirected try is recorded", timeout: .seconds(30)) { try await !Self.tries(app, hook.id).isEmpty }
                    let first = try #require(try await Self.tries(app, hook.id).first)
                    #expect(first["status_code"] as? Int == 302)
                    #expect(
                        first["error"] as? String
                            == "the receiver answered HTTP 302, a redirect to \(innerURL), which is not followed: subscribe the final URL")
                    #expect(!outer.received.isEmpty && outer.received.allSatisfy(\.signatureValid))
                    #expect(inner.received.isEmpty, "the redirect was followed")
                }
            }
        }
    }

    @Test func aSlowDripReceiverIsCutOffAtTheDeadlineAndOthersAreStillDelivered() async throws {
        try await WebhookReceiver.run { slow, slowURL in
            try await WebhookReceiver.run { plain, plainURL in
                let twoSeconds = WebhookSettings(
                    schedule: LiveApp.fastWebhooks.schedule, timeout: 2, disableAfter: 60, allowedNetworks: LiveApp.loopback)
                try await LiveApp.run(webhooks: twoSeconds) { app in
                    // Given a receiver that sends its head at once and then one byte a second, and a plain one.
                    slow.answer(.drip(interval: .seconds(1)))
                    let slowHook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: slowURL, events: #"["job.created"]"#)
                    let plainHook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: plainURL, events: #"["job.created"]"#)
                    // When a job is created.
                    let started = ContinuousClock.now
                    try await app.submit(try WorkerTests.job(app, "dripped", script: "true"))
                    // Then the slow try ends at the 2 s deadline (TRAINYARD_WEBHOOK_TIMEOUT), saying so, and the plain
                    // receiver's delivery is recorded delivered all the same.
                    try await eventually("the slow try is recorded", timeout: .seconds(20)) { try await !Self.tries(app, slowHook.id).isEmpty }
                    let first = try #require(try await Self.tries(app, slowHook.id).first)
                    #expect(
                        first["error"] as? String
                            == "no complete answer from 127.0.0.1 within 2 s (TRAINYARD_WEBHOOK_TIMEOUT): connecting, the status or the body took too long")
                    let latency = first["latency_ms"] as? Int ?? 0
                    #expect((1_900..<6_000).contains(latency), "latency \(latency) ms")
                    try await eventually("the plain delivery is recorded", timeout: .seconds(20)) {
                        try await Self.tries(app, plainHook.id).first?["status_code"] as? Int == 200
                    }
                    #expect(plain.received.count == 1)
                    #expect(ContinuousClock.now - started < .seconds(20))
                }
            }
        }
    }

    /// A receiver that is down answers at once: connection refused, said so, not a timeout a minute later.
    @Test func aRefusedConnectionIsRecordedAtOnceAsRefused() async throws {
        let minute = WebhookSettings(schedule: LiveApp.fastWebhooks.schedule, timeout: 60, disableAfter: 600, allowedNetworks: LiveApp.loopback)
        try await LiveApp.run(webhooks: minute) { app in
            // Given a subscription to a port nothing listens on (one the system gave and took back).
            let port = try Self.closedPort()
            let hook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: "http://127.0.0.1:\(port)/down", events: #"["job.created"]"#)
            // When a job is created.
            try await app.submit(try WorkerTests.job(app, "refused", script: "true"))
            // Then its try is recorded well within the 60 s timeout, saying the receiver refused the connection.
            try await eventually("the refused try is recorded", timeout: .seconds(30)) { try await !Self.tries(app, hook.id).isEmpty }
            let first = try #require(try await Self.tries(app, hook.id).first)
            #expect(first["status_code"] == nil)
            #expect(first["error"] as? String == "the receiver refused the connection: nothing listens at 127.0.0.1:\(port)")
        }
    }

    /// A loopback port that was free a moment ago.
    static func closedPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw TestFailure("socket: \(errno)") }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test func aReceiversControlBytesAreCleanedAndItsAnswerCutShort() async throws {
        try await WebhookReceiver.run { receiver, url in
            try await LiveApp.run { app in
                // Given a receiver answering 200 with NUL, terminal escapes, a bell, CR LF and 4,000 more bytes.
                receiver.answer(body: Array("ok".utf8) + [0x00, 0x1B] + Array("[2J".utf8) + [0x07] + Array("done\r\n".utf8) + Array(repeating: 0x78, count: 4000))
                let hook = try await WebhookTests.subscribe(app.baseURL, token: app.token, url: url, events: #"["job.created"]"#)
                // When a job is created.
                try await app.submit(try WorkerTests.job(app, "answered-oddly", script: "true"))
                // Then its try is delivered and keeps 256 printable bytes: controls replaced, CR LF made LF.
                try await eventually("the try is recorded", timeout: .seconds(30)) { try await !Self.tries(app, hook.id).isEmpty }
                let first = try #require(try await Self.tries(app, hook.id).first)
                #expect(first["status_code"] as? Int == 200 && first["error"] == nil)
                let prefix = "ok\u{FFFD}\u{FFFD}[2J\u{FFFD}done\n"
                #expect(first["response_excerpt"] as? String == prefix + String(repeating: "x", count: 256 - prefix.utf8.count))
            }
        }
    }

    @Test func theAllowedNetworksSettingIsParsedAndItsPredecessorIsRefusedNamingItsReplacement() throws {
        let configuration = try ServerConfiguration(environment: ["TRAINYARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8, ::1,10.20.0.0/16"])
        #expect(configuration.webhooks.allowedNetworks.map(\.description) == ["127.0.0.0/8", "::1/128", "10.20.0.0/16"])
        #expect(ServerConfiguration.environmentKeys.contains("TRAINYARD_WEBHOOK_ALLOWED_NETWORKS"))
        #expect(try ServerConfiguration(environment: [:]).webhooks.allowedNetworks.isEmpty)
        #expect {
            try ServerConfiguration(environment: ["TRAINYARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8,localhost"])
        } throws: { error in
            "\(error)"
                == "TRAINYARD_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8,localhost is not valid: expected comma-separated networks such as 127.0.0.0/8,10.20.0.0/16,fd00::/8 (localhost is not one)"
        }
        #expect {
            try ServerConfiguration(environment: ["TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL": "true"])
        } throws: { error in
            "\(error)"
                == "TRAINYARD_WEBHOOK_ALLOW_LINK_LOCAL=true is not valid: expected nothing (the setting was replaced by TRAINYARD_WEBHOOK_ALLOWED_NETWORKS, e.g. 169.254.0.0/16,fe80::/10)"
        }
    }
}
