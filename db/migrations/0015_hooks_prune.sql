-- 0015_hooks_prune.sql: wa-akg-hooks deletes published outbox events older
-- than hooks.keep_days, but never one that a delivery still waits for (a
-- paused webhook's events stay until it is resumed or removed). That check
-- is a lookup of the event's PENDING deliveries, by this index.
ALTER TABLE webhook_deliveries ADD INDEX IF NOT EXISTS ix_webhook_deliveries_outbox_state (outbox_id, state);
