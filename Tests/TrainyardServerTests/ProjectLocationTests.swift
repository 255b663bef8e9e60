import Foundation
import HummingbirdTesting
import Testing
import TrainyardCore
import TrainyardServer

/// Tenant isolation of data: every URI a job names lies inside its project's locations (its own prefix of the default
/// bucket, plus what an admin of the service granted it), tried as the other tenant would.
@Suite struct ProjectLocationTests {
    /// A job of project `b` naming `uri` in one field.
    static func spec(_ name: String, field: String, uri: String) -> String {
        let base = #""name":"\#(name)","instance_type":"ml.m5.large""#
        switch field {
        case "inputs": return #"{\#(base),"command":["true"],"inputs":{"loot":{"s3_uri":"\#(uri)"}}}"#
        case "source_dir": return #"{\#(base),"entry_point":"train.py","source_dir":"\#(uri)"}"#
        case "sagemaker_submit_directory":
            return #"{\#(base),"hyperparameters":{"sagemaker_program":"\"train.py\"","sagemaker_submit_directory":"\"\#(uri)\""}}"#
        case "checkpoint_s3_uri": return #"{\#(base),"command":["true"],"checkpoint_s3_uri":"\#(uri)"}"#
        default: return #"{\#(base),"command":["true"],"output_path":"\#(uri)"}"#
        }
    }

    static let fieldNames = [
        "inputs": "inputs.loot.s3_uri", "source_dir": "source_dir", "sagemaker_submit_directory": "hyperparameters.sagemaker_submit_directory",
        "checkpoint_s3_uri": "checkpoint_s3_uri", "output_path": "output_path",
    ]

