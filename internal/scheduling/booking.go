package scheduling

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// BookRequest is a validated request to book one or more adjacent slots.
type BookRequest struct {
	PracticeID     int64
	PatientID      int64
	LocationID     int64
	PractitionerID int64 // 0 when the consumer sent none
	// HealthcareServiceID is the HealthcareService participant's id (0 when
	// none was sent); it must be the schedule's service.
	HealthcareServiceID int64
	SlotIDs             []int64
	Start, End          time.Time
	// StartText and EndText are the exact strings the consumer sent.
	StartText, EndText string
	Description        string
	Comment            string
	Created            time.Time
	BookingOrg         BookingOrg
	DeliveryChannel    string // "" when not sent
	PractitionerRole   string // "" when not sent
	MinutesDuration    *int
	Priority           *int
	Identifiers        []Identifier
	Participants       []Participant
	Now                time.Time
	// ConsumerASID is the consumer system asking (Ssp-From): a retry of a
	// booking comes from the system that sent it.
	ConsumerASID string
	// TraceID is the request's Ssp-TraceID. A retry is the same request
	// sent again, so it repeats the trace id; a new request, which spec
	// §2.1 gives a new trace id, for slots already booked is a conflict
	// (409), even with the same body from the same system.
	TraceID string
	// Audit, when set, is the booking's audit record: the store inserts it
	// in the booking's own transaction, so a 201 always has its record.
	Audit *AuditRecord
}

// IdempotencyWindow is how long a repeated identical booking (the same
// request, created aside, from the same consumer system with the same
// Ssp-TraceID; see the store's retry key) returns the original appointment.
const IdempotencyWindow = 2 * time.Minute

// MaxBookingSlots bounds the slots of one appointment. A booking's slots
// are consecutive slots of one session (spec §6.3), a session lies within
// one day and a slot is at least a minute long, so no booking that could
// succeed holds more; a body listing tens of thousands would otherwise meet
// the database's limit on statement parameters.
const MaxBookingSlots = 1440

// Description and comment limits (spec §6.2); longer text is refused, never truncated.
const (
	MaxDescription = 100
	MaxComment     = 500
)

// TextProblems says what in an appointment's description and comment is
// over those limits, counted in characters (runes) as the spec counts them,
// not bytes; nil when both fit. The provider, the consumer and the hub all
// judge the text by it.
func TextProblems(description, comment string) []string {
	var probs []string
	if n := utf8.RuneCountInString(description); n > MaxDescription {
		probs = append(probs, fmt.Sprintf("description is %d characters; at most %d are allowed", n, MaxDescription))
	}
	if n := utf8.RuneCountInString(comment); n > MaxComment {
		probs = append(probs, fmt.Sprintf("comment is %d characters; at most %d are allowed", n, MaxComment))
	}
	return probs
}

// CheckSlots applies the multi-slot rules of spec §6.3 to slots sorted by start:
// consecutive, one schedule, one delivery channel, one slot type.
func CheckSlots(slots []Slot) error {
	for i := 1; i < len(slots); i++ {
		a, b := slots[i-1], slots[i]
		switch {
		case !a.End.Equal(b.Start):
			return Errorf(EINVALID, "the slots are not consecutive")
		case a.ScheduleID != b.ScheduleID:
			return Errorf(EINVALID, "the slots belong to different schedules")
		case a.DeliveryChannel != b.DeliveryChannel:
			return Errorf(EINVALID, "the slots have different delivery channels")
		case a.ServiceType != b.ServiceType:
			return Errorf(EINVALID, "the slots have different slot types")
		}
	}
	return nil
}

// AppointmentFilter selects a patient's appointments by local start date.
type AppointmentFilter struct {
	PracticeID int64
	PatientID  int64
	From, To   time.Time // [From, To)
}
