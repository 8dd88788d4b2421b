package admin

import (
	"context"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// The practice's own view of its appointment book: the appointments in a
// period or a session, whoever booked them, and a cancel for when a
// session cannot run (a clinician off sick), which frees the slots as a
// consumer's cancel does, so that the session can then be blocked or
// cancelled.

// Appointment is an appointment as the admin API shows it.
type Appointment struct {
	ID        int64   `json:"id"`
	Status    string  `json:"status"`
	Start     string  `json:"start"`
	End       string  `json:"end"`
	SessionID int64   `json:"session_id"`
	SlotIDs   []int64 `json:"slot_ids"`
	PatientID int64   `json:"patient_id"`
	NHSNumber string  `json:"nhs_number"`
	// PractitionerID is 0 for a session without a named clinician.
	PractitionerID int64  `json:"practitioner_id"`
	LocationID     int64  `json:"location_id"`
	Description    string `json:"description"`
	Comment        string `json:"comment"`
	// BookedBy is the booking organisation's ODS code and name.
	BookedBy           string `json:"booked_by"`
	CancellationReason string `json:"cancellation_reason"`
	Version            int64  `json:"version"`
}

// MaxAppointmentListDays bounds the period one appointment list covers.
const MaxAppointmentListDays = 31

// MaxCancelReason is the longest cancellation reason an admin may give, in
// bytes of UTF-8: the provider keeps up to this many of a consumer's.
const MaxCancelReason = 2000

// nhsNumbers maps the patients of the appointments to their NHS numbers, in one query.
func (s *Service) nhsNumbers(ctx context.Context, practiceID int64, appts []*scheduling.Appointment) (map[int64]string, error) {
	seen := map[int64]bool{}
	ids := make([]int64, 0, len(appts))
	for _, a := range appts {
		if !seen[a.PatientID] {
			seen[a.PatientID] = true
			ids = append(ids, a.PatientID)
		}
	}
	return s.st.PatientNHSNumbers(ctx, practiceID, ids)
}

// toAppointment is the admin view of an appointment; nhs maps patient ids to NHS numbers.
func toAppointment(a *scheduling.Appointment, nhs map[int64]string) Appointment {
	slots := a.SlotIDs
	if slots == nil {
		slots = []int64{}
	}
	return Appointment{ID: a.ID, Status: a.Status, Start: scheduling.FormatLocal(a.Start), End: scheduling.FormatLocal(a.End),
		SessionID: a.ScheduleID, SlotIDs: slots, PatientID: a.PatientID, NHSNumber: nhs[a.PatientID], PractitionerID: a.PractitionerID, LocationID: a.LocationID,
		Description: a.Description, Comment: a.Comment, BookedBy: strings.TrimSpace(a.BookingOrg.ODS + " " + a.BookingOrg.Name),
		CancellationReason: a.CancellationReason, Version: a.Version}
}

// Appointments lists the practice's appointments (any status, whoever
// booked them) starting in [from, to), at most MaxAppointmentListDays, or
// those of one session when sessionID > 0 (then from and to may be zero).
// Errors: EPARAM, ENOTFOUND (no such session).
func (s *Service) Appointments(ctx context.Context, a Actor, ods string, from, to time.Time, sessionID int64) ([]Appointment, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	if sessionID > 0 {
		ses, err := s.Session(ctx, a, ods, sessionID)
		if err != nil {
			return nil, err
		}
		if from.IsZero() && to.IsZero() {
			if from, err = time.Parse(scheduling.LocalLayout, ses.Start); err != nil {
				return nil, err
			}
			if to, err = time.Parse(scheduling.LocalLayout, ses.End); err != nil {
				return nil, err
			}
		}
	}
	if from.IsZero() {
		from = scheduling.LocalMidnight(s.Now())
	}
	if to.IsZero() {
		to = scheduling.AddDaysLocal(from, 7)
	}
	switch {
	case !to.After(from):
		return nil, scheduling.Errorf(scheduling.EPARAM, "the period is empty: to (%s) must be after from (%s)", scheduling.FormatLocal(to), scheduling.FormatLocal(from))
	case to.After(scheduling.AddDaysLocal(from, MaxAppointmentListDays)):
		return nil, scheduling.Errorf(scheduling.EPARAM, "the period may be at most %d days", MaxAppointmentListDays)
	}
	appts, err := s.st.PracticeAppointments(ctx, org.ID, from, to, sessionID)
	if err != nil {
		return nil, err
	}
	nhs, err := s.nhsNumbers(ctx, org.ID, appts)
	if err != nil {
		return nil, err
	}
	out := make([]Appointment, len(appts))
	for i, ap := range appts {
		out[i] = toAppointment(ap, nhs)
	}
	return out, nil
}

// Appointment reads one of the practice's appointments. Returns ENOTFOUND.
func (s *Service) Appointment(ctx context.Context, a Actor, ods string, id int64) (Appointment, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Appointment{}, err
	}
	ap, err := s.st.AppointmentByID(ctx, org.ID, id)
	if err != nil {
		return Appointment{}, err
	}
	nhs, err := s.nhsNumbers(ctx, org.ID, []*scheduling.Appointment{ap})
	if err != nil {
		return Appointment{}, err
	}
	return toAppointment(ap, nhs), nil
}

// CancelAppointment cancels one of the practice's appointments, with a
// reason the booking organisation reads (GP Connect Read shows it), and
// frees its slots (back to blocked if the session is blocked). It is
// audited as appointment.cancel. Errors: ENOTFOUND, EINVALID (no reason,
// already cancelled, or in the past).
func (s *Service) CancelAppointment(ctx context.Context, a Actor, ods string, id int64, reason string) (Appointment, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Appointment{}, err
	}
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return Appointment{}, invalid("a cancellation reason is required: the booking organisation reads it")
	case len(reason) > MaxCancelReason:
		return Appointment{}, invalid("the reason is %d bytes long in UTF-8; at most %d are allowed", len(reason), MaxCancelReason)
	case hasControl(reason):
		return Appointment{}, invalid("the reason cannot hold control or invisible formatting characters, or bytes that are not UTF-8")
	}
	cur, err := s.st.AppointmentByID(ctx, org.ID, id)
	if err != nil {
		return Appointment{}, err
	}
	// The patient's NHS number, read now: the record's "before" is made in
	// the cancel's transaction, from the appointment as it then is.
	nhs, err := s.nhsNumbers(ctx, org.ID, []*scheduling.Appointment{cur})
	if err != nil {
		return Appointment{}, err
	}
	after := map[string]string{"status": scheduling.ApptCancelled, "cancellation_reason": reason}
	ap, err := s.st.CancelForPractice(ctx, org.ID, id, reason, s.Now(), func(before *scheduling.Appointment) scheduling.AdminAuditRecord {
		return *s.record(org, a, "appointment.cancel", "", toAppointment(before, nhs), after)
	})
	if err != nil {
		return Appointment{}, err
	}
	return toAppointment(ap, nhs), nil
}
