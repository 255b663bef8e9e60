-- Indexes for the controllers' every-second queries, so that their cost follows the work at hand, not the number of
-- queued jobs.

-- The scheduler's queue holds Restarting jobs too (a retry waits there for its next attempt); 0002's partial index
-- left them out, so the scheduler's query (secondary status Starting, Pending or Restarting) could not use it and read
-- every InProgress job on every pass.
DROP INDEX jobs_queue;
CREATE INDEX jobs_queue ON jobs (priority DESC, id) WHERE status = 'InProgress' AND secondary_status IN ('Starting', 'Pending', 'Restarting');

-- The max_run check looks at jobs that have trained; without this it read every InProgress job (the queue included)
-- every second.
CREATE INDEX jobs_trained_in_progress ON jobs (id) WHERE status = 'InProgress' AND training_start_time IS NOT NULL;
