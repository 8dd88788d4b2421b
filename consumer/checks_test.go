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

// sentOrRefused runs call and checks it against want: "" means the request
// went out (one request, no error); any other want means it was refused
// before sending, with ErrInvalidRequest saying want. It returns call's error.
func sentOrRefused(t *testing.T, sent *atomic.Int32, want string, call func() error) error {
	t.Helper()
	before := sent.Load()
	err := call()
	n := sent.Load() - before
	if want == "" {
		if err != nil || n != 1 {
			t.Fatalf("err %v, %d requests sent, want it sent", err, n)
		}
		return nil
	}
	if !errors.Is(err, consumer.ErrInvalidRequest) || !strings.Contains(err.Error(), want) || n != 0 {
		t.Fatalf("err %v with %d requests sent, want ErrInvalidRequest saying %q and none sent", err, n, want)
	}
	return err
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
		"14DaysAndASecond": {consumer.SlotQuery{Start: day, End: day.AddDate(0, 0, 14).Add(time.Second)}, "14 days 00:00:01"},
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
			err := sentOrRefused(t, sent, tc.want, func() error { _, err := c.SearchSlots(context.Background(), tc.q); return err })
			if strings.Contains(tc.want, "days") && !strings.Contains(err.Error(), "split") {
				t.Errorf("err %v does not say to split the period", err)
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
			sentOrRefused(t, sent, tc.want, func() error { _, err := c.RetrieveAppointments(context.Background(), "1", tc.from, tc.to); return err })
		})
	}
}

func TestNewBookingRefusesLongTextAndStartedSlots(t *testing.T) {
	b := fhir.NewSearchset()
	b.Entry = append(b.Entry, fhir.BundleEntry{Resource: &fhir.Schedule{ResourceType: "Schedule", ID: "s1", Actor: []fhir.Reference{{Reference: "Location/1"}}}})
	slot := &fhir.Slot{ResourceType: "Slot", ID: "1", Schedule: fhir.Reference{Reference: "Schedule/s1"}, Status: "free",
		Start: "2027-07-01T09:00:00+01:00", End: "2027-07-01T09:10:00+01:00"}
	b.Entry = append(b.Entry, fhir.BundleEntry{Resource: slot})
	res := consumer.NewSlotResult(b)
	before := time.Date(2027, 6, 30, 12, 0, 0, 0, time.UTC)
	bk := func(edit func(*consumer.Booking)) consumer.Booking {
		v := consumer.Booking{PatientID: "9", Org: consumer.BookingOrg{ODS: "X1", Name: "X", Phone: "1"}, Description: "d", Created: before}
		edit(&v)
		return v
	}
	for name, tc := range map[string]struct {
		bk   consumer.Booking
		want string // "" when the booking is built
	}{
		"Description150":  {bk(func(b *consumer.Booking) { b.Description = strings.Repeat("d", 150) }), "description is 150 characters"},
		"Comment600":      {bk(func(b *consumer.Booking) { b.Comment = strings.Repeat("c", 600) }), "comment is 600 characters"},
		"Description101":  {bk(func(b *consumer.Booking) { b.Description = strings.Repeat("é", 101) }), "description is 101 characters"},
		"SlotStarted":     {bk(func(b *consumer.Booking) { b.Created = time.Date(2027, 7, 1, 8, 5, 0, 0, time.UTC) }), "started"},
		"SlotStartingNow": {bk(func(b *consumer.Booking) { b.Created = time.Date(2027, 7, 1, 8, 0, 0, 0, time.UTC) }), "started"},
		"LimitsInRunes": {bk(func(b *consumer.Booking) {
			b.Description, b.Comment = strings.Repeat("é", 100), strings.Repeat("ü", 500)
		}), ""},
		"OneSecondBefore": {bk(func(b *consumer.Booking) { b.Created = time.Date(2027, 7, 1, 7, 59, 59, 0, time.UTC) }), ""},
	} {
		t.Run(name, func(t *testing.T) {
			a, err := res.NewBooking([]*fhir.Slot{slot}, tc.bk)
			if tc.want == "" {
				if err != nil || a == nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, consumer.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrInvalidRequest saying %q", err, tc.want)
			}
		})
	}
}

