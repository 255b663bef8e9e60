import Foundation
import NIOSSL
import PostgresNIO

/// Parses `postgres://user:password@host:port/database[?sslmode=disable|prefer|require]` into a client configuration.
public enum DatabaseURL {
    /// The client configuration for `url`; throws naming what is wrong.
    public static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme) else {
            throw DatabaseURLError.invalid(url: redacted(url), reason: "expected postgres://user:password@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw DatabaseURLError.invalid(url: redacted(url), reason: "missing host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw DatabaseURLError.invalid(url: redacted(url), reason: "missing user")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw DatabaseURLError.invalid(url: redacted(url), reason: "sslmode \(mode) is not one of disable, prefer, require")
        }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: tls)
    }

    /// The URL with its password hidden, for messages and logs.
    public static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }
}

/// A database URL that cannot be used.
public enum DatabaseURLError: Error, CustomStringConvertible {
    case invalid(url: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let url, let reason): "TRAINYARD_DATABASE_URL \(url) is not usable: \(reason)"
        }
    }
}
