import Foundation
import Testing
@testable import TrainyardCore

struct SourceArchiveUploadTests {
    let home = ObjectURI.s3(bucket: "trainyard", key: "team-a")

    @Test func anUploadGoesWhereTheSDKPutsSourceDirUnderTheOutputLocation() throws {
        let plain = try SourceArchiveUpload.parse(jobName: "mnist", outputPath: nil, contentDigest: nil, projectHome: home).get()
        #expect(plain.destination == "s3://trainyard/team-a/mnist/source/sourcedir.tar.gz")
        #expect(plain.expectedSHA256 == nil)
        let given = try SourceArchiveUpload.parse(jobName: "mnist", outputPath: "s3://models/runs/", contentDigest: nil, projectHome: home).get()
        #expect(given.destination == "s3://models/runs/mnist/source/sourcedir.tar.gz")
        let local = try SourceArchiveUpload.parse(jobName: "mnist", outputPath: "file:///srv/out", contentDigest: nil, projectHome: home).get()
        #expect(local.destination == "file:///srv/out/mnist/source/sourcedir.tar.gz")
    }

    @Test func everyWrongFieldIsNamedAtOnce() {
        guard case .failure(let failure) = SourceArchiveUpload.parse(jobName: "bad_name", outputPath: "ftp://x", contentDigest: "md5=:AAAA:", projectHome: home)
        else {
            Issue.record("accepted")
            return
        }
        #expect(failure.violations.map(\.field) == ["name", "output_path", "Content-Digest"])
        #expect(failure.violations.map(\.rule) == ["pattern", "uri", "digest"])
    }

    @Test func contentDigestStatesASHA256InBase64BetweenColons() throws {
        let digest = Array(repeating: UInt8(0xab), count: 32)
        let field = "sha-256=:\(Data(digest).base64EncodedString()):"
        #expect(try ContentDigest.sha256(in: field).get() == digest)
        #expect(try ContentDigest.sha256(in: " \(field) ").get() == digest)
        // anything but that one member, 32 bytes of base64, is refused, never skipped
        let other = "sha-512=:AAAA:, \(field)"
        for bad in ["sha-256=:AAAA:", "sha-256=\(Data(digest).base64EncodedString())", "sha-256=:!!:", "md5=:AAAA:", other, "SHA-256=:\(Data(digest).base64EncodedString()):"] {
            guard case .failure(let failure) = ContentDigest.sha256(in: bad) else {
                Issue.record("accepted \(bad)")
                continue
            }
            #expect(failure.violations.map(\.rule) == ["digest"])
        }
        // and the field the server sends states the description's digest
        let hex = String(repeating: "ab", count: 32)
        #expect(ContentDigest.field(sha256Hex: hex) == field)
        #expect(ContentDigest.field(sha256Hex: "abc") == nil)
    }

    @Test func hexDecodesEitherCaseAndRefusesOddText() {
        #expect(Hex.decode("00ff7F") == [0, 255, 127])
        #expect(Hex.decode("0") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode(Hex.lowercase([1, 2, 250])) == [1, 2, 250])
    }

    @Test func onlyAPUTToAJobsSourceStreams() {
        #expect(RequestLimits.isSourceUpload(method: "PUT", path: "/v1/jobs/mnist/source"))
        #expect(RequestLimits.isSourceUpload(method: "PUT", path: "//v1//jobs/mnist/source"))
        #expect(!RequestLimits.isSourceUpload(method: "POST", path: "/v1/jobs/mnist/source"))
        #expect(!RequestLimits.isSourceUpload(method: "PUT", path: "/v1/jobs/mnist/stop"))
        #expect(!RequestLimits.isSourceUpload(method: "PUT", path: "/v1/jobs/a/b/source"))
        #expect(!RequestLimits.isSourceUpload(method: "PUT", path: "/v1/projects/a/locations"))
    }
}
