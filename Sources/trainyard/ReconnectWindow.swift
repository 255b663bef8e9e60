/// How long a command that follows a job (its logs, its status) keeps trying while the server is away, restarting
/// say: two minutes from the first of a run of failures.
struct ReconnectWindow {
    static let limit: Duration = .seconds(120)
    private var failingSince: ContinuousClock.Instant?

    /// The server answered: a later failure starts a new window.
    mutating func answered() { failingSince = nil }

    /// Throws `error` once the window has passed since the run of failures began; else waits `pause` for the caller
    /// to try again.
    mutating func retry(after error: any Error, pause: Duration) async throws {
        let since = failingSince ?? ContinuousClock.now
        failingSince = since
        if ContinuousClock.now - since > Self.limit { throw error }
        try await Task.sleep(for: pause)
    }
}
