-- Log lines and metric points of jobs.

-- One row per line a worker host printed. Layout chosen for millions of lines:
-- * The primary key (job_id, id) is the only index: every read is "this job's lines after id X" (pages, SSE follow,
--   Last-Event-ID), an index range scan; a host filter is applied on that range (jobs have few hosts). A second index
--   (by host, by time) would double the write cost of the hottest table for rare queries.
-- * id comes from one sequence; ingest takes a per-job advisory lock, so a job's ids are committed in id order and a
--   follower reading "id > last seen" never skips a line committed late.
-- * Idempotent ingest needs no unique index either: each host keeps the highest sequence number it has stored
--   (hosts.log_seq) and a batch stores only records above it, under that same lock.
-- * No foreign key to jobs: its check would cost an index probe per line; retention deletes a job's lines itself.
-- * Rows are only ever appended, then deleted by job (retention), so the heap stays dense; fillfactor is left at 100.
CREATE TABLE log_lines (
    job_id   bigint NOT NULL,
    id       bigint GENERATED ALWAYS AS IDENTITY,
    attempt  integer NOT NULL,
    host     text NOT NULL,
    time     timestamptz NOT NULL,
    message  text NOT NULL,
    PRIMARY KEY (job_id, id)
);

ALTER TABLE hosts ADD COLUMN log_seq bigint NOT NULL DEFAULT 0;

-- Metric points: `definition` ones extracted from log lines with the job's metric_definitions, `system` ones sampled
-- by the agent (CPUUtilization, MemoryUtilization, GPUUtilization, GPUMemoryUtilization). The key makes a re-sent
-- point (a retried heartbeat or batch) a no-op; the agent stamps each line of a host with a distinct microsecond.
CREATE TABLE metric_points (
    job_id  bigint NOT NULL,
    name    text NOT NULL,
    host    text NOT NULL,
    kind    text NOT NULL CHECK (kind IN ('definition', 'system')),
    time    timestamptz NOT NULL,
    value   double precision NOT NULL,
    PRIMARY KEY (job_id, name, host, time)
);

-- Retention: when an ended job's lines and points were deleted.
ALTER TABLE jobs ADD COLUMN logs_deleted_at timestamptz;
