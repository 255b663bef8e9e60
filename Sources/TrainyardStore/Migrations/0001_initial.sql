-- Projects, API keys, jobs and job events: the service foundation.

CREATE TABLE projects (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Only a salted hash of each key's secret is stored ("v1$<salt>$<hmac>").
CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    name         text,
    secret_hash  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);
CREATE INDEX api_keys_project ON api_keys (project_id, created_at);

-- One row per training job. The spec is kept whole as JSONB (what the user asked for, defaults filled); the columns
-- beside it are what lists filter and sort on and what the state machine changes.
CREATE TABLE jobs (
    id                  bigserial PRIMARY KEY,
    project_id          bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name                text NOT NULL,
    spec                jsonb NOT NULL,
    status              text NOT NULL,
    secondary_status    text NOT NULL,
    failure_reason      text,
    instance_type       text NOT NULL,
    instance_count      integer NOT NULL,
    use_spot            boolean NOT NULL,
    priority            integer NOT NULL DEFAULT 0,
    idempotency_key     text,
    request_hash        text,
    created_at          timestamptz NOT NULL,
    last_modified_at    timestamptz NOT NULL,
    training_start_time timestamptz,
    training_end_time   timestamptz,
    UNIQUE (project_id, name)
);
-- Keyset pagination: every sort order ends on id so that a page boundary is exact.
CREATE INDEX jobs_by_creation ON jobs (project_id, created_at, id);
CREATE INDEX jobs_by_name ON jobs (project_id, name, id);
CREATE INDEX jobs_by_status ON jobs (project_id, status, created_at, id);
CREATE UNIQUE INDEX jobs_idempotency ON jobs (project_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Every status transition and notable event of a job, in order (id is the order).
CREATE TABLE job_events (
    id               bigserial PRIMARY KEY,
    job_id           bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    time             timestamptz NOT NULL,
    type             text NOT NULL,
    status           text,
    secondary_status text,
    message          text NOT NULL
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);
