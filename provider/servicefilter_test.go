package provider_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

// TestServiceFiltering walks spec §5.10's table: with service filtering on
// at the practice, and with it off by the organisation's switch and by the
// supplier's, for the slot search, Find/Read HealthcareService, the
// CapabilityStatement, and booking with a HealthcareService participant.
func TestServiceFiltering(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			a := newApptEnv(t, eng)
			// HealthcareService/2 is linked to the HCA afternoon sessions, whose
			// slots are the only A20047 slots of the urgent-care profile;
			// HealthcareService/1 is linked to no session.
			sl := a.take(t, "urgent-care", 3, 0, false)
			patient := a.patientID(t, "9658218881")

			svcQuery := func() map[string][]string {
				q := slotQuery(a.now, 3)
				q["service.identifier"] = []string{sysDOS + "|2000041002"}
				q["_include:recurse"] = append(q["_include:recurse"], "Schedule:actor:HealthcareService")
				return q
			}
			withService := func(appt *fhir.Appointment, id int) *fhir.Appointment {
				appt.Participant = append(appt.Participant, fhir.AppointmentParticipant{
					Actor: &fhir.Reference{Reference: fmt.Sprintf("HealthcareService/%d", id)}, Status: "accepted"})
				return appt
			}
			participants := func(x obj) []string {
				var refs []string
				for _, p := range arr(x, "participant") {
					refs = append(refs, str(p, "actor", "reference"))
				}
				return refs
			}

			// On. The search's Schedules name the service: searched with the
			// switch on before it is turned off, and again after a relink, so
			// no Schedule encoded for one state or link is served in another.
			linked := checkLinkedTo(t, a.env, svcQuery(), "HealthcareService/2")
			// The DOS id is read trimmed, as searchFilter codes are.
			padded := svcQuery()
			padded["service.identifier"] = []string{sysDOS + "| 2000041002 "}
			if got := checkLinkedTo(t, a.env, padded, "HealthcareService/2"); !slices.Equal(got, linked) {
				t.Errorf("a padded DOS id found schedules %v, want %v", got, linked)
			}
			sess, _ := strconv.ParseInt(linked[0], 10, 64)
			if err := a.st.AdminChange(context.Background(), func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
				return nil, tx.SetSessionService(sess, 1)
			}); err != nil {
				t.Fatal(err)
			}
			q1 := slotQuery(a.now, 3)
			q1["service.identifier"] = []string{sysDOS + "|2000041001"}
			q1["_include:recurse"] = append(q1["_include:recurse"], "Schedule:actor:HealthcareService")
			if got := checkLinkedTo(t, a.env, q1, "HealthcareService/1"); !slices.Contains(got, fmt.Sprint(sess)) {
				t.Errorf("after relinking Schedule/%d to HealthcareService/1 a search naming it found schedules %v", sess, got)
			}
			if err := a.st.AdminChange(context.Background(), func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
				return nil, tx.SetSessionService(sess, 2)
			}); err != nil {
				t.Fatal(err)
			}
			booked := wantJSON(t, a.book(t, withService(newBooking(patient, sl[0]), 2), false, nil), http.StatusCreated)
			if refs := participants(booked); !slices.Contains(refs, "HealthcareService/2") {
				t.Errorf("booked appointment's participants %v lack HealthcareService/2", refs)
			}
			apptPath := "Appointment/" + str(booked, "id")
			read := wantOK(t, a.get(t, apptPath, iidReadAppt, scopePatRead), "Appointment")
			if refs := participants(read); !slices.Contains(refs, "HealthcareService/2") {
				t.Errorf("read appointment's participants %v lack HealthcareService/2", refs)
			}
			wantOutcome(t, a.book(t, withService(newBooking(patient, sl[1]), 1), false, nil), 422, "INVALID_RESOURCE")
			wantOutcome(t, a.book(t, withService(withService(newBooking(patient, sl[1]), 2), 2), false, nil), 422, "INVALID_RESOURCE")
			cs := wantOK(t, a.get(t, "metadata", iidMetadata, scopeOrgRead), "CapabilityStatement")
			if v := str(extension(cs, extFilteringStatus), "valueCode"); v != "enabled" {
				t.Errorf("CapabilityStatement ServiceFilteringStatus %q, want enabled", v)
			}

			// The 1.2.8 test pack's AppointmentBook and AppointmentCancel
			// scenarios with HEALTHCARE2: book the first slot of a search naming
			// its DOS id, with the default builder's participants (Patient and
			// Location, no service); the booking and the cancel both answer a
			// HealthcareService participant, the schedule's service.
			found := wantOK(t, a.searchSlots(t, svcQuery()), "Bundle")
			first := slotIDs(found)[0]
			var fs []slotInfo
			if err := a.st.DB().SelectContext(context.Background(), &fs, a.st.DB().Rebind(slotSelect+`s.id = ?`), 0, first); err != nil || len(fs) != 1 {
				t.Fatalf("slot %s: %v", first, err)
			}
			viaDOS := a.mustBook(t, newBooking(patient, fs[0]))
			if refs := participantsOf(viaDOS); !slices.Contains(refs, "HealthcareService/2") {
				t.Errorf("a booking of a slot found through HEALTHCARE2 answers participants %v, want HealthcareService/2 among them", refs)
			}
			withReason(viaDOS, "double booked")
			cancelled := wantOK(t, a.put(t, iidCancel, viaDOS, false, nil), "Appointment")
			if refs := participants(cancelled); !slices.Contains(refs, "HealthcareService/2") {
				t.Errorf("its cancel answers participants %v, want HealthcareService/2 among them", refs)
			}

			// Another practice with filtering on and no services of its own
			// neither lists nor reads A20047's.
			if err := a.st.SetServiceFiltering(context.Background(), odsNorthgate, true); err != nil {
				t.Fatal(err)
			}
			wantOutcome(t, a.do(t, a.requestAt(t, odsNorthgate, asidNorthgate, http.MethodGet, "HealthcareService/1", iidReadHCS, scopeOrgRead)), 404, "NO_RECORD_FOUND")
			if b := wantOK(t, a.do(t, a.requestAt(t, odsNorthgate, asidNorthgate, http.MethodGet, "HealthcareService", iidFindHCS, scopeOrgRead)), "Bundle"); len(entries(b)) != 0 {
				t.Errorf("B82005 lists %d services, want none of A20047's", len(entries(b)))
			}

			// Off by the organisation switch: the parameter and the include are
			// ignored, no service appears anywhere, the list counts as empty.
			if err := a.st.SetServiceFiltering(context.Background(), odsLegg, false); err != nil {
				t.Fatal(err)
			}
			checkFilteringOff(t, a.env, "organization-disabled")
			read = wantOK(t, a.get(t, apptPath, iidReadAppt, scopePatRead), "Appointment")
			if refs := participants(read); slices.Contains(refs, "HealthcareService/2") {
				t.Errorf("with filtering off the appointment still has a HealthcareService participant: %v", refs)
			}
			// A consumer that searched before the switch may still name the
			// slot's own service: accepted, and not shown; another service is not.
			wantOutcome(t, a.book(t, withService(newBooking(patient, sl[1]), 1), false, nil), 422, "INVALID_RESOURCE")
			own := wantJSON(t, a.book(t, withService(newBooking(patient, sl[2]), 2), false, nil), http.StatusCreated)
			if refs := participants(own); slices.Contains(refs, "HealthcareService/2") {
				t.Errorf("with filtering off the booking answers a HealthcareService participant: %v", refs)
			}

			// Off by the supplier switch (off, or on at other organisations
			// only), whatever the practice's own switch says.
			if err := a.st.SetServiceFiltering(context.Background(), odsLegg, true); err != nil {
				t.Fatal(err)
			}
			for _, sup := range []string{"off", "B82005,C81001"} {
				sf, err := scheduling.ParseSupplierFiltering(sup)
				if err != nil {
					t.Fatal(err)
				}
				checkFilteringOff(t, withConfig(t, a.env, provider.Config{ServiceFiltering: sf}), "supplier-disabled")
			}
			sf, _ := scheduling.ParseSupplierFiltering("a20047")
			on := withConfig(t, a.env, provider.Config{ServiceFiltering: sf})
			checkLinkedTo(t, on, svcQuery(), "HealthcareService/2")
			b := wantOK(t, on.searchSlots(t, svcQuery()), "Bundle")
			if v := str(extension(at(b, "meta"), extFilteringStatus), "valueCode"); v != "enabled" {
				t.Errorf("supplier on at A20047: ServiceFilteringStatus %q, want enabled", v)
			}
		})
	}
}

