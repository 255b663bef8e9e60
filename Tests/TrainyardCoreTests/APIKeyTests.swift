import Foundation
import Testing

@testable import TrainyardCore

@Suite struct APIKeyTests {
    @Test func aGeneratedKeyRoundTripsThroughItsToken() throws {
        // given
        let (token, key) = APIKey.generate(role: .member)
        // when
        let parsed = try #require(APIKeyToken.parse(token.stringValue))
        // then
        #expect(parsed == token)
        #expect(parsed.id == key.id)
        #expect(key.role == .member)
        #expect(token.id.count == 20)
        #expect(token.secret.count == 43)
        #expect(token.secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        #expect(APIKeyHasher().verify(secret: parsed.secret, stored: key.secretHash))
        #expect(key.secretHash.hasPrefix("v1$"))
        #expect(!key.secretHash.contains(token.secret))
    }

    @Test func aWrongSecretDoesNotVerify() {
        // given
        let (token, key) = APIKey.generate(role: .admin)
        let hasher = APIKeyHasher()
        // when / then
        #expect(!hasher.verify(secret: token.secret + "x", stored: key.secretHash))
        #expect(!hasher.verify(secret: String(token.secret.dropLast()), stored: key.secretHash))
        #expect(!hasher.verify(secret: "", stored: key.secretHash))
    }

    @Test func twoHashesOfTheSameSecretDifferButBothVerify() {
        let hasher = APIKeyHasher()
        let first = hasher.hash(secret: "s3cret")
        let second = hasher.hash(secret: "s3cret")
        #expect(first != second)
        #expect(hasher.verify(secret: "s3cret", stored: first))
        #expect(hasher.verify(secret: "s3cret", stored: second))
    }

    @Test(arguments: ["", "v1", "v1$$", "v2$AAAAAAAAAAAAAAAAAAAAAA==$AAAA", "v1$not base64$AAAA", "v1$AAAA$AAAA", "garbage"])
    func aMalformedStoredHashNeverVerifies(_ stored: String) {
        #expect(!APIKeyHasher().verify(secret: "anything", stored: stored))
    }

    @Test(arguments: [
        "",
        "ABCDEFGHIJ",
        ".secret",
        "ABCDEFGH.",
        "abcdefgh.secret",
        "ABCDEFG.secret",
        "\(String(repeating: "A", count: 33)).secret",
        "ABCD-EFGH.secret",
        "ABCDEFGH.sec ret",
        "ABCDEFGH.sécret",
        "ÄBCDEFGH.secret",
    ])
    func malformedTokensParseToNil(_ string: String) {
        #expect(APIKeyToken.parse(string) == nil)
    }

    @Test func tokensMaySplitOnlyAtTheFirstDot() throws {
        let token = try #require(APIKeyToken.parse("ADMIN123.part.two"))
        #expect(token.id == "ADMIN123")
        #expect(token.secret == "part.two")
        #expect(token.stringValue == "ADMIN123.part.two")
    }

    @Test func aTokensDescriptionHidesTheSecret() {
        let (token, _) = APIKey.generate(role: .viewer)
        #expect(!token.description.contains(token.secret))
        #expect(!"\(token)".contains(token.secret))
    }

    @Test(arguments: [
        (APIKeyRole.admin, true, true),
        (APIKeyRole.member, true, false),
        (APIKeyRole.viewer, false, false),
    ])
    func rolesGrantWhatTheyName(_ role: APIKeyRole, _ canWriteJobs: Bool, _ canManageKeys: Bool) {
        #expect(role.canWriteJobs == canWriteJobs)
        #expect(role.canManageKeys == canManageKeys)
    }

    @Test func theConstantTimeComparisonComparesContentAndLength() {
        #expect(APIKeyHasher.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!APIKeyHasher.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!APIKeyHasher.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(!APIKeyHasher.constantTimeEquals([], [0]))
        #expect(APIKeyHasher.constantTimeEquals([], []))
    }
}
