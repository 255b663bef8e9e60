public import ArgumentParser
import Foundation

extension AsyncParsableCommand {
    /// The entry point of Trainyard's executables: ArgumentParser's, except that a usage error (an unknown option, a
    /// missing argument, a value that does not parse) exits 2, as the README and `--help` say, not ArgumentParser's 64
    /// (EX_USAGE).
    public static func mainExitingTwoOnUsageErrors() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(usageExitCode)
            }
            exit(withError: error)
        }
    }
}

/// The exit code of a usage error.
private let usageExitCode: Int32 = 2
