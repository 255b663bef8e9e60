import ArgumentParser
import Foundation
import OpenAPIRuntime
import Trainyard

/// What a CLI command failed with, printed without a stack trace and mapped to a documented exit code.
enum CLIError: Error, CustomStringConvertible {
    /// Local input that cannot be used (a file that does not parse).
    case input(String)
    /// What the SDK failed with.
    case sdk(TrainyardError)

    /// Exit codes: 1 other, 2 usage, 3 invalid input (400/422), 4 auth (401/403), 5 not found, 6 conflict, 10 a job
    /// that failed, 11 a job that was stopped.
    var exitCode: ExitCode {
        switch self {
        case .input: ExitCode(3)
        case .sdk(let failure):
            switch failure {
            case .validation, .invalidInput: ExitCode(3)
            case .unauthorized, .forbidden: ExitCode(4)
            case .notFound: ExitCode(5)
            case .conflict: ExitCode(6)
            case .jobFailed: ExitCode(10)
            case .jobStopped: ExitCode(11)
            default: ExitCode(1)
            }
        }
    }

    /// The SDK's error inside `error` (as the generated client wraps what its middleware threw), if there is one.
    static func fromSDK(_ error: any Error) -> CLIError? {
        if let failure = error as? TrainyardError { return CLIError.sdk(failure) }
        if let failure = (error as? ClientError)?.underlyingError as? TrainyardError { return CLIError.sdk(failure) }
        return nil
    }

    var description: String {
        switch self {
        case .input(let message): return "error: \(message)"
        case .sdk(let failure): return "error: \(failure)"
        }
    }
}

/// Runs a command body, printing a ``CLIError`` and exiting with its code; `prefix` goes after `error: ` (to say
/// which of several items failed).
func runReportingErrors(prefix: String = "", _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        guard let failure = (error as? CLIError) ?? CLIError.fromSDK(error) else {
            FileHandle.standardError.write(Data("error: \(prefix)\(describe(error))\n".utf8))
            throw ExitCode(1)
        }
        var message = failure.description
        message.insert(contentsOf: prefix, at: message.index(message.startIndex, offsetBy: 7))
        FileHandle.standardError.write(Data((message + "\n").utf8))
        throw failure.exitCode
    }
}

/// An error that is not the service's answer, in words: no answer at all says which server did not answer, why, and
/// what to do.
func describe(_ error: any Error) -> String {
    guard let reason = TrainyardConnection.unreachableReason(error) else { return "\(error)" }
    let server = (error as? ClientError)?.baseURL?.absoluteString ?? "the server"
    return "cannot reach the Trainyard server at \(server): \(reason)\n"
        + "  start one with `trainyard serve`, or point TRAINYARD_URL (or --profile) at one that runs"
}

/// JSON for `--json` output: snake_case as the API sends it, dates in ISO 8601.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// A plain text table with a header row.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(in: .whitespaces))
    }
}
