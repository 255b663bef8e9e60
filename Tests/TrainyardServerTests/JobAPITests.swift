import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct JobAPITests {
    static func spec(_ name: String? = nil, count: Int = 2) -> String {
        let named = name.map { #""name":"\#($0)","# } ?? ""
        return #"{\#(named)"instance_type":"ml.m5.large","instance_count":\#(count),"use_spot_instances":true,"max_run":3600,"max_wait":7200,"command":["python3","train.py"],"hyperparameters":{"epochs":"3"},"inputs":{"train":"s3://datasets/mnist/train"},"output_path":"s3://models/"}"#
    }

    @Test func aCreatedJobIsDescribedWithItsSpecStatusAndArtifactsPath() async throws {
        try await TestApp.run { client in
            let created = try await client.call(.post, "/v1/jobs", json: Self.spec("mnist-1"))
            #expect(created.status == .created)
            let job = try await client.call(.get, "/v1/jobs/mnist-1").object()
            #expect(job["status"] as? String == "InProgress")
            #expect(job["secondary_status"] as? String == "Starting")
            #expect(job["arn"] as? String == "arn:aws:sagemaker:local:000000000001:training-job/mnist-1")
            #expect(job["instance_count"] as? Int == 2)
            #expect(job["max_wait"] as? Int == 7200)
            #expect((job["hyperparameters"] as? [String: String]) == ["epochs": "3"])
            #expect(((job["model_artifacts"] as? [String: Any])?["s3_model_artifacts"] as? String) == "s3://models/mnist-1/output/model.tar.gz")
            let transitions = job["secondary_status_transitions"] as? [[String: Any]] ?? []
            #expect(transitions.map { $0["status"] as? String } == ["Starting"])
            let train = (job["inputs"] as? [String: Any])?["train"] as? [String: Any]
            #expect(train?["s3_uri"] as? String == "s3://datasets/mnist/train")
            #expect(train?["distribution"] as? String == "FullyReplicated")
        }
    }

    @Test func aJobWithoutANameGetsAGeneratedOne() async throws {
        try await TestApp.run { client in
            let created = try await client.call(.post, "/v1/jobs", json: Self.spec())
            let name = try created.object()["name"] as? String ?? ""
            #expect(name.range(of: "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", options: .regularExpression) != nil)
        }
    }

    @Test func aDuplicateNameIsAConflict() async throws {
        try await TestApp.run { client in
            #expect(try await client.call(.post, "/v1/jobs", json: Self.spec("dup")).status == .created)
            let again = try await client.call(.post, "/v1/jobs", json: Self.spec("dup"))
            #expect(again.status == .conflict)
            #expect(again.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func anIdempotencyKeyReturnsTheSameJobForTheSameBodyAndRefusesAnother() async throws {
        try await TestApp.run { client in
            var headers = HTTPFields()
            headers[.init("Idempotency-Key")!] = "retry-123"
            let first = try await client.call(.post, "/v1/jobs", json: Self.spec(), headers: headers)
            let retry = try await client.call(.post, "/v1/jobs", json: Self.spec(), headers: headers)
            #expect(first.status == .created && retry.status == .created)
            #expect(try first.object()["name"] as? String == retry.object()["name"] as? String)
            let other = try await client.call(.post, "/v1/jobs", json: Self.spec(count: 3), headers: headers)
            #expect(other.status == .unprocessableContent)
            #expect(try other.violations() == [FieldRule(field: "Idempotency-Key", rule: "idempotency_key_reused")])
            let list = try await client.call(.get, "/v1/jobs")
            #expect((try list.object()["jobs"] as? [Any])?.count == 1)
        }
    }

    /// The key is the header as sent: the generated layer percent-decodes header values, and `50%off` (no valid escape)
    /// reached the handler empty and was refused as too short, while `a%20b` became `a b`, another request's key.
    @Test func anIdempotencyKeyIsTheHeaderAsSentPercentSignsIncluded() async throws {
        try await TestApp.run { client in
            func submit(key: String) async throws -> (status: HTTPResponse.Status, name: String?) {
                var headers = HTTPFields()
                headers[.init("Idempotency-Key")!] = key
                let response = try await client.call(.post, "/v1/jobs", json: Self.spec(), headers: headers)
                return (response.status, try? response.object()["name"] as? String)
            }
            let first = try await submit(key: "retry-50%off")
            let retry = try await submit(key: "retry-50%off")
            #expect(first.status == .created && retry.status == .created)
            #expect(first.name != nil && first.name == retry.name)
            let encoded = try await submit(key: "a%20b")
            let spaced = try await submit(key: "a b")
            #expect(encoded.status == .created && spaced.status == .created)
            #expect(encoded.name != spaced.name)
            #expect((try await client.call(.get, "/v1/jobs").object()["jobs"] as? [Any])?.count == 3)
        }
    }

    @Test func stopMovesThroughStoppingToStoppedAndASecondStopConflicts() async throws {
        try await TestApp.run { client in
            _ = try await client.call(.post, "/v1/jobs", json: Self.spec("to-stop"))
            let stopped = try await client.call(.post, "/v1/jobs/to-stop/stop")
            #expect(stopped.status == .accepted)
            let job = try stopped.object()
            #expect(job["status"] as? String == "Stopped")
            let transitions = (job["secondary_status_transitions"] as? [[String: Any]] ?? []).map { $0["status"] as? String }
            #expect(transitions == ["Starting", "Stopping", "Stopped"])
            #expect(try await client.call(.post, "/v1/jobs/to-stop/stop").status == .conflict)
            let events = try await client.call(.get, "/v1/jobs/to-stop/events").object()["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["secondary_status"] as? String } == ["Starting", "Stopping", "Stopped"])
            #expect(events.map { $0["type"] as? String } == ["created", "status_changed", "status_changed"])
        }
    }

    @Test func anUnknownJobIsNotFound() async throws {
        try await TestApp.run { client in
            let describe = try await client.call(.get, "/v1/jobs/nope")
            let stop = try await client.call(.post, "/v1/jobs/nope/stop")
            #expect(describe.status == .notFound && stop.status == .notFound)
        }
    }

    @Test func pagesFollowNextTokenToTheEndWithoutRepeats() async throws {
        try await TestApp.run { client in
            for index in 0..<7 { _ = try await client.call(.post, "/v1/jobs", json: Self.spec("page-\(index)")) }
            _ = try await client.call(.post, "/v1/jobs/page-3/stop")
            var names: [String] = []
            var token: String?
            repeat {
                let suffix = token.map { "&next_token=\($0)" } ?? ""
                let page = try await client.call(.get, "/v1/jobs?max_results=3&sort_by=name&sort_order=ascending\(suffix)").object()
                names += (page["jobs"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
                token = page["next_token"] as? String
            } while token != nil
            #expect(names == (0..<7).map { "page-\($0)" })
            let stopped = try await client.call(.get, "/v1/jobs?status=Stopped").object()["jobs"] as? [[String: Any]] ?? []
            #expect(stopped.map { $0["name"] as? String } == ["page-3"])
            let filtered = try await client.call(.get, "/v1/jobs?name_contains=ge-5").object()["jobs"] as? [[String: Any]] ?? []
            #expect(filtered.map { $0["name"] as? String } == ["page-5"])
        }
    }

    @Test func badListParametersAreRefused() async throws {
        try await TestApp.run { client in
            let tooMany = try await client.call(.get, "/v1/jobs?max_results=500")
            #expect(tooMany.status == .unprocessableContent)
            #expect(try tooMany.violations() == [FieldRule(field: "max_results", rule: "range")])
            let garbage = try await client.call(.get, "/v1/jobs?next_token=garbage")
            #expect(garbage.status == .unprocessableContent)
            #expect(try garbage.violations() == [FieldRule(field: "next_token", rule: "token")])
            #expect(try await client.call(.get, "/v1/jobs?status=Sleeping").status == .badRequest)
            _ = try await client.call(.post, "/v1/jobs", json: Self.spec("a"))
            _ = try await client.call(.post, "/v1/jobs", json: Self.spec("b"))
            let token = try await client.call(.get, "/v1/jobs?max_results=1").object()["next_token"] as? String ?? ""
            #expect(try await client.call(.get, "/v1/jobs?max_results=1&sort_by=name&next_token=\(token)").status == .unprocessableContent)
        }
    }

    @Test func theCatalogListsSageMakerTypesWithCapacity() async throws {
        try await TestApp.run { client in
            let types = try await client.call(.get, "/v1/instance-types").object()["instance_types"] as? [[String: Any]] ?? []
            #expect(types.count >= 145)
            let m5 = try #require(types.first { $0["name"] as? String == "ml.m5.large" })
            #expect(m5["vcpus"] as? Int == 2)
            #expect((m5["capacity"] as? [String: Int]) == ["on_demand": 4, "spot": 4])
            #expect(types.contains { $0["name"] as? String == "ml.p4d.24xlarge" && $0["gpus"] as? Int == 8 })
        }
    }
}
