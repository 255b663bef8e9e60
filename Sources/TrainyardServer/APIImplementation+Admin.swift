import Foundation
package import TrainyardAPI
import TrainyardCore
import TrainyardStore

extension APIImplementation {
    /// Reclaims a host now, as a spot provider would. Admins of the bootstrap project may reclaim any host; an admin
    /// of another project only its own jobs' hosts (another project's host is as absent as a missing one).
    func interruptHost(_ input: Operations.InterruptHost.Input) async throws -> Operations.InterruptHost.Output {
        let principal = try principal(allowing: { $0 == .admin }, action: "interrupt hosts")
        let hostID = input.path.host
        guard let host = try await attempts.host(id: hostID), let job = try await jobs.job(id: host.jobID),
            principal.projectName == ProjectRecord.bootstrapName || job.projectID == principal.projectID
        else {
            throw APIError.notFound(detail: "host \(hostID) not found; host ids are in a job's attempts[].hosts[].id")
        }
        switch try await interruptions.reclaim(hostID, reason: "an admin interrupted it (POST /v1/admin/hosts/\(hostID)/interrupt)") {
        case .interrupted:
            return .accepted(.init())
        case .notFound:
            throw APIError.notFound(detail: "host \(hostID) not found")
        case .notRunning(let host):
            throw APIError.conflict(detail: "host \(hostID) of job \(job.name) is not running (it is \(host.displayState)); only a live host can be reclaimed")
        }
    }

    /// Sets an instance type's on-demand and/or spot capacity for every replica; a spot cut below what runs takes the
    /// newest spot hosts back (a spot interruption each). Admins of the bootstrap project only: capacity is the pool's.
    func setCapacity(_ input: Operations.SetCapacity.Input) async throws -> Operations.SetCapacity.Output {
        let principal = try principal(allowing: { $0 == .admin }, action: "set capacity")
        guard principal.projectName == ProjectRecord.bootstrapName else {
            throw APIError.forbidden(detail: "only admins of the \(ProjectRecord.bootstrapName) project can set the pool's capacity")
        }
        guard case .json(let body) = input.body else { throw APIError.badRequest(detail: "expected a JSON body") }
        var violations: [FieldViolation] = []
        let shape = catalog.shape(named: body.instanceType)
        if shape == nil {
            let hint = catalog.suggestions(for: body.instanceType)
            violations.append(
                FieldViolation(
                    field: "instance_type", rule: "catalog",
                    message: "'\(body.instanceType)' is not an instance type this service offers"
                        + (hint.isEmpty ? "" : "; did you mean \(hint.joined(separator: ", "))?")))
        }
        for (field, value) in [("on_demand", body.onDemand), ("spot", body.spot)] {
            if let value, value < 0 { violations.append(FieldViolation(field: field, rule: "minimum", message: "\(field) must be at least 0; it is \(value).")) }
            if let value, value > Self.maximumCapacity {
                violations.append(FieldViolation(field: field, rule: "maximum", message: "\(field) may be at most \(Self.maximumCapacity) hosts; it is \(value)."))
            }
        }
        if body.onDemand == nil && body.spot == nil {
            violations.append(FieldViolation(field: "on_demand", rule: "required", message: "give on_demand, spot or both"))
        }
        guard violations.isEmpty, let shape else {
            throw APIError.unprocessable(detail: "the capacity request has \(violations.count) invalid field(s)", errors: violations)
        }
        let beyond = try await queue.setCapacity(instanceType: shape.name, onDemand: body.onDemand, spot: body.spot)
        _ = try await interruptions.reclaim(beyond, reason: "spot capacity of \(shape.name) was cut to \(body.spot ?? 0)")
        wakeUps.scheduling.ring()
        let capacity = try await currentPool().capacity(of: shape.name)
        return .ok(
            .init(
                body: .json(
                    .init(
                        name: shape.name, vcpus: shape.vcpus, gpus: shape.gpus, memoryGib: shape.memoryGiB,
                        capacity: .init(onDemand: capacity.onDemand, spot: capacity.spot)))))
    }

    /// The most hosts of one type and market `PUT /v1/admin/capacity` sets (far beyond any pool; the column is 32-bit).
    static let maximumCapacity = 1_000_000

    /// The pool's capacity now, with the admins' overrides read fresh (and left in this replica's view).
    func currentPool() async throws -> PoolCapacity {
        capacity.update(overrides: try await queue.capacityOverrides())
        return capacity.current
    }
}
