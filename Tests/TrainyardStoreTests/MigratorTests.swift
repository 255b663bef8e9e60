import Foundation
import Logging
import PostgresNIO
import Testing
import TrainyardTestSupport

@testable import TrainyardStore

@Suite struct MigratorTests {
    @Test func bundledMigrationsAreNumberedInOrder() throws {
        let migrations = try Migration.bundled()
        #expect(!migrations.isEmpty)
        #expect(migrations.map(\.version) == Array(1...migrations.count))
    }

    @Test func migratingTwiceAppliesNothingTheSecondTime() async throws {
        try await TestPostgres.withStore { store in
            // given a database cloned from the migrated template
            // when migrating again
            let applied = try await Migrator(migrations: Migration.bundled()).migrate(store.client, logger: Logger(label: "test"))
            // then nothing is applied twice
            #expect(applied.isEmpty)
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        try await TestPostgres.withStore { store in
            // given two extra migrations not yet applied
            let extra = try Migration.bundled() + [
                Migration(version: 900, name: "first_extra", sql: "CREATE TABLE extra_one (id int); INSERT INTO extra_one VALUES (1)"),
                Migration(version: 901, name: "second_extra", sql: "CREATE TABLE extra_two (id int)"),
            ]
            let migrator = Migrator(migrations: extra)
            let logger = Logger(label: "test")
            // when four replicas migrate at once
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 { group.addTask { try await migrator.migrate(store.client, logger: logger) } }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            // then exactly one of them applied the new ones, and the data went in once
            #expect(results.flatMap { $0 }.sorted() == [900, 901])
            let rows = try await store.client.query("SELECT count(*) FROM extra_one").decode(Int.self).array()
            #expect(rows == [1])
        }
    }

    @Test func aDatabaseWithAnUnknownMigrationIsRefused() async throws {
        try await TestPostgres.withStore { store in
            // given a database migrated by a newer binary
            try await store.client.query("INSERT INTO schema_migrations (version, name) VALUES (9999, 'from_the_future')")
            // when this binary migrates
            // then it refuses, naming the migration
            await #expect(throws: MigrationError.self) {
                try await Migrator(migrations: Migration.bundled()).migrate(store.client, logger: Logger(label: "test"))
            }
            do {
                try await Migrator(migrations: Migration.bundled()).migrate(store.client, logger: Logger(label: "test"))
            } catch {
                #expect("\(error)".contains("9999"))
            }
        }
    }

    @Test func migrationFilesSplitIntoStatementsOutsideQuotesAndComments() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (t text DEFAULT 'x;y');
            /* block; comment */ CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;
            INSERT INTO "we;ird" VALUES (1)
            """
        #expect(
            SQLScript.statements(in: script) == [
                "CREATE TABLE a (t text DEFAULT 'x;y')", "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql",
                "INSERT INTO \"we;ird\" VALUES (1)",
            ])
    }
}
