import Foundation
import Logging
import PostgresNIO
import TrainyardCore

extension PostgresStore: SchedulingQueue {
    /// The advisory lock one scheduling pass holds, so that replicas never allocate the same capacity twice.
    static let schedulerLockKey = Int64(bitPattern: StableHash.value("trainyard.scheduler"))

    /// One scheduling pass: reads the queue (priority then submission order) and the hosts in use, and carries out
    /// Core's ``GangScheduler`` decision for each job: all its hosts at once from the capacity `capacity(instanceType)`
    /// gives (with the stored overrides), or `Pending` with the scheduler's message. Each allocation runs under a
    /// savepoint with its transition and event; the jobs told that they wait are written together.
    /// `readOverrides` gets the admins' overrides as the pass read them (the server keeps them for its API).
    public func schedule(
        capacity base: PoolCapacity, provisioner: String, launchLeaseSeconds: Double, now: Date, limit: Int,
        readOverrides: @Sendable ([String: CapacityOverride]) -> Void
    ) async throws -> [LaunchPlan] {
        try await client.transaction(logger: logger) { connection in
            // No sort in this transaction: when the table has grown since its last ANALYZE (a burst of submissions),
            // the planner, believing the queue nearly empty, read the whole queue and sorted it on every pass (9-40 ms a
            // pass at 10,000-23,000 queued jobs) instead of walking the index; with sorting off, the index is its way.
            // The pass's other statements touch a job or a few, where a sort, if one is needed, still runs. Set with
            // the lock, in one round trip: under load each round trip waits for a core.
            try await connection.query(
                "SELECT pg_advisory_xact_lock(\(Self.schedulerLockKey)), set_config('enable_sort', 'off', true)", logger: logger)
            // The admins' overrides as this transaction reads them, over the caller's file and provisioner figures, and
            // the hosts in use per pool, in one round trip: an override's row has no market, a pool's no figures.
            var overrides: [String: CapacityOverride] = [:]
            var used: [GangScheduler.Pool: Int] = [:]
            for try await (type, onDemand, spot, market, count) in try await connection.query(
                """
                SELECT instance_type, on_demand, spot, NULL::bool, NULL::int FROM capacity_overrides
                UNION ALL
                SELECT instance_type, NULL, NULL, spot, count(*)::int FROM hosts WHERE phase NOT IN ('exited', 'lost') GROUP BY instance_type, spot
                UNION ALL
                -- The exited hosts of an attempt being finalized, of a job that asks for a warm pool: they become its
                -- pool as it ends, so their capacity is not free in between. (Ending attempts are few at any time: the
                -- pass never reads the spec of the running ones.)
                SELECT h.instance_type, NULL, NULL, h.spot, count(*)::int
                FROM attempts a JOIN jobs j ON j.id = a.job_id JOIN hosts h ON h.attempt_id = a.id
                WHERE a.state = 'ending' AND h.phase = 'exited' AND coalesce((j.spec->>'keep_alive_period')::int, 0) > 0
                GROUP BY h.instance_type, h.spot
                """, logger: logger
            ).decode((String, Int?, Int?, Bool?, Int?).self) {
                if let market, let count {
                    used[GangScheduler.Pool(instanceType: type, spot: market), default: 0] += count
                } else {
                    overrides[type] = CapacityOverride(onDemand: onDemand, spot: spot)
                }
            }
            var pool = base
            pool.overrides = overrides
            readOverrides(overrides)
            let capacity: (String) -> Capacity = { pool.capacity(of: $0) }
            // Warm pools: those past their keep-alive end now (as they were at their expiry); the others keep their
            // hosts from everyone but the jobs that match them (handed over below, once the queue is read).
            let kept = try await availableWarmPools(on: connection, now: now)
            var warm: [GangScheduler.Pool: Int] = [:]
            for pool in kept { warm[pool.match.pool, default: 0] += pool.match.instanceCount }
            // The pass needs only the spec's shape (type, count, market, priority), which the columns hold: reading the
            // whole spec (kilobytes of JSON that Postgres serialises and the pass parses, for every queued job on every
            // pass) was most of a pass's cost under a stream of submissions. The records' specs are that shape only.
            // The queue is read pool by pool (instance type and market), up to `limit` jobs of each in priority then
            // submission order: a pool allocates at most that many in a pass and waits behind its first waiting job,
            // so that is all a pass can use of it, and a full pool's backlog never hides another pool's jobs. The pools
            // are found by a skip over jobs_queue_by_pool (one probe per pool), each pool's jobs by a walk of it.
            // A job whose previous attempt is still open (its hosts finishing an interruption's final sync, its outputs
            // being merged) waits for it and is read past: when some of a pool's first `limit` are such, read that many
            // more, until `limit` are left or the pool's queue ends.
            // A pool with no host free need not be read: every job of it waits (Core's decision), and its jobs not yet
            // told so are found with the rest of the waiting pools' below. A queue of thousands behind a full pool
            // costs a pass nothing then.
            var scheduler = GangScheduler(inUse: used, warm: warm, capacity: capacity)
            let full = Array(scheduler.fullPools())
            var queued: [QueuedJob] = []
            var fetch = limit
            while true {
                var perPool: [GangScheduler.Pool: (usable: Int, read: Int)] = [:]
                var page: [QueuedJob] = []
                for try await row in try await connection.query(
                    """
                    WITH RECURSIVE pools(instance_type, use_spot) AS (
                        (SELECT instance_type, use_spot FROM jobs WHERE \(unescaped: Self.queuedPredicate)
                         ORDER BY instance_type, use_spot LIMIT 1)
                        UNION ALL
                        SELECT next.instance_type, next.use_spot FROM pools p CROSS JOIN LATERAL (
                            SELECT instance_type, use_spot FROM jobs
                            WHERE \(unescaped: Self.queuedPredicate) AND (instance_type, use_spot) > (p.instance_type, p.use_spot)
                            ORDER BY instance_type, use_spot LIMIT 1
                        ) next
                    )
                    SELECT j.id, j.name, j.status, j.secondary_status, j.failure_reason, j.interruptions,
                           j.instance_type, j.instance_count, j.use_spot, j.priority, prior.attempt IS NOT NULL
                    FROM pools CROSS JOIN LATERAL (
                        SELECT * FROM jobs
                        WHERE \(unescaped: Self.queuedPredicate) AND instance_type = pools.instance_type AND use_spot = pools.use_spot
                        ORDER BY priority DESC, id LIMIT \(fetch)
                    ) j
                    -- One index probe per job read (an EXISTS may be planned as a scan of every attempt).
                    LEFT JOIN LATERAL (
                        SELECT a.id AS attempt FROM attempts a WHERE a.job_id = j.id AND a.state <> 'ended' LIMIT 1
                    ) prior ON true
                    WHERE NOT EXISTS (
                        SELECT 1 FROM unnest(\(full.map(\.instanceType))::text[], \(full.map(\.spot))::bool[]) AS full_pool(instance_type, use_spot)
                        WHERE full_pool.instance_type = pools.instance_type AND full_pool.use_spot = pools.use_spot
                    )
                    """, logger: logger
                ).decode((Int64, String, String, String, String?, Int, String, Int, Bool, Int, Bool).self) {
                    let (id, name, status, secondary, failure, interruptions, instanceType, count, spot, priority, priorOpen) = row
                    let pool = GangScheduler.Pool(instanceType: instanceType, spot: spot)
                    perPool[pool, default: (0, 0)].read += 1
                    if priorOpen { continue }
                    guard let status = JobStatus(rawValue: status), let secondary = SecondaryStatus(rawValue: secondary) else {
                        throw StoreError.corruptSpec(job: name)
                    }
                    perPool[pool, default: (0, 0)].usable += 1
                    page.append(QueuedJob(
                        id: id, name: name,
                        state: JobState(status: status, secondaryStatus: secondary, failureReason: failure, interruptions: interruptions),
                        gang: GangScheduler.Gang(instanceType: instanceType, count: count, spot: spot), priority: priority))
                }
                // Read again, further, while a pool whose queue goes on has fewer than `limit` jobs to offer.
                let short = perPool.values.filter { $0.read == fetch && $0.usable < limit }
                guard let widest = short.map({ limit + $0.read - $0.usable }).max() else {
                    queued = page
                    break
                }
                fetch = widest
            }
            // The queue's order across pools: priority, then submission.
            queued.sort { ($0.priority, -$0.id) > ($1.priority, -$1.id) }
            // Each warm pool goes to the first queued job of its project that matches it, outside the queue's order, as
            // SageMaker's do: looked for after the queue was read, so that a matching job the read saw is always found
            // (looked for before, a job submitted in between would have been read, and allocated hosts of its own).
            var plans: [LaunchPlan] = []
            var taken = Set<Int64>()
            for pool in kept {
                guard let plan = try await reuse(pool, on: connection, provisioner: provisioner, leaseSeconds: launchLeaseSeconds, now: now)
                else { continue }
                scheduler.reused(pool.match.pool, hosts: pool.match.instanceCount)
                taken.insert(plan.jobID)
                plans.append(plan)
            }
            queued.removeAll { taken.contains($0.id) }
            var waits: [(job: QueuedJob, message: String)] = []
            var waitingPools = Set(full)
            for job in queued {
                if case .wait(let message) = scheduler.decide(job.gang) {
                    waitingPools.insert(job.gang.pool)
                    // Asked first of the unlocked read: a job waiting already (Core keeps its first message) costs the
                    // pass no lock and no query, however long the queue.
                    var probe = JobAggregate(state: job.state)
                    guard probe.handle(.capacityDenied(message: message), now: now).contains(where: { $0.transition != nil }) else { continue }
                    waits.append((job, message))
                    continue
                }
                var attempt: Int?
                let plan = try await isolated(on: connection, job: job, attempt: { attempt }, now: now) { () -> LaunchPlan? in
                    guard let projectName = try await lockStillQueued(on: connection, job: job) else { return nil }
                    return try await allocate(
                        on: connection, job: job, projectName: projectName, provisioner: provisioner, leaseSeconds: launchLeaseSeconds, now: now,
                        attempt: &attempt)
                }
                guard let plan = plan ?? nil else { continue }
                scheduler.allocated(job.gang)
                plans.append(plan)
            }
            // Behind a pool's first jobs that wait, the rest of its queue waits too: the jobs of it never told so (just
            // submitted, or back in the queue) are told now, up to `unannouncedLimit` a pool a pass, as Slurm's queue
            // shows every pending job with its reason.
            if !waits.isEmpty || !waitingPools.isEmpty {
                try await tellWaiting(
                    waits, behind: waitingPools, past: queued.map(\.id), limit: Self.unannouncedLimit(limit), scheduler: &scheduler,
                    on: connection, now: now)
            }
            return plans
        }
    }