func TestChangesCheckedBeforeSending(t *testing.T) {
	root, sent := requestCounter(t, `{"resourceType":"Appointment","id":"7","status":"booked","meta":{"versionId":"2"}}`)
	c := newClient(t, testConfig(root, leggASID))
	ctx := context.Background()
	appt := func(desc, comment string) *fhir.Appointment {
		return &fhir.Appointment{ResourceType: "Appointment", ID: "7", Meta: &fhir.Meta{VersionID: "1"}, Status: "booked", Description: desc, Comment: comment}
	}
	for name, tc := range map[string]struct {
		call func() error
		want string // "" when the request is sent
	}{
		"AmendDescription101": {func() error { _, err := c.Amend(ctx, appt(strings.Repeat("é", 101), "")); return err }, "description is 101 characters"},
		"AmendComment501":     {func() error { _, err := c.Amend(ctx, appt("d", strings.Repeat("c", 501))); return err }, "comment is 501 characters"},
		"BookDescription150":  {func() error { _, err := c.Book(ctx, appt(strings.Repeat("d", 150), "")); return err }, "description is 150 characters"},
		"CancelEmptyReason":   {func() error { _, err := c.Cancel(ctx, appt("d", ""), ""); return err }, "reason"},
		"CancelBlankReason":   {func() error { _, err := c.Cancel(ctx, appt("d", ""), " \t\n"); return err }, "reason"},
		"AmendAtTheLimits": {func() error {
			_, err := c.Amend(ctx, appt(strings.Repeat("é", 100), strings.Repeat("c", 500)))
			return err
		}, ""},
		"CancelWithReason": {func() error { _, err := c.Cancel(ctx, appt("d", ""), "Patient recovered"); return err }, ""},
	} {
		t.Run(name, func(t *testing.T) {
			sentOrRefused(t, sent, tc.want, tc.call)
		})
	}
}

func TestRegisterPatientMinimum(t *testing.T) {
	root, sent := requestCounter(t, `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"5"}}]}`)
	c := newClient(t, testConfig(root, leggASID))
	full := func(edit func(p *fhir.Patient)) *fhir.Patient {
		p := &fhir.Patient{Identifier: []fhir.Identifier{{System: gpconnect.SystemNHSNumber, Value: "9651258500"}},
			Name: []fhir.HumanName{{Use: "official", Family: "REA", Given: []string{"Clive"}}}, Gender: "male", BirthDate: "1951-03-10"}
		edit(p)
		return p
	}
	for name, tc := range map[string]struct {
		p    *fhir.Patient
		want string // "" when the registration is sent
	}{
		"NoIdentifier":      {full(func(p *fhir.Patient) { p.Identifier = nil }), gpconnect.SystemNHSNumber},
		"OtherSystem":       {full(func(p *fhir.Patient) { p.Identifier[0].System = "https://example.org/Id/mrn" }), gpconnect.SystemNHSNumber},
		"NoOfficialName":    {full(func(p *fhir.Patient) { p.Name[0].Use = "usual" }), "exactly one name with use official (it has 0)"},
		"TwoOfficialNames":  {full(func(p *fhir.Patient) { p.Name = append(p.Name, p.Name[0]) }), "(it has 2)"},
		"NoFamily":          {full(func(p *fhir.Patient) { p.Name[0].Family = "" }), "family and a given name"},
		"NoGiven":           {full(func(p *fhir.Patient) { p.Name[0].Given = []string{" "} }), "family and a given name"},
		"NoBirthDate":       {full(func(p *fhir.Patient) { p.BirthDate = "" }), "birthDate"},
		"Nil":               {nil, "needs a Patient"},
		"Minimum":           {full(func(p *fhir.Patient) { p.Gender = "" }), ""},
		"WithAUsualNameToo": {full(func(p *fhir.Patient) { p.Name = append(p.Name, fhir.HumanName{Use: "usual", Family: "Rea"}) }), ""},
	} {
		t.Run(name, func(t *testing.T) {
			sentOrRefused(t, sent, tc.want, func() error { _, err := c.RegisterPatient(context.Background(), tc.p); return err })
		})
	}
}
