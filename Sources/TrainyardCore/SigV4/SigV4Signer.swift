import Crypto
import Foundation

/// An AWS access key and its secret.
public struct SigV4Credentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// A session token (temporary credentials); signed as `x-amz-security-token` when present.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// A request as AWS Signature Version 4 sees it: method, the path (not yet percent-encoded), the query parameters
/// (not yet encoded), the headers to sign, and the payload hash (hex SHA-256, or `UNSIGNED-PAYLOAD`).
public struct SigV4Request: Sendable, Equatable {
    public var method: String
    public var path: String
    public var query: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    public var payloadHash: String

    public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)],
                payloadHash: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }

    public static func == (lhs: SigV4Request, rhs: SigV4Request) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.payloadHash == rhs.payloadHash
            && lhs.query.elementsEqual(rhs.query, by: { $0 == $1 }) && lhs.headers.elementsEqual(rhs.headers, by: { $0 == $1 })
    }
}

/// The parts of a signature: what was signed and the `Authorization` header that carries it.
public struct SigV4Signature: Sendable, Equatable {
    public var canonicalRequest: String
    public var stringToSign: String
    /// Lower-case header names joined by `;`.
    public var signedHeaders: String
    /// Hex HMAC-SHA256.
    public var signature: String
    public var authorization: String
}

/// AWS Signature Version 4 with header authorization (`AWS4-HMAC-SHA256`): pure computation, no I/O, so that a client
/// signs with it and a server verifies with it (compute the signature for the received request and the
/// `SignedHeaders` it names, then compare).
public struct SigV4Signer: Sendable {
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash of a request whose body is not signed.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of the empty string.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public var credentials: SigV4Credentials
    public var region: String
    public var service: String

    public init(credentials: SigV4Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Signs `request` at `date`. Every header of the request is signed; the caller adds `x-amz-date` (see
    /// `amzDate(_:)`) and, for S3, `x-amz-content-sha256` before signing.
    public func sign(_ request: SigV4Request, date: Date) -> SigV4Signature {
        let names = Set(request.headers.map { $0.name.lowercased() })
        return sign(request, signedHeaderNames: Array(names), date: date)
    }

    /// Signs only the headers named by `signedHeaderNames` (case-insensitive); a verifier passes the names the
    /// client's `Authorization` header listed.
    public func sign(_ request: SigV4Request, signedHeaderNames: [String], date: Date) -> SigV4Signature {
        let amzDate = Self.amzDate(date)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let wanted = Set(signedHeaderNames.map { $0.lowercased() })
        var headers: [String: [String]] = [:]
        for (name, value) in request.headers where wanted.contains(name.lowercased()) {
            headers[name.lowercased(), default: []].append(Self.trimHeaderValue(value))
        }
        let sortedNames = headers.keys.sorted()
        let canonicalHeaders = sortedNames.map { "\($0):\(headers[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = sortedNames.joined(separator: ";")
        let canonicalRequest = [
            request.method.uppercased(), Self.canonicalURI(request.path), Self.canonicalQuery(request.query), canonicalHeaders, signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [Self.algorithm, amzDate, scope, Hex.lowercase(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
        let key = signingKey(day: day)
        let signature = Hex.lowercase(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return SigV4Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders, signature: signature,
            authorization: authorization)
    }

    /// The signing key of one day: HMAC chain over date, region, service and `aws4_request`.
    public func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let secret = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        return hmac(hmac(hmac(hmac(secret, day), region), service), "aws4_request")
    }

    // MARK: canonical forms

    /// The path percent-encoded once, segment by segment, `/` kept (S3's rule: no normalisation, no double encoding).
    public static func canonicalURI(_ path: String) -> String {
        let path = path.isEmpty ? "/" : path
        return uriEncode(path, encodeSlash: false)
    }

    /// Parameters encoded, then sorted by name and value, joined with `&`; a parameter without value is `name=`.
    public static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        var pairs: [(String, String)] = []
        for (name, value) in query { pairs.append((uriEncode(name, encodeSlash: true), uriEncode(value, encodeSlash: true))) }
        pairs.sort { (a: (String, String), b: (String, String)) -> Bool in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
        var parts: [String] = []
        for (name, value) in pairs { parts.append(name + "=" + value) }
        return parts.joined(separator: "&")
    }

    /// AWS's URI encoding: every byte but `A-Z a-z 0-9 - _ . ~` (and `/` when `encodeSlash` is false) as `%XX`.
    public static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where !encodeSlash:
                result.append("/")
            default:
                result.append("%")
                result.append(hexDigits[Int(byte >> 4)])
                result.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return result
    }

    private static let hexDigits: [Character] = Array("0123456789ABCDEF")

    /// Leading and trailing blanks removed, inner runs of blanks made one space.
    static func trimHeaderValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
    public static func amzDate(_ date: Date) -> String {
        let f = UTCDateFields(secondsSinceEpoch: Int64(date.timeIntervalSince1970.rounded(.down)))
        let two = { UTCDateFields.padded($0, 2) }
        return "\(f.year)\(two(f.month))\(two(f.day))T\(two(f.hour))\(two(f.minute))\(two(f.second))Z"
    }

    /// Hex SHA-256 of `data`.
    public static func payloadHash(_ data: some DataProtocol) -> String {
        Hex.lowercase(SHA256.hash(data: data))
    }

    /// Hex SHA-256 of the bytes at `bytes`.
    public static func payloadHash(bytes: UnsafeRawBufferPointer) -> String {
        var hasher = SHA256()
        hasher.update(bufferPointer: bytes)
        return Hex.lowercase(hasher.finalize())
    }
}
