import Foundation

/// Where the local PostgreSQL server programs (`initdb`, `postgres`, `pg_isready`) are.
struct PostgresBinaries: Sendable {
    var directory: String

    func path(_ program: String) -> String {
        (directory as NSString).appendingPathComponent(program)
    }

    /// `TRAINYARD_POSTGRES_BIN` when set, else the newest `/usr/lib/postgresql/<version>/bin` (Debian's layout),
    /// else the directory of `postgres` on `PATH`.
    static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PostgresBinaries {
        var candidates: [String] = []
        if let explicit = environment["TRAINYARD_POSTGRES_BIN"] { candidates.append(explicit) }
        let debianRoot = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: debianRoot)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "\(debianRoot)/\($0)/bin" }
        candidates += (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in candidates {
            let binaries = PostgresBinaries(directory: directory)
            if FileManager.default.isExecutableFile(atPath: binaries.path("initdb")),
                FileManager.default.isExecutableFile(atPath: binaries.path("postgres"))
            {
                return binaries
            }
        }
        throw EmbeddedPostgresError.binariesNotFound(searched: Array(candidates.prefix(4)))
    }
}
