/// An API key as a client holds it: `<id>.<secret>`.
///
/// The id is 8 to 32 characters of `A-Z` and `0-9` (Trainyard generates 20); the secret is
/// 1 to 256 visible ASCII characters (Trainyard generates 43 characters of base64url). HTTP
/// sends the token as `Authorization: Bearer <id>.<secret>`; SigV4 uses the id as access
/// key and the secret as secret key. ``description`` hides the secret, so a token can be
/// logged by accident without leaking it; ``stringValue`` is the whole token.
public struct APIKeyToken: Sendable, Hashable, CustomStringConvertible {
    /// The key's public id, also the SigV4 access key.
    public let id: String
    /// The secret, shown once when the key is created.
    public let secret: String

    /// The lengths an id may have.
    public static let idLength = 8...32
    /// The lengths a secret may have.
    public static let secretLength = 1...256

    /// Creates a token from its parts, or `nil` when either part has the wrong shape.
    public init?(id: String, secret: String) {
        guard Self.isValidID(id), Self.isValidSecret(secret) else { return nil }
        self.id = id
        self.secret = secret
    }

    /// Parses `<id>.<secret>`; `nil` on any other shape (it never traps).
    public static func parse(_ string: String) -> APIKeyToken? {
        guard let dot = string.firstIndex(of: ".") else { return nil }
        let id = String(string[..<dot])
        let secret = String(string[string.index(after: dot)...])
        return APIKeyToken(id: id, secret: secret)
    }

    /// The whole token, `<id>.<secret>`.
    public var stringValue: String { "\(id).\(secret)" }

    /// `<id>.***`: the token without its secret.
    public var description: String { "\(id).***" }

    /// Whether `id` is 8 to 32 characters of `A-Z` and `0-9`.
    public static func isValidID(_ id: String) -> Bool {
        idLength.contains(id.utf8.count)
            && id.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Whether `secret` is 1 to 256 visible ASCII characters.
    public static func isValidSecret(_ secret: String) -> Bool {
        secretLength.contains(secret.utf8.count) && secret.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }
}
