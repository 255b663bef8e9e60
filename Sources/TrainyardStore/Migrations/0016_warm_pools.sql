-- A job's warm pool (SageMaker managed warm pools): after a job with keep_alive_period > 0 ends, its hosts stay kept
-- for the next matching job of its project until warm_pool_expires_at. Core's WarmPool decides each change; these
-- columns hold it. The scheduling pass finds the available pools, few at any time, through the partial index.
ALTER TABLE jobs
    ADD COLUMN warm_pool_status text CHECK (warm_pool_status IN ('Available', 'InUse', 'Reused', 'Terminated')),
    ADD COLUMN warm_pool_retained_at timestamptz,
    ADD COLUMN warm_pool_expires_at timestamptz,
    ADD COLUMN warm_pool_released_at timestamptz,
    ADD COLUMN warm_pool_reused_by text;
CREATE INDEX jobs_available_warm_pools ON jobs (warm_pool_expires_at) WHERE warm_pool_status = 'Available';
