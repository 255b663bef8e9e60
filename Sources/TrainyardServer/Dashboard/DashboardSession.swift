import Crypto
import Foundation
import HTTPTypes
import TrainyardCore

/// A browser's sign-in: the API key it signed in with, kept in an `HttpOnly`, `SameSite=Strict` cookie (page scripts
/// cannot read it, other sites' pages cannot send it), and the token that the dashboard's forms carry against
/// cross-site request forgery (derived from the key, so that no page of another origin can know it).
enum DashboardSession {
    static let cookieName = "trainyard_session"
    /// Twelve hours, then the browser forgets the key.
    static let lifetimeSeconds = 43_200

    /// The key in the request's cookie, if any.
    static func key(in headers: HTTPFields) -> String? {
        for field in headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0] == cookieName, !parts[1].isEmpty { return String(parts[1]) }
            }
        }
        return nil
    }

    /// `Set-Cookie` that signs the browser in with `key`; `secure` when the page came over HTTPS (a proxy's
    /// `X-Forwarded-Proto`).
    static func signIn(_ key: String, secure: Bool) -> String {
        "\(cookieName)=\(key); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(lifetimeSeconds)" + (secure ? "; Secure" : "")
    }

    /// `Set-Cookie` that signs the browser out.
    static let signOut = "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"

    /// The forgery token of a session: an HMAC of a fixed text under the session's key.
    static func csrfToken(for key: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("trainyard dashboard form".utf8), using: SymmetricKey(data: Array(key.utf8)))
        return Hex.lowercase(Array(mac))
    }

    /// Whether a form's token is the session's (compared in constant time).
    static func accepts(_ token: String?, for key: String) -> Bool {
        guard let token else { return false }
        let expected = Array(csrfToken(for: key).utf8)
        let given = Array(token.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// An `application/x-www-form-urlencoded` body's fields.
enum FormFields {
    static func parse(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(parts[0])
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    private static func decode(_ part: Substring) -> String {
        String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
    }
}
