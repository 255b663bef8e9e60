import Testing
import TrainyardCore

@Suite struct ProjectUserMapTests {
    @Test func projectsMapToTheirUsersAndTheRestToTheFallback() throws {
        let map = try ProjectUserMap.parse(" team-a=alice , team-b=bob_2,*=trainyard ")
        #expect(map.user(for: "team-a") == "alice")
        #expect(map.user(for: "team-b") == "bob_2")
        #expect(map.user(for: "team-c") == "trainyard")
        #expect(map.refusal(for: "team-c") == nil)
    }

    @Test func withoutAFallbackAnUnnamedProjectIsRefusedWithTheSettingNamed() throws {
        let map = try ProjectUserMap.parse("team-a=alice")
        #expect(map.user(for: "team-b") == nil)
        let refusal = try #require(map.refusal(for: "team-b"))
        #expect(refusal.contains("project team-b has no Slurm user"))
        #expect(refusal.contains("TRAINYARD_SLURM_USERS"))
        #expect(refusal.contains("team-b=<user>"))
        #expect(ProvisionerCapabilities(name: "slurm", projectUsers: map).refusal(forProject: "team-b") == refusal)
        #expect(ProvisionerCapabilities(name: "slurm").refusal(forProject: "team-b") == nil)
    }

    @Test func everyWrongEntryIsNamed() {
        #expect(throws: ProjectUserMapError(problems: [
            "'Team' is not a project name (or *)", "'Root!' is not a user name ([a-z_][a-z0-9_-]*, at most 32 characters)",
            "'b' is mapped twice", "'nothing' is not project=user",
        ])) {
            try ProjectUserMap.parse("Team=alice,b=Root!,b=bob,nothing")
        }
        #expect(throws: ProjectUserMapError.self) { try ProjectUserMap.parse("") }
        #expect(throws: ProjectUserMapError.self) { try ProjectUserMap.parse("a=" + String(repeating: "x", count: 33)) }
        #expect(throws: ProjectUserMapError.self) { try ProjectUserMap.parse("a--b=alice") }
        #expect(throws: ProjectUserMapError.self) { try ProjectUserMap.parse("-a=alice") }
    }
}
