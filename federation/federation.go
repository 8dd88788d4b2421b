// Package federation is the hub side of GP Connect: one search for free
// slots across every member practice of a hub (a federation or a PCN), in
// parallel and within a deadline, merged into one list with each failed
// practice named and explained; then booking, amending and cancelling at the
// chosen practice. The endpoint directory (ODS code -> service root, ASID,
// interactions) stands in for SDS (spec §1.2).
//
// The package talks to providers through the small PracticeClient interface;
// GPConnect implements it with the consumer package (and a one-pass decoder
// for the fan-out's slot searches).
package federation

import (
	"fmt"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Reason says why a practice gave no (or partial) results.
type Reason string

// Failure reasons. A provider's Spine error code (e.g. ACCESS_DENIED) is
// also used as a Reason, as is.
const (
	// ReasonUnknown: the practice is a hub member but not in the directory.
	ReasonUnknown Reason = "unknown"
	// ReasonDisabled: switched off in the directory, or its directory entry
	// lacks an interaction the search or list needs.
	ReasonDisabled Reason = "disabled"
	// ReasonTimeout: no answer within the per-practice or overall deadline.
	ReasonTimeout Reason = "timeout"
	// ReasonProviderError: a 5xx, a refused connection, or a response that is not a GP Connect one.
	ReasonProviderError Reason = "provider error"
	// ReasonCircuitOpen: skipped because the practice failed repeatedly; it is probed again later.
	ReasonCircuitOpen Reason = "circuit open"
	// ReasonSSP: the Spine Secure Proxy refused the call (a 4xx coded in its
	// own system, spec §9.4: e.g. the hub's ASID is not authorised); the
	// detail is its token. It says nothing about the practice being down.
	ReasonSSP Reason = "refused by the Spine Secure Proxy"
	// ReasonNotSent: the hub's own client refused to send the request (it
	// broke a rule the spec sets for consumers); the practice was not asked
	// and says nothing by it.
	ReasonNotSent Reason = "not sent"
)

// Failure is one practice's failure in a fan-out.
type Failure struct {
	ODS    string
	Reason Reason
	// Status is the HTTP status the provider answered, 0 if none.
	Status int
	// Detail is a readable explanation (the provider's diagnostics where given).
	Detail string
}

// String renders the failure for logs and tables.
func (f Failure) String() string {
	if f.Detail == "" {
		return fmt.Sprintf("%s: %s", f.ODS, f.Reason)
	}
	return fmt.Sprintf("%s: %s (%s)", f.ODS, f.Reason, f.Detail)
}

// Slot is one free slot found at one practice, with what spec §5.8 says a
// consumer SHALL show, resolved from the provider's bundle. What the slots
// of one schedule share is held once, behind SlotSchedule, so a fan-out
// over 500 practices stays small.
type Slot struct {
	// ODS is the practice's ODS code; (ODS, ID) is the slot's identity.
	ODS string
	// ID is the provider's logical id of the Slot.
	ID              string
	Start, End      time.Time
	DeliveryChannel string
	// SlotType is Slot.serviceType[0].text.
	SlotType string
	// SlotSchedule is never nil.
	*SlotSchedule
}

// SlotSchedule is what the slots of one schedule (session) share.
type SlotSchedule struct {
	ScheduleID string
	// ScheduleType is Schedule.serviceCategory.text.
	ScheduleType     string
	RoleCode         string
	RoleDisplay      string
	LocationID       string
	LocationName     string
	LocationAddress  string
	PractitionerID   string
	PractitionerName string
	PractitionerSex  string
	// ServiceID, ServiceName and ServiceDOSID are the schedule's
	// HealthcareService actor (1.2.8), if any, and its DOS service id.
	ServiceID    string
	ServiceName  string
	ServiceDOSID string
	PracticeName string
}

// Ref is the slot's hub-wide reference, "{ODS}/{slotId}".
func (s *Slot) Ref() string { return s.ODS + "/" + s.ID }

// ParseRef splits "{ODS}/{id}" (a slot or appointment reference), or
// "{ODS}-{id}", the id the hub's HTTP searchset gives a slot (hubID): an ODS
// code holds no "-", so the first one ends it.
func ParseRef(ref string) (ods, id string, err error) {
	ods, id, ok := strings.Cut(ref, "/")
	if !ok {
		ods, id, ok = strings.Cut(ref, "-")
		ok = ok && scheduling.ValidODSCode(ods)
	}
	if !ok || ods == "" || id == "" || strings.Contains(id, "/") {
		return "", "", fmt.Errorf("reference %q: want {ODS}/{id}", ref)
	}
	return ods, id, nil
}
