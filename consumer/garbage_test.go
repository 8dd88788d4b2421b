package consumer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// stub serves one canned answer on every path.
func stub(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/A20047/STU3/1/gpconnect"
}

func answer(status int, ct, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

const fhirJSON = "application/fhir+json;charset=utf-8"

func TestBadResponses(t *testing.T) {
	ctx := context.Background()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"resourceType":"CapabilityStatement","status":"active","date":"2026","kind":"instance","fhirVersion":"3.0.1","acceptUnknown":"both","format":[]}`))
	zw.Close()
	cases := []struct {
		name string
		h    http.HandlerFunc
		kind error // a sentinel, or nil when an *Error is expected
		code int
	}{
		{"HTMLSuccess", answer(200, "text/html", "<html>hello</html>"), consumer.ErrContentType, 0},
		{"NoContentType", answer(200, "", `{"resourceType":"CapabilityStatement"}`), consumer.ErrContentType, 0},
		{"GarbageJSON", answer(200, fhirJSON, `{"resourceType":`), consumer.ErrMalformedBody, 0},
		{"NotAnObject", answer(200, fhirJSON, `[1,2,3]`), consumer.ErrMalformedBody, 0},
		{"WrongShape", answer(200, fhirJSON, `{"resourceType":"CapabilityStatement","format":"json"}`), consumer.ErrMalformedBody, 0},
		{"WrongResourceType", answer(200, fhirJSON, `{"resourceType":"Patient"}`), consumer.ErrMalformedBody, 0},
		{"EmptyBody", answer(200, fhirJSON, ``), consumer.ErrMalformedBody, 0},
		{"Redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", 301) }, consumer.ErrUnexpectedStatus, 0},
		{"Created", answer(201, fhirJSON, `{"resourceType":"CapabilityStatement"}`), consumer.ErrUnexpectedStatus, 0},
		{"BadGzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", fhirJSON)
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("this is not gzip"))
		}, consumer.ErrMalformedBody, 0},
		{"TooLarge", answer(200, fhirJSON, `{"resourceType":"CapabilityStatement","description":"`+strings.Repeat("x", 5000)+`"}`), consumer.ErrTooLarge, 0},
		{"BadGateway", answer(502, "text/html", "<h1>bad gateway</h1>"), nil, 502},
		{"ServerErrorGarbage", answer(500, fhirJSON, "{{{"), nil, 500},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(stub(t, tc.h), leggASID)
			cfg.MaxBody = 4096
			c := newClient(t, cfg)
			_, err := c.Metadata(ctx)
			if tc.kind != nil {
				if !errors.Is(err, tc.kind) {
					t.Fatalf("err = %v (%T), want %v", err, err, tc.kind)
				}
				return
			}
			e := consumer.AsError(err)
			if e == nil || e.Status != tc.code || e.Outcome != nil || e.BodyProblem == "" {
				t.Fatalf("err = %v, want *Error %d without outcome", err, tc.code)
			}
		})
	}

	t.Run("GzipOK", func(t *testing.T) {
		c := newClient(t, testConfig(stub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", fhirJSON)
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		}), leggASID))
		var raw consumer.Response
		cs, err := c.Metadata(ctx, consumer.Capture(&raw))
		if err != nil || cs.FHIRVersion != "3.0.1" || !raw.Gzipped {
			t.Fatalf("gzip: %v %+v", err, cs)
		}
	})

	t.Run("SSPOutcome", func(t *testing.T) {
		body := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","details":{"coding":[{"system":"http://fhir.nhs.net/ValueSet/gpconnect-schedule-response-code-1-0","code":"403","display":"ASID_CHECK_FAILED_MESSAGESENDER_200000000359"}]},"diagnostics":"ASID_CHECK_FAILED_MESSAGESENDER_200000000359"}]}`
		c := newClient(t, testConfig(stub(t, answer(403, fhirJSON, body)), leggASID))
		_, err := c.Metadata(ctx)
		e := consumer.AsError(err)
		if e == nil || e.Status != 403 || e.Code != "" || e.Detail.Code != "403" || e.IssueType != "forbidden" {
			t.Fatalf("SSP error: %#v", e)
		}
	})

	// An OperationOutcome in XML, or JSON under another content type, still
	// gives its Spine code; other foreign bodies (the HTML above) do not.
	t.Run("ForeignOutcomes", func(t *testing.T) {
		xmlOO := `<OperationOutcome xmlns="http://hl7.org/fhir"><issue><severity value="error"/><code value="conflict"/><details><coding><system value="` +
			gpconnect.SystemSpineError + `"/><code value="DUPLICATE_REJECTED"/></coding></details></issue></OperationOutcome>`
		jsonOO := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","details":{"coding":[{"system":"` +
			gpconnect.SystemSpineError + `","code":"INVALID_RESOURCE"}]}}]}`
		for _, tc := range []struct {
			name, ct, body string
			status         int
			want           gpconnect.SpineCode
		}{
			{"XML", "application/fhir+xml;charset=utf-8", xmlOO, 409, gpconnect.DuplicateRejected},
			{"JSONAsText", "text/plain", jsonOO, 422, gpconnect.InvalidResource},
			{"NoContentType", "", " " + jsonOO, 422, gpconnect.InvalidResource},
		} {
			c := newClient(t, testConfig(stub(t, answer(tc.status, tc.ct, tc.body)), leggASID))
			_, err := c.Metadata(ctx)
			if e := consumer.AsError(err); e == nil || e.Status != tc.status || e.Code != tc.want || e.Outcome == nil {
				t.Errorf("%s: err = %v, want %s", tc.name, err, tc.want)
			}
		}
		c := newClient(t, testConfig(stub(t, answer(500, "text/plain", `{"resourceType":"Patient"}`)), leggASID))
		if e := consumer.AsError(metadataErr(c.Metadata(ctx))); e == nil || e.Outcome != nil || e.BodyProblem == "" {
			t.Errorf("a Patient under text/plain: %v, want no outcome", e)
		}
	})

	// A booking answered 200 instead of 201 was made all the same: it is a
	// success the caller sees as such, not an error to retry.
	t.Run("BookAnswered200", func(t *testing.T) {
		c := newClient(t, testConfig(stub(t, answer(200, fhirJSON, `{"resourceType":"Appointment","id":"8","status":"booked"}`)), leggASID))
		r, err := c.Book(ctx, &fhir.Appointment{ResourceType: "Appointment", Status: "booked", Description: "d"})
		if err != nil || r.Status != 200 || r.Appointment == nil || r.Appointment.ID != "8" {
			t.Fatalf("Book answered 200: %+v, %v", r, err)
		}
	})

	t.Run("AccessDeniedSpellings", func(t *testing.T) {
		body := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","details":{"coding":[{"system":"` +
			gpconnect.SystemSpineError + `","code":"ACCESS DENIED","display":"Access denied"}]}}]}`
		c := newClient(t, testConfig(stub(t, answer(403, fhirJSON, body)), leggASID))
		_, err := c.Metadata(ctx)
		if e := consumer.AsError(err); e == nil || !e.HasCode(gpconnect.AccessDenied) || e.Code != gpconnect.AccessDenied {
			t.Fatalf("ACCESS DENIED not read as ACCESS_DENIED (callers that compare Code, as the hub does, must see one code): %v", err)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		release := make(chan struct{})
		c := newClient(t, testConfig(stub(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}), leggASID))
		defer close(release)
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		_, err := c.Metadata(tctx)
		if !errors.Is(err, consumer.ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		var te *consumer.TransportError
		if !errors.As(err, &te) {
			t.Fatalf("not a *TransportError: %T", err)
		}
	})

	t.Run("ConnectionRefused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		c := newClient(t, testConfig("http://"+addr+"/A20047/STU3/1/gpconnect", leggASID))
		_, err = c.Metadata(ctx)
		if !errors.Is(err, consumer.ErrTransport) {
			t.Fatalf("err = %v, want ErrTransport", err)
		}
	})

	t.Run("ConnectionDroppedMidBody", func(t *testing.T) {
		c := newClient(t, testConfig(stub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", fhirJSON)
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			w.Write([]byte(`{"resourceType":`))
			hj, ok := w.(http.Hijacker)
			if !ok {
				return
			}
			conn, _, _ := hj.Hijack()
			conn.Close()
		}), leggASID))
		_, err := c.Metadata(ctx)
		if !errors.Is(err, consumer.ErrTransport) {
			t.Fatalf("err = %v, want ErrTransport", err)
		}
	})
}

