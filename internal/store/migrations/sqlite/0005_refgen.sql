-- The slot search keeps in memory the access profiles it applies and the
-- schedules, locations and practitioners it shows. ref_generations tells it
-- when that copy is stale. Every change to a practice's schedules bumps the
-- practice's refs; every change to a location or practitioner bumps row 0's
-- refs (they may appear in any practice's bundle); every change to the rules
-- of a practice's access profiles bumps its profiles. The booked counter of a
-- capped profile is not a rule: the search reads it live, so bookings never
-- touch this table. The search reads the largest of its practice's row and
-- row 0 with its slots, so a change made by any writer (another instance,
-- the CLI, plain SQL) is seen by the next search.
--
-- A bump sets the counter to the current time in microseconds when that is
-- larger than the counter plus one: a database restored to an older state
-- then still moves forward to values no running instance has seen.
CREATE TABLE ref_generations (
    practice_id INTEGER PRIMARY KEY,
    refs INTEGER NOT NULL DEFAULT 0,
    profiles INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER schedules_refgen_insert AFTER INSERT ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (NEW.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;
CREATE TRIGGER schedules_refgen_update AFTER UPDATE ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (NEW.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
    INSERT INTO ref_generations (practice_id, refs) VALUES (OLD.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;
CREATE TRIGGER schedules_refgen_delete AFTER DELETE ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (OLD.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;

CREATE TRIGGER locations_refgen_insert AFTER INSERT ON locations BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;
CREATE TRIGGER locations_refgen_update AFTER UPDATE ON locations BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;
CREATE TRIGGER locations_refgen_delete AFTER DELETE ON locations BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;

CREATE TRIGGER practitioners_refgen_insert AFTER INSERT ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;
CREATE TRIGGER practitioners_refgen_update AFTER UPDATE ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;
CREATE TRIGGER practitioners_refgen_delete AFTER DELETE ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET refs = max(refs + 1, excluded.refs);
END;

CREATE TRIGGER access_profiles_refgen_insert AFTER INSERT ON access_profiles BEGIN
    INSERT INTO ref_generations (practice_id, profiles) VALUES (NEW.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET profiles = max(profiles + 1, excluded.profiles);
END;
-- Every column but booked: an UPDATE that sets only booked (a booking or a
-- cancellation) fires nothing.
CREATE TRIGGER access_profiles_refgen_update AFTER UPDATE OF practice_id, name, bookable, org_types, ods_codes, cap,
        window_secs, embargo_secs, release_time, release_days, version ON access_profiles BEGIN
    INSERT INTO ref_generations (practice_id, profiles) VALUES (NEW.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET profiles = max(profiles + 1, excluded.profiles);
    INSERT INTO ref_generations (practice_id, profiles) VALUES (OLD.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET profiles = max(profiles + 1, excluded.profiles);
END;
CREATE TRIGGER access_profiles_refgen_delete AFTER DELETE ON access_profiles BEGIN
    INSERT INTO ref_generations (practice_id, profiles) VALUES (OLD.practice_id, CAST(unixepoch('subsec') * 1000000 AS INTEGER))
        ON CONFLICT (practice_id) DO UPDATE SET profiles = max(profiles + 1, excluded.profiles);
END;
