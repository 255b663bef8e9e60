import Foundation
import Testing

@testable import TrainyardCore

@Suite struct InstanceCatalogTests {
    @Test func theStandardCatalogHoldsAllSageMakerTrainingTypes() {
        #expect(InstanceCatalog.sagemakerTraining.count == 145)
        #expect(InstanceCatalog.standard.all.count == 145)
        #expect(Set(InstanceCatalog.sagemakerTraining.map(\.name)).count == 145)
        #expect(InstanceCatalog.sagemakerTraining.map(\.name) == InstanceCatalog.sagemakerTraining.map(\.name).sorted())
        #expect(InstanceCatalog.sagemakerTraining.allSatisfy { $0.name.hasPrefix("ml.") && $0.vcpus > 0 && $0.memoryGiB > 0 })
    }

    @Test(arguments: [
        InstanceTypeShape(name: "ml.m5.large", vcpus: 2, gpus: 0, memoryGiB: 8),
        InstanceTypeShape(name: "ml.c5.xlarge", vcpus: 4, gpus: 0, memoryGiB: 8),
        InstanceTypeShape(name: "ml.p4d.24xlarge", vcpus: 96, gpus: 8, memoryGiB: 1152),
        InstanceTypeShape(name: "ml.g5.xlarge", vcpus: 4, gpus: 1, memoryGiB: 16),
        InstanceTypeShape(name: "ml.p3.2xlarge", vcpus: 8, gpus: 1, memoryGiB: 61),
        InstanceTypeShape(name: "ml.trn1.32xlarge", vcpus: 128, gpus: 0, accelerators: 16, memoryGiB: 512),
    ])
    func wellKnownTypesHaveTheirEC2Shapes(_ expected: InstanceTypeShape) {
        #expect(InstanceCatalog.standard.shape(named: expected.name) == expected)
    }

    @Test func everyStandardTypeHasAtLeastFourHostsPerMarket() {
        let catalog = InstanceCatalog.standard
        for shape in catalog.all {
            #expect(catalog.capacity(of: shape.name).onDemand >= 4)
            #expect(catalog.capacity(of: shape.name).spot >= 4)
        }
    }

    @Test func unknownNamesHaveNoShapeButGetSuggestions() {
        #expect(InstanceCatalog.standard.shape(named: "ml.m5.larg") == nil)
        #expect(InstanceCatalog.standard.suggestions(for: "ml.m5.larg").first == "ml.m5.large")
        #expect(InstanceCatalog.standard.suggestions(for: "m5.large").first == "ml.m5.large")
        #expect(InstanceCatalog.standard.suggestions(for: "x").count == 3)
    }

    @Test func aCapacityFileSetsDefaultsPerTypeCountsAndPrices() throws {
        // given
        let file = #"""
            {"default": {"on_demand": 2, "spot": 1, "spot_price": 0.2},
             "instance_types": {"ml.m5.large": {"on_demand": 8, "spot": 2, "on_demand_price": 0.115, "spot_price": 0.035},
                                "ml.c5.xlarge": {"spot": 0}}}
            """#
        // when
        let catalog = try InstanceCatalog.parse(capacityFile: Data(file.utf8))
        // then
        #expect(catalog.all.count == 145)
        #expect(catalog.capacity(of: "ml.m5.large") == Capacity(onDemand: 8, spot: 2, onDemandPrice: 0.115, spotPrice: 0.035))
        #expect(catalog.capacity(of: "ml.c5.xlarge") == Capacity(onDemand: 2, spot: 0, spotPrice: 0.2))
        #expect(catalog.capacity(of: "ml.p4d.24xlarge") == Capacity(onDemand: 2, spot: 1, spotPrice: 0.2))
        #expect(catalog.capacity(of: "ml.p4d.24xlarge").resolvedOnDemandPrice == 1.0)
        #expect(catalog.capacity(of: "ml.p4d.24xlarge").resolvedSpotPrice == 0.2)
    }

    @Test func anEmptyCapacityFileGivesTheStandardCatalog() throws {
        let catalog = try InstanceCatalog.parse(capacityFile: Data("{}".utf8))
        #expect(catalog == InstanceCatalog.standard)
        #expect(catalog.capacity(of: "ml.m5.large").resolvedSpotPrice == 0.3)
    }

    @Test(arguments: [
        (#"{"instance_types": {"ml.m5.lrge": {"on_demand": 1}}}"#, "unknownInstanceType ml.m5.lrge"),
        (#"{"defaults": {}}"#, "unknownKey defaults"),
        (#"{"default": {"spto": 1}}"#, "unknownKey default.spto"),
        (#"{"instance_types": {"ml.m5.large": {"on_demand": -1}}}"#, #"invalidValue instance_types["ml.m5.large"].on_demand"#),
        (#"{"instance_types": {"ml.m5.large": {"spot": 1.5}}}"#, #"invalidValue instance_types["ml.m5.large"].spot"#),
        (#"{"instance_types": {"ml.m5.large": {"spot": "4"}}}"#, #"invalidValue instance_types["ml.m5.large"].spot"#),
        (#"{"default": {"spot_price": -0.1}}"#, "invalidValue default.spot_price"),
        (#"{"default": 4}"#, "invalidValue default"),
        (#"{"instance_types": []}"#, "invalidValue instance_types"),
        (#"[1, 2]"#, "malformed"),
        (#"{not json"#, "malformed"),
    ])
    func aBadCapacityFileIsRejectedNamingTheKey(_ file: String, _ expected: String) {
        // when
        let result = Result { () throws(CapacityFileError) in try InstanceCatalog.parse(capacityFile: Data(file.utf8)) }
        // then
        guard case .failure(let error) = result else {
            Issue.record("parsed \(file)")
            return
        }
        let summary: String =
            switch error {
            case .malformed: "malformed"
            case .unknownKey(let key): "unknownKey \(key)"
            case .invalidValue(let key, _): "invalidValue \(key)"
            case .unknownInstanceType(let name, _): "unknownInstanceType \(name)"
            }
        #expect(summary == expected)
        #expect(!error.description.isEmpty)
    }

    @Test func settingACapacityChangesOnlyThatType() {
        let catalog = InstanceCatalog.standard.settingCapacity(Capacity(onDemand: 0, spot: 9), for: "ml.m5.large")
        #expect(catalog.capacity(of: "ml.m5.large").hosts(spot: true) == 9)
        #expect(catalog.capacity(of: "ml.m5.large").hosts(spot: false) == 0)
        #expect(catalog.capacity(of: "ml.m5.xlarge") == .standardDefault)
        #expect(InstanceCatalog.standard.settingCapacity(Capacity(onDemand: 1, spot: 1), for: "ml.nope") == .standard)
    }

    @Test func shapesEncodeWithTheAPIsFieldNames() throws {
        let data = try JSONEncoder().encode(InstanceTypeShape(name: "ml.m5.large", vcpus: 2, gpus: 0, memoryGiB: 8))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == ["name", "vcpus", "gpus", "accelerators", "memory_gib"])
    }
}
