-- The endpoint directory (ODS code -> service root, ASID, interactions), as
-- SDS would answer it, and hubs: named sets of member practices.
CREATE TABLE directory_endpoints (
    ods TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    service_root TEXT NOT NULL,
    asid TEXT NOT NULL,
    interactions TEXT NOT NULL DEFAULT '',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    updated BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE hubs (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created BIGINT NOT NULL DEFAULT 0
);

-- A member need not be in the directory yet: a fan-out reports it as unknown.
CREATE TABLE hub_members (
    hub_id BIGINT NOT NULL REFERENCES hubs(id) ON DELETE CASCADE,
    ods TEXT NOT NULL,
    added BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (hub_id, ods)
);