    /// Tells jobs that they wait (Pending, with the scheduler's message), all at once through the batch effect writer:
    /// `waits`, the jobs of the pass's read that wait, and up to `limit` more of each pool of `pools` not yet told,
    /// past the pass's read (`read`), each with `scheduler`'s decision. One statement reads and locks them all (a job
    /// another transaction holds, or no longer as the pass read it, is left to the next pass), one writes them: a
    /// queue of thousands just submitted is told in a few round trips, not a dozen a job. Should the database refuse
    /// the write, the jobs are told one by one, each under its own savepoint, so that a job it refuses fails alone
    /// (``isolated(on:job:attempt:now:_:)``).
    private func tellWaiting(
        _ waits: [(job: QueuedJob, message: String)], behind pools: Set<GangScheduler.Pool>, past read: [Int64], limit: Int,
        scheduler: inout GangScheduler, on connection: PostgresConnection, now: Date
    ) async throws {
        let waiting = Dictionary(waits.map { ($0.job.id, $0) }, uniquingKeysWith: { first, _ in first })
        let pools = Array(pools)
        var told: [(job: QueuedJob, outcome: JobOutcome)] = []
        for try await row in try await connection.query(
            """
            SELECT \(unescaped: Self.aggregateColumns), j.instance_type, j.instance_count, j.use_spot, j.priority
            FROM jobs j JOIN projects p ON p.id = j.project_id LEFT JOIN attempts a ON false
            -- One set of ids, each found by its key (an OR of the two would scan every job).
            WHERE j.id IN (
                SELECT unnest(\(Array(waiting.keys))::bigint[])
                UNION ALL
                SELECT unannounced.id
                FROM unnest(\(pools.map(\.instanceType))::text[], \(pools.map(\.spot))::bool[]) AS pool(instance_type, use_spot)
                CROSS JOIN LATERAL (
                    SELECT id FROM jobs
                    WHERE \(unescaped: Self.unannouncedPredicate) AND instance_type = pool.instance_type AND use_spot = pool.use_spot
                      AND id <> ALL(\(read)) AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = jobs.id AND a.state <> 'ended')
                    ORDER BY priority DESC, id LIMIT \(limit)
                ) unannounced)
            FOR UPDATE OF j SKIP LOCKED
            """, logger: logger)
        {
            let (job, read) = try Self.decodeAggregate(row)
            var aggregate = read
            let columns = row.makeRandomAccess()
            let gang = GangScheduler.Gang(
                instanceType: try columns[Self.aggregateColumnCount].decode(String.self, context: .default),
                count: try columns[Self.aggregateColumnCount + 1].decode(Int.self, context: .default),
                spot: try columns[Self.aggregateColumnCount + 2].decode(Bool.self, context: .default))
            let queued = QueuedJob(
                id: job.id, name: job.name, state: aggregate.state, gang: gang,
                priority: try columns[Self.aggregateColumnCount + 3].decode(Int.self, context: .default))
            let message: String
            if let wait = waiting[job.id] {
                // As the pass read it, or left alone.
                guard aggregate.state.status == wait.job.state.status, aggregate.state.secondaryStatus == wait.job.state.secondaryStatus else { continue }
                message = wait.message
            } else {
                guard aggregate.state.status == .inProgress, Self.unannounced.contains(aggregate.state.secondaryStatus),
                    case .wait(let decided) = scheduler.decide(gang)
                else { continue }
                message = decided
            }
            let input = LifecycleInput.capacityDenied(message: message)
            let effects = aggregate.handle(input, now: now)
            told.append((queued, JobOutcome(job: job, input: input, effects: effects, state: aggregate.state)))
        }
        guard !told.isEmpty else { return }
        try await connection.query("SAVEPOINT scheduling_waits", logger: logger)
        do {
            try await persist(batch: told.map(\.outcome), on: connection, now: now)
            try await connection.query("RELEASE SAVEPOINT scheduling_waits", logger: logger)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A broken connection cannot roll back: the pass ends with the original error.
            try await connection.query("ROLLBACK TO SAVEPOINT scheduling_waits", logger: logger)
            try await connection.query("RELEASE SAVEPOINT scheduling_waits", logger: logger)
            logger.warning(
                "telling the queue that it waits failed as one batch; telling each job alone",
                metadata: ["jobs": "\(told.count)", "error": "\(LoggedError.describe(error))"])
            for (job, outcome) in told {
                guard case .capacityDenied(let message) = outcome.input else { continue }
                try await isolated(on: connection, job: job, attempt: { nil }, now: now) {
                    try await markPending(on: connection, job: job, message: message, now: now)
                }
            }
        }
    }