    @Test func anotherProjectsDataCannotBeNamedInAnyField() async throws {
        try await TestApp.run { client in
            let tokenA = try await client.project("team-a")
            let tokenB = try await client.project("team-b")
            #expect(try await client.call(.post, "/v1/jobs", token: tokenA, json: Self.spec("victim", field: "output_path", uri: "s3://trainyard/team-a")).status == .created)
            let targets = [
                "s3://trainyard/team-a/victim/output/model.tar.gz", "s3://trainyard/team-a", "s3://trainyard", "s3://trainyard/team-b-not-mine/x",
                "s3://other-bucket/data", "file:///etc/shadow", "file:///",
            ]
            for (field, reported) in Self.fieldNames {
                for target in targets {
                    let response = try await client.call(.post, "/v1/jobs", token: tokenB, json: Self.spec("attack", field: field, uri: target))
                    #expect(response.status == .unprocessableContent, "\(field) \(target): \(String(buffer: response.body))")
                    #expect(try response.violations() == [FieldRule(field: reported, rule: "location")], "\(field) \(target)")
                    let message = try response.messages()
                    #expect(message.contains("outside what project team-b may"), "\(message)")
                    #expect(message.contains("s3://trainyard/team-b (read-write, the project's own)"), "\(message)")
                }
            }
            // A dot segment is refused for every project, the bootstrap one included: S3 servers may resolve it.
            for token in [tokenB, TestApp.adminToken] {
                let response = try await client.call(
                    .post, "/v1/jobs", token: token, json: Self.spec("dots", field: "inputs", uri: "s3://trainyard/team-b/../team-a/victim"))
                #expect(try response.violations() == [FieldRule(field: "inputs.loot.s3_uri", rule: "uri")])
                #expect(try response.messages().contains("'.' or '..' segment"))
            }
            // Nothing was created by the refused submissions.
            let listed = try await client.call(.get, "/v1/jobs", token: tokenB).object()["jobs"] as? [Any]
            #expect(listed?.isEmpty == true)

            // The project's own prefix works in every field, and is the default output path.
            for (index, field) in Self.fieldNames.keys.sorted().enumerated() {
                let response = try await client.call(
                    .post, "/v1/jobs", token: tokenB, json: Self.spec("own-\(index)", field: field, uri: "s3://trainyard/team-b/data/x"))
                #expect(response.status == .created, "\(field): \(String(buffer: response.body))")
            }
            let plain = try await client.call(.post, "/v1/jobs", token: tokenB, json: #"{"name":"plain","instance_type":"ml.m5.large","command":["true"]}"#)
            #expect(try plain.object()["output_path"] as? String == "s3://trainyard/team-b", "\(String(buffer: plain.body))")

            // The bootstrap project, the operator's own, keeps its reach.
            let operatorJob = try await client.call(
                .post, "/v1/jobs", json: Self.spec("operator", field: "inputs", uri: "s3://trainyard/team-a/victim/output/model.tar.gz"))
            #expect(operatorJob.status == .created)
        }
    }

    @Test func grantsAreMadeByTheServiceAdminAndHonouredWithTheirAccess() async throws {
        try await TestApp.run { client in
            let tokenA = try await client.project("team-a")
            let tokenB = try await client.project("team-b")
            let memberB = try await client.key(role: "member", token: tokenB)
            let grant = #"{"locations":[{"uri":"s3://datasets/imagenet","access":"read"},{"uri":"s3://scratch/team-b","access":"read_write"}]}"#

            // Only an admin of the bootstrap project grants; a project's own admin cannot grant itself more.
            #expect(try await client.call(.put, "/v1/projects/team-b/locations", token: tokenB, json: grant).status == .forbidden)
            #expect(try await client.call(.put, "/v1/projects/team-b/locations", token: memberB, json: grant).status == .forbidden)
            let granted = try await client.call(.put, "/v1/projects/team-b/locations", json: grant)
            #expect(granted.status == .ok, "\(String(buffer: granted.body))")
            #expect(try granted.object()["default_location"] as? String == "s3://trainyard/team-b")

            // Read-only: an input, not an output.
            let input = try await client.call(.post, "/v1/jobs", token: memberB, json: Self.spec("reads", field: "inputs", uri: "s3://datasets/imagenet/train"))
            #expect(input.status == .created, "\(String(buffer: input.body))")
            let output = try await client.call(.post, "/v1/jobs", token: memberB, json: Self.spec("writes", field: "output_path", uri: "s3://datasets/imagenet"))
            #expect(try output.violations() == [FieldRule(field: "output_path", rule: "location")])
            #expect(try output.messages().contains("s3://scratch/team-b (read-write)"))
            #expect(try output.messages().contains("s3://datasets/imagenet (read-only)") == false, "read-only grants are not offered for writing")
            let checkpoint = try await client.call(.post, "/v1/jobs", token: memberB, json: Self.spec("ckpt", field: "checkpoint_s3_uri", uri: "s3://scratch/team-b/ckpt"))
            #expect(checkpoint.status == .created)
            // A grant of a prefix is not a grant of its neighbours.
            let neighbour = try await client.call(.post, "/v1/jobs", token: memberB, json: Self.spec("near", field: "inputs", uri: "s3://datasets/imagenet-private"))
            #expect(try neighbour.violations() == [FieldRule(field: "inputs.loot.s3_uri", rule: "location")])
            // Project a, which was granted nothing, still cannot.
            let other = try await client.call(.post, "/v1/jobs", token: tokenA, json: Self.spec("reads", field: "inputs", uri: "s3://datasets/imagenet/train"))
            #expect(try other.violations() == [FieldRule(field: "inputs.loot.s3_uri", rule: "location")])

            // A project reads its own locations; another project's are not found; the service admin reads any.
            let own = try await client.call(.get, "/v1/projects/team-b/locations", token: memberB)
            #expect((try own.object()["locations"] as? [[String: Any]])?.count == 2)
            #expect(try await client.call(.get, "/v1/projects/team-b/locations", token: tokenA).status == .notFound)
            #expect(try await client.call(.get, "/v1/projects/team-b/locations").status == .ok)
            let whoami = try await client.call(.get, "/v1/whoami", token: memberB).object()
            #expect(whoami["project"] as? String == "team-b" && whoami["role"] as? String == "member")

            // Bad grants name every wrong entry and change nothing.
            let bad = try await client.call(
                .put, "/v1/projects/team-b/locations",
                json: #"{"locations":[{"uri":"s3://datasets/../etc","access":"read"},{"uri":"ftp://x","access":"read"},{"uri":"s3://ok-bucket","access":"read"},{"uri":"s3://ok-bucket","access":"read"}]}"#)
            #expect(bad.status == .unprocessableContent)
            #expect(Set(try bad.violations()) == [
                FieldRule(field: "locations[0].uri", rule: "uri"), FieldRule(field: "locations[1].uri", rule: "uri"),
                FieldRule(field: "locations[3].uri", rule: "unique"),
            ])
            #expect((try await client.call(.get, "/v1/projects/team-b/locations").object()["locations"] as? [[String: Any]])?.count == 2)
            #expect(try await client.call(.put, "/v1/projects/nobody/locations", json: grant).status == .notFound)

            // Revoking takes effect for the next submission.
            #expect(try await client.call(.put, "/v1/projects/team-b/locations", json: #"{"locations":[]}"#).status == .ok)
            let revoked = try await client.call(.post, "/v1/jobs", token: memberB, json: Self.spec("again", field: "inputs", uri: "s3://datasets/imagenet/train"))
            #expect(try revoked.violations() == [FieldRule(field: "inputs.loot.s3_uri", rule: "location")])
        }
    }

