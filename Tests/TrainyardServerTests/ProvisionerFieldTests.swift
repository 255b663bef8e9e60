import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A lone `image_uri` needs what the local provisioner does not do: it is refused with a 422 the user can act on, and
/// nothing is written (`keep_alive_period` it keeps: WarmPoolTests; a provisioner without warm pools refuses it:
/// JobSpecValidatorProvisionerTests) (`volume_size` it enforces: DiskBoundsTests). An `image_uri` beside a command runs the command,
/// and the job says, in an event and in its description, that the image was not used.
@Suite struct ProvisionerFieldTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let body: String
        let field: String
        let message: String
        var testDescription: String { field }
    }

    static let cases: [Case] = [
        Case(
            body: #"{"instance_type":"ml.m5.large","image_uri":"registry.example/train:1"}"#, field: "image_uri",
            message: "image_uri names the image registry.example/train:1 and nothing else to run, but the local provisioner runs no "
                + "containers. Give command or entry_point to run on the worker host (the image is then noted as not used), or run the "
                + "job on a provisioner that runs containers."),
    ]

    @Test(arguments: cases)
    func aFieldTheProvisionerDoesNotImplementIsRefusedSayingWhatWouldRunIt(_ testCase: Case) async throws {
        try await TestApp.run { client in
            let response = try await client.call(.post, "/v1/jobs", json: testCase.body)
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentType] == "application/problem+json")
            let errors = try response.object()["errors"] as? [[String: Any]] ?? []
            let error = try #require(errors.first { $0["field"] as? String == testCase.field }, "\(errors)")
            #expect(error["rule"] as? String == "unsupported")
            #expect(error["message"] as? String == testCase.message)
            let list = try await client.call(.get, "/v1/jobs")
            #expect((try list.object()["jobs"] as? [Any])?.count == 0)
        }
    }

    @Test func withoutThemAJobIsAcceptedAndItsDescriptionHasNoVolumeSize() async throws {
        try await TestApp.run { client in
            let response = try await client.call(
                .post, "/v1/jobs", json: #"{"name":"plain","instance_type":"ml.m5.large","command":["true"],"keep_alive_period":0}"#)
            #expect(response.status == .created)
            let job = try response.object()
            #expect(job["volume_size"] == nil)
            #expect(job["keep_alive_period"] as? Int == 0)
            #expect(job["image_not_used"] == nil)
        }
    }

    @Test func anImageBesideACommandRunsTheCommandAndTheJobSaysTheImageWasNotUsed() async throws {
        try await LiveApp.run { app in
            // given a SageMaker-style spec: an image, and a command the local provisioner runs on the host
            let created = try await app.submit(
                #"{"name":"with-image","instance_type":"ml.m5.large","output_path":"s3://models/","image_uri":"123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310","command":["sh","-c","touch $SM_MODEL_DIR/ran-on-host"]}"#)
            // then the description says so from the start, and the command ran on the host
            let expectedReason =
                "The local provisioner runs no containers, so the image 123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310 "
                + "was not used: each worker runs command directly on its host, with the host's own interpreter and libraries. "
                + "Only a provisioner that runs containers uses image_uri."
            let unused = try #require(created["image_not_used"] as? [String: Any], "\(created)")
            #expect(unused["image_uri"] as? String == "123456789012.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1.0-cpu-py310")
            #expect(unused["reason"] as? String == expectedReason)
            let done = try await app.waitForStatus("with-image", "Completed")
            let files = try app.unpack("s3://models/with-image/output/model.tar.gz")
            #expect(files["./ran-on-host"] != nil || files["ran-on-host"] != nil, "\(files.keys.sorted())")
            #expect((done["image_not_used"] as? [String: Any])?["reason"] as? String == expectedReason)
            // and the events hold it, right after `created`, without being a status transition
            let events = try await app.request(.GET, "/v1/jobs/with-image/events").1["events"] as? [[String: Any]] ?? []
            #expect(events.prefix(2).map { $0["type"] as? String } == ["created", "image_not_used"], "\(events)")
            #expect(events.first { $0["type"] as? String == "image_not_used" }?["message"] as? String == expectedReason)
            let transitions = done["secondary_status_transitions"] as? [[String: Any]] ?? []
            #expect(!transitions.contains { ($0["status_message"] as? String) == expectedReason })
        }
    }
}
