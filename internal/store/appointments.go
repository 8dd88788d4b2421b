package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

type apptRow struct {
	ID              int64  `db:"id"`
	PracticeID      int64  `db:"practice_id"`
	ScheduleID      int64  `db:"schedule_id"`
	PatientID       int64  `db:"patient_id"`
	LocationID      int64  `db:"location_id"`
	PractitionerID  int64  `db:"practitioner_id"`
	ServiceID       int64  `db:"healthcare_service_id"`
	Status          string `db:"status"`
	StartAt         int64  `db:"start_at"`
	EndAt           int64  `db:"end_at"`
	Description     string `db:"description"`
	Comment         string `db:"comment"`
	CreatedAt       int64  `db:"created_at"`
	CancelReason    string `db:"cancel_reason"`
	BookingODS      string `db:"booking_ods"`
	BookingName     string `db:"booking_name"`
	BookingType     string `db:"booking_type"`
	BookingRaw      string `db:"booking_raw"`
	Channel         string `db:"channel"`
	Role            string `db:"role"`
	ServiceCategory string `db:"service_category"`
	ServiceType     string `db:"service_type"`
	Priority        *int   `db:"priority"`
	MinutesDuration *int   `db:"minutes_duration"`
	Identifiers     string `db:"identifiers"`
	Participants    string `db:"participants"`
	AccessProfileID int64  `db:"access_profile_id"`
	Version         int64  `db:"version"`
	UpdatedAt       int64  `db:"updated_at"`
}

const apptCols = `id, practice_id, schedule_id, patient_id, location_id, practitioner_id, healthcare_service_id, status, start_at, end_at, description, comment,
	created_at, cancel_reason, booking_ods, booking_name, booking_type, booking_raw, channel, role, service_category, service_type,
	priority, minutes_duration, identifiers, participants, access_profile_id, version, updated_at`

func (r *apptRow) domain(slotIDs []int64) *scheduling.Appointment {
	a := &scheduling.Appointment{ID: r.ID, PracticeID: r.PracticeID, ScheduleID: r.ScheduleID, PatientID: r.PatientID, LocationID: r.LocationID,
		PractitionerID: r.PractitionerID, HealthcareServiceID: r.ServiceID, SlotIDs: slotIDs, Status: r.Status, Start: time.Unix(r.StartAt, 0), End: time.Unix(r.EndAt, 0),
		Description: r.Description, Comment: r.Comment, Created: time.Unix(r.CreatedAt, 0), CancellationReason: r.CancelReason,
		BookingOrg:      scheduling.BookingOrg{ODS: r.BookingODS, Name: r.BookingName, Type: r.BookingType, Raw: []byte(r.BookingRaw)},
		DeliveryChannel: r.Channel, PractitionerRole: r.Role, ServiceCategory: r.ServiceCategory, ServiceType: r.ServiceType,
		Priority: r.Priority, MinutesDuration: r.MinutesDuration, Version: r.Version, Updated: time.Unix(r.UpdatedAt, 0)}
	_ = json.Unmarshal([]byte(r.Identifiers), &a.Identifiers)
	_ = json.Unmarshal([]byte(r.Participants), &a.Participants)
	return a
}

