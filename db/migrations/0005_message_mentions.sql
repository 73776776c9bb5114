-- 0005_message_mentions.sql: the JIDs a message mentions (WhatsApp's
-- contextInfo.mentionedJid), as a JSON array of user JIDs; NULL when it
-- mentions nobody. Written by the engine with the message (sent through
-- the API with "mentions", or received); read by the chat and message
-- routes and the message events.
-- Idempotent: ADD COLUMN IF NOT EXISTS only (see docs/database.md rules).

SET NAMES utf8mb4;

ALTER TABLE messages ADD COLUMN IF NOT EXISTS mentions TEXT NULL AFTER quoted_id;
