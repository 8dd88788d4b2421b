-- A slot search's first look at a practice reads all its schedules that have
-- not ended into the reference cache (store.loadPracticeRefs).
CREATE INDEX schedules_practice_end ON schedules (practice_id, end_at);
