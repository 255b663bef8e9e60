import ArgumentParser
import Foundation
import Trainyard
import TrainyardAPI

/// `trainyard webhooks …`: the project's webhook subscriptions and their delivery log.
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks", abstract: "Manage webhook subscriptions and see their deliveries.",
        subcommands: [CreateWebhook.self, ListWebhooks.self, DeleteWebhook.self, EnableWebhook.self, WebhookDeliveries.self, RedeliverWebhook.self])
}

struct CreateWebhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Subscribe a URL to job events; the secret is printed once.")

    @Option(help: "Where deliveries are POSTed.") var url: String
    @Option(help: "Comma-separated event types (job.created, job.status_changed, job.completed, job.failed, job.stopped) or *.")
    var events: String = "*"
    @Option(help: "The signing secret, whsec_<base64>; generated when absent.") var secret: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let types = try events.split(separator: ",").map {
                try parseChoice(Components.Schemas.WebhookEventType.self, $0.trimmingCharacters(in: .whitespaces), "--events")
            }
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.createWebhook(body: .json(.init(url: url, events: types, secret: secret))) {
            case .created(let created):
                let hook = try created.body.json
                if json {
                    try printJSON(hook)
                } else {
                    print("\(hook.id)\nsecret: \(hook.secret)  (shown once: keep it to verify signatures)")
                }
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .unprocessableContent(let response): try fail(response)
            case .contentTooLarge(let response): try fail(response)
            case .tooManyRequests(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

struct ListWebhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the project's subscriptions (never their secrets).")

    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.listWebhooks() {
            case .ok(let ok):
                let hooks = try ok.body.json.webhooks
                if json { try printJSON(hooks); return }
                printTable(
                    ["ID", "URL", "EVENTS", "STATUS", "CREATED"],
                    hooks.map {
                        [$0.id, $0.url, $0.events.map(\.rawValue).joined(separator: ","),
                         ($0.status?.rawValue ?? "active") + ($0.disabledReason.map { " (\($0))" } ?? ""), $0.createdAt.formatted(.iso8601)]
                    })
            case .unauthorized(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

struct DeleteWebhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a subscription (its pending deliveries are dropped).")

    @Argument var id: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.deleteWebhook(path: .init(id: id)) {
            case .noContent: print("deleted \(id)")
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .notFound(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

struct EnableWebhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a subscription disabled after sustained failure.")

    @Argument var id: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.updateWebhook(path: .init(id: id), body: .json(.init(enabled: true))) {
            case .ok(let ok): print("\(try ok.body.json.id) \(try ok.body.json.status?.rawValue ?? "active")")
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .notFound(let response): try fail(response)
            case .unprocessableContent(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

struct WebhookDeliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deliveries", abstract: "A subscription's deliveries, newest first, with their tries.")

    @Argument var id: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.listWebhookDeliveries(path: .init(id: id)) {
            case .ok(let ok):
                let deliveries = try ok.body.json.deliveries
                if json { try printJSON(deliveries); return }
                printTable(
                    ["DELIVERY", "EVENT", "JOB", "STATUS", "TRIES", "LAST"],
                    deliveries.map { delivery in
                        let last = delivery.attempts.last.map { attempt in
                            (attempt.statusCode.map { "HTTP \($0)" } ?? attempt.error ?? "-") + " in \(attempt.latencyMs) ms"
                        }
                        return [delivery.id, delivery.eventType, delivery.jobName, delivery.status.rawValue, "\(delivery.attempts.count)", last ?? "-"]
                    })
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .notFound(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}

struct RedeliverWebhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redeliver", abstract: "Send one delivery again.")

    @Argument var id: String
    @Argument(help: "The delivery id (msg_…).") var delivery: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardConnection.fromEnvironment().makeClient()
            switch try await client.redeliverWebhookDelivery(path: .init(id: id, deliveryId: delivery)) {
            case .accepted: print("queued \(delivery)")
            case .badRequest(let response): try fail(response)
            case .unauthorized(let response): try fail(response)
            case .forbidden(let response): try fail(response)
            case .notFound(let response): try fail(response)
            case .undocumented(let status, _): throw CLIError.unexpected(status: status)
            }
        }
    }
}
