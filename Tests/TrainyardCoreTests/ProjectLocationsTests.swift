import Testing
import TrainyardCore

@Suite struct ProjectLocationsTests {
    let team = ProjectLocations(
        project: "team", defaultBucket: "trainyard",
        grants: [
            LocationGrant(uri: .s3(bucket: "datasets", key: "imagenet"), access: .read),
            LocationGrant(uri: .file(path: "/data/team"), access: .readWrite),
        ], unrestricted: false)

    @Test func prefixesHoldWholeSegmentsOnly() {
        let home = ObjectURI.s3(bucket: "trainyard", key: "team")
        #expect(home.contains(.s3(bucket: "trainyard", key: "team")))
        #expect(home.contains(.s3(bucket: "trainyard", key: "team/job/output/model.tar.gz")))
        #expect(home.contains(.s3(bucket: "trainyard", key: "team/")))
        #expect(!home.contains(.s3(bucket: "trainyard", key: "team-b/x")))
        #expect(!home.contains(.s3(bucket: "trainyard", key: "")))
        #expect(!home.contains(.s3(bucket: "other", key: "team/x")))
        #expect(!home.contains(.file(path: "/trainyard/team")))
        #expect(ObjectURI.s3(bucket: "datasets", key: "").contains(.s3(bucket: "datasets", key: "any/thing")))
    }

    @Test func accessIsHonoured() {
        #expect(team.allows(.s3(bucket: "datasets", key: "imagenet/train"), for: .read))
        #expect(!team.allows(.s3(bucket: "datasets", key: "imagenet/train"), for: .readWrite))
        #expect(team.allows(.file(path: "/data/team/out"), for: .readWrite))
        #expect(!team.allows(.file(path: "/data/team-other"), for: .read))
        #expect(team.allows(.s3(bucket: "trainyard", key: "team/ckpt"), for: .readWrite))
    }

    @Test func everyFieldIsChecked() {
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.command = ["true"]
        spec.inputs = ["train": InputChannel(s3URI: "s3://trainyard/other/data")]
        spec.checkpointS3URI = "s3://datasets/imagenet/ckpt"
        spec.outputPath = "file:///data/team/out"
        spec.hyperparameters = ["sagemaker_submit_directory": "\"s3://trainyard/other/code.tar.gz\""]
        let violations = team.violations(spec)
        #expect(violations.map(\.field) == ["inputs.train.s3_uri", "hyperparameters.sagemaker_submit_directory", "checkpoint_s3_uri"])
        #expect(violations.allSatisfy { $0.rule == "location" })
        #expect(team.needsGrants(spec))
        // A link is judged by where it leads.
        var linked = JobSpec(instanceType: "ml.m5.large")
        linked.outputPath = "file:///data/team/link"
        #expect(team.violations(linked, canonicalPath: { $0 == "/data/team/link" ? "/etc" : $0 }).map(\.field) == ["output_path"])
    }

    @Test func aJobInItsHomeNeedsNoLookupAndTheBootstrapProjectNone() {
        var spec = JobSpec(instanceType: "ml.m5.large")
        spec.inputs = ["train": InputChannel(s3URI: "s3://trainyard/team/data")]
        spec.outputPath = "s3://trainyard/team"
        #expect(!team.needsGrants(spec))
        spec.outputPath = "s3://elsewhere/x"
        let operatorProject = ProjectLocations(project: "default", defaultBucket: "trainyard", grants: [], unrestricted: true)
        #expect(!operatorProject.needsGrants(spec) && operatorProject.violations(spec).isEmpty)
    }

    @Test func relativePathsStayBelowTheirDirectory() {
        #expect(RelativePath.join("/opt/ml/input/data/train", "a/b.txt") == "/opt/ml/input/data/train/a/b.txt")
        for bad in ["../x", "a/../../x", "/etc/passwd", "", "a//b", "./a", "a/.", "dir/", "a\u{0}b"] {
            #expect(RelativePath.validated(bad) == nil, "\(bad)")
        }
        #expect(RelativePath.isInside("/data/team/x", root: "/data/team"))
        #expect(RelativePath.isInside("/data/team", root: "/data/team/"))
        #expect(!RelativePath.isInside("/data/team-b", root: "/data/team"))
        #expect(RelativePath.isInside("/anything", root: "/"))
    }

    /// A combining mark after a slash joins it to the next `Character`; paths split at every U+002F all the same, as
    /// the file system and S3 do.
    @Test func aSlashJoinedToACombiningMarkStillSeparatesSegments() throws {
        #expect(RelativePath.validated("../\u{301}x") == nil)
        #expect(RelativePath.validated("/\u{301}etc") == nil)
        #expect(ObjectURI("s3://bucket/../\u{301}x") == nil)
        let uri = try #require(ObjectURI("s3://bucket/\u{1F3FB}key"))
        #expect(uri == .s3(bucket: "bucket", key: "\u{1F3FB}key"))
    }
}
