import Foundation
import Testing
import TrainyardObjectStore
@testable import TrainyardServer

/// `TRAINYARD_OBJECT_STORE` and the S3 variables: what they switch to, and errors that name the variable to fix.
@Suite struct ObjectStoreSettingsTests {
    static let s3Environment = [
        "TRAINYARD_OBJECT_STORE": "s3://models", "TRAINYARD_S3_ENDPOINT": "http://127.0.0.1:8333", "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret", "AWS_REGION": "eu-west-1",
    ]

    @Test func withoutTheVariableTheFilesystemStoreUnderTheDataDirectoryIsUsed() throws {
        #expect(try ServerConfiguration(environment: [:]).objectStore == .filesystem(root: nil))
        #expect(try ServerConfiguration(environment: ["TRAINYARD_OBJECT_STORE": "file:///srv/objects"]).objectStore == .filesystem(root: "/srv/objects"))
    }

    @Test func anS3BucketWithAnEndpointIsPathStyleByDefault() throws {
        let settings = try ServerConfiguration(environment: Self.s3Environment).objectStore
        guard case .s3(let bucket, let configuration) = settings else {
            Issue.record("not S3: \(settings)")
            return
        }
        #expect(bucket == "models")
        #expect(configuration.endpoint == "http://127.0.0.1:8333")
        #expect(configuration.region == "eu-west-1")
        #expect(configuration.addressing == .path)
        #expect(configuration.credentials?.accessKeyID == "key")
        #expect(settings.defaultOutputBucket == "models")
    }

    @Test func withoutAnEndpointAWSIsReachedVirtualHosted() throws {
        var environment = Self.s3Environment
        environment["TRAINYARD_S3_ENDPOINT"] = nil
        guard case .s3(_, let configuration) = try ServerConfiguration(environment: environment).objectStore else {
            Issue.record("not S3")
            return
        }
        #expect(configuration.endpoint == "https://s3.eu-west-1.amazonaws.com")
        #expect(configuration.addressing == .virtualHosted)
    }

    @Test(arguments: [
        ("TRAINYARD_OBJECT_STORE", "gs://models"), ("TRAINYARD_OBJECT_STORE", "s3://No_Such"), ("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", ""),
        ("TRAINYARD_S3_ENDPOINT", "ftp://x"), ("TRAINYARD_S3_ADDRESSING", "sideways"), ("TRAINYARD_S3_PAYLOAD_SIGNING", "maybe"),
    ])
    func aBadSettingIsAnErrorNamingItsVariable(_ key: String, _ value: String) throws {
        var environment = Self.s3Environment
        environment[key] = value
        do {
            _ = try ServerConfiguration(environment: environment)
            Issue.record("\(key)=\(value) was accepted")
        } catch {
            #expect("\(error)".contains(key))
        }
    }
}