    /// The queued jobs not yet told that they wait (jobs_unannounced_by_pool's predicate).
    static let unannouncedPredicate = "status = 'InProgress' AND secondary_status IN ('Starting', 'Restarting', 'Interrupted')"
    static let unannounced: Set<SecondaryStatus> = [.starting, .restarting, .interrupted]

    /// Runs one job's part of a scheduling pass under a savepoint, so that a job the database refuses (a constraint,
    /// a value it cannot store) fails alone: its changes are rolled back, the failure is logged with the job, the
    /// attempt and the database's own message, the job gets a `scheduling_failed` event (once per run of failures,
    /// without the database's words), and the pass goes on with the other jobs. The next pass tries the job again.
    /// Answers the body's result, or nil when it failed.
    private func isolated<Result>(
        on connection: PostgresConnection, job: QueuedJob, attempt: () -> Int?, now: Date, _ body: () async throws -> Result
    ) async throws -> Result? {
        try await connection.query("SAVEPOINT scheduling_job", logger: logger)
        do {
            let result = try await body()
            try await connection.query("RELEASE SAVEPOINT scheduling_job", logger: logger)
            return result
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // A broken connection cannot roll back: the pass ends with the original error.
            do {
                try await connection.query("ROLLBACK TO SAVEPOINT scheduling_job", logger: logger)
                try await connection.query("RELEASE SAVEPOINT scheduling_job", logger: logger)
            } catch let rollbackError {
                logger.error("rolling back a job's scheduling step failed", metadata: ["job": "\(job.name)", "error": "\(LoggedError.describe(rollbackError))"])
                throw error
            }
            var metadata: Logger.Metadata = ["job": "\(job.name)", "job_id": "\(job.id)", "error": "\(LoggedError.describe(error))"]
            if let number = attempt() { metadata["attempt"] = "\(number)" }
            logger.error("scheduling a job failed; the pass goes on with the others", metadata: metadata)
            try await recordSchedulingFailure(on: connection, job: job, now: now)
            return nil
        }
    }

