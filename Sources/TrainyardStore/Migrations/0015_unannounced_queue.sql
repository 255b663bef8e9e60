-- The jobs of the queue not yet told that they wait (queued, never Pending since), by pool in the queue's order. A
-- scheduling pass reads each pool's first jobs through jobs_queue_by_pool and decides them; behind a pool whose first
-- jobs wait, it tells the rest of the pool's queue that it waits too, found here without reading the jobs told already.
CREATE INDEX jobs_unannounced_by_pool ON jobs (instance_type, use_spot, priority DESC, id)
    WHERE status = 'InProgress' AND secondary_status IN ('Starting', 'Restarting', 'Interrupted');
