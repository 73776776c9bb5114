-- 0021_engine_wake_url.sql: where an engine sends wa-akg-hooks its cue.
--
-- Besides its event socket (event_url: every event, for any subscriber),
-- an engine listens on a second nng PUB socket that carries one short
-- message per loop round in which it published events with an outbox row
-- (engine/events.h). wa-akg-hooks subscribes there: it only needs to know
-- when to read events_outbox, and on the event socket every event would
-- cross to it. NULL: the engine has none (an older engine, or one whose
-- wake-up socket could not listen); wa-akg-hooks then takes event_url.
-- Idempotent: ADD COLUMN IF NOT EXISTS only.

SET NAMES utf8mb4;

ALTER TABLE engines ADD COLUMN IF NOT EXISTS wake_url VARCHAR(255) NULL AFTER event_url;