    /// Appends a `scheduling_failed` event unless the job's newest event already is one.
    private func recordSchedulingFailure(on connection: PostgresConnection, job: QueuedJob, now: Date) async throws {
        for try await type in try await connection.query(
            "SELECT type FROM job_events WHERE job_id = \(job.id) ORDER BY id DESC LIMIT 1", logger: logger
        ).decode(String.self) where type == JobEventType.schedulingFailed.rawValue {
            return
        }
        try await appendEvent(
            on: connection, jobID: job.id, time: now, type: .schedulingFailed, status: nil, secondaryStatus: nil,
            message: StoreWording.schedulingFailed)
    }

    /// A warm pool kept by job `jobID` (named `jobName`), with what a job must share with it to take it over.
    struct KeptWarmPool {
        var jobID: Int64
        var jobName: String
        var match: WarmPoolMatch
    }

    /// Ends the available warm pools whose keep-alive period is over at `now` (as they were at their expiry) and
    /// answers the others, oldest first.
    private func availableWarmPools(on connection: PostgresConnection, now: Date) async throws -> [KeptWarmPool] {
        var pools: [KeptWarmPool] = []
        for try await (id, name, projectID, type, count, spot, volume) in try await connection.query(
            """
            WITH expired AS (
                UPDATE jobs SET warm_pool_status = 'Terminated', warm_pool_released_at = warm_pool_expires_at
                WHERE warm_pool_status = 'Available' AND warm_pool_expires_at <= \(now)
                RETURNING id
            )
            SELECT id, name, project_id, instance_type, instance_count, use_spot, (spec->>'volume_size')::int FROM jobs
            WHERE warm_pool_status = 'Available' AND id NOT IN (SELECT id FROM expired)
            ORDER BY warm_pool_retained_at, id
            """, logger: logger
        ).decode((Int64, String, Int64, String, Int, Bool, Int?).self) {
            pools.append(KeptWarmPool(
                jobID: id, jobName: name,
                match: WarmPoolMatch(projectID: projectID, instanceType: type, instanceCount: count, spot: spot, volumeSize: volume)))
        }
        return pools
    }

