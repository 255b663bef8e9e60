import ArgumentParser
import Foundation
import OpenAPIRuntime
import Trainyard
import TrainyardAPI

/// What a CLI command failed with, printed without a stack trace and mapped to a documented exit code.
enum CLIError: Error, CustomStringConvertible {
    /// The service answered with a problem document.
    case problem(Components.Schemas.Problem)
    /// The service answered something undocumented.
    case unexpected(status: Int)
    /// Local input that cannot be used (a file that does not parse).
    case input(String)
    /// What the SDK failed with.
    case sdk(TrainyardError)

    /// Exit codes: 1 other, 2 usage, 3 invalid input (400/422), 4 auth (401/403), 5 not found, 6 conflict.
    var exitCode: ExitCode {
        switch self {
        case .problem(let problem):
            switch problem.status {
            case 400, 422: ExitCode(3)
            case 401, 403: ExitCode(4)
            case 404: ExitCode(5)
            case 409: ExitCode(6)
            default: ExitCode(1)
            }
        case .unexpected: ExitCode(1)
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
        case .problem(let problem):
            var lines = ["error: \(problem.title) (\(problem.status))"]
            if let detail = problem.detail { lines.append("  \(detail)") }
            for error in problem.errors ?? [] {
                lines.append("  - \(error.field) [\(error.rule)]: \(error.message)")
            }
            return lines.joined(separator: "\n")
        case .unexpected(let status): return "error: the service answered with an unexpected status \(status)"
        case .input(let message): return "error: \(message)"
        case .sdk(let failure): return "error: \(failure)"
        }
    }
}

/// The reusable problem responses, read uniformly.
protocol ProblemResponse {
    var problem: Components.Schemas.Problem { get throws }
}

extension Components.Responses.BadRequest: ProblemResponse { var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } } }
extension Components.Responses.Unauthorized: ProblemResponse { var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } } }
extension Components.Responses.Forbidden: ProblemResponse { var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } } }
extension Components.Responses.NotFound: ProblemResponse { var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } } }
extension Components.Responses.Conflict: ProblemResponse { var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } } }
extension Components.Responses.PayloadTooLarge: ProblemResponse { var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } } }
extension Components.Responses.TooManyRequests: ProblemResponse { var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } } }
extension Components.Responses.UnprocessableContent: ProblemResponse {
    var problem: Components.Schemas.Problem { get throws { try body.applicationProblemJson } }
}

/// Throws the problem a response carries.
func fail(_ response: some ProblemResponse) throws -> Never {
    throw CLIError.problem(try response.problem)
}

/// Runs a command body, printing a ``CLIError`` and exiting with its code; `prefix` goes after `error: ` (to say
/// which of several items failed).
func runReportingErrors(prefix: String = "", _ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        var message = error.description
        if message.hasPrefix("error: ") { message.insert(contentsOf: prefix, at: message.index(message.startIndex, offsetBy: 7)) }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        throw error.exitCode
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch let error where CLIError.fromSDK(error) != nil {
        let failure = CLIError.fromSDK(error)!
        var message = failure.description
        message.insert(contentsOf: prefix, at: message.index(message.startIndex, offsetBy: 7))
        FileHandle.standardError.write(Data((message + "\n").utf8))
        throw failure.exitCode
    } catch {
        FileHandle.standardError.write(Data("error: \(prefix)\(describe(error))\n".utf8))
        throw ExitCode(1)
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
