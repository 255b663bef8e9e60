import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOPosix
public import HTTPTypes
import OpenAPIAsyncHTTPClient
public import OpenAPIRuntime
public import TrainyardAPI

/// Where a Trainyard service is and which key to use: the settings every client shares.
public struct TrainyardConnection: Sendable {
    /// The service's base URL (`TRAINYARD_URL`, default `http://127.0.0.1:8080`).
    public var url: URL
    /// The API key token `<id>.<secret>` (`TRAINYARD_API_KEY`).
    public var apiKey: String?
    /// How long one call may take, in seconds.
    public var timeoutSeconds: Int64
    public init(url: URL, apiKey: String?, timeoutSeconds: Int64 = 60) {
        self.url = url
        self.apiKey = apiKey
        self.timeoutSeconds = timeoutSeconds
    }

    /// The connection a client command uses: `TRAINYARD_URL` and `TRAINYARD_API_KEY` where set, else the profile
    /// `TRAINYARD_PROFILE` names, else the default profile of the per-user configuration (``ClientProfiles``; a local
    /// `trainyard serve` writes one), else `http://127.0.0.1:8080` with the admin key a local `trainyard serve` wrote to
    /// `<TRAINYARD_DATA_DIR or ./.trainyard>/admin-key`. A profile's key is used only with its own URL.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> TrainyardConnection {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        let configurationPath = ClientProfiles.path(environment: environment)
        var profile: ClientProfiles.Profile?
        if let name = value("TRAINYARD_PROFILE") {
            let profiles = try ClientProfiles.load(from: configurationPath)
            guard let named = profiles.profiles[name] else {
                throw ClientConfigurationError.unknownProfile(name: name, path: configurationPath, known: profiles.profiles.keys.sorted())
            }
            profile = named
        } else if let profiles = try? ClientProfiles.load(from: configurationPath), let name = profiles.defaultProfile {
            profile = profiles.profiles[name]
        }
        let explicitURL = value("TRAINYARD_URL")
        if let explicitURL, let named = profile, named.url != explicitURL { profile = nil }
        let urlString = explicitURL ?? profile?.url ?? "http://127.0.0.1:8080"
        guard let url = URL(string: urlString), url.scheme == "http" || url.scheme == "https" else {
            throw ClientConfigurationError.invalidURL(urlString)
        }
        var key = value("TRAINYARD_API_KEY")
        if key == nil, let profile { key = try profile.resolvedKey() }
        if key == nil {
            let dataDir = value("TRAINYARD_DATA_DIR") ?? "./.trainyard"
            key = (try? String(contentsOfFile: (dataDir as NSString).appendingPathComponent("admin-key"), encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return TrainyardConnection(url: url, apiKey: key)
    }

    /// The process's HTTP client. A connection the server refuses fails at once, and an attempt to connect gives up
    /// after 10 s: AsyncHTTPClient's default retries connecting until the request's deadline, a minute of silence
    /// before a user learns that no server is listening. (Never shut down: it lives as long as the process.)
    static let httpClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(connectTimeoutSeconds)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    static let connectTimeoutSeconds: Int64 = 10

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Why a request got no answer at all (`error` is what the client threw), in a user's words; nil when it did get one
    /// (or was cancelled).
    public static func unreachableReason(_ error: any Error) -> String? {
        guard let error = error as? ClientError, error.response == nil, !(error.underlyingError is CancellationError) else { return nil }
        let cause = error.underlyingError
        if let failure = cause as? HTTPClientError {
            switch failure {
            case .connectTimeout: return "no answer to connecting within \(connectTimeoutSeconds) s"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "\(failure)"
            }
        }
        if let failure = cause as? NIOConnectionError, let first = failure.connectionErrors.first {
            return Self.words(first.error)
        }
        return Self.words(cause)
    }

    private static func words(_ error: any Error) -> String {
        if let failure = error as? IOError { return String(cString: strerror(failure.errnoCode)).lowercased() }
        return "\(error)"
    }

    /// A generated client for this connection: every error answer thrown as a ``TrainyardError``, safe requests
    /// tried again after a dropped connection or a 502/503/504. `timeout` bounds one call (a log stream's: its whole
    /// life), the connection's ``timeoutSeconds`` by default.
    package func makeClient(timeout: Duration? = nil, retries: Bool = true) -> Client {
        makeClient(
            transport: AsyncHTTPClientTransport(configuration: .init(client: Self.httpClient, timeout: Self.timeAmount(timeout ?? .seconds(timeoutSeconds)))),
            retries: retries)
    }

    /// A generated client over `transport`, with the SDK's middleware.
    func makeClient(transport: any ClientTransport, retries: Bool = true, retryPause: Duration = .milliseconds(250)) -> Client {
        var middlewares: [any ClientMiddleware] = []
        if retries { middlewares.append(RetryMiddleware(firstPause: retryPause)) }
        middlewares += [ProblemMiddleware(), BearerAuthMiddleware(token: apiKey), VerbatimRequestHeaders()]
        return Client(serverURL: url, configuration: .init(dateTranscoder: FlexibleDateTranscoder()), transport: transport, middlewares: middlewares)
    }
}

/// Client settings that cannot be used.
public enum ClientConfigurationError: Error, CustomStringConvertible {
    case invalidURL(String)
    case unknownProfile(name: String, path: String, known: [String])
    case unreadableKeyFile(String)
    case unreadableConfiguration(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "TRAINYARD_URL \(url) is not an http:// or https:// URL"
        case .unknownProfile(let name, let path, let known):
            "there is no profile '\(name)' in \(path)"
                + (known.isEmpty ? "; add it with `trainyard login URL --profile \(name)`" : " (profiles: \(known.joined(separator: ", ")))")
        case .unreadableKeyFile(let path):
            "the profile's key file \(path) cannot be read (was the server's data directory removed?); "
                + "set TRAINYARD_API_KEY or run `trainyard login`"
        case .unreadableConfiguration(let path, let reason): "the client configuration \(path) cannot be used: \(reason)"
        }
    }
}
