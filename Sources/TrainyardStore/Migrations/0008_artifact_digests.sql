-- model.tar.gz and output.tar.gz as the finalizer uploaded them: size in bytes and SHA-256 (hex) of the merged archive,
-- computed while it was written, so a user can check what they download against the description.
ALTER TABLE jobs ADD COLUMN model_size_bytes bigint;
ALTER TABLE jobs ADD COLUMN model_sha256 text;
ALTER TABLE jobs ADD COLUMN output_artifacts text;
ALTER TABLE jobs ADD COLUMN output_size_bytes bigint;
ALTER TABLE jobs ADD COLUMN output_sha256 text;
