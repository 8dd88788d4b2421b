-- A slot blocked on its own (admin "slot block"), apart from its session's
-- block: unblocking the session leaves such a slot blocked.
ALTER TABLE slots ADD COLUMN own_block BOOLEAN NOT NULL DEFAULT FALSE;
-- Slots blocked before this column existed were blocked on their own unless
-- their session is blocked or cancelled (then the session's block covers them).
UPDATE slots SET own_block = TRUE WHERE status = 'busy-unavailable'
  AND schedule_id IN (SELECT id FROM schedules WHERE blocked = FALSE AND status = 'active');
