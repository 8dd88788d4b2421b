-- A slot blocked on its own (admin "slot block"), apart from its session's
-- block: unblocking the session leaves such a slot blocked.
ALTER TABLE slots ADD COLUMN own_block INTEGER NOT NULL DEFAULT 0;
-- Slots blocked before this column existed were blocked on their own unless
-- their session is blocked or cancelled (then the session's block covers them).
UPDATE slots SET own_block = 1 WHERE status = 'busy-unavailable'
  AND schedule_id IN (SELECT id FROM schedules WHERE blocked = 0 AND status = 'active');
