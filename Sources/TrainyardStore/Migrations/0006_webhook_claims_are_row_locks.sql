-- A sender claims deliveries with row locks held by the transaction that sends and records them (FOR UPDATE SKIP
-- LOCKED), not with a lease column: writing the lease cost a new version of every delivery, and its index entries,
-- before it was even sent.
ALTER TABLE webhook_deliveries DROP COLUMN locked_until;
