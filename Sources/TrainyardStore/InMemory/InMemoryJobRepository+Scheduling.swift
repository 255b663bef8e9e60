import Foundation
import TrainyardCore

/// The scheduling queue in memory: the same pass as ``PostgresStore``'s (each pool's first `limit` waiting jobs,
/// priority then submission order, Core's ``GangScheduler`` deciding), without a lock to take: the actor runs one call
/// at a time, and a job changed while the pass awaited the webhook twin is checked again before it is granted hosts.
extension InMemoryJobRepository: SchedulingQueue {
    public func schedule(
        capacity base: PoolCapacity, provisioner: String, launchLeaseSeconds: Double, now: Date, limit: Int,
        readOverrides: @Sendable ([String: CapacityOverride]) -> Void
    ) async throws -> [LaunchPlan] {
        var pool = base
        pool.overrides = overrides
        readOverrides(pool.overrides)
        var used: [GangScheduler.Pool: Int] = [:]
        // The exited hosts of an attempt being finalized, of a job that asks for a warm pool, become its pool as it ends.
        let endingWarm = Set(
            attempts.values.map(\.record).filter { $0.state == .ending && (jobs[$0.jobID]?.record.spec.keepAlivePeriod ?? 0) > 0 }.map(\.id))
        for host in hosts.values.map(\.record) where !host.phase.isFinal || (host.phase == .exited && endingWarm.contains(host.attemptID)) {
            used[GangScheduler.Pool(instanceType: host.instanceType, spot: host.spot), default: 0] += 1
        }
        // A job whose previous attempt is still open waits for it, and is read past.
        var open = Set(attempts.values.filter { $0.record.state != .ended }.map(\.record.jobID))
        // Warm pools past their keep-alive end; each of the others goes to the first queued job of its project that
        // matches it, outside the queue's order; the hosts of those left keep their capacity from everyone else.
        var warm: [GangScheduler.Pool: Int] = [:]
        var plans: [LaunchPlan] = []
        for id in jobs.keys.sorted() {
            guard let kept = jobs[id]?.record.warmPool, kept.hasExpired(at: now) else { continue }
            jobs[id]?.record.warmPool = kept.asOf(now)
        }
        let available = jobs.values.map(\.record).filter { $0.warmPool?.status == .available }
            .sorted { ($0.warmPool?.retainedAt ?? now, $0.id) < ($1.warmPool?.retainedAt ?? now, $1.id) }
        for keeper in available {
            let match = WarmPoolMatch(
                projectID: keeper.projectID, instanceType: keeper.spec.instanceType, instanceCount: keeper.spec.instanceCount,
                spot: keeper.spec.useSpotInstances, volumeSize: keeper.spec.volumeSize)
            let taker = jobs.values.map(\.record)
                .filter { Self.isQueued($0) && !open.contains($0.id) && WarmPoolMatch(projectID: $0.projectID, spec: $0.spec) == match }
                .min { ($0.spec.priority, -$0.id) > ($1.spec.priority, -$1.id) }
            // (Still kept: an update of its period may have ended it while an earlier allocation awaited.)
            if let taker, jobs[keeper.id]?.record.warmPool?.status == .available,
                let plan = await allocate(taker.id, provisioner: provisioner, leaseSeconds: launchLeaseSeconds, now: now)
            {
                if jobs[keeper.id]?.record.warmPool?.status == .available {
                    jobs[keeper.id]?.record.warmPool?.status = .reused
                    jobs[keeper.id]?.record.warmPool?.releasedAt = now
                    jobs[keeper.id]?.record.warmPool?.reusedByJob = taker.name
                }
                jobs[taker.id]?.record.warmPool = WarmPool(status: .inUse)
                appendNote(jobID: keeper.id, type: .warmPoolReused, message: StoreWording.warmPoolTakenOver(by: taker.name), now: now)
                appendNote(
                    jobID: taker.id, type: .warmPoolReused,
                    message: StoreWording.warmPoolTaken(from: keeper.name, hosts: match.instanceCount, instanceType: match.instanceType), now: now)
                used[match.pool, default: 0] += match.instanceCount
                open.insert(taker.id)
                plans.append(plan)
            } else {
                warm[match.pool, default: 0] += match.instanceCount
            }
        }
        // A pool with no host free is not read: every job of it waits, and its jobs not yet told so are told below.
        var scheduler = GangScheduler(inUse: used, warm: warm, capacity: { pool.capacity(of: $0) })
        let full = scheduler.fullPools()
        var read: [GangScheduler.Pool: Int] = [:]
        var queue: [JobRecord] = []
        // Past each pool's first `limit`: the jobs not yet Pending, up to `unannouncedLimit` a pool.
        var unannounced: [JobRecord] = []
        var unannouncedRead: [GangScheduler.Pool: Int] = [:]
        for job in jobs.values.map(\.record).filter({ Self.isQueued($0) && !open.contains($0.id) })
            .sorted(by: { ($0.spec.priority, -$0.id) > ($1.spec.priority, -$1.id) })
        {
            let key = Self.gang(of: job).pool
            if !full.contains(key) {
                read[key, default: 0] += 1
                if read[key, default: 0] <= limit {
                    queue.append(job)
                    continue
                }
            }
            if job.secondaryStatus != .pending, unannouncedRead[key, default: 0] < Self.unannouncedLimit(limit) {
                unannouncedRead[key, default: 0] += 1
                unannounced.append(job)
            }
        }
        var waits: [(id: Int64, message: String)] = []
        var waitingPools = full
        for job in queue {
            let gang = Self.gang(of: job)
            if case .wait(let message) = scheduler.decide(gang) {
                waitingPools.insert(gang.pool)
                waits.append((job.id, message))
                continue
            }
            guard let plan = await allocate(job.id, provisioner: provisioner, leaseSeconds: launchLeaseSeconds, now: now) else { continue }
            scheduler.allocated(gang)
            plans.append(plan)
        }
        // Behind a pool's first jobs that wait, the rest of its queue waits too.
        for job in unannounced where waitingPools.contains(Self.gang(of: job).pool) {
            guard case .wait(let message) = scheduler.decide(Self.gang(of: job)) else { continue }
            waits.append((job.id, message))
        }
        for wait in waits {
            guard let current = jobs[wait.id]?.record, Self.isQueued(current) else { continue }
            await run(.capacityDenied(message: wait.message), jobID: wait.id, attemptID: nil, now: now)
        }
        return plans
    }

