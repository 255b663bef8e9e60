-- Webhooks: subscriptions, the transactional outbox of deliveries, and every try.

CREATE TABLE webhook_subscriptions (
    id              text PRIMARY KEY,
    project_id      bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url             text NOT NULL,
    -- Event types, or '*' for all.
    events          text[] NOT NULL,
    -- whsec_<base64 key>; it signs, so it is kept (encrypting it at rest is left to the database's storage).
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- Set at the first failed try after a success; a subscription failing for TRAINYARD_WEBHOOK_DISABLE_AFTER is
    -- disabled (no more deliveries are sent until it is enabled again).
    failing_since   timestamptz,
    disabled_at     timestamptz,
    disabled_reason text
);
CREATE INDEX webhook_subscriptions_project ON webhook_subscriptions (project_id, created_at);

-- One row per (subscription, event): written in the same transaction as the job change it announces. The id is the
-- `webhook-id` header, the same on every try; seq orders one job's deliveries to one subscription, which are sent one
-- at a time in that order.
CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    subscription_id text NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    job_id          bigint NOT NULL,
    job_name        text NOT NULL,
    event_type      text NOT NULL,
    -- The exact body sent on every try.
    payload         text NOT NULL,
    created_at      timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    tries           integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    -- A sender holds a claimed delivery until then; another replica takes it over once this passed.
    locked_until    timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries (subscription_id, job_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (subscription_id, seq DESC);

CREATE TABLE webhook_attempts (
    delivery_id      text NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    time             timestamptz NOT NULL,
    status_code      integer,
    latency_ms       integer NOT NULL,
    response_excerpt text,
    error            text
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, time);
