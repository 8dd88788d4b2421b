package consumer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

const (
	consumerASID = "200000000359"
	leggASID     = "918999198993"
)

// seen records the headers of every request the provider received.
type seen struct {
	mu   sync.Mutex
	reqs []http.Header
}

func (s *seen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Header.Clone())
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// newProvider serves the demo provider on loopback over a fresh store.
func newProvider(t *testing.T, e storetest.Engine) (string, *seen) {
	t.Helper()
	st := storetest.Open(t, e)
	if err := demo.Load(context.Background(), st, time.Now(), 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
	sn := &seen{}
	srv := httptest.NewServer(sn.wrap(prov.Handler()))
	t.Cleanup(func() { srv.Close(); prov.Close() })
	return srv.URL, sn
}

func testConfig(root, providerASID string) consumer.Config {
	id := auth.DefaultTestIdentity()
	id.Organization.Identifier[0].Value = "A20047"
	return consumer.Config{ServiceRoot: root, ConsumerASID: consumerASID, ProviderASID: providerASID,
		Issuer: id.Issuer, Organization: id.Organization, Practitioner: id.Practitioner, Device: id.Device}
}

func newClient(t *testing.T, cfg consumer.Config) *consumer.Client {
	t.Helper()
	c, err := consumer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantError asserts err is an *Error with the status and Spine code.
func wantError(t *testing.T, what string, err error, status int, code gpconnect.SpineCode) {
	t.Helper()
	var e *consumer.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T), want *consumer.Error %d %s", what, err, err, status, code)
	}
	if e.Status != status || !e.HasCode(code) || e.Outcome == nil {
		t.Fatalf("%s: got %d %q (outcome %v), want %d %s", what, e.Status, e.Code, e.Outcome != nil, status, code)
	}
}

