import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Every validation rule through HTTP: one bad field gives a 422 naming that field and rule, and writes nothing.
@Suite struct JobValidationTests {
    static var base: [String: Any] { ["instance_type": "ml.m5.large", "command": ["python3", "train.py"]] }

    static func body(_ changes: [String: Any?]) -> String {
        var object = base
        for (key, value) in changes { object[key] = value ?? nil }
        for (key, value) in changes where value == nil { object.removeValue(forKey: key) }
        return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let changes: [String: any Sendable]
        let removed: [String]
        let expected: FieldRule
        var testDescription: String { expected.description }

        init(_ changes: [String: any Sendable], removing removed: [String] = [], _ field: String, _ rule: String) {
            self.changes = changes
            self.removed = removed
            self.expected = FieldRule(field: field, rule: rule)
        }
    }

    static let cases: [Case] = [
        Case(["name": "bad_name"], "name", "pattern"),
        Case(["name": String(repeating: "a", count: 64)], "name", "pattern"),
        Case([:], removing: ["command"], "command", "required"),
        Case(["entry_point": "train.py"], "command", "exclusive"),
        Case(["command": [String]()], "command", "min_entries"),
        Case(["source_dir": "s3://code/src"], "source_dir", "requires"),
        Case(["instance_type": "ml.m5.larg"], "instance_type", "catalog"),
        Case(["instance_count": 0], "instance_count", "minimum"),
        Case(["instance_count": 5], "instance_count", "capacity"),
        Case(["volume_size": 0], "volume_size", "range"),
        Case(["max_run": 0], "max_run", "range"),
        Case(["max_run": 2_419_201], "max_run", "range"),
        Case(["max_pending": 0], "max_pending", "range"),
        Case(["max_pending": 2_419_201], "max_pending", "range"),
        Case(["max_wait": 100_000], "max_wait", "requires_spot"),
        Case(["use_spot_instances": true, "max_run": 3600, "max_wait": 1800], "max_wait", "at_least_max_run"),
        Case(["hyperparameters": ["lr": String(repeating: "9", count: 2501)]], "hyperparameters.lr", "max_length"),
        Case(["hyperparameters": Dictionary(uniqueKeysWithValues: (0..<101).map { ("k\($0)", "v") })], "hyperparameters", "max_entries"),
        Case(["environment": ["1BAD": "x"]], "environment.1BAD", "pattern"),
        Case(["tags": ["aws:owner": "me"]], "tags.aws:owner", "reserved"),
        Case(["tags": ["team": "a#b"]], "tags.team", "pattern"),
        Case(["inputs": ["train!": "s3://data/train"]], "inputs.train!", "pattern"),
        Case(["inputs": ["train": "http://data/train"]], "inputs.train.s3_uri", "uri"),
        Case(["inputs": ["train": ["s3_uri": "s3://data/train", "input_mode": "Pipe"]]], "inputs.train.input_mode", "unsupported"),
        Case(["output_path": "ftp://models"], "output_path", "uri"),
        Case(["checkpoint_s3_uri": "s3://ckpt/run", "checkpoint_local_path": "relative/dir"], "checkpoint_local_path", "absolute_path"),
        Case(["checkpoint_local_path": "/opt/ml/checkpoints"], "checkpoint_local_path", "requires"),
        Case(["metric_definitions": [["name": "loss", "regex": "loss=(["]]], "metric_definitions[0].regex", "regex"),
        Case(["metric_definitions": [["name": "loss", "regex": "a"], ["name": "loss", "regex": "b"]]], "metric_definitions[1].name", "unique"),
        Case(["hyperparameters": ["lr": "0.1\u{0}"]], "hyperparameters.lr", "no_nul"),
        Case(["max_retry_attempts": 31], "max_retry_attempts", "range"),
        Case(["keep_alive_period": 21_601], "keep_alive_period", "range"),
        Case(["retry_on_exit_codes": [0]], "retry_on_exit_codes[0]", "range"),
        Case(["priority": 5000], "priority", "range"),
        Case(["distribution": ["torch_distributed": ["enabled": true], "mpi": ["enabled": true]]], "distribution", "exclusive"),
    ]