    /// Gives `kept` to the first queued job of its project that matches it (priority, then submission order): a new
    /// attempt on the pool's hosts, the pool `Reused` by it and the job's own `InUse`, an event on both. Answers the
    /// gang to start; nil when no job matches, or the pool or the job is no longer as read.
    private func reuse(
        _ kept: KeptWarmPool, on connection: PostgresConnection, provisioner: String, leaseSeconds: Double, now: Date
    ) async throws -> LaunchPlan? {
        var taker: QueuedJob?
        for try await row in try await connection.query(
            """
            SELECT j.id, j.name, j.status, j.secondary_status, j.failure_reason, j.interruptions, j.priority,
                   coalesce((j.spec->>'keep_alive_period')::int, 0), (j.spec->>'volume_size')::int
            FROM jobs j
            WHERE \(unescaped: Self.queuedPredicate) AND j.instance_type = \(kept.match.instanceType) AND j.use_spot = \(kept.match.spot)
              AND j.project_id = \(kept.match.projectID) AND j.instance_count = \(kept.match.instanceCount)
              -- What Core's WarmPoolMatch asks besides, so that the first match is found however many jobs come before it.
              AND coalesce((j.spec->>'keep_alive_period')::int, 0) > 0
              AND (j.spec->>'volume_size')::int IS NOT DISTINCT FROM \(kept.match.volumeSize)
              AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = j.id AND a.state <> 'ended')
            ORDER BY j.priority DESC, j.id
            LIMIT 1
            """, logger: logger
        ).decode((Int64, String, String, String, String?, Int, Int, Int, Int?).self) {
            let (id, name, status, secondary, failure, interruptions, priority, keepAlive, volume) = row
            guard
                WarmPoolMatch(
                    projectID: kept.match.projectID, instanceType: kept.match.instanceType, instanceCount: kept.match.instanceCount,
                    spot: kept.match.spot, volumeSize: volume, keepAlivePeriod: keepAlive) == kept.match
            else { continue }
            guard let status = JobStatus(rawValue: status), let secondary = SecondaryStatus(rawValue: secondary) else {
                throw StoreError.corruptSpec(job: name)
            }
            taker = QueuedJob(
                id: id, name: name,
                state: JobState(status: status, secondaryStatus: secondary, failureReason: failure, interruptions: interruptions),
                gang: GangScheduler.Gang(instanceType: kept.match.instanceType, count: kept.match.instanceCount, spot: kept.match.spot),
                priority: priority)
        }
        guard let job = taker else { return nil }
        var attempt: Int?
        let plan = try await isolated(on: connection, job: job, attempt: { attempt }, now: now) { () -> LaunchPlan? in
            // The pool's row first, then the job's: one lock order for every pass.
            var stillKept = false
            for try await _ in try await connection.query(
                "SELECT 1 FROM jobs WHERE id = \(kept.jobID) AND warm_pool_status = 'Available' FOR UPDATE SKIP LOCKED", logger: logger
            ).decode(Int.self) {
                stillKept = true
            }
            guard stillKept, let projectName = try await lockStillQueued(on: connection, job: job) else { return nil }
            let plan = try await allocate(
                on: connection, job: job, projectName: projectName, provisioner: provisioner, leaseSeconds: leaseSeconds, now: now,
                attempt: &attempt)
            try await connection.query(
                """
                UPDATE jobs SET warm_pool_status = 'Reused', warm_pool_released_at = \(now), warm_pool_reused_by = \(job.name)
                WHERE id = \(kept.jobID)
                """, logger: logger)
            try await connection.query(
                """
                UPDATE jobs SET warm_pool_status = 'InUse', warm_pool_retained_at = NULL, warm_pool_expires_at = NULL,
                    warm_pool_released_at = NULL, warm_pool_reused_by = NULL
                WHERE id = \(job.id)
                """, logger: logger)
            try await appendEvent(
                on: connection, jobID: kept.jobID, time: now, type: .warmPoolReused, status: nil, secondaryStatus: nil,
                message: StoreWording.warmPoolTakenOver(by: job.name))
            try await appendEvent(
                on: connection, jobID: job.id, time: now, type: .warmPoolReused, status: nil, secondaryStatus: nil,
                message: StoreWording.warmPoolTaken(from: kept.jobName, hosts: kept.match.instanceCount, instanceType: kept.match.instanceType))
            return plan
        }
        return plan ?? nil
    }

