CREATE TABLE organisations (
    id BIGSERIAL PRIMARY KEY,
    ods TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'other',
    asid TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '{}',
    gpc_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    appts_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,
    updated BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE locations (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    site_code TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    address TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'active',
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE practitioners (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    sds_user_id TEXT NOT NULL,
    role_profile_ids TEXT NOT NULL DEFAULT '',
    family TEXT NOT NULL,
    given TEXT NOT NULL DEFAULT '',
    prefix TEXT NOT NULL DEFAULT '',
    gender TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (practice_id, sds_user_id)
);

CREATE TABLE patients (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    nhs_number TEXT NOT NULL,
    family TEXT NOT NULL,
    given TEXT NOT NULL DEFAULT '',
    prefix TEXT NOT NULL DEFAULT '',
    gender TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL DEFAULT '',
    telecoms TEXT NOT NULL DEFAULT '[]',
    addresses TEXT NOT NULL DEFAULT '[]',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    deceased TEXT NOT NULL DEFAULT '',
    reg_type TEXT NOT NULL DEFAULT 'R',
    reg_start TEXT NOT NULL DEFAULT '',
    reg_end TEXT NOT NULL DEFAULT '',
    preferred_location_id BIGINT NOT NULL DEFAULT 0,
    gp_practitioner_id BIGINT NOT NULL DEFAULT 0,
    language TEXT NOT NULL DEFAULT '',
    interpreter BOOLEAN NOT NULL DEFAULT FALSE,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (practice_id, nhs_number)
);

CREATE TABLE pds_people (
    nhs_number TEXT PRIMARY KEY,
    family TEXT NOT NULL,
    given TEXT NOT NULL DEFAULT '',
    gender TEXT NOT NULL DEFAULT '',
    birth_date TEXT NOT NULL DEFAULT '',
    deceased TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    superseded BOOLEAN NOT NULL DEFAULT FALSE,
    invalid BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE access_profiles (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    bookable BOOLEAN NOT NULL DEFAULT TRUE,
    org_types TEXT NOT NULL DEFAULT '',
    ods_codes TEXT NOT NULL DEFAULT '',
    cap INTEGER NOT NULL DEFAULT 0,
    booked INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0),
    window_secs BIGINT NOT NULL DEFAULT 0,
    embargo_secs BIGINT NOT NULL DEFAULT 0,
    release_time TEXT NOT NULL DEFAULT '',
    release_days INTEGER NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (practice_id, name),
    CHECK (cap = 0 OR booked <= cap)
);

CREATE TABLE session_templates (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    name TEXT NOT NULL,
    weekday INTEGER NOT NULL,
    start_local TEXT NOT NULL,
    end_local TEXT NOT NULL,
    slot_minutes INTEGER NOT NULL,
    location_id BIGINT NOT NULL REFERENCES locations(id),
    practitioner_id BIGINT NOT NULL DEFAULT 0,
    role TEXT NOT NULL,
    service_category TEXT NOT NULL,
    service_type TEXT NOT NULL,
    channels TEXT NOT NULL,
    access_profile_id BIGINT NOT NULL REFERENCES access_profiles(id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (practice_id, name)
);

CREATE TABLE schedules (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    location_id BIGINT NOT NULL REFERENCES locations(id),
    practitioner_id BIGINT NOT NULL DEFAULT 0,
    role TEXT NOT NULL,
    service_category TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    access_profile_id BIGINT NOT NULL REFERENCES access_profiles(id),
    template_id BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX schedules_template_start ON schedules (template_id, start_at) WHERE template_id <> 0;

CREATE TABLE slots (
    id BIGSERIAL PRIMARY KEY,
    schedule_id BIGINT NOT NULL REFERENCES schedules(id),
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'free',
    channel TEXT NOT NULL,
    service_type TEXT NOT NULL,
    access_profile_id BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    UNIQUE (schedule_id, start_at)
);
CREATE INDEX slots_free_by_practice ON slots (practice_id, start_at) WHERE status = 'free';

CREATE TABLE appointments (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    schedule_id BIGINT NOT NULL REFERENCES schedules(id),
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    location_id BIGINT NOT NULL,
    practitioner_id BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    description TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    cancel_reason TEXT NOT NULL DEFAULT '',
    booking_ods TEXT NOT NULL DEFAULT '',
    booking_name TEXT NOT NULL DEFAULT '',
    booking_type TEXT NOT NULL DEFAULT '',
    booking_raw TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT '',
    service_category TEXT NOT NULL DEFAULT '',
    service_type TEXT NOT NULL DEFAULT '',
    priority INTEGER,
    minutes_duration INTEGER,
    identifiers TEXT NOT NULL DEFAULT '[]',
    participants TEXT NOT NULL DEFAULT '[]',
    access_profile_id BIGINT NOT NULL DEFAULT 0,
    idem_key TEXT NOT NULL DEFAULT '',
    booked_at BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at BIGINT NOT NULL
);
CREATE INDEX appointments_patient ON appointments (patient_id, start_at);
CREATE INDEX appointments_idem ON appointments (idem_key, booked_at) WHERE idem_key <> '';

CREATE TABLE appointment_slots (
    appointment_id BIGINT NOT NULL REFERENCES appointments(id),
    slot_id BIGINT NOT NULL REFERENCES slots(id),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (appointment_id, slot_id)
);
-- The rule that makes double booking impossible: one active booking per slot.
CREATE UNIQUE INDEX appointment_slots_one_active ON appointment_slots (slot_id) WHERE active;

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    trace_id TEXT NOT NULL DEFAULT '',
    interaction TEXT NOT NULL DEFAULT '',
    method TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL DEFAULT '',
    practice_ods TEXT NOT NULL DEFAULT '',
    from_asid TEXT NOT NULL DEFAULT '',
    to_asid TEXT NOT NULL DEFAULT '',
    req_org TEXT NOT NULL DEFAULT '',
    req_practitioner TEXT NOT NULL DEFAULT '',
    req_device TEXT NOT NULL DEFAULT '',
    status INTEGER NOT NULL,
    spine_code TEXT NOT NULL DEFAULT '',
    resource_ids TEXT NOT NULL DEFAULT '',
    duration_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_practice_at ON audit (practice_ods, at);

CREATE TABLE admin_tokens (
    id BIGSERIAL PRIMARY KEY,
    practice_id BIGINT NOT NULL REFERENCES organisations(id),
    hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE admin_audit (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    practice_id BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);

-- The audit tables are append-only: no update or delete is allowed.
CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER admin_audit_no_update BEFORE UPDATE OR DELETE ON admin_audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
