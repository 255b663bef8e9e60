import Foundation
import TrainyardCore

/// Attempts and hosts in memory, as ``PostgresStore`` keeps them: each change loads the job's aggregate, lets Core
/// decide, and carries out the effects with the twin's one writer.
extension InMemoryJobRepository: AttemptRepository {
    public func authenticateAgent(_ token: String) -> HostRecord? {
        guard let dot = token.lastIndex(of: ".") else { return nil }
        guard let stored = hosts[String(token[..<dot])] else { return nil }
        return APIKeyHasher().verify(secret: String(token[token.index(after: dot)...]), stored: stored.tokenHash) ? stored.record : nil
    }

    public func host(id: String) -> HostRecord? {
        hosts[id]?.record
    }

    public func assignment(for host: HostRecord) -> HostAssignment? {
        guard let job = jobs[host.jobID]?.record, let attempt = attempts[host.attemptID] else { return nil }
        return HostAssignment(host: host, job: job, attemptNumber: attempt.record.number, hostNames: hosts(ofAttempt: host.attemptID).map(\.name))
    }

    public func attempts(jobID: Int64) -> [AttemptRecord] {
        attempts.values.filter { $0.record.jobID == jobID }.sorted { $0.record.number < $1.record.number }.map { stored in
            var attempt = stored.record
            attempt.hosts = hosts(ofAttempt: attempt.id)
            attempt.stopRequestedAt = stored.stopRequestedAt
            return attempt
        }
    }

    public func recordHeartbeat(
        hostID: String, report: AgentReport, leaseSeconds: Double, heartbeatSeconds: Double, spotNoticeSeconds: Double, now: Date
    ) async throws -> AgentDirective {
        guard let host = hosts[hostID]?.record else { throw StoreError.jobNotFound(hostID) }
        guard let attempt = attempts[host.attemptID]?.record else { throw StoreError.jobNotFound("attempt \(host.attemptID)") }
        if host.phase.isFinal {
            // A host already judged lost (or done) is told to stop; its late reports change nothing.
            return AgentDirective(
                action: JobAggregate.directiveForEndedHost(lost: host.phase == .lost, attemptRunning: attempt.state == .running), graceSeconds: 0,
                heartbeatIntervalSeconds: heartbeatSeconds)
        }
        var updated = host
        updated.phase = max(host.phase, report.phase)
        if updated.phase == .exited {
            updated.exitCode = report.exitCode
            updated.signal = report.signal
            updated.failureReason = report.failureReason
            updated.stopped = report.stopped
            updated.endedAt = now
        }
        updated.modelArchive = report.modelArchive ?? updated.modelArchive
        updated.outputArchive = report.outputArchive ?? updated.outputArchive
        updated.checkpointSyncedAt = report.checkpointSyncedAt ?? updated.checkpointSyncedAt
        hosts[hostID]?.record = updated
        hosts[hostID]?.leaseExpiresAt = now.addingTimeInterval(leaseSeconds)
        // Only a spot host's notice is an interruption (as in the store).
        if report.interrupted == true, host.spot, !host.interrupted, attempt.state == .running {
            await markInterrupted(host, noticeSeconds: spotNoticeSeconds, reason: StoreWording.providerNotice, now: now)
        }
        if let drops = report.logDrops, !drops.isEmpty { recordLogDrops(drops, host: host, now: now) }
        guard let (effects, _) = await run(.hostReported(failedByItself: updated.result.failedByItself), jobID: host.jobID, attemptID: attempt.id, now: now),
            let directive = effects.lazy.compactMap(\.directive).last
        else {
            throw StoreError.jobNotFound("job \(host.jobID)")
        }
        return AgentDirective(action: directive.action, graceSeconds: directive.graceSeconds, heartbeatIntervalSeconds: heartbeatSeconds)
    }

    /// Keeps the higher totals of the lines `host`'s spool dropped and tells the job's owner what is new.
    private func recordLogDrops(_ drops: LogSpoolDrops, host: HostRecord, now: Date) {
        let earlier = hosts[host.id]?.logDrops
        let messages = drops.messages(since: earlier, host: host.name)
        guard !messages.isEmpty else { return }
        let kept = drops.keepingHigherTotals(than: earlier)
        hosts[host.id]?.logDrops = kept
        for message in messages { appendNote(jobID: host.jobID, type: LogSpoolDrops.eventType, message: message, now: now) }
    }

    public func reapExpiredHosts(now: Date) async throws -> [HostRecord] {
        let expired = hosts.values.filter { !$0.record.phase.isFinal && $0.leaseExpiresAt < now }.map(\.record).sorted { $0.id < $1.id }
        var lost: [HostRecord] = []
        for host in expired where await markHostLost(host, reason: StoreWording.leaseExpired(host), leaseExpiredBefore: now, now: now) {
            lost.append(host)
        }
        return lost
    }

