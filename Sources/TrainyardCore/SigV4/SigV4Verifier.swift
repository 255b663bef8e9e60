import Foundation

/// Who signed a request whose AWS Signature Version 4 checks out.
public struct SigV4Identity: Sendable, Equatable {
    public var accessKeyID: String
    /// The region of the credential scope (ARNs echo it).
    public var region: String
    public var service: String
    public var signedAt: Date

    public init(accessKeyID: String, region: String, service: String, signedAt: Date) {
        self.accessKeyID = accessKeyID
        self.region = region
        self.service = service
        self.signedAt = signedAt
    }
}

/// Why a request's AWS Signature Version 4 is refused, as AWS's JSON services say it: the error type (`__type`), the
/// HTTP status and the message, so that boto3 and the aws CLI show their users what AWS would.
public enum SigV4Refusal: Error, Sendable, Equatable {
    /// No `Authorization` header at all.
    case missingAuthentication
    /// An `Authorization` header or date that cannot be read; the message says what is wrong.
    case incomplete(String)
    /// A credential scope for another service, a bad terminator, a day unlike the request's date, `host` unsigned.
    case invalid(String)
    /// No key has this access key id.
    case unknownKey
    /// Signed longer ago than the skew allows (`earlier`), or that far in the future.
    case outOfTime(signed: String, limit: String, now: String, minutes: Int, earlier: Bool)
    /// The signature is not the one the key's secret gives for this request.
    case mismatch

    public var errorType: String {
        switch self {
        case .missingAuthentication: "MissingAuthenticationTokenException"
        case .incomplete: "IncompleteSignatureException"
        case .unknownKey: "UnrecognizedClientException"
        case .invalid, .outOfTime, .mismatch: "InvalidSignatureException"
        }
    }

    public var status: Int {
        switch self {
        case .incomplete: 400
        case .missingAuthentication, .invalid, .unknownKey, .outOfTime, .mismatch: 403
        }
    }

    public var message: String {
        switch self {
        case .missingAuthentication: "Missing Authentication Token"
        case .incomplete(let message), .invalid(let message): message
        case .unknownKey: "The security token included in the request is invalid."
        case .outOfTime(let signed, let limit, let now, let minutes, let earlier):
            earlier
                ? "Signature expired: \(signed) is now earlier than \(limit) (\(now) - \(minutes) min.)"
                : "Signature not yet current: \(signed) is still later than \(limit) (\(now) + \(minutes) min.)"
        case .mismatch:
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. "
                + "Consult the service documentation for details."
        }
    }
}

/// Checks AWS Signature Version 4 on a request to one service (`sagemaker`, `logs`): the `Authorization` header's
/// credential scope, the request's `X-Amz-Date` within the allowed skew, and the signature recomputed over the headers
/// the client signed with the secret of its access key. Pure computation: the caller finds the secret and hashes the
/// body.
public struct SigV4Verifier: Sendable {
    public var service: String
    /// How far the request's date may be from now, either way (AWS allows 15 minutes).
    public var maximumSkew: Duration

    public init(service: String, maximumSkew: Duration = .seconds(15 * 60)) {
        self.service = service
        self.maximumSkew = maximumSkew
    }