// idemKey recognises a retry: the same consumer system sending the same
// request again, with its Ssp-TraceID (a new request has a new one, and
// for slots already booked it is a conflict, as spec §6.4 says), and
// everything the booking carries: practice,
// patient, slots, start and end (as instants and as the texts sent, which
// the booking checks), every participant with its status, the location,
// practitioner and service they name, the booking organisation as sent,
// the delivery channel and practitioner role extensions, minutesDuration,
// description, comment, identifiers and priority. Slots, identifiers and
// participants may come in another order. created is left out: it says
// when the consumer made the booking, a retry may stamp it again, and
// nothing is checked against it.
//
// A request that differs in anything else is another booking, judged on
// its own: 422 when it breaks a rule (a retry must not turn a refusal into
// 201), 409 when it is valid but the slots are taken, never a 201 for the
// original with what it sent silently dropped. Another consumer system
// sending the same body is never told it created the appointment.
func idemKey(r *scheduling.BookRequest) string {
	k := struct {
		ASID, Trace                 string
		Practice, Patient           int64
		Location, Practitioner, Svc int64
		Slots                       []int64
		Start, End                  int64
		StartText, EndText          string
		Description, Comment        string
		Org                         scheduling.BookingOrg
		Channel, Role               string
		Minutes, Priority           *int
		Identifiers                 []scheduling.Identifier
		Participants                []scheduling.Participant
	}{ASID: r.ConsumerASID, Trace: r.TraceID, Practice: r.PracticeID, Patient: r.PatientID, Location: r.LocationID, Practitioner: r.PractitionerID,
		Svc: r.HealthcareServiceID, Slots: slices.Sorted(slices.Values(r.SlotIDs)), Start: r.Start.UnixNano(), End: r.End.UnixNano(),
		StartText: r.StartText, EndText: r.EndText, Description: r.Description, Comment: r.Comment, Org: r.BookingOrg,
		Channel: r.DeliveryChannel, Role: r.PractitionerRole, Minutes: r.MinutesDuration, Priority: r.Priority,
		Identifiers: slices.SortedFunc(slices.Values(r.Identifiers), func(a, b scheduling.Identifier) int {
			return cmp.Or(strings.Compare(a.System, b.System), strings.Compare(a.Value, b.Value))
		}),
		Participants: slices.SortedFunc(slices.Values(r.Participants), func(a, b scheduling.Participant) int {
			return cmp.Or(strings.Compare(a.Reference, b.Reference), strings.Compare(a.Status, b.Status))
		})}
	// JSON keeps every field apart (no text can run into the next), and
	// cannot fail on these types.
	b, _ := json.Marshal(&k)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Book books the request's slots in one transaction. The slots are claimed
// with a conditional UPDATE (status must still be free) and guarded by a unique
// index on active slot bookings, so two bookings of one slot cannot both
// commit on either engine. The access profile (bookable, §5.4, window,
// embargo) is re-checked with the same rule the search uses, and the cap is
// claimed with a conditional counter update. A retry of the same booking within
// scheduling.IdempotencyWindow returns the original appointment (created=false).
// r.Audit, when set, is inserted in the same transaction (see audited).
// Errors: EINVALID (bad slots, rule broken), ECONFLICT (a slot is taken).
func (s *Store) Book(ctx context.Context, r *scheduling.BookRequest) (appt *scheduling.Appointment, created bool, err error) {
	key := idemKey(r)
	err = s.groupTx(ctx, audited(ctx, r.Audit, func() string { return apptRef(appt) }, func(tx *sqlx.Tx) error {
		appt, created = nil, false
		if a, err := findRetry(ctx, tx, key, r.Now, 0); err != nil || a != nil {
			appt = a
			return err
		}
		a, err := book(ctx, tx, r, key)
		if scheduling.ErrorCode(err) == scheduling.ECONFLICT {
			// A concurrent identical request may have won: that is a retry, not a
			// conflict. This attempt's own writes (a cap claim, slots claimed
			// before the conflict) must not commit, so the transaction is rolled
			// back through an error that carries the original. The attempt's
			// own appointment row, when the unique index refused its slots
			// after it was inserted, is not that original: SQLite keeps the
			// transaction going after the refusal, so findRetry would see it.
			var own *ownInsertConflict
			notID := int64(0)
			if errors.As(err, &own) {
				notID = own.id
			}
			if prev, e2 := findRetry(ctx, tx, key, r.Now, notID); e2 == nil && prev != nil {
				return &retryWon{prev: prev}
			}
		}
		if err != nil {
			return err
		}
		appt, created = a, true
		return nil
	}))
	var won *retryWon
	if errors.As(err, &won) {
		if r.Audit != nil {
			// The attempt's transaction rolled back with the record it held;
			// the answer (the original, replayed) is audited all the same.
			if err := s.Audit(ctx, completed(r.Audit, apptRef(won.prev))); err != nil {
				return nil, false, unavailable(err)
			}
		}
		return won.prev, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return appt, created, nil
}

// retryWon rolls back a booking attempt that found, after a conflict, that an
// identical request had already booked the slots.
type retryWon struct{ prev *scheduling.Appointment }

func (e *retryWon) Error() string { return "store: an identical booking won the race" }

// ownInsertConflict is the conflict of a booking whose appointment row (id)
// was inserted before the unique index refused one of its slots.
type ownInsertConflict struct {
	id  int64
	err error
}

func (e *ownInsertConflict) Error() string { return e.err.Error() }
func (e *ownInsertConflict) Unwrap() error { return e.err }

// findRetry finds the booking a request repeats, if any, other than the
// appointment notID (0: none), whatever its status now: a resend of a
// booking that has since been cancelled gets the cancelled appointment
// back, rather than booking the slot again for a patient who gave it up.
// The term asking for a non-empty key repeats the partial index's
// predicate, so a prepared (generic) plan still uses the index instead of
// scanning every appointment.
func findRetry(ctx context.Context, tx *sqlx.Tx, key string, now time.Time, notID int64) (*scheduling.Appointment, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM appointments WHERE idem_key = ? AND idem_key <> '' AND booked_at >= ?
		AND id <> ? ORDER BY id LIMIT 1`),
		key, now.Add(-scheduling.IdempotencyWindow).Unix(), notID)
	if scheduling.ErrorCode(notFound(err, "", "")) == scheduling.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return appointmentByID(ctx, tx, 0, id)
}

func book(ctx context.Context, tx *sqlx.Tx, r *scheduling.BookRequest, key string) (*scheduling.Appointment, error) {
	// The sessions first (PostgreSQL), shared: a session-wide change (cancel,
	// block, profile; LockSession) waits for the bookings in flight, and a
	// booking for one that committed, so neither judges the other by a
	// snapshot taken before it (a session could be cancelled under a booking
	// that had read it active, and then hold it). Taken before the slots, in
	// id order, as session changes take the session before its slots.
	if err := lockSchedules(ctx, tx, `SELECT schedule_id FROM slots WHERE practice_id = ? AND id IN (?)`, r.PracticeID, r.SlotIDs); err != nil {
		return nil, err
	}
	// The slots are held from this read to the commit (PostgreSQL; SQLite
	// runs one writer): everything below judges them by the profile read
	// here and records their places against it, so a profile or block
	// change committed in between must wait, not slip under the claim,
	// whose WHERE re-checks only that they are free. Held in start order,
	// as every booking takes them.
	q, args, err := sqlx.In(`SELECT `+slotCols+` FROM slots WHERE practice_id = ? AND id IN (?) ORDER BY start_at, id`+forUpdate(tx), r.PracticeID, r.SlotIDs)
	if err != nil {
		return nil, err
	}
	var rows []slotRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
		return nil, err
	}
	if len(rows) != len(r.SlotIDs) {
		return nil, scheduling.Errorf(scheduling.EINVALID, "one or more slots do not exist at this practice")
	}
	slots := make([]scheduling.Slot, len(rows))
	for i := range rows {
		slots[i] = rows[i].domain()
	}
	if err := scheduling.CheckSlots(slots); err != nil {
		return nil, err
	}
	first, last := slots[0], slots[len(slots)-1]
	if !first.Start.After(r.Now) {
		return nil, scheduling.Errorf(scheduling.EINVALID, "the appointment start is in the past")
	}
	if !r.Start.Equal(first.Start) || !r.End.Equal(last.End) ||
		r.StartText != scheduling.FormatLocal(first.Start) || r.EndText != scheduling.FormatLocal(last.End) {
		return nil, scheduling.Errorf(scheduling.EINVALID, "start and end must equal the start of the first slot (%s) and the end of the last (%s)",
			scheduling.FormatLocal(first.Start), scheduling.FormatLocal(last.End))
	}
	if r.MinutesDuration != nil && *r.MinutesDuration != int(last.End.Sub(first.Start).Minutes()) {
		return nil, scheduling.Errorf(scheduling.EINVALID, "minutesDuration does not match the slots")
	}
	if r.DeliveryChannel != "" && r.DeliveryChannel != first.DeliveryChannel {
		return nil, scheduling.Errorf(scheduling.EINVALID, "the delivery channel does not match the slot's (%s)", first.DeliveryChannel)
	}
	// The schedule, whether the patient is an active patient of the practice
	// (2 when sensitive; deceased patients count as unknown), whether
	// the practice is still switched on,
	// and the first slot's access profile, in one round trip; the checks
	// below still apply in the order the rules are listed.
	profileID := first.AccessProfileID
	var sc scheduleRow
	var pcount, enabled int
	var pr profileRow
	var hasProfile bool
	err = tx.QueryRowxContext(ctx, tx.Rebind(`SELECT sc.id, sc.practice_id, sc.location_id, sc.practitioner_id, sc.role, sc.service_category,
		sc.start_at, sc.end_at, sc.access_profile_id, sc.template_id, sc.healthcare_service_id, sc.status, sc.version,
		COALESCE((SELECT CASE WHEN sensitive THEN 2 ELSE 1 END FROM patients WHERE id = ? AND practice_id = ? AND active = TRUE AND deceased = ''), 0),
		(SELECT COUNT(*) FROM (`+practiceOnSQL+`) AS practice_on),
		p.id IS NOT NULL, COALESCE(p.id, 0), COALESCE(p.practice_id, 0), COALESCE(p.name, ''), COALESCE(p.bookable, FALSE),
		COALESCE(p.org_types, ''), COALESCE(p.ods_codes, ''), COALESCE(p.cap, 0), COALESCE(p.booked, 0), COALESCE(p.window_secs, 0),
		COALESCE(p.embargo_secs, 0), COALESCE(p.release_time, ''), COALESCE(p.release_days, 0), COALESCE(p.version, 0)
		FROM schedules sc LEFT JOIN access_profiles p ON p.id = ? WHERE sc.id = ?`), r.PatientID, r.PracticeID, r.PracticeID, profileID, first.ScheduleID).Scan(
		&sc.ID, &sc.PracticeID, &sc.LocationID, &sc.PractitionerID, &sc.Role, &sc.ServiceCategory, &sc.StartAt, &sc.EndAt, &sc.AccessProfileID,
		&sc.TemplateID, &sc.ServiceID, &sc.Status, &sc.Version, &pcount, &enabled, &hasProfile, &pr.ID, &pr.PracticeID, &pr.Name, &pr.Bookable, &pr.OrgTypes, &pr.ODSCodes,
		&pr.Cap, &pr.Booked, &pr.WindowSecs, &pr.EmbargoSecs, &pr.ReleaseTime, &pr.ReleaseDays, &pr.Version)
	if err != nil {
		return nil, err
	}
	if enabled == 0 {
		// Switched off since the provider's practice cache last read it.
		return nil, scheduling.Errorf(scheduling.EFORBIDDEN, "GP Connect appointment booking is switched off at this practice")
	}
	if sc.Status != "active" {
		return nil, scheduling.Errorf(scheduling.ECONFLICT, "the session has been cancelled")
	}
	if r.LocationID != sc.LocationID {
		return nil, scheduling.Errorf(scheduling.EINVALID, "the Location participant is not the schedule's location (Location/%d)", sc.LocationID)
	}
	if r.PractitionerID != 0 && r.PractitionerID != sc.PractitionerID {
		return nil, scheduling.Errorf(scheduling.EINVALID, "the Practitioner participant is not the schedule's practitioner")
	}
	// The schedule's own service is accepted whatever the switch (§6.2: the
	// booking SHOULD name it; a consumer may have searched before a switch
	// change); any other service is an actor that does not belong.
	if r.HealthcareServiceID != 0 && r.HealthcareServiceID != sc.ServiceID {
		return nil, scheduling.Errorf(scheduling.EINVALID, "the HealthcareService participant is not the schedule's service")
	}
	// A practitioner role sent with the booking is not compared with the
	// schedule's: the appointment carries the schedule's role (row.Role
	// below; spec §6.4 derives it from the schedule), and the test pack's
	// booking builder sends R0260 whatever the slot's schedule.
	if pcount == 2 {
		// Spec 7, information governance: a request for a sensitive patient
		// is answered as if the patient were not found.
		return nil, scheduling.NotFound("patient", "no patient %d at this practice", r.PatientID)
	}
	if pcount == 0 {
		return nil, scheduling.Errorf(scheduling.EINVALID, "the Patient participant is not a patient of this practice")
	}
	for _, sl := range slots {
		if sl.Status != scheduling.SlotFree {
			return nil, scheduling.Errorf(scheduling.ECONFLICT, "slot %d is no longer free", sl.ID)
		}
	}
	// The access rules, re-checked for every slot with its own profile and
	// the rule the search uses (places, below, counted per profile).
	firstProfile := &pr
	if !hasProfile {
		firstProfile = nil
	}
	profiles, err := slotProfiles(ctx, tx, slots, firstProfile)
	if err != nil {
		return nil, err
	}
	for _, sl := range slots {
		if profiles.rule[sl.AccessProfileID] == nil {
			return nil, scheduling.Errorf(scheduling.EINVALID, "the slot is not bookable through GP Connect")
		}
	}
	if err := profiles.lock(ctx, tx); err != nil {
		return nil, err
	}
	for _, id := range profiles.capped {
		p := profiles.rule[id]
		if p.Booked+profiles.places[id] > p.Cap {
			// The counter may still hold the places of bookings that have ended
			// since serve last released them: count them out before refusing.
			if p.Booked, err = recountCap(ctx, tx, id, r.Now); err != nil {
				return nil, err
			}
		}
	}
	// Every slot's start is checked (the window can end between adjacent
	// slots), as the search checks each slot it shows.
	consumer := scheduling.NewConsumer(r.BookingOrg.Type, r.BookingOrg.ODS)
	for _, sl := range slots {
		if why := profiles.rule[sl.AccessProfileID].Offer(consumer, r.Now, sl.Start); why != scheduling.ReasonNone {
			return nil, scheduling.Errorf(scheduling.EINVALID, "the slot is not available to this booking organisation (%s)", why)
		}
	}
	// The places, claimed with a conditional update of each capped profile's
	// counter, in id order (see bookProfiles.lock).
	for _, id := range profiles.capped {
		k := profiles.places[id]
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE access_profiles SET booked = booked + ? WHERE id = ? AND booked + ? <= cap`), k, id, k)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil, scheduling.Errorf(scheduling.EINVALID, "the slot is not available to this booking organisation (%s)", scheduling.ReasonCap)
		}
	}
	n := len(slots)
	// Claim the slots: the WHERE re-checks free under the row lock.
	q, args, err = sqlx.In(`UPDATE slots SET status = 'busy', version = version + 1 WHERE id IN (?) AND status = 'free'`, r.SlotIDs)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, tx.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	if k, _ := res.RowsAffected(); int(k) != n {
		return nil, scheduling.Errorf(scheduling.ECONFLICT, "a slot is no longer free")
	}
	now := r.Now.Unix()
	created := r.Created.Unix()
	if r.Created.IsZero() {
		created = now
	}
	// The row as stored: it is inserted, and returned without reading it back.
	row := apptRow{PracticeID: r.PracticeID, ScheduleID: sc.ID, PatientID: r.PatientID, LocationID: sc.LocationID, PractitionerID: sc.PractitionerID,
		ServiceID: sc.ServiceID, Status: scheduling.ApptBooked, StartAt: first.Start.Unix(), EndAt: last.End.Unix(), Description: r.Description, Comment: r.Comment,
		CreatedAt: created, BookingODS: r.BookingOrg.ODS, BookingName: r.BookingOrg.Name, BookingType: r.BookingOrg.Type, BookingRaw: string(r.BookingOrg.Raw),
		Channel: first.DeliveryChannel, Role: sc.Role, ServiceCategory: sc.ServiceCategory, ServiceType: first.ServiceType, Priority: r.Priority,
		MinutesDuration: r.MinutesDuration, Identifiers: toJSON(nonNil(r.Identifiers)), Participants: toJSON(nonNil(r.Participants)),
		AccessProfileID: capProfile(pr), Version: 1, UpdatedAt: now}
	var id int64
	err = tx.GetContext(ctx, &id, tx.Rebind(`INSERT INTO appointments (practice_id, schedule_id, patient_id, location_id, practitioner_id,
		healthcare_service_id, status,
		start_at, end_at, description, comment, created_at, booking_ods, booking_name, booking_type, booking_raw, channel, role,
		service_category, service_type, priority, minutes_duration, identifiers, participants, access_profile_id, idem_key, booked_at, updated_at, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		row.PracticeID, row.ScheduleID, row.PatientID, row.LocationID, row.PractitionerID, row.ServiceID, row.Status, row.StartAt, row.EndAt, row.Description, row.Comment,
		row.CreatedAt, row.BookingODS, row.BookingName, row.BookingType, row.BookingRaw, row.Channel, row.Role,
		row.ServiceCategory, row.ServiceType, row.Priority, row.MinutesDuration, row.Identifiers, row.Participants,
		row.AccessProfileID, key, now, row.UpdatedAt, row.Version)
	if err != nil {
		return nil, err
	}
	row.ID = id
	ins := tx.Rebind(`INSERT INTO appointment_slots (appointment_id, slot_id, active, access_profile_id) VALUES (?, ?, TRUE, ?)`)
	for _, sl := range slots {
		if _, err := tx.ExecContext(ctx, ins, id, sl.ID, profiles.place(sl.AccessProfileID)); err != nil {
			if isUniqueViolation(err) {
				return nil, &ownInsertConflict{id: id, err: scheduling.Errorf(scheduling.ECONFLICT, "slot %d is already booked", sl.ID)}
			}
			return nil, err
		}
	}
	slotIDs := make([]int64, len(slots))
	for i, sl := range slots {
		slotIDs[i] = sl.ID
	}
	slices.Sort(slotIDs)
	return row.domain(slotIDs), nil
}

// apptRef names an appointment in the audit trail ("Appointment/12").
func apptRef(a *scheduling.Appointment) string {
	if a == nil {
		return ""
	}
	return "Appointment/" + strconv.FormatInt(a.ID, 10)
}

// capProfile is the appointment row's access_profile_id: the first slot's
// profile when it had a cap at booking (0 = none), as it was when every slot
// of an appointment had one profile. Nothing counts by it any more: the
// places a booking holds are recorded per slot (appointment_slots'
// access_profile_id), since its slots may have different profiles; the
// column is still written for a binary from before 0010 that shares the
// database during an upgrade, and is not read back.
func capProfile(p profileRow) int64 {
	if p.Cap > 0 {
		return p.ID
	}
	return 0
}

// bookProfiles are the access profiles of a booking's slots.
type bookProfiles struct {
	// rule holds each slot profile that exists, by id.
	rule map[int64]*scheduling.AccessProfile
	// places is how many of the booking's slots each profile has.
	places map[int64]int
	// capped lists the profiles with a cap, in id order.
	capped []int64
}

// place is the profile whose cap a slot of profile id takes a place of,
// 0 when that profile has no cap (no place is counted).
func (b *bookProfiles) place(id int64) int64 {
	if p := b.rule[id]; p != nil && p.Cap > 0 {
		return id
	}
	return 0
}

// slotProfiles reads the profiles of a booking's slots. The first slot's
// (first; nil when it does not exist) came with the schedule; any other is
// read here, so a booking whose slots share one profile, the common case,
// costs no more round trips than before.
func slotProfiles(ctx context.Context, tx *sqlx.Tx, slots []scheduling.Slot, first *profileRow) (*bookProfiles, error) {
	b := &bookProfiles{rule: map[int64]*scheduling.AccessProfile{}, places: map[int64]int{}}
	if first != nil {
		b.rule[first.ID] = first.domain()
	}
	var more []int64
	for _, sl := range slots {
		id := sl.AccessProfileID
		if b.places[id] == 0 && id != slots[0].AccessProfileID {
			more = append(more, id)
		}
		b.places[id]++
	}
	if len(more) > 0 {
		q, args, err := sqlx.In(`SELECT `+profileCols+` FROM access_profiles WHERE id IN (?)`, more)
		if err != nil {
			return nil, err
		}
		var rows []profileRow
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(q), args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			b.rule[r.ID] = r.domain()
		}
	}
	for id, p := range b.rule {
		if p.Cap > 0 {
			b.capped = append(b.capped, id)
		}
	}
	slices.Sort(b.capped)
	return b, nil
}

// lockSchedules holds, on PostgreSQL, the schedules (sessions) whose ids the
// subquery sub selects, shared and in id order, until the transaction
// commits (see book and Cancel). SQLite runs one writer and needs no lock.
func lockSchedules(ctx context.Context, tx *sqlx.Tx, sub string, args ...any) error {
	if forUpdate(tx) == "" {
		return nil
	}
	q, qargs, err := sqlx.In(`SELECT id FROM schedules WHERE id IN (`+sub+`) ORDER BY id FOR SHARE`, args...)
	if err != nil {
		return err
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, tx.Rebind(q), qargs...); err != nil {
		return fmt.Errorf("store: lock sessions: %w", err)
	}
	return nil
}

// lock holds, on PostgreSQL, the rows of the booking's profiles until it
// commits, in id order, and reads them again under the lock: a capped one
// as its claim's update holds it (see forUpdate), an uncapped one shared.
// A profile change (LockProfile) then waits for the bookings in flight, and
// a booking for a change that committed, so a cap set on a profile while a
// booking of it was in flight counts that booking, and no booking is judged
// by rules changed before it committed. Taking them in one order keeps two
// bookings of the same profiles from each holding one the other waits for.
// Neither lock holds off a session being added on one of the profiles (its
// reference check takes a key-share lock). SQLite runs one writer.
func (b *bookProfiles) lock(ctx context.Context, tx *sqlx.Tx) error {
	update := forUpdate(tx)
	if update == "" {
		return nil
	}
	ids := slices.Sorted(maps.Keys(b.rule))
	b.capped = b.capped[:0]
	for _, id := range ids {
		mode := " FOR SHARE"
		if b.rule[id].Cap > 0 {
			mode = update
		}
		var r profileRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+profileCols+` FROM access_profiles WHERE id = ?`+mode), id); err != nil {
			return fmt.Errorf("store: lock profile %d: %w", id, err)
		}
		b.rule[id] = r.domain()
		if r.Cap > 0 {
			b.capped = append(b.capped, id)
		}
	}
	return nil
}

type querier interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	Rebind(string) string
}

func appointmentByID(ctx context.Context, q querier, practiceID, id int64) (*scheduling.Appointment, error) {
	var r apptRow
	query, args := `SELECT `+apptCols+` FROM appointments WHERE id = ?`, []any{id}
	if practiceID != 0 {
		query += ` AND practice_id = ?`
		args = append(args, practiceID)
	}
	if err := q.GetContext(ctx, &r, q.Rebind(query), args...); err != nil {
		return nil, notFound(err, "appointment", "no appointment with id %d", id)
	}
	var slotIDs []int64
	if err := q.SelectContext(ctx, &slotIDs, q.Rebind(`SELECT slot_id FROM appointment_slots WHERE appointment_id = ? ORDER BY slot_id`), id); err != nil {
		return nil, err
	}
	return r.domain(slotIDs), nil
}

// AppointmentByID reads an appointment of a practice. Returns ENOTFOUND.
func (s *Store) AppointmentByID(ctx context.Context, practiceID, id int64) (*scheduling.Appointment, error) {
	return appointmentByID(ctx, s.r, practiceID, id)
}

// PatientAppointments lists a patient's appointments (any status) starting
// in [From, To), in start order, with two queries whatever their number.
func (s *Store) PatientAppointments(ctx context.Context, f scheduling.AppointmentFilter) ([]*scheduling.Appointment, error) {
	return s.appointmentsWhere(ctx, ` FROM appointments WHERE practice_id = ? AND patient_id = ? AND start_at >= ? AND start_at < ?`,
		f.PracticeID, f.PatientID, f.From.Unix(), f.To.Unix())
}

// PracticeAppointments lists a practice's appointments (any status)
// starting in [from, to), in start order; scheduleID > 0 keeps one
// session's. For the practice's own view (admin appointments list).
func (s *Store) PracticeAppointments(ctx context.Context, practiceID int64, from, to time.Time, scheduleID int64) ([]*scheduling.Appointment, error) {
	if scheduleID > 0 {
		return s.appointmentsWhere(ctx, ` FROM appointments WHERE practice_id = ? AND schedule_id = ? AND start_at >= ? AND start_at < ?`,
			practiceID, scheduleID, from.Unix(), to.Unix())
	}
	return s.appointmentsWhere(ctx, ` FROM appointments WHERE practice_id = ? AND start_at >= ? AND start_at < ?`,
		practiceID, from.Unix(), to.Unix())
}

// appointmentsWhere reads the appointments a FROM … WHERE clause selects,
// with their slots, in start order, with two queries whatever their number.
func (s *Store) appointmentsWhere(ctx context.Context, where string, args ...any) ([]*scheduling.Appointment, error) {
	var rows []apptRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(`SELECT `+apptCols+where+` ORDER BY start_at, id`), args...); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return []*scheduling.Appointment{}, nil
	}
	var links []struct {
		ApptID int64 `db:"appointment_id"`
		SlotID int64 `db:"slot_id"`
	}
	if err := s.r.SelectContext(ctx, &links, s.r.Rebind(`SELECT appointment_id, slot_id FROM appointment_slots
		WHERE appointment_id IN (SELECT id`+where+`) ORDER BY appointment_id, slot_id`), args...); err != nil {
		return nil, err
	}
	slots := make(map[int64][]int64, len(rows))
	for _, l := range links {
		slots[l.ApptID] = append(slots[l.ApptID], l.SlotID)
	}
	out := make([]*scheduling.Appointment, len(rows))
	for i := range rows {
		out[i] = rows[i].domain(slots[rows[i].ID])
	}
	return out, nil
}

// Amend changes description and comment of a booked appointment, if its
// version is still expected (scheduling.AnyVersion: any). audit, when not nil, is
// inserted in the same transaction (see audited). Errors: ENOTFOUND, ESTALE,
// EINVALID.
func (s *Store) Amend(ctx context.Context, practiceID, id, expected int64, description, comment string, now time.Time, audit *scheduling.AuditRecord) (*scheduling.Appointment, error) {
	return s.change(ctx, practiceID, id, expected, now, audit, `description = ?, comment = ?`, []any{description, comment}, nil)
}

// Cancel cancels a booked appointment, frees its slots (each back on its
// session's profile unless the practice gave it one of its own) and gives
// each capped profile back the places its slots took (see givePlacesBack),
// in one transaction; audit, when not nil,
// is inserted in that transaction (see audited). Errors: ENOTFOUND, ESTALE, EINVALID.
func (s *Store) Cancel(ctx context.Context, practiceID, id, expected int64, reason string, now time.Time, audit *scheduling.AuditRecord) (*scheduling.Appointment, error) {
	return s.change(ctx, practiceID, id, expected, now, audit, `status = 'cancelled', cancel_reason = ?`, []any{reason},
		func(tx *sqlx.Tx, _ *scheduling.Appointment) error { return freeSlots(ctx, tx, id, now) })
}

// CancelForPractice is Cancel made by the practice itself (an admin, say
// for a clinician off sick), whatever its version: the same transaction,
// with rec's record of the appointment as it was (its Target set here) in
// the admin audit trail.
// Errors: ENOTFOUND, EINVALID (cancelled already, or in the past), and
// ESTALE only if other writers kept changing it through every re-read.
func (s *Store) CancelForPractice(ctx context.Context, practiceID, id int64, reason string, now time.Time,
	rec func(before *scheduling.Appointment) scheduling.AdminAuditRecord) (*scheduling.Appointment, error) {
	return s.change(ctx, practiceID, id, scheduling.AnyVersion, now, nil, `status = 'cancelled', cancel_reason = ?`, []any{reason},
		func(tx *sqlx.Tx, cur *scheduling.Appointment) error {
			if err := freeSlots(ctx, tx, id, now); err != nil {
				return err
			}
			r := rec(cur)
			r.Target = fmt.Sprintf("appointment/%d", id)
			return appendAdminAudit(ctx, tx, r)
		})
}

// freeSlots gives back what a cancelled appointment held: its capped
// profiles' places and its slots.
func freeSlots(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	// The sessions, shared (see book): a block or profile change of the
	// session then waits for this cancel, or this cancel for it, so the
	// freed slots below are judged by the session as it is, not by a
	// snapshot that missed a block committed meanwhile (the slot was
	// freed into a blocked session, and booked).
	if err := lockSchedules(ctx, tx, `SELECT s.schedule_id FROM slots s JOIN appointment_slots aps ON aps.slot_id = s.id
		WHERE aps.appointment_id = ? AND aps.active = TRUE`, id); err != nil {
		return err
	}
	if err := givePlacesBack(ctx, tx, id, now); err != nil {
		return err
	}
	// A slot of a session the practice has blocked (or cancelled) since the
	// booking goes back to blocked, not free: the admin's block still holds.
	// A slot on an inherited profile takes its session's current one: a
	// booked slot kept the profile it was booked under through a session
	// change, and left on it once free it would escape the cap of the
	// profile the practice has since put the session on. A profile the
	// practice gave the slot itself stays.
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE slots SET status = CASE WHEN EXISTS (SELECT 1 FROM schedules sc
			WHERE sc.id = slots.schedule_id AND (sc.blocked = TRUE OR sc.status <> 'active')) THEN 'busy-unavailable' ELSE 'free' END,
		access_profile_id = CASE WHEN own_profile = TRUE THEN access_profile_id
			ELSE (SELECT sc.access_profile_id FROM schedules sc WHERE sc.id = slots.schedule_id) END,
		version = version + 1
		WHERE id IN (SELECT slot_id FROM appointment_slots WHERE appointment_id = ? AND active = TRUE) AND status = 'busy'`), id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE appointment_slots SET active = FALSE WHERE appointment_id = ? AND active = TRUE`), id)
	return err
}

// givePlacesBack gives each capped profile back the places appointment id
// holds of it, one per slot (the slots of one appointment may have
// different profiles). Only the places of slots still to come at now are
// given back: the release of ended bookings recounts a profile without
// the slots that are over, so giving such a place back here as well would
// count it out twice and let the cap be passed; one the release has not
// reached yet is counted out by its next run, or by a booking that meets
// the full cap. The profiles are updated in id order and before the
// slots, the order a booking takes them in, so that a cancel and a booking
// do not each hold a row the other waits for (before, a cancel freed the
// slots first, and PostgreSQL broke such a deadlock by failing one of them,
// which was then retried).
func givePlacesBack(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	var places []struct {
		ProfileID int64 `db:"access_profile_id"`
		N         int   `db:"n"`
	}
	if err := tx.SelectContext(ctx, &places, tx.Rebind(`SELECT aps.access_profile_id, COUNT(*) AS n FROM appointment_slots aps
		JOIN slots s ON s.id = aps.slot_id WHERE aps.appointment_id = ? AND aps.active = TRUE AND aps.access_profile_id <> 0 AND s.end_at > ?
		GROUP BY aps.access_profile_id ORDER BY aps.access_profile_id`), id, now.Unix()); err != nil {
		return err
	}
	for _, p := range places {
		// Never below zero, whatever the counter says.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE access_profiles SET booked = CASE WHEN booked > ? THEN booked - ? ELSE 0 END WHERE id = ?`),
			p.N, p.N, p.ProfileID); err != nil {
			return err
		}
	}
	return nil
}

