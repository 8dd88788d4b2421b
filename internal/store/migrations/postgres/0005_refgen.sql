-- The slot search keeps in memory the access profiles it applies and the
-- schedules, locations and practitioners it shows. ref_generations tells it
-- when that copy is stale. Every change to a practice's schedules bumps the
-- practice's refs; every change to a location or practitioner bumps row 0's
-- refs (they may appear in any practice's bundle); every change to the rules
-- of a practice's access profiles bumps its profiles. The booked counter of a
-- capped profile is not a rule: the search reads it live, so bookings never
-- lock a row of this table. A TRUNCATE bumps both counters of row 0. The
-- search reads the largest of its practice's row and row 0 with its slots,
-- so a change made by any writer (another instance, the CLI, plain SQL) is
-- seen by the next search.
--
-- A bump sets the counter to the current time in microseconds when that is
-- larger than the counter plus one: a database restored to an older state
-- (a backup, a failover to a lagging replica) then still moves forward to
-- values no running instance has seen.
CREATE TABLE ref_generations (
    practice_id BIGINT PRIMARY KEY,
    refs BIGINT NOT NULL DEFAULT 0,
    profiles BIGINT NOT NULL DEFAULT 0
);

CREATE FUNCTION ref_generations_now() RETURNS BIGINT LANGUAGE sql VOLATILE AS $$
    SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT
$$;

-- Schedules: per statement, over the transition tables, so a bulk insert of
-- thousands of sessions bumps each practice once.
CREATE FUNCTION ref_generations_bump_schedules() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF ids IS NOT NULL THEN
        INSERT INTO ref_generations (practice_id, refs) SELECT unnest(ids), ref_generations_now()
            ON CONFLICT (practice_id) DO UPDATE SET refs = GREATEST(ref_generations.refs + 1, excluded.refs);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER schedules_refgen_insert AFTER INSERT ON schedules REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_schedules();
CREATE TRIGGER schedules_refgen_update AFTER UPDATE ON schedules REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_schedules();
CREATE TRIGGER schedules_refgen_delete AFTER DELETE ON schedules REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_schedules();

-- Access profiles: per row, and an UPDATE only when a rule changed, which the
-- WHEN clause decides without calling the function: a booking's or a
-- cancellation's change of booked fires nothing.
CREATE FUNCTION ref_generations_bump_profiles() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO ref_generations (practice_id, profiles) VALUES (NEW.practice_id, ref_generations_now())
            ON CONFLICT (practice_id) DO UPDATE SET profiles = GREATEST(ref_generations.profiles + 1, excluded.profiles);
    END IF;
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO ref_generations (practice_id, profiles) VALUES (OLD.practice_id, ref_generations_now())
            ON CONFLICT (practice_id) DO UPDATE SET profiles = GREATEST(ref_generations.profiles + 1, excluded.profiles);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER access_profiles_refgen_insert AFTER INSERT ON access_profiles
    FOR EACH ROW EXECUTE FUNCTION ref_generations_bump_profiles();
CREATE TRIGGER access_profiles_refgen_update AFTER UPDATE ON access_profiles FOR EACH ROW
    WHEN ((OLD.practice_id, OLD.name, OLD.bookable, OLD.org_types, OLD.ods_codes, OLD.cap, OLD.window_secs, OLD.embargo_secs,
           OLD.release_time, OLD.release_days, OLD.version)
          IS DISTINCT FROM (NEW.practice_id, NEW.name, NEW.bookable, NEW.org_types, NEW.ods_codes, NEW.cap, NEW.window_secs,
           NEW.embargo_secs, NEW.release_time, NEW.release_days, NEW.version))
    EXECUTE FUNCTION ref_generations_bump_profiles();
CREATE TRIGGER access_profiles_refgen_delete AFTER DELETE ON access_profiles
    FOR EACH ROW EXECUTE FUNCTION ref_generations_bump_profiles();

-- Locations and practitioners may appear in any practice's bundle (row 0);
-- a TRUNCATE of any of the four tables bumps both counters of row 0.
CREATE FUNCTION ref_generations_bump_shared() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO ref_generations (practice_id, refs, profiles) VALUES (0, ref_generations_now(), ref_generations_now())
            ON CONFLICT (practice_id) DO UPDATE SET refs = GREATEST(ref_generations.refs + 1, excluded.refs),
                profiles = GREATEST(ref_generations.profiles + 1, excluded.profiles);
    ELSE
        INSERT INTO ref_generations (practice_id, refs) VALUES (0, ref_generations_now())
            ON CONFLICT (practice_id) DO UPDATE SET refs = GREATEST(ref_generations.refs + 1, excluded.refs);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER locations_refgen AFTER INSERT OR UPDATE OR DELETE ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
CREATE TRIGGER practitioners_refgen AFTER INSERT OR UPDATE OR DELETE ON practitioners
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
CREATE TRIGGER schedules_refgen_truncate AFTER TRUNCATE ON schedules
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
CREATE TRIGGER access_profiles_refgen_truncate AFTER TRUNCATE ON access_profiles
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
CREATE TRIGGER locations_refgen_truncate AFTER TRUNCATE ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
CREATE TRIGGER practitioners_refgen_truncate AFTER TRUNCATE ON practitioners
    FOR EACH STATEMENT EXECUTE FUNCTION ref_generations_bump_shared();
