-- The slot search keeps in memory the access profiles it applies and the
-- schedules, locations and practitioners it shows. ref_generations tells it
-- when that copy is stale. Every change to a practice's schedules bumps the
-- practice's refs counter; every change to a location or practitioner bumps
-- row 0's (they may appear in any practice's bundle); every change to a
-- practice's access profiles, including the booked counter of a capped
-- profile, bumps the practice's profiles counter. The search reads the
-- counters with its slots, so a change made by any writer, on any instance or
-- from the CLI, is seen by the next search.
CREATE TABLE ref_generations (
    practice_id INTEGER PRIMARY KEY,
    refs INTEGER NOT NULL DEFAULT 0,
    profiles INTEGER NOT NULL DEFAULT 0
);

CREATE TRIGGER schedules_refgen_insert AFTER INSERT ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (NEW.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;
CREATE TRIGGER schedules_refgen_update AFTER UPDATE ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (NEW.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
    INSERT INTO ref_generations (practice_id, refs) VALUES (OLD.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;
CREATE TRIGGER schedules_refgen_delete AFTER DELETE ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (OLD.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;

CREATE TRIGGER locations_refgen_insert AFTER INSERT ON locations BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;
CREATE TRIGGER locations_refgen_update AFTER UPDATE ON locations BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;
CREATE TRIGGER locations_refgen_delete AFTER DELETE ON locations BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;

CREATE TRIGGER practitioners_refgen_insert AFTER INSERT ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;
CREATE TRIGGER practitioners_refgen_update AFTER UPDATE ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;
CREATE TRIGGER practitioners_refgen_delete AFTER DELETE ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, refs) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET refs = refs + 1;
END;

CREATE TRIGGER access_profiles_refgen_insert AFTER INSERT ON access_profiles BEGIN
    INSERT INTO ref_generations (practice_id, profiles) VALUES (NEW.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET profiles = profiles + 1;
END;
CREATE TRIGGER access_profiles_refgen_update AFTER UPDATE ON access_profiles BEGIN
    INSERT INTO ref_generations (practice_id, profiles) VALUES (NEW.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET profiles = profiles + 1;
    INSERT INTO ref_generations (practice_id, profiles) VALUES (OLD.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET profiles = profiles + 1;
END;
CREATE TRIGGER access_profiles_refgen_delete AFTER DELETE ON access_profiles BEGIN
    INSERT INTO ref_generations (practice_id, profiles) VALUES (OLD.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET profiles = profiles + 1;
END;
