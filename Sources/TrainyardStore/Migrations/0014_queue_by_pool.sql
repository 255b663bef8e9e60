-- The scheduler reads the queue pool by pool (instance type and market): each pool's first jobs in priority then
-- submission order, the pools found by a skip over this index. Read as one queue, the first 100 jobs of a full pool
-- hid every job behind them, however free the other pools were.
CREATE INDEX jobs_queue_by_pool ON jobs (instance_type, use_spot, priority DESC, id)
    WHERE status = 'InProgress' AND secondary_status IN ('Starting', 'Pending', 'Restarting', 'Interrupted');
DROP INDEX jobs_queue;

-- max_run and max_wait are found through jobs_deadline (0013) now, not by scanning these.
DROP INDEX jobs_trained_in_progress;
DROP INDEX jobs_spot_in_progress;
