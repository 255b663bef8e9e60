import Foundation
import Testing
import TrainyardAPI
import TrainyardCore

/// Every Core value of the agent protocol survives the wire both ways: Core, the generated type, its JSON as the
/// generated client and server write and read it, the generated type, Core again.
@Suite struct AgentWireRoundTripTests {
    /// JSON as the generated layers write and read it (ISO 8601 dates with fractions).
    static func trip<Wire: Codable>(_ wire: Wire) throws -> Wire {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(try FlexibleDateTranscoder().encode(date))
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in try FlexibleDateTranscoder().decode(try decoder.singleValueContainer().decode(String.self)) }
        return try decoder.decode(Wire.self, from: try encoder.encode(wire))
    }

    static let spec: JobSpec = {
        var spec = JobSpec(instanceType: "ml.g5.xlarge", instanceCount: 2)
        spec.name = "train"
        spec.command = ["python3", "train.py", "--epochs", "3"]
        spec.hyperparameters = ["lr": "0.1"]
        spec.environment = ["A": "b"]
        spec.inputs = ["train": InputChannel(s3URI: "s3://data/train", inputMode: "FastFile", contentType: "text/csv", distribution: "ShardedByS3Key")]
        spec.checkpointS3URI = "s3://ckpt/train"
        spec.useSpotInstances = true
        spec.maxWait = 7200
        spec.volumeSize = 50
        spec.distribution = Distribution(torchDistributedEnabled: true, mpiEnabled: false, mpiProcessesPerHost: nil)
        return spec
    }()

    @Test func anAssignmentSurvivesTheWire() throws {
        let worker = WorkerAssignment(
            jobName: "train", jobARN: "arn:aws:sagemaker:us-east-1:000000000000:training-job/train", attempt: 3, hostName: "algo-2",
            hosts: ["algo-1", "algo-2"], instanceType: "ml.g5.xlarge", vcpus: 4, gpus: 1, memoryGiB: 16, region: "us-east-1", spec: Self.spec,
            heartbeatIntervalSeconds: 2, stopGraceSeconds: 30, masterPort: 29500, outputPrefix: "s3://out/train/attempt-3", spotNoticeSeconds: 120,
            checkpointSyncIntervalSeconds: 10)
        for store in [ObjectStoreDescriptor(kind: .file, root: "/srv/objects"), .s3(endpoint: "http://127.0.0.1:8333", region: "us-east-1", addressing: "path")] {
            for assignment in [
                AgentAssignment(worker: worker, objectStore: store),
                AgentAssignment(
                    worker: worker, objectStore: store, systemMetricsIntervalSeconds: 5, serverOutageLimitSeconds: 600, volumeSizeGiB: 50,
                    diskReserveBytes: 1 << 30, logSpoolLimitBytes: 64 << 20),
            ] {
                #expect(AgentAssignment(try Self.trip(Components.Schemas.AgentAssignment(assignment))) == assignment)
            }
        }
        // A store kind this agent does not know arrives as such, for the agent to refuse by name.
        let unknown = AgentAssignment(worker: worker, objectStore: ObjectStoreDescriptor(kind: .unsupported("gcs"), root: nil))
        #expect(AgentAssignment(try Self.trip(Components.Schemas.AgentAssignment(unknown))).objectStore.kind == .unsupported("gcs"))
    }

    @Test func theStoreKindTravelsAsItsNameAndANewerOneIsReadNotRefused() throws {
        let s3 = ObjectStoreDescriptor.s3(endpoint: "http://127.0.0.1:8333", region: "us-east-1", addressing: "path")
        let json = String(decoding: try JSONEncoder().encode(Components.Schemas.ObjectStoreDescriptor(s3)), as: UTF8.self)
        #expect(json.contains(#""kind":"s3""#) && json.contains(#""signed_by":"server""#), "\(json)")
        let newer = ObjectStoreDescriptor(try JSONDecoder().decode(Components.Schemas.ObjectStoreDescriptor.self, from: Data(#"{"kind":"gcs","root":null}"#.utf8)))
        #expect(newer.kind == .unsupported("gcs") && newer.kind.description == "gcs")
        let file = ObjectStoreDescriptor(try JSONDecoder().decode(Components.Schemas.ObjectStoreDescriptor.self, from: Data(#"{"kind":"file","root":"/d/objects"}"#.utf8)))
        #expect(file == ObjectStoreDescriptor(kind: .file, root: "/d/objects"))
    }

    @Test(arguments: HostPhase.allCases)
    func aReportSurvivesTheWire(_ phase: HostPhase) throws {
        let full = AgentReport(
            phase: phase, exitCode: 137, signal: 9, failureReason: "OOM: \u{1F600} é", stopped: true, modelArchive: "s3://out/m.tar.gz",
            outputArchive: "s3://out/o.tar.gz", samples: [SystemSample(name: SystemSample.cpuUtilization, value: 87.5, timeMicros: 1_790_000_000_123_456)],
            interrupted: true, checkpointSyncedAt: Date(timeIntervalSince1970: 1_790_000_000.25),
            logDrops: LogSpoolDrops(cappedLines: 3, cappedBytes: 300, unwritableLines: 1, unwritableBytes: 9, capBytes: 1 << 20))
        for report in [AgentReport(phase: phase), full] {
            #expect(AgentReport(try Self.trip(Components.Schemas.AgentReport(report))) == report)
        }
    }

    @Test func directivesSignaturesAndReceiptsSurviveTheWire() throws {
        for directive in [
            AgentDirective(action: .proceed, graceSeconds: 0, heartbeatIntervalSeconds: 2),
            AgentDirective(action: .stop, graceSeconds: 7.5, heartbeatIntervalSeconds: 2),
        ] {
            #expect(AgentDirective(try Self.trip(Components.Schemas.AgentDirective(directive))) == directive)
        }
        let call = S3SignatureRequest(
            method: "PUT", bucket: "out", key: "train/attempt-1/algo-1/model.tar.gz", query: [.init(name: "partNumber", value: "2")],
            headers: [.init(name: "content-length", value: "5")], payloadHash: "UNSIGNED-PAYLOAD")
        #expect(S3SignatureRequest(try Self.trip(Components.Schemas.S3SignatureRequest(call))) == call)
        let answer = S3SignatureAnswer(headers: [.init(name: "authorization", value: "AWS4-HMAC-SHA256 …"), .init(name: "x-amz-date", value: "20261204T000000Z")])
        #expect(S3SignatureAnswer(try Self.trip(Components.Schemas.S3SignatureAnswer(answer))) == answer)
        let receipt = LogBatchReceipt(stored: 12, lastSeq: 1 << 40)
        #expect(LogBatchReceipt(try Self.trip(Components.Schemas.LogBatchReceipt(receipt))) == receipt)
    }
}
