import Foundation
import Testing
import TrainyardServer
import TrainyardTestSupport

/// The dashboard in headless Chromium (Tests/Browser/dashboard_browser.py, selenium over chromedriver) against a real
/// server with real workers: sign in, a running job's status changing in the open list without a reload, a job's log
/// lines arriving and its chart's points, search, Stop from the page, and another project's key seeing none of it.
/// Every step leaves a screenshot in `.build/dashboard-screenshots/`.
@Suite(.serialized) struct DashboardBrowserTests {
    static var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    @Test(.timeLimit(.minutes(5))) func aUserWatchesJobsRunStopsOneAndAnotherProjectSeesNothing() async throws {
        let python = try await TestBrowser.python()
        let shots = Self.repository.appendingPathComponent(".build/dashboard-screenshots")
        try? FileManager.default.removeItem(at: shots)
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        try await LiveApp.run(capacity: #"{"instance_types": {"ml.m5.large": {"on_demand": 4, "spot": 0}}}"#) { app in
            let (_, created) = try await app.request(.POST, "/v1/projects", json: #"{"name":"lab"}"#)
            let labKey = try #require((created["api_key"] as? [String: Any])?["token"] as? String)
            let (status, output) = try await TestSchemathesis.run(
                python,
                [Self.repository.appendingPathComponent("Tests/Browser/dashboard_browser.py").path, app.baseURL, app.token, labKey, shots.path],
                environment: ["TRAINYARD_CHROMIUM": TestBrowser.chromium, "TRAINYARD_CHROMEDRIVER": TestBrowser.chromedriver])
            #expect(status == 0, "\(output.suffix(6000))")
            for line in ["list: watched went from", "list: a job submitted elsewhere appeared", "job page: 40 lines", "live: lines arrived", "stop: the button stopped held", "isolation: the lab's key sees no job, log, archive, queue or webhook"] {
                #expect(output.contains(line), "\(output.suffix(3000))")
            }
        }
        let taken = try FileManager.default.contentsOfDirectory(atPath: shots.path).filter { $0.hasSuffix(".png") }
        #expect(taken.count >= 6, "\(taken)")
    }
}
