import Foundation
public import TrainyardCore

/// Signs an ``S3ObjectStore``'s calls: answers the headers that authorize one (`authorization`, `x-amz-date`,
/// `x-amz-content-sha256`, `x-amz-security-token`). The server's own store signs with the service's keys
/// (``SigV4RequestAuthorizer``); an agent's store asks its server, which signs only what the host's job may do, so
/// that no worker holds the keys. Called for every try of a call: a retry is signed afresh.
public protocol S3RequestAuthorizer: Sendable {
    func authorize(_ request: S3SignatureRequest) async throws -> [S3SignatureRequest.Field]
}

/// Signs with credentials (AWS Signature V4, header authorization), here and now, with the host and path this
/// configuration gives the call's bucket and key, whatever `host` the call names.
public struct SigV4RequestAuthorizer: S3RequestAuthorizer {
    let signer: SigV4Signer
    let sessionToken: String?
    let host: String
    let port: Int?
    let addressing: S3Configuration.Addressing

    /// An authorizer for the store `configuration` describes, signing with `credentials`.
    public init(configuration: S3Configuration, credentials: SigV4Credentials) throws {
        signer = SigV4Signer(credentials: credentials, region: configuration.region, service: "s3")
        sessionToken = credentials.sessionToken
        (_, host, port) = try configuration.endpointParts()
        addressing = configuration.addressing
    }

    /// The signer's headers: those it sets itself, whatever a caller sent for them.
    static let signerHeaders: Set<String> = ["host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization"]

    public func authorize(_ request: S3SignatureRequest) async throws -> [S3SignatureRequest.Field] {
        authorize(request, date: Date())
    }

    /// The headers that authorize `request` at `date`.
    public func authorize(_ request: S3SignatureRequest, date: Date) -> [S3SignatureRequest.Field] {
        let (host, path) = S3Configuration.location(bucket: request.bucket, key: request.key, host: host, port: port, addressing: addressing)
        var added = [
            S3SignatureRequest.Field(name: "x-amz-content-sha256", value: request.payloadHash),
            S3SignatureRequest.Field(name: "x-amz-date", value: SigV4Signer.amzDate(date)),
        ]
        if let sessionToken { added.append(.init(name: "x-amz-security-token", value: sessionToken)) }
        var signed: [(name: String, value: String)] = [("host", host)] + added.map { ($0.name, $0.value) }
        for header in request.headers where !Self.signerHeaders.contains(header.name.lowercased()) {
            signed.append((header.name, header.value))
        }
        let signature = signer.sign(
            SigV4Request(
                method: request.method, path: path, query: request.query.map { ($0.name, $0.value) }, headers: signed, payloadHash: request.payloadHash),
            date: date)
        added.append(.init(name: "authorization", value: signature.authorization))
        return added
    }
}
