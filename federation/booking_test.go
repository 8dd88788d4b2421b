package federation_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestBookAmendCancelThroughHub books a slot the fan-out found for a patient
// registered nowhere (so the hub registers them as temporary), amends and
// cancels it, and sees the slot free again in the next fan-out.
func TestBookAmendCancelThroughHub(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) { testBookAmendCancel(t, e) })
	}
}

func testBookAmendCancel(t *testing.T, e storetest.Engine) {
	ctx := context.Background()
	s, hub, _, _ := newFederationOn(t, e, 3, federation.Config{})
	start, end := tomorrow()
	q := federation.Query{Start: start, End: end}
	res, err := hub.Search(ctx, "h", q)
	if err != nil || len(res.Slots) == 0 || len(res.Failures) != 0 {
		t.Fatalf("search: %v, %d slots, failures %v", err, len(res.Slots), res.Failures)
	}
	// A slot at the second practice, so that the merge is not trivially the first list.
	var pick federation.Slot
	for _, sl := range res.Slots {
		if sl.ODS == s.Endpoints[1].ODS {
			pick = sl
			break
		}
	}
	p := s.Patients[0]
	details := federation.PatientDetails{NHSNumber: p.NHSNumber, Family: p.Family, Given: p.Given, Gender: p.Gender, BirthDate: p.BirthDate}

	t.Run("ErrNotRegisteredNoDemographics", func(t *testing.T) {
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: pick.Ref(), Patient: federation.PatientDetails{NHSNumber: p.NHSNumber}})
		if scheduling.ErrorCode(err) != scheduling.EINVALID {
			t.Fatalf("got %v, want EINVALID", err)
		}
	})
	// Registration needs a given name too (spec §12.4); the consumer would not send one without.
	t.Run("ErrNotRegisteredNoGivenName", func(t *testing.T) {
		noGiven := details
		noGiven.Given = ""
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: pick.Ref(), Patient: noGiven})
		if scheduling.ErrorCode(err) != scheduling.EINVALID || !strings.Contains(err.Error(), "given name") {
			t.Fatalf("got %v, want EINVALID asking for the given name", err)
		}
	})
	t.Run("ErrNotMember", func(t *testing.T) {
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: "A20047/1", Patient: details})
		if scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
			t.Fatalf("got %v, want ENOTFOUND", err)
		}
	})

	b, err := hub.Book(ctx, "h", federation.BookRequest{Slot: pick.Ref(), Patient: details, Description: "Hub test", Comment: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Registered || b.Appointment.Status != "booked" || b.Appointment.Start != scheduling.FormatLocal(pick.Start) || b.Slot.ID != pick.ID {
		t.Fatalf("booked %+v (appointment %+v)", b, b.Appointment)
	}
	after, err := hub.Search(ctx, "h", q)
	if err != nil {
		t.Fatal(err)
	}
	if has(after, pick) || len(after.Slots) != len(res.Slots)-1 {
		t.Fatalf("booked slot still offered (%d slots, was %d)", len(after.Slots), len(res.Slots))
	}
	t.Run("SamePatientAgainIsAlreadyBooked", func(t *testing.T) {
		// A retry after a lost answer finds the booking it made, not "not free".
		again, err := hub.Book(ctx, "h", federation.BookRequest{Slot: pick.Ref(), Patient: details})
		if err != nil || !again.AlreadyBooked || again.Ref() != b.Ref() || again.ETag == "" {
			t.Fatalf("booking the held slot again: %+v, %v; want the first booking %s marked as already booked", again, err, b.Ref())
		}
	})
	t.Run("ErrDemographicsDiffer", func(t *testing.T) {
		// The patient is registered there now: details that differ from the
		// practice's record stop the booking (spec §13) before anything is booked.
		var other federation.Slot
		for _, sl := range after.Slots {
			if sl.ODS == pick.ODS {
				other = sl
			}
		}
		wrong := details
		wrong.Family, wrong.BirthDate = "Nobody", "1900-01-01"
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: other.Ref(), Patient: wrong})
		if scheduling.ErrorCode(err) != scheduling.EINVALID || !strings.Contains(err.Error(), "family name, birth date differ") {
			t.Fatalf("got %v, want EINVALID naming the family name and birth date", err)
		}
		if again, err := hub.Search(ctx, "h", q); err != nil || !has(again, other) {
			t.Fatalf("slot %s was booked despite the mismatch: %v", other.Ref(), err)
		}
	})
	t.Run("ErrTextTooLong", func(t *testing.T) {
		long := strings.Repeat("x", 101)
		if _, err := hub.Book(ctx, "h", federation.BookRequest{Slot: pick.Ref(), Patient: details, Description: long}); scheduling.ErrorCode(err) != scheduling.EINVALID {
			t.Fatalf("101-character description: %v, want EINVALID", err)
		}
		long = strings.Repeat("é", 501)
		if _, err := hub.Amend(ctx, "h", b.Ref(), nil, &long); scheduling.ErrorCode(err) != scheduling.EINVALID {
			t.Fatalf("501-character comment: %v, want EINVALID", err)
		}
	})
	t.Run("ErrSlotTakenByAnother", func(t *testing.T) {
		o := s.Patients[1]
		from := time.Now()
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: pick.Ref(), OrgType: "urgent-care",
			Patient: federation.PatientDetails{NHSNumber: o.NHSNumber, Family: o.Family, Given: o.Given, Gender: o.Gender, BirthDate: o.BirthDate}})
		// A conflict (409 at the API): the slot was taken since the search,
		// and the message says where and how it was looked for.
		to := scheduling.AddDaysLocal(from, federation.MaxSearchDays)
		if scheduling.ErrorCode(err) != scheduling.ECONFLICT || !strings.Contains(err.Error(), "slot "+pick.Ref()+" is not free") ||
			!strings.Contains(err.Error(), "between "+scheduling.FormatDate(from)+" and "+scheduling.FormatDate(to)) ||
			!strings.Contains(err.Error(), "organisation type urgent-care") {
			t.Fatalf("got %v, want ECONFLICT naming the slot, the range and the organisation type", err)
		}
	})

	desc, comment := "Amended through hub", "second"
	am, err := hub.Amend(ctx, "h", b.Ref(), &desc, &comment)
	if err != nil {
		t.Fatal(err)
	}
	if am.Appointment.Description != desc || am.Appointment.Comment != comment || am.ETag != `W/"2"` {
		t.Fatalf("amend: %+v etag %s", am.Appointment, am.ETag)
	}

	// All of this patient's appointments across the hub.
	today := time.Now()
	appts, fails, err := hub.PatientAppointments(ctx, "h", p.NHSNumber, today, today.AddDate(0, 0, 7))
	if err != nil || len(fails) != 0 || len(appts) != 1 || appts[0].Ref() != b.Ref() {
		t.Fatalf("patient appointments: %v %v %+v", err, fails, appts)
	}
	// A range reaching into the past starts today (practices refuse past ranges).
	appts, fails, err = hub.PatientAppointments(ctx, "h", p.NHSNumber, today.AddDate(0, -1, 0), today.AddDate(0, 0, 7))
	if err != nil || len(fails) != 0 || len(appts) != 1 {
		t.Fatalf("patient appointments from a month ago: %v %v %+v", err, fails, appts)
	}
	if _, _, err = hub.PatientAppointments(ctx, "h", p.NHSNumber, today.AddDate(0, -1, 0), today.AddDate(0, 0, -2)); scheduling.ErrorCode(err) != scheduling.EPARAM {
		t.Fatalf("a range wholly in the past: %v, want EPARAM", err)
	}

	// A blank reason is the caller's mistake, reported as such (spec §7.3).
	if _, err := hub.Cancel(ctx, "h", b.Ref(), " \t"); scheduling.ErrorCode(err) != scheduling.EINVALID {
		t.Fatalf("a blank cancellation reason: %v, want EINVALID", err)
	}
	c, err := hub.Cancel(ctx, "h", b.Ref(), "Patient no longer needs it")
	if err != nil {
		t.Fatal(err)
	}
	if c.Appointment.Status != "cancelled" {
		t.Fatalf("cancel: %+v", c.Appointment)
	}
	again, err := hub.Search(ctx, "h", q)
	if err != nil {
		t.Fatal(err)
	}
	if !has(again, pick) || len(again.Slots) != len(res.Slots) {
		t.Fatalf("cancelled slot not free again (%d slots, want %d)", len(again.Slots), len(res.Slots))
	}
	// A second cancel sends nothing and says so: the appointment keeps its
	// version and first reason (spec 7.3 is silent on cancelling twice).
	t.Run("CancelTwiceChangesNothing", func(t *testing.T) {
		c2, err := hub.Cancel(ctx, "h", b.Ref(), "again")
		if err != nil || c2.Appointment.Status != "cancelled" || c2.Appointment.Meta == nil || c.Appointment.Meta == nil ||
			c2.Appointment.Meta.VersionID != c.Appointment.Meta.VersionID || !c2.AlreadyCancelled || c.AlreadyCancelled {
			t.Fatalf("second cancel: %v %+v (first %+v)", err, c2, c)
		}
	})
	// Booking again finds the now-registered patient instead of registering twice.
	b2, err := hub.Book(ctx, "h", federation.BookRequest{Slot: pick.Ref(), Patient: federation.PatientDetails{NHSNumber: p.NHSNumber}})
	if err != nil || b2.Registered || b2.PatientID != b.PatientID {
		t.Fatalf("second booking: %v %+v", err, b2)
	}
}