func TestProxyPrefixAndHeaders(t *testing.T) {
	var gotPath, gotQuery string
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery, gotHeader = r.URL.Path, r.URL.RawQuery, r.Header.Clone()
		w.Header().Set("Content-Type", fhirJSON)
		w.Write([]byte(`{"resourceType":"Bundle","type":"searchset","entry":[]}`))
	}))
	defer srv.Close()
	cfg := testConfig("https://provider.example/A20047/STU3/1/gpconnect", leggASID)
	cfg.ProxyURL = srv.URL
	c := newClient(t, cfg)
	start := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	res, err := c.SearchSlots(context.Background(), consumer.SlotQuery{Start: start, End: start.Add(48 * time.Hour),
		ODS: "A20047", OrgType: gpconnect.OrgTypeGPPractice, ServiceID: "123", Includes: consumer.Includes{Location: true}})
	if err != nil || len(res.Slots) != 0 {
		t.Fatalf("search: %v", err)
	}
	if gotPath != "/https://provider.example/A20047/STU3/1/gpconnect/Slot" {
		t.Errorf("path through proxy = %q", gotPath)
	}
	for _, want := range []string{"start=ge2026-07-01T10%3A00%3A00%2B01%3A00", "status=free", "_include=Slot%3Aschedule",
		"searchFilter=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fods-organization-code%7CA20047", "service.identifier=",
		"_include%3Arecurse=Schedule%3Aactor%3ALocation"} {
		if !strings.Contains(gotQuery, want) {
			t.Errorf("query %q lacks %q", gotQuery, want)
		}
	}
	if gotHeader.Get("Ssp-InteractionID") != string(gpconnect.SearchSlot) {
		t.Errorf("interaction %q", gotHeader.Get("Ssp-InteractionID"))
	}
}

