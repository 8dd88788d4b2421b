-- Service filtering (GP Connect 1.2.8, spec §5.10): a practice's services as
-- listed in the UEC Directory of Services, the organisation switch, and the
-- link from a session (and the template that makes it) to one service. An
-- appointment keeps the service of its schedule as it was when booked.
CREATE TABLE healthcare_services (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    dos_id TEXT NOT NULL,
    name TEXT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    updated BIGINT NOT NULL DEFAULT 0,
    UNIQUE (practice_id, dos_id)
);

ALTER TABLE organisations ADD COLUMN service_filtering BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE session_templates ADD COLUMN healthcare_service_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN healthcare_service_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE appointments ADD COLUMN healthcare_service_id BIGINT NOT NULL DEFAULT 0;
