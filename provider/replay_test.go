package provider_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestReplayIsTheWholeRequest: within the retry window, only the same
// request sent again (the same body with the same Ssp-TraceID) is answered
// with the original appointment (201, replayed); the same body as a new
// request, with a new trace id, is 409 DUPLICATE_REJECTED (spec §6.4).
// The same slots and consumer with anything the provider checks changed
// (start and end, the delivery channel, a participant) get the answer that
// body gets on its own: 422 when it breaks a rule, 409 when it is a valid
// booking of slots already taken. Before, the slot, consumer, patient,
// description and comment alone made a replay, so a body that is 422 on its
// own was answered 201 with the original.
func TestReplayIsTheWholeRequest(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			pid := a.patientID(t, "9658218865")
			s := a.take(t, "own-practice", 2, 3*time.Hour, true)
			orig := newBooking(pid, s[0])
			// Every request below repeats the original's trace id, so that only
			// what the body changes decides whether it is a retry.
			same := map[string]string{"Ssp-TraceID": uuid.NewString()}
			first := a.book(t, orig, false, same)
			if first.status != http.StatusCreated || first.header.Get("X-Slotbridge-Replayed") != "" {
				t.Fatalf("first booking: %d replayed=%q %s", first.status, first.header.Get("X-Slotbridge-Replayed"), first.body)
			}
			id := decodeAppt(t, first.body).ID

			// The same body again is a retry.
			again := a.book(t, orig, false, same)
			if again.status != http.StatusCreated || again.header.Get("X-Slotbridge-Replayed") != "true" || decodeAppt(t, again.body).ID != id {
				t.Fatalf("identical retry: %d replayed=%q %s", again.status, again.header.Get("X-Slotbridge-Replayed"), again.body)
			}
			// The same body as a new request (a new trace id) books a slot
			// already booked: 409, however alike the two requests are.
			if r := a.book(t, orig, false, nil); r.header.Get("X-Slotbridge-Replayed") != "" {
				t.Fatalf("a new request with the same body was answered %d as a replay", r.status)
			} else {
				wantOutcome(t, r, http.StatusConflict, "DUPLICATE_REJECTED")
			}

			edited := func(edit func(b *fhir.Appointment)) *fhir.Appointment {
				b := newBooking(pid, s[0])
				b.Created = orig.Created
				edit(b)
				return b
			}
			for _, c := range []struct {
				name string
				body *fhir.Appointment
				want int
				code string
			}{
				// Start and end of the next slot, the slot reference unchanged.
				{"OtherSlotsTimes", edited(func(b *fhir.Appointment) { b.Start, b.End = gpcTime(s[1].start()), gpcTime(s[1].end()) }), 422, "INVALID_RESOURCE"},
				{"EndOfTheNextSlot", edited(func(b *fhir.Appointment) { b.End = gpcTime(s[1].end()) }), 422, "INVALID_RESOURCE"},
				{"WrongDeliveryChannel", edited(func(b *fhir.Appointment) {
					b.Extension = append(b.Extension, fhir.Extension{URL: extChannel, ValueCode: ptr("Not-" + s[0].Channel)})
				}), 422, "INVALID_RESOURCE"},
				{"OtherLocation", edited(func(b *fhir.Appointment) { b.Participant[1].Actor.Reference = otherRef(b, "Location", 1, 2) }), 422, "INVALID_RESOURCE"},
				{"OtherPractitioner", edited(func(b *fhir.Appointment) {
					b.Participant = append(b.Participant, fhir.AppointmentParticipant{
						Actor: &fhir.Reference{Reference: fmt.Sprintf("Practitioner/%d", s[0].PractitionerID+100)}, Status: "accepted"})
				}), 422, "INVALID_RESOURCE"},
				{"WrongMinutesDuration", edited(func(b *fhir.Appointment) { b.MinutesDuration = ptr(1) }), 422, "INVALID_RESOURCE"},
				// Valid on their own, and the slot is taken: 409, not the
				// original with what was sent silently dropped.
				{"DeliveryChannelSent", edited(func(b *fhir.Appointment) {
					b.Extension = append(b.Extension, fhir.Extension{URL: extChannel, ValueCode: ptr(s[0].Channel)})
				}), 409, "DUPLICATE_REJECTED"},
				{"ParticipantStatus", edited(func(b *fhir.Appointment) { b.Participant[0].Status = "tentative" }), 409, "DUPLICATE_REJECTED"},
				{"BookingOrganisationName", edited(func(b *fhir.Appointment) { bookingOrg(b).Name = "Another Name" }), 409, "DUPLICATE_REJECTED"},
				{"BookingOrganisationPhone", edited(func(b *fhir.Appointment) { bookingOrg(b).Telecom[0].Value = "01000000000" }), 409, "DUPLICATE_REJECTED"},
			} {
				t.Run(c.name, func(t *testing.T) {
					r := a.book(t, c.body, false, same)
					if r.header.Get("X-Slotbridge-Replayed") != "" {
						t.Fatalf("answered %d as a replay of the original", r.status)
					}
					wantOutcome(t, r, c.want, c.code)
				})
			}
			// Nothing was booked by the refused requests: the next slot is still free,
			// and the identical retry still replays.
			if st := a.slotStatus(t, s[1].ID); st != "free" {
				t.Fatalf("slot %d is %q", s[1].ID, st)
			}
			again = a.book(t, orig, true, same)
			if again.status != http.StatusCreated || again.header.Get("X-Slotbridge-Replayed") != "true" {
				t.Fatalf("identical retry (XML): %d %s", again.status, again.body)
			}
			// Once the appointment is cancelled, a late resend of the original
			// request (a proxy's duplicate) gets the cancelled appointment back:
			// it does not book the slot again for a patient who gave it up.
			stored := decodeAppt(t, first.body)
			cancelOK(stored, a)
			if r := a.put(t, iidCancel, stored, false, nil); r.status != http.StatusOK {
				t.Fatalf("cancel: %d %s", r.status, r.body)
			}
			late := a.book(t, orig, false, same)
			if late.status != http.StatusCreated || late.header.Get("X-Slotbridge-Replayed") != "true" ||
				decodeAppt(t, late.body).ID != id || decodeAppt(t, late.body).Status != "cancelled" {
				t.Fatalf("a resend after the cancel: %d replayed=%q %s", late.status, late.header.Get("X-Slotbridge-Replayed"), late.body)
			}
			if st := a.slotStatus(t, s[0].ID); st != "free" {
				t.Fatalf("slot %d is %q after a resend of its cancelled booking, want free", s[0].ID, st)
			}
			// A new request for the freed slot books it.
			if r := a.book(t, newBooking(pid, s[0]), false, nil); r.status != http.StatusCreated || r.header.Get("X-Slotbridge-Replayed") != "" {
				t.Fatalf("a new booking of the freed slot: %d %s", r.status, r.body)
			}
		})
	}
}
