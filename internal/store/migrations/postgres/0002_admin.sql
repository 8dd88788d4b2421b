-- Practice administration: the admin audit keeps what changed, before and after.
ALTER TABLE admin_audit ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit ADD COLUMN before_json TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_audit ADD COLUMN after_json TEXT NOT NULL DEFAULT '';
ALTER TABLE admin_tokens ADD COLUMN revoked_at BIGINT NOT NULL DEFAULT 0;
-- A blocked session: its free slots are blocked, and a slot freed by a cancellation is blocked too.
ALTER TABLE schedules ADD COLUMN blocked BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX admin_audit_practice_at ON admin_audit (practice_id, at);
CREATE INDEX admin_tokens_practice ON admin_tokens (practice_id);

-- List columns were stored comma-joined, which split any value holding a comma
-- (a given name "Mary, Jane", say). They are now JSON arrays; the empty list stays ''.
-- Existing values cannot hold a comma of their own, so splitting them on commas is exact.
-- The expression escapes backslashes and quotes, then turns each comma into a JSON separator.
UPDATE access_profiles SET org_types = '["' || replace(replace(replace(org_types, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE org_types <> '';
UPDATE access_profiles SET ods_codes = '["' || replace(replace(replace(ods_codes, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE ods_codes <> '';
UPDATE session_templates SET channels = '["' || replace(replace(replace(channels, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE channels <> '';
UPDATE practitioners SET role_profile_ids = '["' || replace(replace(replace(role_profile_ids, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE role_profile_ids <> '';
UPDATE practitioners SET given = '["' || replace(replace(replace(given, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE given <> '';
UPDATE practitioners SET prefix = '["' || replace(replace(replace(prefix, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE prefix <> '';
UPDATE patients SET given = '["' || replace(replace(replace(given, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE given <> '';
UPDATE patients SET prefix = '["' || replace(replace(replace(prefix, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE prefix <> '';
UPDATE pds_people SET given = '["' || replace(replace(replace(given, '\', '\\'), '"', '\"'), ',', '","') || '"]' WHERE given <> '';
