import Foundation
import Testing
import Trainyard
import TrainyardAPI
import TrainyardCore

@testable import TrainyardServer
@testable import TrainyardStore

// Core's spec, as stored; the SDK's (the API's) is Components.Schemas.JobSpec here.
private typealias JobSpec = TrainyardCore.JobSpec

/// A job spec survives every trip it makes: read from the API (`core(from:)`), stored (Core's Codable), shown as the
/// job's description, and submitted again from what the description shows, for a thousand random specs.
@Suite struct JobSpecRoundTripTests {
    /// SplitMix64: the same seed, the same specs, so a failure repeats.
    struct Draws: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let alphabet = Array("abcXYZ019-_./:=é€😀 \"\\\u{7}")

    static func text(_ draws: inout Draws, upTo length: Int = 12) -> String {
        String((0..<Int.random(in: 0...length, using: &draws)).map { _ in alphabet.randomElement(using: &draws)! })
    }

    static func maybe<T>(_ draws: inout Draws, _ make: (inout Draws) -> T) -> T? {
        Bool.random(using: &draws) ? make(&draws) : nil
    }

    static func dictionary(_ draws: inout Draws) -> [String: String] {
        Dictionary((0..<Int.random(in: 0...3, using: &draws)).map { _ in (text(&draws), text(&draws)) }, uniquingKeysWith: { a, _ in a })
    }

    /// Any Core spec the API could hold, valid or not: the mapping must not care.
    fileprivate static func spec(_ draws: inout Draws) -> JobSpec {
        var spec = JobSpec(instanceType: text(&draws))
        spec.name = maybe(&draws) { text(&$0) }
        spec.command = maybe(&draws) { draws in (0..<Int.random(in: 0...3, using: &draws)).map { _ in text(&draws) } }
        spec.entryPoint = maybe(&draws) { text(&$0) }
        spec.sourceDir = maybe(&draws) { text(&$0) }
        spec.imageURI = maybe(&draws) { text(&$0) }
        spec.hyperparameters = dictionary(&draws)
        spec.environment = dictionary(&draws)
        spec.tags = dictionary(&draws)
        spec.instanceCount = Int.random(in: 1...64, using: &draws)
        spec.volumeSize = maybe(&draws) { Int.random(in: 1...16384, using: &$0) }
        spec.useSpotInstances = Bool.random(using: &draws)
        spec.maxRun = Int.random(in: 1...2_419_200, using: &draws)
        spec.maxWait = maybe(&draws) { Int.random(in: 1...2_419_200, using: &$0) }
        spec.maxPending = maybe(&draws) { Int.random(in: 1...2_419_200, using: &$0) }
        spec.checkpointS3URI = maybe(&draws) { "s3://" + text(&$0) }
        spec.checkpointLocalPath = maybe(&draws) { text(&$0) }
        spec.inputs = Dictionary(
            (0..<Int.random(in: 0...3, using: &draws)).map { _ in
                (
                    text(&draws),
                    InputChannel(
                        s3URI: "s3://" + text(&draws), inputMode: ["File", "FastFile", "Pipe"].randomElement(using: &draws)!,
                        contentType: maybe(&draws) { text(&$0) }, distribution: ["FullyReplicated", "ShardedByS3Key"].randomElement(using: &draws)!)
                )
            }, uniquingKeysWith: { a, _ in a })
        spec.outputPath = maybe(&draws) { "s3://" + text(&$0) }
        spec.metricDefinitions = (0..<Int.random(in: 0...3, using: &draws)).map { _ in MetricDefinition(name: text(&draws), regex: text(&draws)) }
        spec.maxRetryAttempts = Int.random(in: 0...30, using: &draws)
        spec.retryOnExitCodes = (0..<Int.random(in: 0...3, using: &draws)).map { _ in Int.random(in: 1...255, using: &draws) }
        spec.keepAlivePeriod = Int.random(in: 0...3600, using: &draws)
        spec.distribution = maybe(&draws) { draws in
            Distribution(
                torchDistributedEnabled: Bool.random(using: &draws), mpiEnabled: Bool.random(using: &draws),
                mpiProcessesPerHost: maybe(&draws) { Int.random(in: 1...8, using: &$0) })
        }
        spec.priority = Int.random(in: -100...100, using: &draws)
        return spec
    }

    @Test func aThousandRandomSpecsSurviveStorageDescriptionAndResubmission() throws {
        var draws = Draws(state: 2026_12_03)
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        for index in 0..<1000 {
            let spec = Self.spec(&draws)
            // Stored as the jobs table keeps it.
            let stored = try JSONDecoder().decode(JobSpec.self, from: try JSONEncoder().encode(spec))
            #expect(stored == spec, "spec \(index) changed in storage")
            // Described, then submitted again, through the wire's own JSON.
            let job = JobRecord(
                id: 1, projectID: 1, projectName: "team", name: spec.name ?? "job", spec: stored, status: .inProgress, secondaryStatus: .starting,
                failureReason: nil, createdAt: now, lastModifiedAt: now, trainingStartTime: nil, trainingEndTime: nil, modelArtifacts: nil)
            let description = JobSpecMapping.description(
                of: job, events: [], attempts: [], capacity: Capacity(onDemand: 4, spot: 4), arn: "arn:aws:sagemaker:us-east-1:000000000000:training-job/job",
                now: now)
            // What a user submits again from a description: the SDK's `spec` of it (the CLI's `submit --from`).
            var resubmitted = description.spec
            resubmitted.name = spec.name
            let wire = try JSONDecoder().decode(Components.Schemas.JobSpec.self, from: try JSONEncoder().encode(resubmitted))
            let again = JobSpec(wire)
            #expect(again == spec, "spec \(index) did not survive description and resubmission:\n\(spec)\n\(again)")
            if again != spec { return }
            // Carried to an agent in its assignment, through the agent protocol's JSON.
            let carried = try JSONDecoder().decode(Components.Schemas.JobSpec.self, from: try JSONEncoder().encode(Components.Schemas.JobSpec(stored)))
            #expect(JobSpec(carried) == spec, "spec \(index) did not survive the agent protocol")
        }
    }
}
