-- Attempts and worker hosts: what the scheduler allocated, what each agent reported.

-- One attempt is one gang of hosts running the job; a retry or a restart after an interruption is a new attempt.
CREATE TABLE attempts (
    id                 bigserial PRIMARY KEY,
    job_id             bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    number             integer NOT NULL,
    -- running: hosts are live; ending: every host is done and the outputs wait to be merged; ended: accounted for.
    state              text NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'ending', 'ended')),
    started_at         timestamptz NOT NULL,
    -- When every host of the gang was running the user's command; training time is counted from here.
    training_started_at timestamptz,
    ended_at           timestamptz,
    end_reason         text,
    -- Why the gang is being stopped: user (StopTrainingJob), max_runtime, gang_failure.
    stop_reason        text,
    stop_requested_at  timestamptz,
    stop_grace_seconds double precision,
    -- A finalizer holds the attempt while it merges outputs; another replica takes over once this expires.
    finalizer_until    timestamptz,
    provisioner        text NOT NULL,
    UNIQUE (job_id, number)
);
CREATE INDEX attempts_open ON attempts (state) WHERE state <> 'ended';

CREATE TABLE hosts (
    id               text PRIMARY KEY,
    attempt_id       bigint NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
    job_id           bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    name             text NOT NULL,
    ordinal          integer NOT NULL,
    instance_type    text NOT NULL,
    spot             boolean NOT NULL,
    phase            text NOT NULL,
    -- Only a hash of the agent's attempt-scoped token is kept.
    token_hash       text NOT NULL,
    lease_expires_at timestamptz NOT NULL,
    last_seen_at     timestamptz,
    exit_code        integer,
    signal           integer,
    failure_reason   text,
    stopped          boolean NOT NULL DEFAULT false,
    model_archive    text,
    output_archive   text,
    -- Provisioner bookkeeping (the local provisioner's process id, Slurm's job id and node).
    provisioner_ref  text,
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz,
    UNIQUE (attempt_id, name)
);
-- Capacity counts and the lease reaper scan only live hosts.
CREATE INDEX hosts_live ON hosts (instance_type, spot) WHERE phase NOT IN ('exited', 'lost');
CREATE INDEX hosts_by_attempt ON hosts (attempt_id, ordinal);

ALTER TABLE jobs ADD COLUMN retries_used integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN model_artifacts text;
ALTER TABLE jobs ADD COLUMN billable_seconds double precision NOT NULL DEFAULT 0;
-- The scheduler's queue: jobs waiting for hosts, in priority then submission order.
CREATE INDEX jobs_queue ON jobs (priority DESC, id) WHERE status = 'InProgress' AND secondary_status IN ('Starting', 'Pending');
