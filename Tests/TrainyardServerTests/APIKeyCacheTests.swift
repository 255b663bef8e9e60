import Foundation
import Testing

/// Replicas cache the keys they read; deleting a key on one replica stops it on every replica at once.
@Suite(.serialized) struct APIKeyCacheTests {
    @Test func aKeyDeletedOnOneReplicaStopsWorkingOnAnotherWellBeforeItsCacheExpires() async throws {
        try await LiveApp.restartable { database, directory, _ in
            // An hour of cache: only the deletion notice can make the second replica refuse the key within the test.
            try await LiveApp.run(database: database, dataDirectory: directory, apiKeyCacheSeconds: 3600) { first in
                try await LiveApp.run(database: database, dataDirectory: directory, apiKeyCacheSeconds: 3600) { second in
                    let (status, created) = try await first.request(.POST, "/v1/api-keys", json: #"{"role":"viewer","name":"short-lived"}"#)
                    #expect(status == 201)
                    let token = try #require(created["token"] as? String)
                    let id = try #require(created["id"] as? String)
                    // The second replica reads the key and caches it.
                    #expect(try await LiveHTTP.request(.GET, second.baseURL + "/v1/jobs", token: token).0 == 200)
                    #expect(try await first.request(.DELETE, "/v1/api-keys/\(id)").0 == 204)
                    // Refused on the replica that deleted it at once, and on the other as soon as the notice arrives.
                    #expect(try await LiveHTTP.request(.GET, first.baseURL + "/v1/jobs", token: token).0 == 401)
                    let deadline = ContinuousClock.now + .seconds(20)
                    var refused = false
                    while !refused && ContinuousClock.now < deadline {
                        refused = try await LiveHTTP.request(.GET, second.baseURL + "/v1/jobs", token: token).0 == 401
                        if !refused { try await Task.sleep(for: .milliseconds(50)) }
                    }
                    #expect(refused, "the second replica still accepted a key deleted on the first")
                    // Other keys are unaffected.
                    #expect(try await LiveHTTP.request(.GET, second.baseURL + "/v1/jobs", token: second.token).0 == 200)
                }
            }
        }
    }
}