func TestNewBookingRules(t *testing.T) {
	ch := func(s string) []fhir.Extension {
		return []fhir.Extension{{URL: gpconnect.ExtDeliveryChannel, ValueCode: &s}}
	}
	b := fhir.NewSearchset()
	add := func(r fhir.Resource) { b.Entry = append(b.Entry, fhir.BundleEntry{Resource: r}) }
	add(&fhir.Schedule{ResourceType: "Schedule", ID: "s1", Actor: []fhir.Reference{{Reference: "Location/1"}, {Reference: "Practitioner/2"}}})
	add(&fhir.Schedule{ResourceType: "Schedule", ID: "s2", Actor: []fhir.Reference{{Reference: "Location/1"}}})
	slot := func(id, sched, start, end, channel string) *fhir.Slot {
		s := &fhir.Slot{ResourceType: "Slot", ID: id, Schedule: fhir.Reference{Reference: "Schedule/" + sched}, Status: "free",
			Start: start, End: end, Extension: ch(channel), ServiceType: []fhir.CodeableConcept{{Text: "GP"}}}
		add(s)
		return s
	}
	a := slot("1", "s1", "2026-07-01T09:00:00+01:00", "2026-07-01T09:10:00+01:00", "In-person")
	b2 := slot("2", "s1", "2026-07-01T09:10:00+01:00", "2026-07-01T09:20:00+01:00", "In-person")
	gap := slot("3", "s1", "2026-07-01T09:30:00+01:00", "2026-07-01T09:40:00+01:00", "In-person")
	other := slot("4", "s2", "2026-07-01T09:20:00+01:00", "2026-07-01T09:30:00+01:00", "In-person")
	phone := slot("5", "s1", "2026-07-01T09:20:00+01:00", "2026-07-01T09:30:00+01:00", "Telephone")
	res := consumer.NewSlotResult(b)
	// Booked the day before the slots: NewBooking refuses a slot already started.
	bk := consumer.Booking{PatientID: "9", Org: consumer.BookingOrg{ODS: "X1", Name: "X", Phone: "1"}, Description: "d",
		Created: time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)}

	appt, err := res.NewBooking([]*fhir.Slot{a, b2}, bk)
	if err != nil {
		t.Fatal(err)
	}
	if appt.Start != a.Start || appt.End != b2.End || len(appt.Slot) != 2 || len(appt.Participant) != 3 {
		t.Fatalf("booking: %+v", appt)
	}
	for name, slots := range map[string][]*fhir.Slot{"NotAdjacent": {a, gap}, "OtherSchedule": {b2, other}, "OtherChannel": {b2, phone}, "None": nil} {
		t.Run(name, func(t *testing.T) {
			if _, err := res.NewBooking(slots, bk); !errors.Is(err, consumer.ErrBadSlots) {
				t.Fatalf("err = %v, want ErrBadSlots", err)
			}
		})
	}
}

// TestCallerClientNotRedirected: a caller's own http.Client, which would
// follow redirects, is not allowed to: the 3xx comes back as
// ErrUnexpectedStatus and the place it points at sees nothing.
func TestCallerClientNotRedirected(t *testing.T) {
	var elsewhere int
	mux := http.NewServeMux()
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { elsewhere++ })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := testConfig(srv.URL+"/A20047/STU3/1/gpconnect", leggASID)
	own := &http.Client{}
	cfg.HTTPClient = own
	c := newClient(t, cfg)
	if _, err := c.Metadata(context.Background()); !errors.Is(err, consumer.ErrUnexpectedStatus) {
		t.Fatalf("err = %v, want ErrUnexpectedStatus", err)
	}
	if elsewhere != 0 {
		t.Fatalf("the redirect was followed %d times", elsewhere)
	}
	if own.CheckRedirect != nil {
		t.Fatal("the caller's client was changed")
	}
}

// metadataErr drops Metadata's result, keeping its error.
func metadataErr(_ *fhir.CapabilityStatement, err error) error { return err }