// change is the one path by which a booked appointment changes (amend and
// cancel): in one transaction it loads the appointment, checks it may change
// (expected version, not cancelled, not started), applies set (an UPDATE
// assignment list with its args) while bumping the version under a
// version-and-status guard, so a concurrent change is never lost unseen,
// then runs after (may be nil) and returns the new state. With an expected
// version that is ESTALE; without one (no If-Match) the change is tried
// again on the new state, last writer wins, as HTTP has it without
// If-Match. audit, when not nil, is inserted in the same transaction.
func (s *Store) change(ctx context.Context, practiceID, id, expected int64, now time.Time, audit *scheduling.AuditRecord, set string, args []any,
	after func(tx *sqlx.Tx, cur *scheduling.Appointment) error) (*scheduling.Appointment, error) {
	out, err := s.changeOnce(ctx, practiceID, id, expected, now, audit, set, args, after)
	// No version was asked for, so "changed by someone else" is not an
	// answer: a change that committed between this one's read and its
	// write (on PostgreSQL, whose reads here take no lock) is read again,
	// and this one then goes ahead on it, or is refused for what it did
	// (cancelled, say). Each retry follows another writer's commit, so a
	// few cover any burst but an endless stream of changes.
	for try := 1; try < 4 && expected == scheduling.AnyVersion && scheduling.ErrorCode(err) == scheduling.ESTALE; try++ {
		out, err = s.changeOnce(ctx, practiceID, id, expected, now, audit, set, args, after)
	}
	return out, err
}

