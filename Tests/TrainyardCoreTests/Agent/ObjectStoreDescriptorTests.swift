import Foundation
import Testing
import TrainyardCore

/// The store kind an assignment names travels as its text, and a kind this build does not know is read, not refused
/// with the whole assignment.
@Suite struct ObjectStoreDescriptorTests {
    @Test func theKindTravelsAsItsNameAndAnUnknownOneIsKeptByName() throws {
        let s3 = ObjectStoreDescriptor.s3(endpoint: "http://127.0.0.1:8333", region: "us-east-1", addressing: "path")
        let json = String(decoding: try JSONEncoder().encode(s3), as: UTF8.self)
        #expect(json.contains(#""kind":"s3""#) && json.contains(#""signed_by":"server""#))
        #expect(try JSONDecoder().decode(ObjectStoreDescriptor.self, from: Data(json.utf8)) == s3)
        let newer = try JSONDecoder().decode(ObjectStoreDescriptor.self, from: Data(#"{"kind":"gcs","root":null}"#.utf8))
        #expect(newer.kind == .unsupported("gcs") && newer.kind.description == "gcs")
        #expect(try JSONDecoder().decode(ObjectStoreDescriptor.self, from: Data(#"{"kind":"file","root":"/d/objects"}"#.utf8)).kind == .file)
    }
}
