import Crypto
import Foundation

/// Hashes API key secrets for storage and checks them.
///
/// A stored hash is `v1$<salt>$<mac>`, both parts standard base64: a 16-byte random salt
/// and HMAC-SHA256 of the secret keyed with the salt. Secrets are 256 random bits, so a
/// slow password hash adds nothing; the salt keeps equal secrets from hashing alike.
public struct APIKeyHasher: Sendable {
    /// The version tag of the stored form.
    public static let version = "v1"
    /// Bytes of salt per hash.
    public static let saltByteCount = 16

    /// Creates a hasher.
    public init() {}

    /// The stored form of `secret`, with a fresh salt from the system's secure generator.
    public func hash(secret: String) -> String {
        var generator = SystemRandomNumberGenerator()
        return hash(secret: secret, using: &generator)
    }

    /// The stored form of `secret`, with a salt drawn from `generator`.
    public func hash(secret: String, using generator: inout some RandomNumberGenerator) -> String {
        let salt = APIKey.randomBytes(count: Self.saltByteCount, using: &generator)
        let mac = Self.mac(secret: secret, salt: salt)
        return "\(Self.version)$\(Data(salt).base64EncodedString())$\(Data(mac).base64EncodedString())"
    }

    /// Whether `secret` is the one `stored` was made from. Malformed `stored` values never
    /// match; the comparison looks at every byte, however early they differ.
    public func verify(secret: String, stored: String) -> Bool {
        verifier(stored: stored)?.verify(secret: secret) ?? false
    }

    /// `stored` parsed once, for checking many secrets against it; nil when it is malformed.
    public func verifier(stored: String) -> Verifier? {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.version,
            let salt = Data(base64Encoded: String(parts[1])), salt.count == Self.saltByteCount,
            let expected = Data(base64Encoded: String(parts[2]))
        else { return nil }
        return Verifier(salt: Array(salt), expected: Array(expected))
    }

    /// A stored hash, parsed: its salt and the MAC a matching secret gives.
    public struct Verifier: Sendable {
        let salt: [UInt8]
        let expected: [UInt8]

        /// Whether `secret` gives the stored MAC; every byte is compared, however early they differ.
        public func verify(secret: String) -> Bool {
            APIKeyHasher.constantTimeEquals(APIKeyHasher.mac(secret: secret, salt: salt), expected)
        }
    }

    /// HMAC-SHA256 of `secret` keyed with `salt`.
    static func mac(secret: String, salt: [UInt8]) -> [UInt8] {
        let code = HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: SymmetricKey(data: salt))
        return Array(code)
    }

    /// Compares every byte of both arrays without an early exit.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        for index in 0..<max(lhs.count, rhs.count) {
            let left = index < lhs.count ? lhs[index] : 0
            let right = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