// changeOnce is one attempt of change, in one transaction.
func (s *Store) changeOnce(ctx context.Context, practiceID, id, expected int64, now time.Time, audit *scheduling.AuditRecord, set string, args []any,
	after func(tx *sqlx.Tx, cur *scheduling.Appointment) error) (*scheduling.Appointment, error) {
	var out *scheduling.Appointment
	err := s.inTx(ctx, audited(ctx, audit, func() string { return apptRef(out) }, func(tx *sqlx.Tx) error {
		cur, err := appointmentByID(ctx, tx, practiceID, id)
		if err != nil {
			return err
		}
		if err := checkChangeable(cur, expected, now); err != nil {
			return err
		}
		q := `UPDATE appointments SET ` + set + `, version = version + 1, updated_at = ? WHERE id = ? AND version = ? AND status = 'booked'`
		res, err := tx.ExecContext(ctx, tx.Rebind(q), append(slices.Clone(args), now.Unix(), id, cur.Version)...)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return scheduling.Errorf(scheduling.ESTALE, "the appointment was changed by someone else; read it again")
		}
		if after != nil {
			if err := after(tx, cur); err != nil {
				return err
			}
		}
		out, err = appointmentByID(ctx, tx, practiceID, id)
		return err
	}))
	return out, err
}

func checkChangeable(cur *scheduling.Appointment, expected int64, now time.Time) error {
	if expected != scheduling.AnyVersion && expected != cur.Version {
		return scheduling.Errorf(scheduling.ESTALE, "If-Match names version %d but the current version is %d", expected, cur.Version)
	}
	if cur.Status == scheduling.ApptCancelled {
		return scheduling.Errorf(scheduling.EINVALID, "the appointment is cancelled")
	}
	// Today's appointments count as future (spec 7), even once started.
	if cur.Start.Before(scheduling.LocalMidnight(now)) {
		return scheduling.Errorf(scheduling.EINVALID, "the appointment is in the past")
	}
	return nil
}