func has(r *federation.Result, s federation.Slot) bool {
	for _, x := range r.Slots {
		if x.Ref() == s.Ref() {
			return true
		}
	}
	return false
}

// TestHubBookingRange: book and the patient's list look as far ahead as a
// hub search reaches by default (MaxSearchDays), so a slot a search showed
// 40 days out is booked without naming a range and its booking is listed;
// a reversed range is reported as reversed, not as one ending in the past.
func TestHubBookingRange(t *testing.T) {
	ctx := context.Background()
	s, hub, dir, _ := newFederationSim(t, storetest.Engines(false)[0],
		sim.Config{Practices: 1, Days: 45, MinSlots: 20, MaxSlots: 20, Seed: 1}, federation.Config{})
	today := scheduling.LocalMidnight(time.Now())
	res, err := hub.Search(ctx, "h", federation.Query{Start: scheduling.AddDaysLocal(today, 40), End: scheduling.AddDaysLocal(today, 44)})
	if err != nil || len(res.Slots) < 2 || len(res.Failures) != 0 {
		t.Fatalf("search 40 to 44 days out: %v, %d slots, failures %v", err, len(res.Slots), res.Failures)
	}
	person := func(i int) federation.PatientDetails {
		p := s.Patients[i]
		return federation.PatientDetails{NHSNumber: p.NHSNumber, Family: p.Family, Given: p.Given, Gender: p.Gender, BirthDate: p.BirthDate}
	}

	t.Run("OK", func(t *testing.T) {
		b, err := hub.Book(ctx, "h", federation.BookRequest{Slot: res.Slots[0].Ref(), Patient: person(0)})
		if err != nil {
			t.Fatalf("booking a slot 40 days out with no range: %v", err)
		}
		appts, fails, err := hub.PatientAppointments(ctx, "h", person(0).NHSNumber, time.Time{}, time.Time{})
		if err != nil || len(fails) != 0 || len(appts) != 1 || appts[0].Ref() != b.Ref() {
			t.Fatalf("list with no range: %v %v %+v, want %s", err, fails, appts, b.Ref())
		}
	})
	t.Run("ErrReversed", func(t *testing.T) {
		from, to := scheduling.AddDaysLocal(today, 10), scheduling.AddDaysLocal(today, 5)
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: res.Slots[1].Ref(), Patient: person(1), From: from, To: to})
		if scheduling.ErrorCode(err) != scheduling.EPARAM || !strings.Contains(err.Error(), "reversed") {
			t.Errorf("book from +10d to +5d: %v, want EPARAM saying the range is reversed", err)
		}
		_, _, err = hub.PatientAppointments(ctx, "h", person(1).NHSNumber, from, to)
		if scheduling.ErrorCode(err) != scheduling.EPARAM || !strings.Contains(err.Error(), "reversed") {
			t.Errorf("list from +10d to +5d: %v, want EPARAM saying the range is reversed", err)
		}
	})
	// Refused before anything is sent: a look-up range over MaxSearchDays
	// (it would be hundreds of 14-day calls to the practice), text the
	// practice would refuse after the hub had registered the patient, and
	// demographics that are not FHIR values.
	t.Run("ErrBeforeAnythingIsSent", func(t *testing.T) {
		for name, r := range map[string]federation.BookRequest{
			"RangeTooLong":    {Slot: res.Slots[1].Ref(), Patient: person(1), To: scheduling.AddDaysLocal(today, 1000)},
			"BlankDesc":       {Slot: res.Slots[1].Ref(), Patient: person(1), Description: "   "},
			"NULInComment":    {Slot: res.Slots[1].Ref(), Patient: person(1), Comment: "a\x00b"},
			"GenderNotACode":  {Slot: res.Slots[1].Ref(), Patient: federation.PatientDetails{NHSNumber: person(1).NHSNumber, Gender: "bloke"}},
			"BirthDateNoDate": {Slot: res.Slots[1].Ref(), Patient: federation.PatientDetails{NHSNumber: person(1).NHSNumber, BirthDate: "13/04/1963"}},
		} {
			_, err := hub.Book(ctx, "h", r)
			if c := scheduling.ErrorCode(err); c != scheduling.EPARAM && c != scheduling.EINVALID {
				t.Errorf("%s: %v, want it refused before any call", name, err)
			}
		}
	})
	t.Run("API", func(t *testing.T) {
		srv := httptest.NewServer((&federation.API{Hub: hub, Store: dir, Local: true}).Handler())
		t.Cleanup(srv.Close)
		p := s.Patients[1]
		patient := fmt.Sprintf(`{"nhsNumber":%q,"family":%q,"given":%q,"gender":%q,"birthDate":%q}`, p.NHSNumber, p.Family, p.Given, p.Gender, p.BirthDate)
		st, _, m := jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", fmt.Sprintf(`{"slot":%q,"patient":%s}`, res.Slots[1].Ref(), patient))
		if st != 201 {
			t.Fatalf("booking a slot 40 days out with no range: %d %v", st, m)
		}
		st, _, m = jsonCall(t, srv.URL, "GET", "/hub/h/Appointment?patient="+p.NHSNumber, "")
		if list, _ := m["appointments"].([]any); st != 200 || len(list) != 1 {
			t.Fatalf("list with no range: %d %v", st, m)
		}
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/hub/h/Appointment?patient=" + p.NHSNumber + "&from=%2B10d&to=%2B5d", ""},
			{"POST", "/hub/h/Appointment", fmt.Sprintf(`{"slot":%q,"patient":%s,"from":"+10d","to":"+5d"}`, res.Slots[2].Ref(), patient)},
		} {
			st, _, m := jsonCall(t, srv.URL, c.method, c.path, c.body)
			if st != 400 || m["code"] != "invalid_param" || !strings.Contains(fmt.Sprint(m["error"]), "reversed") {
				t.Errorf("%s %s %s: %d %v, want 400 saying the range is reversed", c.method, c.path, c.body, st, m)
			}
		}
	})
}
