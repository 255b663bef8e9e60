import Foundation
import Testing
import TrainyardCore

/// What a checkpoint sync uploads and deletes, and what a restore copies back.
@Suite struct CheckpointPlanTests {
    static func stamp(_ size: Int64, _ time: Int64) -> CheckpointFileStamp { CheckpointFileStamp(size: size, modifiedNanos: time) }

    @Test func newAndChangedFilesGoUpAndDeletedOnesAreDeletedInTheStore() {
        let synced = ["a.pt": Self.stamp(10, 1), "b.pt": Self.stamp(10, 1), "gone.pt": Self.stamp(5, 1)]
        let local = ["a.pt": Self.stamp(10, 1), "b.pt": Self.stamp(11, 2), "c.pt": Self.stamp(3, 3)]
        let plan = CheckpointSyncPlan.plan(local: local, synced: synced)
        #expect(plan.uploads == ["b.pt", "c.pt"])
        #expect(plan.deletes == ["gone.pt"])
    }

    @Test func aTouchedFileOfTheSameSizeCountsAsChanged() {
        let plan = CheckpointSyncPlan.plan(local: ["a.pt": Self.stamp(10, 2)], synced: ["a.pt": Self.stamp(10, 1)])
        #expect(plan.uploads == ["a.pt"])
    }

    @Test func theReservedPrefixIsNeverSynced() {
        let plan = CheckpointSyncPlan.plan(local: [".trainyard/manifests/algo-1.json": Self.stamp(1, 1)], synced: [:])
        #expect(plan.isEmpty)
    }

    @Test func withoutManifestsARestoreCopiesEveryObjectAsSageMakerDoes() {
        #expect(CheckpointRestorePlan.files(objects: ["b.pt", "a.pt", "sub/c.pt"], manifests: []) == ["a.pt", "b.pt", "sub/c.pt"])
    }

    @Test func withManifestsARestoreCopiesOnlyWhatACompleteSyncNamed() {
        // c.pt was uploaded by a sync that was cut off before its manifest.
        let manifest = CheckpointManifest(
            host: "algo-1", attempt: 1, completedAt: Date(), files: ["a.pt": Self.stamp(1, 1), "deleted-since.pt": Self.stamp(1, 1)])
        let second = CheckpointManifest(host: "algo-2", attempt: 1, completedAt: Date(), files: ["b.pt": Self.stamp(1, 1)])
        let objects = ["a.pt", "b.pt", "c.pt", ".trainyard/manifests/algo-1.json", ".trainyard/manifests/algo-2.json"]
        #expect(CheckpointRestorePlan.files(objects: objects, manifests: [manifest, second]) == ["a.pt", "b.pt"])
    }

    @Test func aManifestRoundTripsThroughItsStoredForm() throws {
        let manifest = CheckpointManifest(
            host: "algo-1", attempt: 3, completedAt: Date(timeIntervalSince1970: 1_700_000_000),
            files: ["model.pt": CheckpointFileStamp(size: 4, modifiedNanos: 5, sha256: "ab")])
        #expect(try CheckpointManifest.decode(try manifest.encoded()) == manifest)
        #expect(CheckpointManifest.relativeKey(host: "algo-1") == ".trainyard/manifests/algo-1.json")
    }
}
