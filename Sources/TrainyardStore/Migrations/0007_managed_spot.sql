-- Managed spot and fault tolerance: interruptions, capacity set at run time, checkpoint sync times.

-- How many attempts of the job ended by a spot interruption: a job Pending after one restarts from its checkpoint.
ALTER TABLE jobs ADD COLUMN interruptions integer NOT NULL DEFAULT 0;

-- The host that was reclaimed (its attempt's stop_reason is then 'interruption'), and when its last checkpoint sync
-- completed (its manifest was written).
ALTER TABLE hosts ADD COLUMN interrupted boolean NOT NULL DEFAULT false;
ALTER TABLE hosts ADD COLUMN checkpoint_synced_at timestamptz;

-- Capacity set through PUT /v1/admin/capacity, over the capacity file's: shared by every replica. NULL keeps the
-- file's figure for that market.
CREATE TABLE capacity_overrides (
    instance_type text PRIMARY KEY,
    on_demand     integer CHECK (on_demand >= 0),
    spot          integer CHECK (spot >= 0),
    updated_at    timestamptz NOT NULL
);

-- The max_wait check looks at spot jobs still in progress.
CREATE INDEX jobs_spot_in_progress ON jobs (id) WHERE status = 'InProgress' AND use_spot;

-- An interrupted job waits in the scheduler's queue for its next attempt too.
DROP INDEX jobs_queue;
CREATE INDEX jobs_queue ON jobs (priority DESC, id)
    WHERE status = 'InProgress' AND secondary_status IN ('Starting', 'Pending', 'Restarting', 'Interrupted');
