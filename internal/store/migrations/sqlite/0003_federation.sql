-- The endpoint directory (ODS code -> service root, ASID, interactions), as
-- SDS would answer it, and hubs: named sets of member practices.
CREATE TABLE directory_endpoints (
    ods TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    service_root TEXT NOT NULL,
    asid TEXT NOT NULL,
    interactions TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    updated INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE hubs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL DEFAULT 0
);

-- A member need not be in the directory yet: a fan-out reports it as unknown.
CREATE TABLE hub_members (
    hub_id INTEGER NOT NULL REFERENCES hubs(id) ON DELETE CASCADE,
    ods TEXT NOT NULL,
    added INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (hub_id, ods)
);
