import ArgumentParser
import Foundation
import TrainyardCommandLine

@main
struct TrainyardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainyard",
        abstract: "Self-hosted managed training jobs: the service (serve) and its command-line client.",
        discussion: """
            Client commands use TRAINYARD_URL and TRAINYARD_API_KEY where set, else the profile TRAINYARD_PROFILE names, \
            else the default profile (`trainyard login` keeps one; a local `trainyard serve` writes 'local'), else \
            http://127.0.0.1:8080 with the admin key in ./.trainyard/admin-key.
            Exit codes: 0 success, 1 other failure, 2 usage, 3 invalid input, 4 not authorised, 5 not found, 6 conflict; \
            with --wait (and jobs wait): 10 the job Failed, 11 it was Stopped.
            """,
        subcommands: [ServeCommand.self, JobsCommand.self, KeysCommand.self, ProjectsCommand.self, WebhooksCommand.self, InstanceTypesCommand.self, AdminCommand.self,
            LoginCommand.self, LogoutCommand.self, ProfilesCommand.self, WhoAmICommand.self]
    )

    /// `serve` and everything after it go to `trainyard-server` before any parsing (``ServeCommand``); the rest is
    /// parsed here, a usage error exiting 2.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == ServeCommand.configuration.commandName {
            ServerExecutable.replaceProcess(arguments: Array(arguments.dropFirst()))
        }
        await mainExitingTwoOnUsageErrors()
    }
}