    /// The jobs in the scheduler's queue (jobs_queue_by_pool's predicate).
    static let queuedPredicate = "status = 'InProgress' AND secondary_status IN ('Starting', 'Pending', 'Restarting', 'Interrupted')"

    /// Locks a job the pass is about to change, when no one else holds it, and checks it is still as the queue
    /// listing read it: the listing itself locks nothing (locking a whole page of a long queue on every pass cost more
    /// than the pass), so a job stopped meanwhile is seen here and left alone. Answers the job's project's name when the
    /// job is still queued as read, else nil.
    private func lockStillQueued(on connection: PostgresConnection, job: QueuedJob) async throws -> String? {
        for try await (status, secondary, projectName) in try await connection.query(
            """
            SELECT j.status, j.secondary_status, p.name FROM jobs j JOIN projects p ON p.id = j.project_id
            WHERE j.id = \(job.id) FOR UPDATE OF j SKIP LOCKED
            """, logger: logger
        ).decode((String, String, String).self) {
            return status == job.state.status.rawValue && secondary == job.state.secondaryStatus.rawValue ? projectName : nil
        }
        return nil
    }

    private func markPending(on connection: PostgresConnection, job: QueuedJob, message: String, now: Date) async throws {
        try await run(.capacityDenied(message: message), jobID: job.id, attemptID: nil, on: connection, now: now)
    }