    public func queueState(project: Int64?, now: Date) async throws -> QueueState {
        var state = QueueState()
        let open = Set(attempts.values.filter { $0.record.state != .ended }.map(\.record.id))
        let openJobs = Set(attempts.values.filter { $0.record.state != .ended }.map(\.record.jobID))
        for job in jobs.values.map(\.record) where project == nil || job.projectID == project {
            state.jobs[QueueState.StatusKey(job.status, job.secondaryStatus), default: 0] += 1
            guard Self.isQueued(job), !openJobs.contains(job.id) else { continue }
            let pool = Self.gang(of: job).pool
            let waiting = state.waiting[pool]
            state.waiting[pool] = QueueState.Waiting(
                count: (waiting?.count ?? 0) + 1, oldestSubmittedAt: min(waiting?.oldestSubmittedAt ?? job.createdAt, job.createdAt))
        }
        for job in jobs.values.map(\.record) where job.warmPool?.asOf(now).status == .available {
            state.warm[Self.gang(of: job).pool, default: 0] += job.spec.instanceCount
        }
        for host in hosts.values.map(\.record) {
            if !host.phase.isFinal { state.inUse[GangScheduler.Pool(instanceType: host.instanceType, spot: host.spot), default: 0] += 1 }
            if open.contains(host.attemptID) { state.hosts[host.phase, default: 0] += 1 }
        }
        for attempt in attempts.values.map(\.record) where attempt.state != .ended {
            guard let start = attempt.trainingStartedAt, let job = jobs[attempt.jobID]?.record, project == nil || job.projectID == project else { continue }
            state.trainingInProgress[job.projectName, default: 0] += max(0, now.timeIntervalSince(start))
        }
        return state
    }