    @Test(arguments: cases)
    func eachRuleIsReportedThroughHTTPAndNothingIsWritten(_ testCase: Case) async throws {
        try await TestApp.run { client in
            var changes: [String: Any?] = testCase.changes
            for key in testCase.removed { changes[key] = .some(nil) }
            let response = try await client.call(.post, "/v1/jobs", json: Self.body(changes))
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentType] == "application/problem+json")
            let violations = try response.violations()
            #expect(violations.contains(testCase.expected), "got \(violations)")
            let list = try await client.call(.get, "/v1/jobs")
            #expect((try list.object()["jobs"] as? [Any])?.count == 0)
        }
    }

    /// The capacity rule reads the pool as it is made (the file, the cluster's count, an admin's figure): an admin who
    /// grew the pool may run a larger gang at once, and a passing cut leaves jobs accepted, to wait for capacity.
    @Test func aGangIsJudgedAgainstThePoolAnAdminGrewAndAPassingCutRefusesNothing() async throws {
        try await TestApp.run { client in
            let big = Self.body(["name": "big", "instance_count": 8])
            let refused = try await client.call(.post, "/v1/jobs", json: big)
            #expect(refused.status == .unprocessableContent)
            let problem = try refused.object()
            let message = (problem["errors"] as? [[String: Any]])?.first { $0["field"] as? String == "instance_count" }?["message"] as? String
            #expect(message?.contains("the pool never has more than 4 on-demand ml.m5.large hosts") == true, "\(problem)")

            let grown = try await client.call(.put, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.large","on_demand":8}"#)
            #expect(grown.status == .ok)
            #expect(try await client.call(.post, "/v1/jobs", json: big).status == .created)
            #expect(try await client.call(.post, "/v1/jobs", json: Self.body(["name": "bigger", "instance_count": 9])).status == .unprocessableContent)

            let cut = try await client.call(.put, "/v1/admin/capacity", json: #"{"instance_type":"ml.m5.large","on_demand":0}"#)
            #expect(cut.status == .ok)
            #expect(try await client.call(.post, "/v1/jobs", json: Self.body(["name": "waits", "instance_count": 2])).status == .created)
            let types = try await client.call(.get, "/v1/instance-types").object()
            let m5 = (types["instance_types"] as? [[String: Any]])?.first { $0["name"] as? String == "ml.m5.large" }
            #expect((m5?["capacity"] as? [String: Int])?["on_demand"] == 0)
        }
    }

    @Test func severalWrongFieldsAreReportedTogether() async throws {
        try await TestApp.run { client in
            let response = try await client.call(
                .post, "/v1/jobs", json: #"{"instance_type":"ml.nope","instance_count":0,"max_run":10,"max_wait":5,"name":"a_b"}"#)
            #expect(response.status == .unprocessableContent)
            let violations = Set(try response.violations())
            let expected: Set<FieldRule> = [
                FieldRule(field: "name", rule: "pattern"), FieldRule(field: "command", rule: "required"),
                FieldRule(field: "instance_type", rule: "catalog"), FieldRule(field: "instance_count", rule: "minimum"),
                FieldRule(field: "max_wait", rule: "requires_spot"), FieldRule(field: "max_wait", rule: "at_least_max_run"),
            ]
            #expect(expected.isSubset(of: violations), "got \(violations)")
        }
    }

    @Test func malformedJSONIsABadRequest() async throws {
        try await TestApp.run { client in
            let response = try await client.call(.post, "/v1/jobs", json: #"{"instance_type": "ml.m5.large", "#)
            #expect(response.status == .badRequest)
            #expect(response.headers[.contentType] == "application/problem+json")
        }
    }

    @Test func aWrongTypeIsABadRequestNamingTheField() async throws {
        try await TestApp.run { client in
            let response = try await client.call(.post, "/v1/jobs", json: #"{"instance_type":"ml.m5.large","command":["x"],"instance_count":"two"}"#)
            #expect(response.status == .badRequest)
            #expect(try response.violations().map(\.field) == ["instance_count"])
        }
    }

    @Test func anUnknownFieldIsRejectedByName() async throws {
        try await TestApp.run { client in
            let response = try await client.call(.post, "/v1/jobs", json: #"{"instance_type":"ml.m5.large","command":["x"],"instance_typo":"x"}"#)
            #expect(response.status == .unprocessableContent)
            #expect(try response.violations() == [FieldRule(field: "instance_typo", rule: "unknown_field")])
        }
    }

    @Test func aMissingInstanceTypeIsRequired() async throws {
        try await TestApp.run { client in
            let response = try await client.call(.post, "/v1/jobs", json: #"{"command":["x"]}"#)
            #expect(response.status == .unprocessableContent)
            #expect(try response.violations() == [FieldRule(field: "instance_type", rule: "required")])
        }
    }
}
