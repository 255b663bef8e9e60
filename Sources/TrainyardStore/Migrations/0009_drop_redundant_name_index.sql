-- jobs_by_name (project_id, name, id) repeated the unique (project_id, name) index, and every submitted job paid for an
-- entry in both. A name is unique in its project, so it is its own tie-break: a page by name is read in the unique
-- index's order and continues after the last name (PostgresStore.listJobs).
DROP INDEX IF EXISTS jobs_by_name;
