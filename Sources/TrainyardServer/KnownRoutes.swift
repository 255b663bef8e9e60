import Hummingbird
import Synchronization

/// The router's routes as path templates and methods, loaded once every route is registered: a request the router
/// does not match, to a path that exists with other methods, is answered 405 with `Allow` instead of 404.
final class KnownRoutes: Sendable {
    private struct Route: Sendable {
        var segments: [String]
        var method: String
    }

    private let routes = Mutex<[Route]>([])

    func load(_ descriptions: [Router<BasicRequestContext>.RouteDescription]) {
        let loaded = descriptions.map { Route(segments: $0.path.description.split(separator: "/").map(String.init), method: $0.method.rawValue) }
        routes.withLock { $0 = loaded }
    }

    /// The methods `path` has, sorted; empty when no route has its shape.
    func methods(for path: String) -> [String] {
        let segments = path.split(separator: "/")
        let methods = routes.withLock { routes in
            routes.filter { route in
                route.segments.count == segments.count
                    && zip(route.segments, segments).allSatisfy { template, given in
                        template.hasPrefix("{") || template.hasPrefix(":") || template == "*" || template == given
                    }
            }.map(\.method)
        }
        return Array(Set(methods)).sorted()
    }
}
