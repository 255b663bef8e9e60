public import Foundation
public import OpenAPIRuntime

/// Dates on the wire: written as ISO 8601 with milliseconds, read with or without fractional seconds, so that
/// `created_after=2026-11-25T09:36:01Z` from a person and `…01.421Z` from a client both work.
package struct FlexibleDateTranscoder: DateTranscoder {
    /// Made once: building the style for every date showed up beside the encoding itself in profiles of `POST /v1/jobs`.
    private static let withFractionalSeconds = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    package init() {}

    package func encode(_ date: Date) throws -> String {
        date.formatted(Self.withFractionalSeconds)
    }

    package func decode(_ string: String) throws -> Date {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(string) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(string) { return date }
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "\(string) is not an ISO 8601 date-time"))
    }
}