    @Test func theOperatorsSettingGrantsBesideTheAPIAndABadFileStopsTheServerNamingIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-setting-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/locations.json"
        try #"{"team-b": [{"uri": "s3://datasets/imagenet", "access": "read"}]}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let configured = try ServerConfiguration(environment: ["TRAINYARD_PROJECT_LOCATIONS": file])
        try await TestApp.run(configure: { $0.projectLocationGrants = configured.projectLocationGrants }) { client in
            let tokenB = try await client.project("team-b")
            let tokenC = try await client.project("team-c")
            // Given the setting's read-only grant to team-b: its jobs read there, and write nowhere outside their own prefix.
            let reads = try await client.call(.post, "/v1/jobs", token: tokenB, json: Self.spec("reads", field: "inputs", uri: "s3://datasets/imagenet/train"))
            #expect(reads.status == .created, "\(String(buffer: reads.body))")
            let writes = try await client.call(.post, "/v1/jobs", token: tokenB, json: Self.spec("writes", field: "output_path", uri: "s3://datasets/imagenet"))
            #expect(try writes.violations() == [FieldRule(field: "output_path", rule: "location")])
            // Another project gets nothing from it, and the grant shows beside the API's.
            let other = try await client.call(.post, "/v1/jobs", token: tokenC, json: Self.spec("reads", field: "inputs", uri: "s3://datasets/imagenet/train"))
            #expect(try other.violations() == [FieldRule(field: "inputs.loot.s3_uri", rule: "location")])
            let shown = try await client.call(.get, "/v1/projects/team-b/locations", token: tokenB).object()["locations"] as? [[String: Any]]
            #expect(shown?.first?["uri"] as? String == "s3://datasets/imagenet" && shown?.first?["access"] as? String == "read")
        }
        // A file with a bad entry is refused at start, naming the variable and the entry.
        try #"{"team-b": [{"uri": "s3://datasets/../etc", "access": "read"}]}"#.write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            _ = try ServerConfiguration(environment: ["TRAINYARD_PROJECT_LOCATIONS": file])
        } throws: { error in
            "\(error)".contains("TRAINYARD_PROJECT_LOCATIONS") && "\(error)".contains("team-b[0].uri")
        }
    }

    @Test func aFileRootIsJudgedByWhereItsLinksLead() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("trainyard-grant-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/team-b/data", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/team-b/escape", withDestinationPath: "/etc")
        try await TestApp.run { client in
            let tokenB = try await client.project("team-b")
            #expect(try await client.call(.put, "/v1/projects/team-b/locations", json: #"{"locations":[{"uri":"file://\#(root)/team-b","access":"read"}]}"#).status == .ok)
            let inside = try await client.call(.post, "/v1/jobs", token: tokenB, json: Self.spec("inside", field: "inputs", uri: "file://\(root)/team-b/data"))
            #expect(inside.status == .created, "\(String(buffer: inside.body))")
            let escaped = try await client.call(.post, "/v1/jobs", token: tokenB, json: Self.spec("escape", field: "inputs", uri: "file://\(root)/team-b/escape/shadow"))
            #expect(try escaped.violations() == [FieldRule(field: "inputs.loot.s3_uri", rule: "location")])
            let escapedMessage = try escaped.messages()
            #expect(escapedMessage.contains("it resolves to file:///etc/shadow"), "\(escapedMessage)")
        }
    }
}
