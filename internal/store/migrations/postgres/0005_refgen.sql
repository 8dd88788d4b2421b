-- The slot search keeps the schedules, locations and practitioners it shows
-- in memory. ref_generations tells it when that copy is stale: every change
-- to a practice's schedules bumps the practice's row, and every change to a
-- location or practitioner bumps row 0 (they may appear in any practice's
-- bundle). The search reads the sum of its practice's row and row 0 with the
-- access profiles, so a change made by any writer, on any instance, is seen
-- by the next search. The triggers are per statement, so a bulk insert of
-- thousands of sessions bumps each practice once, not once per row.
CREATE TABLE ref_generations (
    practice_id BIGINT PRIMARY KEY,
    gen BIGINT NOT NULL
);

CREATE FUNCTION ref_generations_bump_schedules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ref_generations (practice_id, gen) SELECT DISTINCT practice_id, 1 FROM new_rows ORDER BY 1
            ON CONFLICT (practice_id) DO UPDATE SET gen = ref_generations.gen + 1;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO ref_generations (practice_id, gen)
            SELECT practice_id, 1 FROM (SELECT practice_id FROM new_rows UNION SELECT practice_id FROM old_rows) u ORDER BY 1
            ON CONFLICT (practice_id) DO UPDATE SET gen = ref_generations.gen + 1;
    ELSE
        INSERT INTO ref_generations (practice_id, gen) SELECT DISTINCT practice_id, 1 FROM old_rows ORDER BY 1
            ON CONFLICT (practice_id) DO UPDATE SET gen = ref_generations.gen + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER schedules_refgen_insert AFTER INSERT ON schedules REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_schedules();
CREATE TRIGGER schedules_refgen_update AFTER UPDATE ON schedules REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_schedules();
CREATE TRIGGER schedules_refgen_delete AFTER DELETE ON schedules REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_schedules();

CREATE FUNCTION ref_generations_bump_shared() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (0, 1)
        ON CONFLICT (practice_id) DO UPDATE SET gen = ref_generations.gen + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER locations_refgen AFTER INSERT OR UPDATE OR DELETE ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
CREATE TRIGGER practitioners_refgen AFTER INSERT OR UPDATE OR DELETE ON practitioners
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
