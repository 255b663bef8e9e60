import Foundation
import Testing

@testable import TrainyardCore

@Suite struct ObjectURITests {
    @Test(arguments: [
        ("s3://my-bucket/train/part-0", ObjectURI.s3(bucket: "my-bucket", key: "train/part-0")),
        ("s3://my-bucket", ObjectURI.s3(bucket: "my-bucket", key: "")),
        ("s3://my.bucket.01/a//b", ObjectURI.s3(bucket: "my.bucket.01", key: "a//b")),
        ("file:///data/train", ObjectURI.file(path: "/data/train")),
        ("file:///", ObjectURI.file(path: "/")),
    ])
    func supportedURIsParse(_ string: String, _ expected: ObjectURI) throws {
        // when
        let uri = try ObjectURI(parsing: string)
        // then
        #expect(uri == expected)
        #expect(ObjectURI(string) == expected)
    }

    @Test(arguments: [
        "s3://my-bucket/train/part-0", "s3://my-bucket", "file:///data/train", "s3://abc/x y/ü",
    ])
    func descriptionRoundTrips(_ string: String) throws {
        let uri = try ObjectURI(parsing: string)
        #expect(uri.description == string)
        #expect(try ObjectURI(parsing: uri.description) == uri)
    }

    @Test func aTrailingSlashOnABucketIsNormalised() throws {
        let uri = try ObjectURI(parsing: "s3://my-bucket/")
        #expect(uri == .s3(bucket: "my-bucket", key: ""))
        #expect(uri.description == "s3://my-bucket")
    }

    @Test(arguments: [
        ("https://example.com/x", ObjectURIError.unsupportedScheme("https")),
        ("gs://bucket/x", ObjectURIError.unsupportedScheme("gs")),
        ("/data/train", ObjectURIError.unsupportedScheme("/data/train")),
        ("", ObjectURIError.unsupportedScheme("")),
        ("s3://ab/x", ObjectURIError.invalidBucket("ab")),
        ("s3://My-Bucket/x", ObjectURIError.invalidBucket("My-Bucket")),
        ("s3://my_bucket/x", ObjectURIError.invalidBucket("my_bucket")),
        ("s3://-bucket/x", ObjectURIError.invalidBucket("-bucket")),
        ("s3://bucket-/x", ObjectURIError.invalidBucket("bucket-")),
        ("s3:///x", ObjectURIError.invalidBucket("")),
        ("s3://\(String(repeating: "b", count: 64))/x", ObjectURIError.invalidBucket(String(repeating: "b", count: 64))),
        ("file://relative/path", ObjectURIError.invalidPath("relative/path")),
        ("file://", ObjectURIError.invalidPath("")),
        ("file:///data/../etc", ObjectURIError.invalidPath("/data/../etc")),
        ("file:///data/./etc", ObjectURIError.invalidPath("/data/./etc")),
        ("s3://bucket/team-b/../team-a/model.tar.gz", ObjectURIError.dotSegment("team-b/../team-a/model.tar.gz")),
        ("s3://bucket/./x", ObjectURIError.dotSegment("./x")),
        ("s3://bucket/..", ObjectURIError.dotSegment("..")),
    ])
    func unsupportedURIsAreRejectedWithAReason(_ string: String, _ expected: ObjectURIError) {
        #expect(throws: expected) { try ObjectURI(parsing: string) }
        #expect(ObjectURI(string) == nil)
        #expect(!expected.description.isEmpty)
    }

    @Test func aKeyOver1024CharactersIsRejected() {
        #expect(throws: ObjectURIError.keyTooLong(1025)) {
            try ObjectURI(parsing: "s3://bucket/" + String(repeating: "k", count: 1025))
        }
    }

    @Test func aFilePathOver1024CharactersOrWithASegmentLongerThanAFileNameIsRejected() {
        let segment = String(repeating: "é", count: 128)  // 256 bytes of UTF-8 in 128 characters
        #expect(throws: ObjectURIError.pathSegmentTooLong(segment, bytes: 256)) { try ObjectURI(parsing: "file:///data/\(segment)/x") }
        #expect(ObjectURIError.pathSegmentTooLong(segment, bytes: 256).rule == "file_name_length")
        #expect(ObjectURI("file:///data/" + String(repeating: "é", count: 127)) != nil)
        let deep = "/" + Array(repeating: String(repeating: "d", count: 200), count: 5).joined(separator: "/") + "/abcdefghijklmnopqrs"
        #expect(deep.count == 1025)
        #expect(throws: ObjectURIError.pathTooLong(1025)) { try ObjectURI(parsing: "file://" + deep) }
        #expect(ObjectURIError.pathTooLong(1025).rule == "uri")
        #expect(ObjectURI("file://" + deep.dropLast()) != nil)
    }

    @Test func appendingJoinsWithOneSlash() {
        #expect(ObjectURI.s3(bucket: "b12", key: "out").appending("job/output") == .s3(bucket: "b12", key: "out/job/output"))
        #expect(ObjectURI.s3(bucket: "b12", key: "out/").appending("/job") == .s3(bucket: "b12", key: "out/job"))
        #expect(ObjectURI.s3(bucket: "b12", key: "").appending("job") == .s3(bucket: "b12", key: "job"))
        #expect(ObjectURI.file(path: "/srv").appending("job") == .file(path: "/srv/job"))
    }

    @Test func codableUsesTheStringForm() throws {
        // given
        let uri = ObjectURI.s3(bucket: "bucket", key: "a/b")
        // when
        let data = try JSONEncoder().encode([uri])
        // then
        #expect(String(decoding: data, as: UTF8.self) == #"["s3:\/\/bucket\/a\/b"]"#)
        #expect(try JSONDecoder().decode([ObjectURI].self, from: data) == [uri])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([ObjectURI].self, from: Data(#"["ftp://x"]"#.utf8))
        }
    }
}