func TestAgainstProvider(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			ctx := context.Background()
			base, sn := newProvider(t, e)
			c := newClient(t, testConfig(base+"/A20047/STU3/1/gpconnect", leggASID))

			cs, err := c.Metadata(ctx)
			if err != nil || cs.Version != gpconnect.SpecVersion || cs.FHIRVersion != "3.0.1" {
				t.Fatalf("metadata: %v %+v", err, cs)
			}

			// Every request carries the GP Connect headers and a fresh token.
			sn.mu.Lock()
			h := sn.reqs[len(sn.reqs)-1]
			sn.mu.Unlock()
			if _, err := uuid.Parse(h.Get("Ssp-TraceID")); err != nil {
				t.Errorf("Ssp-TraceID %q is not a UUID", h.Get("Ssp-TraceID"))
			}
			if h.Get("Ssp-From") != consumerASID || h.Get("Ssp-To") != leggASID || h.Get("Ssp-InteractionID") != string(gpconnect.ReadMetadata) ||
				!strings.HasPrefix(h.Get("Accept"), gpconnect.MediaJSON) || h.Get("Accept-Encoding") != "gzip" {
				t.Errorf("headers: %v", h)
			}
			claims, err := (&auth.Verifier{}).Verify(h.Get("Authorization"))
			if err != nil || claims.OrgODS() != "A20047" || claims.Audience != c.ServiceRoot() || claims.Scope != gpconnect.ScopeOrgRead {
				t.Errorf("token: %v %+v", err, claims)
			}

			pts, err := c.FindPatient(ctx, "9658218865")
			if err != nil || len(pts) != 1 {
				t.Fatalf("find patient: %v, %d", err, len(pts))
			}
			if none, err := c.FindPatient(ctx, "9999999999"); err != nil || len(none) != 0 {
				t.Fatalf("find absent patient: %v %d", err, len(none))
			}
			_, err = c.FindPatient(ctx, "9658218866")
			wantError(t, "bad NHS number", err, 400, gpconnect.InvalidNHSNumber)
			if _, err := c.ReadPatient(ctx, pts[0].ID); err != nil {
				t.Fatal(err)
			}
			_, err = c.ReadPatient(ctx, "999999")
			wantError(t, "unknown patient", err, 404, gpconnect.PatientNotFound)

			orgs, err := c.FindOrganization(ctx, "A20047")
			if err != nil || len(orgs) != 1 {
				t.Fatalf("find org: %v %d", err, len(orgs))
			}
			if _, err := c.ReadOrganization(ctx, orgs[0].ID); err != nil {
				t.Fatal(err)
			}
			pr, err := c.FindPractitioner(ctx, "G13579135")
			if err != nil || len(pr) != 1 {
				t.Fatalf("find practitioner: %v %d", err, len(pr))
			}
			if _, err := c.ReadPractitioner(ctx, pr[0].ID); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ReadLocation(ctx, "1"); err != nil {
				t.Fatal(err)
			}

			// Slot search with every include and both filters; the body is gzipped.
			var raw consumer.Response
			tomorrow := consumer.FormatDate(time.Now().AddDate(0, 0, 1))
			start, _ := time.ParseInLocation("2006-01-02", tomorrow, time.Local)
			res, err := c.SearchSlots(ctx, consumer.SlotQuery{Start: start, End: start.AddDate(0, 0, 3), DateOnly: true,
				Includes: consumer.AllIncludes, ODS: "A20047", OrgType: gpconnect.OrgTypeUrgentCare}, consumer.Capture(&raw))
			if err != nil || len(res.Slots) == 0 || len(res.Organizations) != 1 || len(res.Locations) == 0 || len(res.Practitioners) == 0 {
				t.Fatalf("slots: %v %+v", err, res)
			}
			if !raw.Gzipped {
				t.Errorf("slot search response was not gzipped")
			}
			// A 15-day range is not sent; sent anyway as a raw query, the provider refuses it.
			long := consumer.SlotQuery{Start: start, End: start.AddDate(0, 0, 15)}
			if _, err = c.SearchSlots(ctx, long); !errors.Is(err, consumer.ErrInvalidRequest) {
				t.Fatalf("15-day range: %v, want ErrInvalidRequest", err)
			}
			_, err = c.SearchSlots(ctx, consumer.SlotQuery{Start: start, End: start.AddDate(0, 0, 3)}, consumer.WithRawQuery(long.Values().Encode()))
			wantError(t, "15-day range", err, 422, gpconnect.InvalidParameter)

			// Book two adjacent slots of one schedule as one appointment.
			var pair []*fhir.Slot
			for i := 0; i+1 < len(res.Slots) && pair == nil; i++ {
				a, b := res.Slots[i], res.Slots[i+1]
				if a.Schedule == b.Schedule && a.End == b.Start {
					pair = []*fhir.Slot{a, b}
				}
			}
			if pair == nil {
				t.Fatal("no two adjacent slots")
			}
			org := consumer.BookingOrg{ODS: "A20047", Name: "Consumer Test", Phone: "01632 960999", OrgType: gpconnect.OrgTypeUrgentCare}
			appt, err := res.NewBooking(pair, consumer.Booking{PatientID: pts[0].ID, Org: org, Description: "Consumer test booking"})
			if err != nil {
				t.Fatal(err)
			}
			booked, err := c.Book(ctx, appt)
			if err != nil || booked.Status != 201 || booked.Appointment == nil || booked.VersionID() == "" || booked.Location == "" {
				t.Fatalf("book: %v %+v", err, booked)
			}
			_, err = c.Book(ctx, mustRebook(t, res, pair, pts[0].ID))
			wantError(t, "double booking", err, 409, gpconnect.DuplicateRejected)

			rd, err := c.ReadAppointment(ctx, booked.Appointment.ID)
			if err != nil || rd.ETag != booked.ETag {
				t.Fatalf("read: %v %+v", err, rd)
			}
			am := *rd.Appointment
			am.Description = "Amended by the consumer test"
			amended, err := c.Amend(ctx, &am)
			if err != nil || amended.VersionID() == rd.VersionID() || amended.Appointment.Description != am.Description {
				t.Fatalf("amend: %v %+v", err, amended)
			}
			// The stale version (from the read) is refused.
			_, err = c.Amend(ctx, &am)
			wantError(t, "stale amend", err, 409, gpconnect.ConstraintViolation)

			cancelled, err := c.Cancel(ctx, amended.Appointment, "Consumer test clean-up")
			if err != nil || cancelled.Appointment.Status != "cancelled" {
				t.Fatalf("cancel: %v %+v", err, cancelled)
			}
			list, err := c.RetrieveAppointments(ctx, pts[0].ID, time.Now(), time.Now().AddDate(0, 0, 14))
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range list {
				found = found || (a.ID == booked.Appointment.ID && a.Status == "cancelled")
			}
			if !found {
				t.Fatalf("retrieve does not list the cancelled appointment")
			}

			// Register a patient the practice does not hold; a second time is 409.
			p := &fhir.Patient{Identifier: []fhir.Identifier{{System: gpconnect.SystemNHSNumber, Value: "9651258500"}},
				Name: []fhir.HumanName{{Use: "official", Family: "REA", Given: []string{"Clive"}}}, Gender: "male", BirthDate: "1951-03-10"}
			reg, err := c.RegisterPatient(ctx, p)
			if err != nil || reg.ID == "" {
				t.Fatalf("register: %v", err)
			}
			_, err = c.RegisterPatient(ctx, p)
			wantError(t, "register twice", err, 409, gpconnect.DuplicateRejected)

			// Per-request mutators reach the wire: an expired token is refused.
			_, err = c.Metadata(ctx, consumer.WithClaims(func(m map[string]any) { m["exp"] = 1; m["iat"] = 1 }))
			wantError(t, "expired token", err, 400, gpconnect.BadRequest)
			_, err = c.Metadata(ctx, consumer.WithoutHeader("Ssp-TraceID"))
			wantError(t, "no trace id", err, 400, gpconnect.BadRequest)
			_, err = c.Metadata(ctx, consumer.WithHeader("Ssp-To", "000000000000"))
			wantError(t, "wrong Ssp-To", err, 400, gpconnect.BadRequest)

			// ForEndpoint reuses the identity and pool for another practice.
			other, err := c.ForEndpoint(base+"/D81001/STU3/1/gpconnect", "918999198996")
			if err != nil {
				t.Fatal(err)
			}
			_, err = other.Metadata(ctx)
			wantError(t, "switched-off practice", err, 403, gpconnect.AccessDenied)
		})
	}
}

// mustRebook builds a second booking of the same slots by another organisation.
func mustRebook(t *testing.T, res *consumer.SlotResult, slots []*fhir.Slot, patientID string) *fhir.Appointment {
	t.Helper()
	a, err := res.NewBooking(slots, consumer.Booking{PatientID: patientID,
		Org: consumer.BookingOrg{ODS: "B81016", Name: "Other", Phone: "01632 960998"}, Description: "Second try"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
