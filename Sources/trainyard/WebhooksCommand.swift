import ArgumentParser
import Foundation
import Trainyard

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
                try parseChoice(WebhookEventType.self, $0.trimmingCharacters(in: .whitespaces), "--events")
            }
            let client = try TrainyardClient()
            let hook = try await client.createWebhook(url: url, events: types, secret: secret)
            if json {
                try printJSON(hook)
            } else {
                print("\(hook.id)\nsecret: \(hook.secret)  (shown once: keep it to verify signatures)")
            }
        }
    }
}

struct ListWebhooks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the project's subscriptions (never their secrets).")

    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let hooks = try await client.webhooks()
            if json { try printJSON(hooks); return }
            printTable(
                ["ID", "URL", "EVENTS", "STATUS", "CREATED"],
                hooks.map {
                    [$0.id, $0.url, $0.events.map(\.rawValue).joined(separator: ","),
                     ($0.status?.rawValue ?? "active") + ($0.disabledReason.map { " (\($0))" } ?? ""), $0.createdAt.formatted(.iso8601)]
                })
        }
    }
}

struct DeleteWebhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete a subscription (its pending deliveries are dropped).")

    @Argument var id: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            try await client.deleteWebhook(id: id)
            print("deleted \(id)")
        }
    }
}

struct EnableWebhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable a subscription disabled after sustained failure.")

    @Argument var id: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let hook = try await client.updateWebhook(id: id, enabled: true)
            print("\(hook.id) \(hook.status?.rawValue ?? "active")")
        }
    }
}

struct WebhookDeliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deliveries", abstract: "A subscription's deliveries, newest first, with their tries.")

    @Argument var id: String
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            let deliveries = try await client.deliveries(ofWebhook: id)
            if json { try printJSON(deliveries); return }
            printTable(
                ["DELIVERY", "EVENT", "JOB", "STATUS", "TRIES", "LAST"],
                deliveries.map { delivery in
                    let last = delivery.attempts.last.map { attempt in
                        (attempt.statusCode.map { "HTTP \($0)" } ?? attempt.error ?? "-") + " in \(attempt.latencyMs) ms"
                    }
                    return [delivery.id, delivery.eventType, delivery.jobName, delivery.status.rawValue, "\(delivery.attempts.count)", last ?? "-"]
                })
        }
    }
}

struct RedeliverWebhook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "redeliver", abstract: "Send one delivery again.")

    @Argument var id: String
    @Argument(help: "The delivery id (msg_…).") var delivery: String

    func run() async throws {
        try await runReportingErrors {
            let client = try TrainyardClient()
            try await client.redeliver(webhook: id, delivery: delivery)
            print("queued \(delivery)")
        }
    }
}
