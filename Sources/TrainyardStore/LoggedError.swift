import PostgresNIO

/// An error as the server's log shows it: for a database error, the database's own message with its SQLSTATE, detail,
/// constraint and table, and the statement's SQL (never its bound values, nor the detail of an integrity violation,
/// which quotes them: they hold users' data and secrets' hashes).
///
/// PostgresNIO's `PSQLError` describes itself only as "PSQLError – Generic description to prevent accidental leakage…",
/// which told an operator nothing. This text is for the log only: answers to clients stay generic.
public enum LoggedError {
    /// What `error` was, in detail.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            return describe(error)
        case let error as PostgresTransactionError:
            let parts: [(String, (any Error)?)] = [
                ("begin", error.beginError), ("body", error.closureError), ("commit", error.commitError), ("rollback", error.rollbackError),
            ]
            let known = parts.compactMap { name, error in error.map { "\(name): \(describe($0))" } }
            return "transaction failed (\(known.joined(separator: "; ")))"
        default:
            return String(reflecting: error)
        }
    }

    private static func describe(_ error: PSQLError) -> String {
        var text = "database error \(error.code)"
        if let info = error.serverInfo {
            let message = info[.message] ?? "(no message)"
            text = "database error \(info[.sqlState] ?? "?????"): \(message)"
            let fields: [(String, PSQLError.ServerInfo.Field)] = [
                ("detail", .detail), ("hint", .hint), ("constraint", .constraintName), ("table", .tableName), ("column", .columnName),
                ("where", .locationContext),
            ]
            // An integrity violation's detail quotes the row's values (`Key (name)=(mnist)`, `Failing row contains
            // (...)`): users' data and secrets' hashes stay out of the log; its constraint, table and column say where.
            let quotesValues = info[.sqlState]?.hasPrefix("23") == true
            for (name, field) in fields where !(quotesValues && field == .detail) {
                if let value = info[field] { text += "; \(name): \(value)" }
            }
        }
        if let underlying = error.underlying { text += "; underlying: \(String(reflecting: underlying))" }
        if let query = error.query { text += "; sql: \(query.sql)" }
        return text
    }
}