    private func allocate(
        on connection: PostgresConnection, job: QueuedJob, projectName: String, provisioner: String, leaseSeconds: Double, now: Date,
        attempt: inout Int?
    ) async throws -> LaunchPlan {
        var number = 1
        for try await last in try await connection.query("SELECT coalesce(max(number), 0) FROM attempts WHERE job_id = \(job.id)", logger: logger)
            .decode(Int.self)
        {
            number = last + 1
        }
        attempt = number
        var attemptID: Int64 = 0
        for try await id in try await connection.query(
            "INSERT INTO attempts (job_id, number, started_at, provisioner) VALUES (\(job.id), \(number), \(now), \(provisioner)) RETURNING id",
            logger: logger
        ).decode(Int64.self) {
            attemptID = id
        }
        var hosts: [HostLaunch] = []
        let lease = now.addingTimeInterval(leaseSeconds)
        for ordinal in 1...job.gang.count {
            let name = HostID.hostName(ordinal: ordinal)
            // Unique across projects: job names are unique per project only.
            let id = HostID.make(jobID: job.id, jobName: job.name, attempt: number, ordinal: ordinal)
            let (token, key) = APIKey.generate(role: .viewer)
            try await connection.query(
                """
                INSERT INTO hosts (id, attempt_id, job_id, name, ordinal, instance_type, spot, phase, token_hash, lease_expires_at, started_at)
                VALUES (\(id), \(attemptID), \(job.id), \(name), \(ordinal), \(job.gang.instanceType), \(job.gang.spot),
                        'launching', \(key.secretHash), \(lease), \(now))
                """, logger: logger)
            hosts.append(HostLaunch(id: id, name: name, token: "\(id).\(token.secret)"))
        }
        let effects = try await run(.capacityGranted, jobID: job.id, attemptID: attemptID, on: connection, now: now)?.effects ?? []
        // The scheduler allocates only what the job can take: a refusal rolls the job's step back (`isolated`).
        if let refusal = effects.lazy.compactMap(\.refusal).first { throw StoreError.transitionRefused(refusal) }
        // The queue reads only the spec's shape; the volume size is read for the jobs that start.
        var volumeSize: Int?
        for try await size in try await connection.query("SELECT (spec->>'volume_size')::int FROM jobs WHERE id = \(job.id)", logger: logger)
            .decode(Int?.self)
        {
            volumeSize = size
        }
        return LaunchPlan(
            jobID: job.id, jobName: job.name, projectName: projectName, attemptID: attemptID, attemptNumber: number,
            instanceType: job.gang.instanceType, spot: job.gang.spot, hosts: hosts, volumeSize: volumeSize)
    }
}

/// What a scheduling pass reads of each waiting job: what the scheduler decides on and what the job's state machine
/// needs. Reading whole records (their project's name, timestamps and artifacts) for every job of a long queue was most
/// of a pass's cost; the few jobs the pass changes have their project's name read as they are locked.
struct QueuedJob {
    var id: Int64
    var name: String
    var state: JobState
    var gang: GangScheduler.Gang
    var priority: Int
}
