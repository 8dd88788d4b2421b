-- The slot search keeps in memory the access profiles it applies and the
-- schedules, locations and practitioners it shows. ref_generations tells it
-- when that copy is stale. Every change to a practice's schedules bumps the
-- practice's refs counter; every change to a location or practitioner bumps
-- row 0's (they may appear in any practice's bundle); every change to a
-- practice's access profiles, including the booked counter of a capped
-- profile, bumps the practice's profiles counter. The search reads the
-- counters with its slots, so a change made by any writer, on any instance or
-- from the CLI, is seen by the next search. The triggers are per statement,
-- so a bulk insert of thousands of sessions bumps each practice once.
CREATE TABLE ref_generations (
    practice_id BIGINT PRIMARY KEY,
    refs BIGINT NOT NULL DEFAULT 0,
    profiles BIGINT NOT NULL DEFAULT 0
);

-- ref_generations_bump bumps the counter named by the trigger's argument
-- for every practice in the statement's transition tables.
CREATE FUNCTION ref_generations_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT practice_id ORDER BY practice_id) INTO ids FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT practice_id ORDER BY practice_id) INTO ids
            FROM (SELECT practice_id FROM new_rows UNION ALL SELECT practice_id FROM old_rows) u;
    ELSE
        SELECT array_agg(DISTINCT practice_id ORDER BY practice_id) INTO ids FROM old_rows;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    IF TG_ARGV[0] = 'profiles' THEN
        INSERT INTO ref_generations (practice_id, profiles) SELECT unnest(ids), 1
            ON CONFLICT (practice_id) DO UPDATE SET profiles = ref_generations.profiles + 1;
    ELSE
        INSERT INTO ref_generations (practice_id, refs) SELECT unnest(ids), 1
            ON CONFLICT (practice_id) DO UPDATE SET refs = ref_generations.refs + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER schedules_refgen_insert AFTER INSERT ON schedules REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump('refs');
CREATE TRIGGER schedules_refgen_update AFTER UPDATE ON schedules REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump('refs');
CREATE TRIGGER schedules_refgen_delete AFTER DELETE ON schedules REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump('refs');

CREATE TRIGGER access_profiles_refgen_insert AFTER INSERT ON access_profiles REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump('profiles');
CREATE TRIGGER access_profiles_refgen_update AFTER UPDATE ON access_profiles REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump('profiles');
CREATE TRIGGER access_profiles_refgen_delete AFTER DELETE ON access_profiles REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump('profiles');

-- Locations and practitioners may appear in any practice's bundle: row 0.
CREATE FUNCTION ref_generations_bump_shared() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, 1)
        ON CONFLICT (practice_id) DO UPDATE SET refs = ref_generations.refs + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER locations_refgen AFTER INSERT OR UPDATE OR DELETE ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
CREATE TRIGGER practitioners_refgen AFTER INSERT OR UPDATE OR DELETE ON practitioners
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
