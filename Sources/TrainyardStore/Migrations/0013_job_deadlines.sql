-- Deadlines are Core's (JobLimits): `deadline_at` is when max_run or max_wait may have passed, kept by the lifecycle's
-- effects and found by its index; `trained_seconds` is the training time of a job's ended attempts (max_run counts it).
ALTER TABLE jobs ADD COLUMN trained_seconds double precision NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN deadline_at timestamptz;

-- Rows written before: the same arithmetic as JobLimits, once.
UPDATE jobs j SET trained_seconds = coalesce((
    SELECT sum(extract(epoch FROM a.ended_at - a.training_started_at)) FROM attempts a
    WHERE a.job_id = j.id AND a.state = 'ended' AND a.training_started_at IS NOT NULL), 0);
UPDATE jobs j SET deadline_at = (
    SELECT min(d) FROM (
        SELECT a.training_started_at + make_interval(secs => (j.spec->>'max_run')::double precision - j.trained_seconds) AS d
        FROM attempts a WHERE a.job_id = j.id AND a.state <> 'ended' AND a.training_started_at IS NOT NULL
        UNION ALL
        SELECT j.created_at WHERE j.trained_seconds > (j.spec->>'max_run')::double precision
        UNION ALL
        SELECT j.created_at + make_interval(secs => (j.spec->>'max_wait')::double precision) WHERE j.use_spot AND j.spec ? 'max_wait'
    ) deadlines)
WHERE j.status = 'InProgress';

CREATE INDEX jobs_deadline ON jobs (deadline_at) WHERE deadline_at IS NOT NULL;
