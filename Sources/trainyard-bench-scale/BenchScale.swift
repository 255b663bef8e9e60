import ArgumentParser

/// bench/scale's two halves: the server with a provisioner that hands its hosts to the driver, and the driver that
/// plays those hosts (the real agent protocol) and the users (submit, list, describe) while it measures.
@main
struct BenchScale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainyard-bench-scale", abstract: "The server and the driver of bench/scale.", subcommands: [Serve.self, Drive.self])
}
