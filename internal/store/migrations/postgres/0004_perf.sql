-- The slot search reads a practice's free slots in (start, id) order. This
-- index returns them in that order (no sort) and carries every column the
-- search reads, so the query can be answered from the index alone.
CREATE INDEX slots_free_search ON slots (practice_id, start_at, id)
    INCLUDE (end_at, schedule_id, channel, service_type, access_profile_id, version) WHERE status = 'free';
