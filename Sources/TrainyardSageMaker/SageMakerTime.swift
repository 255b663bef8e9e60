import Foundation
import TrainyardCore

/// Timestamps on AWS's JSON 1.1 wire: a number of epoch seconds both ways (botocore sends an integer, other SDKs may
/// send a fraction), and ISO 8601 strings accepted on the way in.
public enum SageMakerTime {
    /// The date a request's timestamp member names; nil for anything else.
    public static func date(_ value: JSONValue) -> Date? {
        switch value {
        case .number(let seconds): return Date(timeIntervalSince1970: seconds)
        case .string(let text):
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            if let date = formatter.date(from: text) { return date }
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.date(from: text)
        default: return nil
        }
    }

    /// A date as the wire writes it: epoch seconds, to the millisecond.
    public static func value(_ date: Date) -> JSONValue {
        .number((date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// A date in epoch milliseconds (CloudWatch Logs' timestamps).
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}
