-- Locations an operator grants a project's jobs beyond the project's own prefix of the default bucket: S3 prefixes and
-- file:// roots, read-only or read-write (ProjectLocations in Core decides with them; PUT /v1/projects/{name}/locations
-- replaces a project's list).
CREATE TABLE project_locations (
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    uri        text   NOT NULL,
    access     text   NOT NULL CHECK (access IN ('read', 'read_write')),
    PRIMARY KEY (project_id, uri)
);
