import Foundation
import Testing
import TrainyardCore

/// Minted keys' secrets follow from the master key and the id alone, so SigV4 can be checked while only hashes are
/// stored; another master key derives other secrets.
struct APIKeyMintTests {
    static let master = Array("a master key of thirty-two bytes!".utf8)

    @Test func aMintedKeysSecretIsDerivedAgainFromItsID() throws {
        let mint = try #require(APIKeyMint(masterKey: Self.master))
        let (token, key) = mint.mint(role: .member)
        #expect(mint.secret(forID: token.id) == token.secret)
        #expect(APIKeyHasher().verify(secret: token.secret, stored: key.secretHash))
        #expect(!key.secretHash.contains(token.secret))
        #expect(token.secret.utf8.count == 43 && APIKeyToken.isValidSecret(token.secret))
        #expect(APIKeyToken.isValidID(token.id) && token.id.utf8.count == APIKey.generatedIDLength)
    }

    @Test func anotherMasterKeyDerivesAnotherSecret() throws {
        let mint = try #require(APIKeyMint(masterKey: Self.master))
        let other = try #require(APIKeyMint(masterKey: Array("another master key, also 32 bytes".utf8)))
        #expect(mint.secret(forID: "ABCDEFGH12345678") != other.secret(forID: "ABCDEFGH12345678"))
        #expect(mint.secret(forID: "ABCDEFGH12345678") != mint.secret(forID: "ABCDEFGH12345679"))
        // The same master key on another replica derives the same secret.
        #expect(try #require(APIKeyMint(masterKey: Self.master)).secret(forID: "ABCDEFGH12345678") == mint.secret(forID: "ABCDEFGH12345678"))
    }

    @Test func aShortMasterKeyIsRefused() {
        #expect(APIKeyMint(masterKey: Array("too short".utf8)) == nil)
    }
}
