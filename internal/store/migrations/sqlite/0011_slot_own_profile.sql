-- A slot's access profile is its session's, and follows the session's
-- profile changes, unless the practice gave the slot one of its own (admin
-- "slot profile"), which stays. A booked slot keeps the profile it was
-- booked under through a session change; own_profile tells a cancel whether
-- the freed slot goes back to its session's current profile (so that
-- profile's cap covers it) or keeps one the practice chose for it.
ALTER TABLE slots ADD COLUMN own_profile INTEGER NOT NULL DEFAULT 0;
-- A slot whose profile is not its session's was given it by the practice,
-- unless the admin audit shows its session's profile changed after the last
-- time the slot's own was set (or it never was): then the slot kept the
-- session's old profile while booked. A difference no admin change explains
-- (made in SQL, say) is kept as the slot's own.
UPDATE slots SET own_profile = 1
  WHERE access_profile_id <> (SELECT sc.access_profile_id FROM schedules sc WHERE sc.id = slots.schedule_id)
  AND NOT EXISTS (SELECT 1 FROM admin_audit a WHERE a.practice_id = slots.practice_id AND a.action = 'session.profile'
    AND a.target = 'session/' || slots.schedule_id
    AND a.id > COALESCE((SELECT MAX(b.id) FROM admin_audit b WHERE b.practice_id = slots.practice_id AND b.action = 'slot.profile'
      AND b.target = 'slot/' || slots.id), 0));
