-- The log lines a host's agent dropped (its spool at its cap, or its disk full), as the agent last reported them
-- (LogSpoolDrops in Core, as JSON): a report whose totals are higher adds the difference to the job's events.
ALTER TABLE hosts ADD COLUMN log_drops jsonb;
