-- The slot search keeps the schedules, locations and practitioners it shows
-- in memory. ref_generations tells it when that copy is stale: every change
-- to a practice's schedules bumps the practice's row, and every change to a
-- location or practitioner bumps row 0 (they may appear in any practice's
-- bundle). The search reads the sum of its practice's row and row 0 with the
-- access profiles, so a change made by any writer, on any instance, is seen
-- by the next search.
CREATE TABLE ref_generations (
    practice_id INTEGER PRIMARY KEY,
    gen INTEGER NOT NULL
);

CREATE TRIGGER schedules_refgen_insert AFTER INSERT ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (NEW.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER schedules_refgen_update AFTER UPDATE ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (NEW.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
    INSERT INTO ref_generations (practice_id, gen) VALUES (OLD.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER schedules_refgen_delete AFTER DELETE ON schedules BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (OLD.practice_id, 1)
        ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;

CREATE TRIGGER locations_refgen_insert AFTER INSERT ON locations BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER locations_refgen_update AFTER UPDATE ON locations BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER locations_refgen_delete AFTER DELETE ON locations BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;

CREATE TRIGGER practitioners_refgen_insert AFTER INSERT ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER practitioners_refgen_update AFTER UPDATE ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;
CREATE TRIGGER practitioners_refgen_delete AFTER DELETE ON practitioners BEGIN
    INSERT INTO ref_generations (practice_id, gen) VALUES (0, 1) ON CONFLICT (practice_id) DO UPDATE SET gen = gen + 1;
END;