    private static func gang(of job: JobRecord) -> GangScheduler.Gang {
        GangScheduler.Gang(instanceType: job.spec.instanceType, count: job.spec.instanceCount, spot: job.spec.useSpotInstances)
    }

    /// Whether a job waits in the queue (the store's `queuedPredicate`).
    private static func isQueued(_ job: JobRecord) -> Bool {
        job.status == .inProgress && [.starting, .pending, .restarting, .interrupted].contains(job.secondaryStatus)
    }

    /// A new attempt of job `jobID` with all its hosts, launching; nil when the job left the queue meanwhile, or its
    /// state refuses the grant (then nothing is kept, and its events say scheduling failed, once per run of failures).
    private func allocate(_ jobID: Int64, provisioner: String, leaseSeconds: Double, now: Date) async -> LaunchPlan? {
        guard let job = jobs[jobID]?.record, Self.isQueued(job), !attempts.values.contains(where: { $0.record.jobID == jobID && $0.record.state != .ended })
        else { return nil }
        let number = (attempts.values.filter { $0.record.jobID == jobID }.map(\.record.number).max() ?? 0) + 1
        lastAttemptID += 1
        let attemptID = lastAttemptID
        attempts[attemptID] = StoredAttempt(
            record: AttemptRecord(
                id: attemptID, jobID: jobID, number: number, state: .running, startedAt: now, trainingStartedAt: nil, endedAt: nil, endReason: nil,
                stopReason: nil, hosts: []),
            provisioner: provisioner)
        var launches: [HostLaunch] = []
        for ordinal in 1...job.spec.instanceCount {
            let id = HostID.make(jobID: jobID, jobName: job.name, attempt: number, ordinal: ordinal)
            let name = HostID.hostName(ordinal: ordinal)
            let (token, key) = APIKey.generate(role: .viewer)
            hosts[id] = StoredHost(
                record: HostRecord(
                    id: id, attemptID: attemptID, jobID: jobID, name: name, ordinal: ordinal, instanceType: job.spec.instanceType,
                    spot: job.spec.useSpotInstances, phase: .launching, startedAt: now),
                tokenHash: key.secretHash, leaseExpiresAt: now.addingTimeInterval(leaseSeconds))
            launches.append(HostLaunch(id: id, name: name, token: "\(id).\(token.secret)"))
        }
        guard var aggregate = aggregate(jobID: jobID, attemptID: attemptID) else { return nil }
        let effects = aggregate.handle(.capacityGranted, now: now)
        guard effects.allSatisfy({ $0.refusal == nil }) else {
            // The store rolls the job's step back under its savepoint: so does the twin.
            attempts[attemptID] = nil
            for launch in launches { hosts[launch.id] = nil }
            if jobs[jobID]?.events.last?.type != .schedulingFailed {
                appendNote(jobID: jobID, type: .schedulingFailed, message: StoreWording.schedulingFailed, now: now)
            }
            return nil
        }
        await persist(effects, state: aggregate.state, jobID: jobID, attemptID: attemptID, now: now)
        return LaunchPlan(
            jobID: jobID, jobName: job.name, projectName: job.projectName, attemptID: attemptID, attemptNumber: number,
            instanceType: job.spec.instanceType, spot: job.spec.useSpotInstances, hosts: launches, volumeSize: job.spec.volumeSize)
    }

    public func capacityOverrides() -> [String: CapacityOverride] {
        overrides
    }

    public func setCapacity(instanceType: String, onDemand: Int?, spot: Int?, now: Date) -> [HostRecord] {
        let earlier = overrides[instanceType]
        overrides[instanceType] = CapacityOverride(onDemand: onDemand ?? earlier?.onDemand, spot: spot ?? earlier?.spot)
        guard let spot else { return [] }
        let live = hosts.values.map(\.record).filter { $0.instanceType == instanceType && $0.spot && !$0.phase.isFinal && !$0.interrupted }
        return Array(live.sorted { ($0.startedAt, $0.id) > ($1.startedAt, $1.id) }.dropFirst(spot))
    }
}
