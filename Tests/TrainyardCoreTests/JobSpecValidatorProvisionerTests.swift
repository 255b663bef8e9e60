import Testing

@testable import TrainyardCore

/// Fields that only some provisioners honour are refused by the others, naming the field and what would run it; the
/// provisioner is a capability set, not a name the validator knows.
@Suite struct JobSpecValidatorProvisionerTests {
    static let plain = ProvisionerCapabilities(name: "local")
    static let full = ProvisionerCapabilities(name: "containers-and-more", features: Set(ProvisionerCapabilities.Feature.allCases))

    func violations(_ spec: JobSpec, on provisioner: ProvisionerCapabilities = plain) -> [FieldViolation] {
        JobSpecValidator(catalog: .standard, provisioner: provisioner).validate(spec)
    }

    static func spec(_ change: (inout JobSpec) -> Void = { _ in }) -> JobSpec {
        var spec = JobSpec(command: ["python3", "train.py"], instanceType: "ml.m5.large")
        change(&spec)
        return spec
    }

    @Test func volumeSizeIsRefusedByAProvisionerThatDoesNotEnforceIt() {
        let found = violations(Self.spec { $0.volumeSize = 50 })
        #expect(found.map { "\($0.field) \($0.rule)" } == ["volume_size unsupported"])
        #expect(found.first?.message.contains("50 GiB") == true)
        #expect(found.first?.message.contains("the local provisioner") == true)
        #expect(found.first?.message.contains("only a provisioner that enforces volume sizes runs it") == true)
    }

    @Test func keepAlivePeriodAboveZeroIsRefusedWithoutWarmPoolsAndZeroIsAccepted() {
        let found = violations(Self.spec { $0.keepAlivePeriod = 600 })
        #expect(found.map { "\($0.field) \($0.rule)" } == ["keep_alive_period unsupported"])
        #expect(found.first?.message.contains("600 seconds") == true)
        #expect(found.first?.message.contains("only a provisioner with warm pools runs it") == true)
        #expect(violations(Self.spec { $0.keepAlivePeriod = 0 }) == [])
    }

    @Test func anImageWithNothingElseToRunIsRefusedWithoutContainers() {
        let spec = JobSpec(imageURI: "registry.example/train:1", instanceType: "ml.m5.large")
        let found = violations(spec)
        #expect(found.contains { $0.field == "image_uri" && $0.rule == "unsupported" && $0.message.contains("registry.example/train:1") })
        #expect(found.contains { $0.field == "command" && $0.rule == "required" })
    }

    @Test func anImageBesideACommandOrEntryPointIsAcceptedAndItsReasonNamesTheImage() throws {
        #expect(violations(Self.spec { $0.imageURI = "registry.example/train:1" }) == [])
        let entryPoint = JobSpec(entryPoint: "train.py", sourceDir: "file:///srv/code", imageURI: "img:2", instanceType: "ml.m5.large")
        #expect(violations(entryPoint) == [])
        let reason = try #require(Self.plain.unusedImageReason(for: entryPoint))
        #expect(reason.contains("img:2") && reason.contains("entry_point") && reason.contains("local provisioner"))
        #expect(Self.plain.unusedImageReason(for: Self.spec()) == nil)
        #expect(Self.full.unusedImageReason(for: entryPoint) == nil)
    }

    @Test func aProvisionerWithTheFeaturesAcceptsTheFields() {
        let spec = JobSpec(imageURI: "img:3", instanceType: "ml.m5.large", volumeSize: 100, keepAlivePeriod: 600)
        #expect(violations(spec, on: Self.full) == [])
        // ... and still checks their ranges.
        #expect(violations(Self.spec { $0.volumeSize = 0 }, on: Self.full).map(\.rule) == ["range"])
    }
}