    public func extendLiveLeases(by seconds: Double, now: Date) {
        for (id, host) in hosts where !host.record.phase.isFinal {
            hosts[id]?.leaseExpiresAt = max(host.leaseExpiresAt, now.addingTimeInterval(seconds))
        }
    }

    public func claimFinishedAttempt(leaseSeconds: Double, now: Date) -> FinalizeWork? {
        guard
            let claimed = attempts.values.filter({ $0.record.state == .ending && ($0.finalizerUntil.map { $0 < now } ?? true) })
                .min(by: { $0.record.id < $1.record.id })
        else { return nil }
        attempts[claimed.record.id]?.finalizerUntil = now.addingTimeInterval(leaseSeconds)
        guard let stored = jobs[claimed.record.jobID] else { return nil }
        let job = stored.record
        var attempt = claimed.record
        attempt.hosts = hosts(ofAttempt: attempt.id)
        let aggregate = JobAggregate(
            state: job.state, attempt: attempt.state, hostPhases: attempt.hosts.map(\.phase), stopReason: attempt.stopReason,
            retries: RetryBudget(
                maxRetryAttempts: job.spec.maxRetryAttempts, retriesUsed: stored.retriesUsed, retryOnExitCodes: job.spec.retryOnExitCodes))
        return FinalizeWork(job: job, attempt: attempt, outcome: aggregate.outcome(of: attempt.hosts.map(\.result)))
    }

    public func releaseFinishedAttemptClaim(attemptID: Int64, retryAt: Date?) {
        guard attempts[attemptID]?.record.state == .ending else { return }
        attempts[attemptID]?.finalizerUntil = retryAt
    }

    public func finishAttempt(_ work: FinalizeWork, model: UploadedArtifact?, output: UploadedArtifact?, now: Date) async throws {
        guard attempts[work.attempt.id] != nil, var aggregate = aggregate(jobID: work.job.id, attemptID: work.attempt.id) else { return }
        let effects = aggregate.handle(.attemptFinalized(work.outcome), now: now)
        // The merged archives belong to the attempt this call ends, not to one another finalizer ended.
        if effects.contains(where: { if case .endAttempt = $0 { true } else { false } }) {
            if let model {
                jobs[work.job.id]?.record.modelArtifacts = model.uri
                jobs[work.job.id]?.record.model = model
            }
            if let output { jobs[work.job.id]?.record.output = output }
        }
        await persist(effects, state: aggregate.state, jobID: work.job.id, attemptID: work.attempt.id, now: now)
    }

    public func enforceDeadlines(graceSeconds: Double, now: Date, limit: Int) async throws -> [DeadlineStop] {
        let due = jobs.values.compactMap { job in job.deadline.flatMap { $0 <= now ? (job.record.id, $0) : nil } }
            .sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(limit).map(\.0)
        var stopped: [DeadlineStop] = []
        for jobID in due {
            // The attempt still open (running, or ending while its outputs are merged) is the one whose training counts.
            let open = attempts.values.filter { $0.record.jobID == jobID && $0.record.state != .ended }.max { $0.record.number < $1.record.number }?.record.id
            guard var aggregate = aggregate(jobID: jobID, attemptID: open), let job = jobs[jobID]?.record else { continue }
            let passed = aggregate.limits?.passed(at: now, trainedSeconds: aggregate.trainedSeconds, trainingSince: aggregate.trainingSince, waits: aggregate.waits)
            let effects = aggregate.handle(.deadlinePassed(graceSeconds: graceSeconds), now: now)
            await persist(effects, state: aggregate.state, jobID: jobID, attemptID: open, now: now)
            guard let passed, effects.contains(where: { $0.transition?.toStatus == .stopping }) else { continue }
            stopped.append(DeadlineStop(job: job.name, project: job.projectName, limit: passed))
        }
        return stopped
    }

    public func interruptHost(id: String, noticeSeconds: Double, reason: String, now: Date) async throws -> HostInterruption {
        guard let host = hosts[id]?.record else { return .notFound }
        // A host already reclaimed has its notice: its gang is stopping.
        guard attempts[host.attemptID]?.record.state == .running, !host.phase.isFinal, !host.interrupted else { return .notRunning(host) }
        await markInterrupted(host, noticeSeconds: noticeSeconds, reason: reason, now: now)
        var updated = host
        updated.interrupted = true
        return .interrupted(updated)
    }

    /// Records that `host` was reclaimed and stops its gang with the notice period.
    private func markInterrupted(_ host: HostRecord, noticeSeconds: Double, reason: String, now: Date) async {
        hosts[host.id]?.record.interrupted = true
        appendNote(jobID: host.jobID, type: .hostInterrupted, message: StoreWording.reclaimed(host, reason: reason, noticeSeconds: noticeSeconds), now: now)
        await run(.hostEnded(.reclaimed(noticeSeconds: noticeSeconds)), jobID: host.jobID, attemptID: host.attemptID, now: now)
    }

