public import Foundation
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

/// The list query's parameters checked and turned into a store query, and its opaque page tokens.
///
/// A token is `v1.<sort_by>.<sort_order>.<last job id>`, base64url-encoded: it continues only the listing it came from.
enum JobListRequest {
    static func query(from input: Operations.ListJobs.Input.Query) throws -> JobListQuery {
        var violations: [FieldViolation] = []
        let limit = input.maxResults ?? 10
        if !(1...100).contains(limit) {
            violations.append(FieldViolation(field: "max_results", rule: "range", message: "max_results must be between 1 and 100"))
        }
        if let after = input.createdAfter, let before = input.createdBefore, after >= before {
            violations.append(FieldViolation(field: "created_before", rule: "after_created_after", message: "created_before must be later than created_after"))
        }
        if let fragment = input.nameContains, fragment.unicodeScalars.count > 63 {
            violations.append(FieldViolation(field: "name_contains", rule: "length", message: "name_contains must be at most 63 characters"))
        }
        guard violations.isEmpty else { throw APIError.unprocessable(detail: "the list query is invalid", errors: violations) }
        var query = JobListQuery(
            status: input.status.flatMap { JobStatus(rawValue: $0.rawValue) }, nameContains: input.nameContains, createdAfter: input.createdAfter,
            createdBefore: input.createdBefore, sortBy: JobListQuery.SortKey(rawValue: input.sortBy?.rawValue ?? "creation_time") ?? .creationTime,
            ascending: input.sortOrder == .ascending, limit: limit)
        query.warmPoolStatus = input.warmPoolStatus.flatMap { WarmPoolStatus(rawValue: $0.rawValue) }
        if let token = input.nextToken {
            query.after = try lastID(from: token, query: query)
        }
        return query
    }

    static func token(after id: Int64, query: JobListQuery) -> String {
        PageToken.encode("v1.\(query.sortBy.rawValue).\(query.ascending ? "ascending" : "descending").\(id)")
    }

    /// A string, as the spec says, but not one this listing gave out (or one around another project's job): a broken
    /// rule (422), as for the log's pages.
    static let unknownToken = APIError.unprocessable(
        detail: "next_token is not a token this listing returned",
        errors: [FieldViolation(field: "next_token", rule: "token", message: "next_token is not a token this listing returned")])

    static func lastID(from token: String, query: JobListQuery) throws -> Int64 {
        let invalid = unknownToken
        guard let plain = PageToken.decode(token) else { throw invalid }
        let parts = plain.split(separator: ".")
        guard parts.count == 4, parts[0] == "v1", let id = Int64(parts[3]) else { throw invalid }
        guard parts[1] == query.sortBy.rawValue, parts[2] == (query.ascending ? "ascending" : "descending") else {
            throw APIError.unprocessable(
                detail: "next_token belongs to a listing with another sort_by or sort_order",
                errors: [FieldViolation(field: "next_token", rule: "token", message: "next_token belongs to a listing with another sort_by or sort_order")])
        }
        return id
    }
}
