-- A sender claims deliveries with a lease (claimed_until) written in a short transaction of its own, sends them with
-- no transaction or connection held, and records the tries in another: a claim held as a row lock kept a transaction
-- open across every HTTP round trip of the batch, so one slow receiver held back vacuum and the other claimers. A
-- crashed sender's deliveries are claimed again once the lease has passed (at least once; same ids). Not indexed, so
-- that writing it can stay a HOT update.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until timestamptz;