    /// Marks a live host lost with `reason` (an event says so) and stops the rest of its gang; false when it had ended
    /// meanwhile, or its lease did not run out before `leaseExpiredBefore`.
    private func markHostLost(_ host: HostRecord, reason: String, leaseExpiredBefore: Date? = nil, now: Date) async -> Bool {
        guard let stored = hosts[host.id], !stored.record.phase.isFinal, leaseExpiredBefore.map({ stored.leaseExpiresAt < $0 }) ?? true else {
            return false
        }
        hosts[host.id]?.record.phase = .lost
        hosts[host.id]?.record.failureReason = reason
        hosts[host.id]?.record.endedAt = now
        appendNote(jobID: host.jobID, type: .hostLost, message: reason, now: now)
        await run(.hostEnded(.lost), jobID: host.jobID, attemptID: host.attemptID, now: now)
        return true
    }

    /// Marks a live host of a running attempt lost (reclaimed first, when `interruption`).
    private func loseHost(_ host: HostRecord, reason: String, interruption: Bool = false, now: Date) async -> Bool {
        guard attempts[host.attemptID]?.record.state == .running else { return false }
        if interruption { await markInterrupted(host, noticeSeconds: 0, reason: reason, now: now) }
        return await markHostLost(host, reason: reason, now: now)
    }

    public func setProvisionerReference(hostID: String, reference: String) {
        hosts[hostID]?.record.providerRef = reference
    }

    public func liveProvisionedHosts(provisioner: String) -> [ProvisionedHost] {
        hosts.values.map(\.record).compactMap { host -> ProvisionedHost? in
            guard let attempt = attempts[host.attemptID], attempt.record.state == .running, attempt.provisioner == provisioner, !host.phase.isFinal,
                host.providerRef != nil
            else { return nil }
            return ProvisionedHost(host: host, stopRequestedAt: attempt.stopRequestedAt, stopGraceSeconds: attempt.stopGraceSeconds)
        }.sorted { ($0.host.attemptID, $0.host.ordinal) < ($1.host.attemptID, $1.host.ordinal) }
    }

    public func liveAttemptIDs(among ids: Set<Int64>) -> Set<Int64> {
        ids.filter { attempts[$0].map { $0.record.state != .ended } ?? false }
    }

    public func adoptProvisionerReferences(_ references: [String: String]) {
        for (hostID, reference) in references where hosts[hostID] != nil && hosts[hostID]?.record.providerRef == nil {
            hosts[hostID]?.record.providerRef = reference
        }
    }

    public func applyProvisionedStates(
        _ states: [String: ProvisionedHostState], hosts given: [HostRecord], launchLeaseSeconds: Double, now: Date
    ) async throws -> [HostRecord] {
        var lost: [HostRecord] = []
        let byAttempt = Dictionary(grouping: given.filter { states[$0.id] != nil }, by: \.attemptID)
        for (attemptID, attemptHosts) in byAttempt.sorted(by: { $0.key < $1.key }) {
            let ordered = attemptHosts.sorted { $0.ordinal < $1.ordinal }
            for host in ordered {
                switch states[host.id] {
                case .pending:
                    let lease = now.addingTimeInterval(launchLeaseSeconds)
                    if let stored = hosts[host.id], stored.record.phase == .launching, stored.leaseExpiresAt < now.addingTimeInterval(launchLeaseSeconds / 2) {
                        hosts[host.id]?.leaseExpiresAt = lease
                    }
                case .running(let node):
                    if let node, let reference = host.providerRef, !reference.contains("node:") {
                        hosts[host.id]?.record.providerRef = reference + " node:" + node
                    }
                case .interrupted(let reason):
                    if await loseHost(host, reason: "CapacityError: \(reason)", interruption: true, now: now) { lost.append(host) }
                case .nodeFailed(let reason), .gone(let reason):
                    if await loseHost(host, reason: reason, now: now) { lost.append(host) }
                case .reclaiming, nil:
                    break
                }
            }
            guard let current = jobs[ordered[0].jobID]?.record,
                let input = ProvisionedHostState.lifecycleInput(for: ordered.compactMap { states[$0.id] }, jobStatus: current.secondaryStatus)
            else { continue }
            await run(input, jobID: current.id, attemptID: attemptID, now: now)
        }
        return lost
    }

    public func failLaunch(hostIDs: [String], reason: String, now: Date) async throws -> [HostRecord] {
        var lost: [HostRecord] = []
        for id in hostIDs {
            guard let host = hosts[id]?.record else { continue }
            if await loseHost(host, reason: reason, now: now) { lost.append(host) }
        }
        return lost
    }
}
