package consumer_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

func TestNewRefusesIncompleteIdentity(t *testing.T) {
	good := testConfig("https://provider.example/A20047/STU3/1/gpconnect", leggASID)
	for name, tc := range map[string]struct {
		edit func(*consumer.Config)
		want string // a word the error must contain, naming the field
	}{
		"NoDevice":       {func(c *consumer.Config) { c.Device = fhir.Device{} }, "identifier[0].system"},
		"DeviceNoSystem": {func(c *consumer.Config) { c.Device.Identifier = []fhir.Identifier{{Value: "APP-01"}} }, "identifier[0].system"},
		"DeviceNoValue": {func(c *consumer.Config) {
			c.Device.Identifier = []fhir.Identifier{{System: "https://c.example/Id/device"}}
		}, "identifier[0].value"},
		"DeviceNoModel":   {func(c *consumer.Config) { c.Device.Model = "" }, "model"},
		"DeviceNoVersion": {func(c *consumer.Config) { c.Device.Version = " " }, "version"},
		"IssuerWords":     {func(c *consumer.Config) { c.Issuer = "just words" }, "Issuer"},
		"IssuerRelative":  {func(c *consumer.Config) { c.Issuer = "/consumer" }, "Issuer"},
		"IssuerEmpty":     {func(c *consumer.Config) { c.Issuer = "" }, "Issuer"},
		"LegacyODSSystem": {func(c *consumer.Config) {
			c.Organization.Identifier = []fhir.Identifier{{System: gpconnect.SystemODSOrganisationOld, Value: "A20047"}}
		}, "legacy ODS system"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			cfg.Device.Identifier = append([]fhir.Identifier(nil), good.Device.Identifier...)
			tc.edit(&cfg)
			_, err := consumer.New(cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
	// Providers must accept a practitioner without the role-profile and
	// local identifiers or a given name, so the client must not refuse one.
	for name, edit := range map[string]func(*consumer.Config){
		"SDSUserIDOnly": func(c *consumer.Config) {
			c.Practitioner.Identifier = []fhir.Identifier{{System: gpconnect.SystemSDSUser, Value: "UNK"}}
		},
		"NoGivenName": func(c *consumer.Config) {
			c.Practitioner.Name = []fhir.HumanName{{Family: "Smith"}}
		},
		"URNIssuer": func(c *consumer.Config) { c.Issuer = "urn:uuid:6c3f0a0e-1d0b-4c6e-9a55-3c1f7f0a2b11" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			edit(&cfg)
			if _, err := consumer.New(cfg); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// requestCounter is a loopback provider that answers every request with
// body and counts the requests, to show what was sent and what was not.
func requestCounter(t *testing.T, body string) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", fhirJSON)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/A20047/STU3/1/gpconnect", &n
}

const emptySearchset = `{"resourceType":"Bundle","type":"searchset","entry":[]}`

func TestSearchSlotsRange(t *testing.T) {
	root, sent := requestCounter(t, emptySearchset)
	c := newClient(t, testConfig(root, leggASID))
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	day := at("2027-06-01T00:00:00+01:00")
	for name, tc := range map[string]struct {
		q    consumer.SlotQuery
		want string // "" when the search is sent
	}{
		"20Days":           {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, 20)}, "20 days"},
		"Negative":         {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, -1)}, "inverted"},
		"Empty":            {consumer.SlotQuery{Start: day, End: day}, "empty"},
		"NoEnd":            {consumer.SlotQuery{Start: day}, "End"},
		"14DaysAndASecond": {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, 14).Add(time.Second)}, "14 days 1s"},
		"DatesOver14":      {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, 15), DateOnly: true}, "15 days"},
		"DatesInverted":    {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, -1), DateOnly: true}, "inverted"},
		"14Days":           {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, 14)}, ""},
		"Dates14":          {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, 14), DateOnly: true}, ""},
		"OneDate":          {consumer.SlotQuery{Start: day, End: day, DateOnly: true}, ""},
		// 14 wall-clock days across a clock change are 337 or 335 hours.
		"AcrossAutumnChange": {consumer.SlotQuery{Start: at("2027-10-20T09:00:00+01:00"), End: at("2027-11-03T09:00:00Z")}, ""},
		"AcrossSpringChange": {consumer.SlotQuery{Start: at("2027-03-20T09:00:00Z"), End: at("2027-04-03T09:00:00+01:00")}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			before := sent.Load()
			_, err := c.SearchSlots(context.Background(), tc.q)
			if tc.want == "" {
				if err != nil || sent.Load() != before+1 {
					t.Fatalf("err %v, %d requests sent, want the search sent", err, sent.Load()-before)
				}
				return
			}
			if !errors.Is(err, consumer.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrInvalidRequest saying %q", err, tc.want)
			}
			if strings.Contains(tc.want, "days") && !strings.Contains(err.Error(), "split") {
				t.Errorf("err %v does not say to split the period", err)
			}
			if n := sent.Load() - before; n != 0 {
				t.Fatalf("%d requests sent", n)
			}
		})
	}
}

func TestRetrieveAppointmentsRange(t *testing.T) {
	root, sent := requestCounter(t, emptySearchset)
	cfg := testConfig(root, leggASID)
	// 23:30 UTC on 4 December is still 4 December in the UK (GMT).
	now := time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return now }
	c := newClient(t, cfg)
	day := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02", s, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for name, tc := range map[string]struct {
		from, to time.Time
		want     string // "" when the search is sent
	}{
		"PastAndInverted": {day("2026-12-05").AddDate(0, 0, -2), day("2026-12-02"), "before today"},
		"Yesterday":       {day("2026-12-03"), day("2026-12-10"), "before today"},
		"Inverted":        {day("2026-12-05"), day("2026-12-04"), "inverted"},
		"TodayOnly":       {now, now, ""},
		"TodayOn":         {day("2026-12-04"), day("2027-03-01"), ""},
	} {
		t.Run(name, func(t *testing.T) {
			before := sent.Load()
			_, err := c.RetrieveAppointments(context.Background(), "1", tc.from, tc.to)
			if tc.want == "" {
				if err != nil || sent.Load() != before+1 {
					t.Fatalf("err %v, %d requests sent, want the search sent", err, sent.Load()-before)
				}
				return
			}
			if !errors.Is(err, consumer.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) || sent.Load() != before {
				t.Fatalf("err %v with %d requests sent, want ErrInvalidRequest saying %q and none sent", err, sent.Load()-before, tc.want)
			}
		})
	}
}
