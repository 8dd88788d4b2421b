-- The slot search reads a practice's free slots in (start, id) order. This
-- index returns them in that order and holds every column the search reads,
-- so SQLite answers from the index without a table lookup per slot.
CREATE INDEX slots_free_search ON slots (practice_id, start_at, id, end_at, schedule_id, channel, service_type, access_profile_id, version)
    WHERE status = 'free';
