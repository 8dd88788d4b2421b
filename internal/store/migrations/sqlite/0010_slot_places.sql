-- A booking's cap places are counted per slot: each slot it holds takes a
-- place of the profile the slot was booked under, when that profile had a
-- cap (0: no place was taken). The slots of one appointment may have
-- different profiles (spec §6.3 asks only that they be consecutive, of one
-- schedule, one delivery channel and one slot type), so the appointment's
-- own access_profile_id (its first slot's) cannot say which places it holds.
ALTER TABLE appointment_slots ADD COLUMN access_profile_id BIGINT NOT NULL DEFAULT 0;
-- Until now every slot of an appointment took a place of the appointment's profile.
UPDATE appointment_slots SET access_profile_id = (SELECT a.access_profile_id FROM appointments a WHERE a.id = appointment_slots.appointment_id)
  WHERE appointment_id IN (SELECT id FROM appointments WHERE access_profile_id <> 0);
-- The places a profile holds (recounted when a booking meets its full cap,
-- and by the release of ended bookings every minute) without reading every
-- active booking. Only places are indexed: an uncapped booking costs nothing.
CREATE INDEX appointment_slots_places ON appointment_slots (access_profile_id, slot_id) WHERE active = TRUE AND access_profile_id <> 0;