// checkLinkedTo runs a search naming one service and checks that it found
// slots, that every Schedule in the Bundle references the service, and that
// the service is included; it returns the Schedules' ids.
func checkLinkedTo(t *testing.T, e *env, q url.Values, service string) []string {
	t.Helper()
	b := wantOK(t, e.searchSlots(t, q), "Bundle")
	checkSlotBundle(t, b, q)
	if len(slotIDs(b)) == 0 {
		t.Fatalf("a search naming %s found no slot", service)
	}
	var ids []string
	for _, r := range entries(b) {
		if str(r, "resourceType") != "Schedule" {
			continue
		}
		ids = append(ids, str(r, "id"))
		var refs []string
		for _, a := range arr(r, "actor") {
			refs = append(refs, str(a, "reference"))
		}
		if !slices.Contains(refs, service) {
			t.Errorf("Schedule/%s (actors %v) does not reference %s", str(r, "id"), refs, service)
		}
	}
	_, id, _ := strings.Cut(service, "/")
	if got := idsOf(b, "HealthcareService"); !slices.Equal(got, []string{id}) {
		t.Errorf("HealthcareService entries %v, want [%s]", got, id)
	}
	return ids
}

// checkFilteringOff checks e's A20047 endpoint behaves as spec §5.10's
// "switch effectively OFF" column says, with status as the reason.
func checkFilteringOff(t *testing.T, e *env, status string) {
	t.Helper()
	q := slotQuery(e.now, 3)
	plain := wantOK(t, e.searchSlots(t, q), "Bundle")
	q["service.identifier"] = []string{sysDOS + "|2000041002"}
	q["_include:recurse"] = append(q["_include:recurse"], "Schedule:actor:HealthcareService")
	b := wantOK(t, e.searchSlots(t, q), "Bundle")
	checkSlotBundle(t, b, q)
	if v := str(extension(at(b, "meta"), extFilteringStatus), "valueCode"); v != status {
		t.Errorf("ServiceFilteringStatus %q, want %q", v, status)
	}
	if a, b := slotIDs(plain), slotIDs(b); !slices.Equal(a, b) {
		t.Errorf("service.identifier changed the slots although filtering is off: %d vs %d", len(a), len(b))
	}
	for _, r := range entries(b) {
		switch str(r, "resourceType") {
		case "HealthcareService":
			t.Errorf("HealthcareService/%s in the Bundle although filtering is off", str(r, "id"))
		case "Schedule":
			for _, a := range arr(r, "actor") {
				ref := str(a, "reference")
				if typ, _, _ := strings.Cut(ref, "/"); typ != "Location" && typ != "Practitioner" {
					t.Errorf("Schedule/%s has actor %s although filtering is off", str(r, "id"), ref)
				}
			}
		}
	}
	unknown := slotQuery(e.now, 3)
	unknown["service.identifier"] = []string{sysDOS + "|1000000123"}
	wantOK(t, e.searchSlots(t, unknown), "Bundle")
	if n := len(entries(wantOK(t, e.get(t, "HealthcareService", iidFindHCS, scopeOrgRead), "Bundle"))); n != 0 {
		t.Errorf("find with filtering off: %d entries, want 0", n)
	}
	wantOutcome(t, e.get(t, "HealthcareService/1", iidReadHCS, scopeOrgRead), 404, "NO_RECORD_FOUND")
	cs := wantOK(t, e.get(t, "metadata", iidMetadata, scopeOrgRead), "CapabilityStatement")
	if v := str(extension(cs, extFilteringStatus), "valueCode"); v != status {
		t.Errorf("CapabilityStatement ServiceFilteringStatus %q, want %q", v, status)
	}
}

// withConfig is e served by another provider over the same store, configured by cfg.
func withConfig(t *testing.T, e *env, cfg provider.Config) *env {
	t.Helper()
	p := provider.New(e.st, &auth.Verifier{}, slog.New(slog.DiscardHandler), cfg)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(p.Close)
	t.Cleanup(srv.Close)
	c := *e
	c.prov, c.srv = p, srv
	return &c
}

// participantsOf lists an appointment's participant references.
func participantsOf(x *fhir.Appointment) []string {
	var refs []string
	for _, p := range x.Participant {
		if p.Actor != nil {
			refs = append(refs, p.Actor.Reference)
		}
	}
	return refs
}