    /// Verifies `request` (its headers include `Authorization` and `X-Amz-Date`; its payload hash is the SHA-256 of the
    /// body received) at `now`; `secret` answers an access key id's secret, nil for no such key.
    public func verify(_ request: SigV4Request, now: Date, secret: (String) -> String?) -> Result<SigV4Identity, SigV4Refusal> {
        func header(_ name: String) -> String? { request.headers.first { $0.name.lowercased() == name }?.value }
        guard let authorization = header("authorization") else { return .failure(.missingAuthentication) }
        let authorizationHeader: AuthorizationHeader
        switch AuthorizationHeader.parse(authorization) {
        case .success(let parsed): authorizationHeader = parsed
        case .failure(let refusal): return .failure(refusal)
        }
        let scope = authorizationHeader.scope
        guard scope.terminator == "aws4_request" else {
            return .failure(.invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '\(scope.terminator)'."))
        }
        guard scope.service == service else { return .failure(.invalid("Credential should be scoped to correct service: '\(service)'.")) }
        guard authorizationHeader.signedHeaders.contains("host") else {
            return .failure(.invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."))
        }
        guard let amzDate = header("x-amz-date") else {
            return .failure(.incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."))
        }
        guard let signedAt = Self.parseAmzDate(amzDate) else {
            return .failure(.incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\": \(amzDate)"))
        }
        guard amzDate.hasPrefix(scope.day) else {
            return .failure(
                .invalid(
                    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scope.day)' != '\(amzDate.prefix(8))', from '\(amzDate)'."
                ))
        }
        let skew = TimeInterval(maximumSkew.components.seconds)
        let minutes = Int(skew / 60)
        if signedAt < now.addingTimeInterval(-skew) {
            return .failure(
                .outOfTime(
                    signed: amzDate, limit: SigV4Signer.amzDate(now.addingTimeInterval(-skew)), now: SigV4Signer.amzDate(now), minutes: minutes,
                    earlier: true))
        }
        if signedAt > now.addingTimeInterval(skew) {
            return .failure(
                .outOfTime(
                    signed: amzDate, limit: SigV4Signer.amzDate(now.addingTimeInterval(skew)), now: SigV4Signer.amzDate(now), minutes: minutes,
                    earlier: false))
        }
        guard let secretAccessKey = secret(scope.accessKeyID) else { return .failure(.unknownKey) }
        let signer = SigV4Signer(
            credentials: SigV4Credentials(accessKeyID: scope.accessKeyID, secretAccessKey: secretAccessKey), region: scope.region, service: scope.service)
        let expected = signer.sign(request, signedHeaderNames: authorizationHeader.signedHeaders, date: signedAt)
        // Every header the client signed must be there to be signed again.
        let received = Set(request.headers.map { $0.name.lowercased() })
        guard authorizationHeader.signedHeaders.allSatisfy(received.contains),
            Self.constantTimeEqual(expected.signature, authorizationHeader.signature)
        else { return .failure(.mismatch) }
        return .success(SigV4Identity(accessKeyID: scope.accessKeyID, region: scope.region, service: scope.service, signedAt: signedAt))
    }

    /// The access key id an `Authorization` header names (`Credential=<id>/…`), read as ``verify(_:now:secret:)`` reads
    /// it; nil when the header is not a SigV4 one.
    public static func accessKeyID(authorization: String) -> String? {
        guard case .success(let header) = AuthorizationHeader.parse(authorization) else { return nil }
        return header.scope.accessKeyID
    }

    /// `yyyyMMdd'T'HHmmss'Z'`, UTC.
    static func parseAmzDate(_ text: String) -> Date? {
        let characters = Array(text.utf8)
        guard characters.count == 16, characters[8] == UInt8(ascii: "T"), characters[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            range.reduce(0 as Int?) { total, index in
                guard let total, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(characters[index]) else { return nil }
                return total * 10 + Int(characters[index] - UInt8(ascii: "0"))
            }
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8), let hour = number(9..<11),
            let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else { return nil }
        return date
    }

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8), b = Array(right.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(0 as UInt8) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// `AWS4-HMAC-SHA256 Credential=<id>/<day>/<region>/<service>/aws4_request, SignedHeaders=a;b, Signature=<hex>`.
struct AuthorizationHeader {
    struct Scope {
        var accessKeyID: String
        var day: String
        var region: String
        var service: String
        var terminator: String
    }

    var scope: Scope
    var signedHeaders: [String]
    var signature: String

    static func parse(_ header: String) -> Result<AuthorizationHeader, SigV4Refusal> {
        let prefix = SigV4Signer.algorithm + " "
        guard header.hasPrefix(prefix) else {
            return .failure(.incomplete("Authorization header requires the algorithm '\(SigV4Signer.algorithm)'. Authorization=\(header)"))
        }
        var fields: [String: String] = [:]
        // On the bytes: Foundation's trimming cost a third of the whole check (bench/sagemaker).
        for part in header.utf8.dropFirst(prefix.utf8.count).split(separator: UInt8(ascii: ",")) {
            var field = part[...]
            while let first = field.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { field = field.dropFirst() }
            while let last = field.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { field = field.dropLast() }
            guard let equals = field.firstIndex(of: UInt8(ascii: "=")) else { continue }
            fields[String(decoding: field[..<equals], as: UTF8.self)] = String(decoding: field[field.index(after: equals)...], as: UTF8.self)
        }
        let missing = ["Credential", "Signature", "SignedHeaders"].filter { fields[$0] == nil }
        guard missing.isEmpty, let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"], let signature = fields["Signature"] else {
            return .failure(.incomplete(missing.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " ") + " Authorization=\(header)"))
        }
        let parts = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts.allSatisfy({ !$0.isEmpty }) else {
            return .failure(
                .incomplete("Credential should be scoped to a valid region, service and terminator: '<key id>/<yyyyMMdd>/<region>/<service>/aws4_request', not '\(credential)'."))
        }
        return .success(
            AuthorizationHeader(
                scope: Scope(accessKeyID: parts[0], day: parts[1], region: parts[2], service: parts[3], terminator: parts[4]),
                signedHeaders: signedHeaders.split(separator: ";").map { $0.lowercased() }, signature: signature))
    }
}
