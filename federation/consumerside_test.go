package federation_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// fakePractice is a loopback GP Connect provider that answers what a test
// sets, to see how the hub copes with a provider that gets things wrong. It
// records every request.
type fakePractice struct {
	srv *httptest.Server
	mu  sync.Mutex
	// answer maps "METHOD /Resource[/id]" (path after the service root) to a status and body.
	answer map[string]fakeAnswer
	seen   []*http.Request
	// posted are the bodies of POST requests, in order.
	posted []string
}

type fakeAnswer struct {
	status int
	body   string
	header map[string]string
}

const fakeODS = "F00001"

func newFakePractice(t *testing.T) *fakePractice {
	f := &fakePractice{answer: map[string]fakeAnswer{}}
	root := "/" + fakeODS + "/STU3/1/gpconnect"
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.seen = append(f.seen, r)
		if r.Method == http.MethodPost {
			f.posted = append(f.posted, string(body))
		}
		a, ok := f.answer[r.Method+" "+strings.TrimPrefix(r.URL.Path, root)]
		f.mu.Unlock()
		if !ok {
			a = fakeAnswer{status: 404, body: outcome(gpconnect.SystemSpineError, "NO_RECORD_FOUND", "not set up")}
		}
		w.Header().Set("Content-Type", "application/fhir+json;charset=utf-8")
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePractice) set(key string, a fakeAnswer) {
	f.mu.Lock()
	f.answer[key] = a
	f.mu.Unlock()
}

func (f *fakePractice) requests(method, suffix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.seen {
		if r.Method == method && strings.HasSuffix(r.URL.Path, suffix) {
			n++
		}
	}
	return n
}

func outcome(system, code, diag string) string {
	return fmt.Sprintf(`{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","details":{"coding":[{"system":%q,"code":%q,"display":%q}]},"diagnostics":%q}]}`,
		system, code, diag, diag)
}

// fakeHub is a hub "h" whose one member is the fake practice.
func fakeHub(t *testing.T, f *fakePractice, id federation.Identity) *federation.Hub {
	t.Helper()
	ctx := context.Background()
	dir := storetest.Open(t, storetest.Engines(false)[0])
	if err := dir.SaveEndpoint(ctx, &scheduling.Endpoint{ODS: fakeODS, ServiceRoot: f.srv.URL + "/" + fakeODS + "/STU3/1/gpconnect", ASID: "918999198001", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := dir.CreateHub(ctx, "h"); err != nil {
		t.Fatal(err)
	}
	if err := dir.AddHubMembers(ctx, "h", []string{fakeODS}); err != nil {
		t.Fatal(err)
	}
	return &federation.Hub{Dir: dir, Client: federation.NewGPConnect(id, federation.NewHTTPClient(4), ""), Breaker: &federation.Breaker{}}
}

// fakeBookingAPI is the hub's HTTP API over one fake practice with free
// slot 7 tomorrow at 10:00 and patient 4, whose bookings it refuses as
// taken (409) until a test sets another answer.
func fakeBookingAPI(t *testing.T) (*fakePractice, *httptest.Server) {
	t.Helper()
	f := newFakePractice(t)
	start, _ := tomorrow()
	start = start.Add(10 * time.Hour)
	f.set("GET /Slot", fakeAnswer{status: 200, body: slotBundle(fakeSlot{"7", "free", "S1", start, start.Add(10 * time.Minute)})})
	f.set("GET /Patient", fakeAnswer{status: 200, body: `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"4"}}]}`})
	f.set("POST /Appointment", fakeAnswer{status: 409, body: outcome(gpconnect.SystemSpineError, "DUPLICATE_REJECTED", "slot taken")})
	hub := fakeHub(t, f, testIdentity())
	srv := httptest.NewServer((&federation.API{Hub: hub, Store: hub.Dir.(scheduling.FederationStore), Local: true}).Handler())
	t.Cleanup(srv.Close)
	return f, srv
}

type fakeSlot struct {
	id, status, schedule string
	start, end           time.Time
}

// slotBundle is a searchset of the slots, with schedule S1 (at a location)
// and S2 (a practitioner only, no location).
func slotBundle(slots ...fakeSlot) string {
	var e []string
	for _, s := range slots {
		st := ""
		if s.status != "" {
			st = fmt.Sprintf(`"status":%q,`, s.status)
		}
		e = append(e, fmt.Sprintf(`{"resource":{"resourceType":"Slot","id":%q,%s"schedule":{"reference":"Schedule/%s"},"start":%q,"end":%q}}`,
			s.id, st, s.schedule, scheduling.FormatLocal(s.start), scheduling.FormatLocal(s.end)))
	}
	e = append(e,
		`{"resource":{"resourceType":"Schedule","id":"S1","actor":[{"reference":"Location/L1"},{"reference":"Practitioner/P1"}]}}`,
		`{"resource":{"resourceType":"Schedule","id":"S2","actor":[{"reference":"Practitioner/P1"}]}}`,
		`{"resource":{"resourceType":"Location","id":"L1","name":"Main surgery"}}`,
		`{"resource":{"resourceType":"Practitioner","id":"P1","name":[{"family":"Fake","given":["Fay"]}]}}`,
		`{"resource":{"resourceType":"Organization","id":"1","name":"Fake Practice"}}`)
	return `{"resourceType":"Bundle","type":"searchset","entry":[` + strings.Join(e, ",") + `]}`
}

// TestHubLeavesOutSlotsItCannotBook: a slot that has started is not
// offered, and neither is one the practice describes too poorly to book
// (no schedule or location, no status, inverted times); those are counted
// per practice and reported, so that they do not pass for no capacity.
func TestHubLeavesOutSlotsItCannotBook(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	now := time.Now().Truncate(time.Minute)
	in := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
	bundle := slotBundle(
		fakeSlot{"GOOD", "free", "S1", in(120), in(130)},
		fakeSlot{"STARTED", "free", "S1", in(-5), in(5)},
		fakeSlot{"NOLOC", "free", "S2", in(140), in(150)},
		fakeSlot{"NOSCHED", "free", "S9", in(160), in(170)},
		fakeSlot{"NOSTATUS", "", "S1", in(180), in(190)},
		fakeSlot{"INVERTED", "free", "S1", in(210), in(200)},
		fakeSlot{"BUSY", "busy", "S1", in(220), in(230)},
		fakeSlot{"ZULU", "free", "S1", in(240), in(250)},
	)
	// Times in UTC with Z: the hub would echo them in its booking, which
	// spec §6.2 forbids.
	for _, m := range []int{240, 250} {
		bundle = strings.Replace(bundle, scheduling.FormatLocal(in(m)), in(m).UTC().Format("2006-01-02T15:04:05Z"), 1)
	}
	f.set("GET /Slot", fakeAnswer{status: 200, body: bundle})
	hub := fakeHub(t, f, testIdentity())
	// Over 20 days the search is two windows, both answered with every
	// slot: each bad slot is still counted once.
	for _, end := range []time.Time{in(600), now.AddDate(0, 0, 20)} {
		res, err := hub.Search(ctx, "h", federation.Query{Start: in(-60), End: end})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Slots) != 1 || res.Slots[0].ID != "GOOD" || len(res.Failures) != 0 {
			t.Fatalf("slots %v, failures %v; want only GOOD", res.Slots, res.Failures)
		}
		if p := res.Practices[0]; p.Dropped != 6 {
			t.Fatalf("dropped %d over %d calls, want 6 (no location, no schedule, no status, inverted, busy, Z)", p.Dropped, p.Calls)
		}
	}
	res, err := hub.Search(ctx, "h", federation.Query{Start: in(-60), End: in(600)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Bundle())
	if !strings.Contains(string(b), `"id":"F00001-dropped"`) || !strings.Contains(string(b), "6 slots left out") {
		t.Fatalf("the searchset should report the dropped slots: %s", b)
	}

	// Booking a slot that has started is refused before anything is sent.
	_, err = hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/STARTED", From: in(-60), To: in(600),
		Patient: federation.PatientDetails{NHSNumber: "9658218865"}})
	if scheduling.ErrorCode(err) != scheduling.EINVALID || !strings.Contains(err.Error(), "can no longer be booked") {
		t.Fatalf("booking a started slot: %v, want EINVALID", err)
	}
	if n := f.requests("POST", "/Appointment"); n != 0 {
		t.Fatalf("%d bookings sent for a started slot", n)
	}

	// A slot the search leaves out is not booked either, though its id is
	// given: the practice now lists it as busy (taken since the search), or
	// describes it in a form a booking could not echo. Nothing is sent.
	f.set("GET /Patient", fakeAnswer{status: 200, body: `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"4"}}]}`})
	f.set("POST /Appointment", fakeAnswer{status: 201, body: `{"resourceType":"Appointment","id":"1","status":"booked"}`})
	for id, code := range map[string]scheduling.Code{"BUSY": scheduling.ECONFLICT, "NOSTATUS": scheduling.ECONFLICT,
		"NOLOC": "", "NOSCHED": "", "INVERTED": "", "ZULU": ""} {
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/" + id, From: in(-60), To: in(600),
			Patient: federation.PatientDetails{NHSNumber: "9658218865"}})
		var ce *federation.CallError
		switch {
		case err == nil:
			t.Errorf("booking %s went ahead", id)
		case code != "" && scheduling.ErrorCode(err) != code:
			t.Errorf("booking %s: %v, want %s", id, err, code)
		case code == "" && (!errors.As(err, &ce) || ce.Reason != federation.ReasonProviderError || !strings.Contains(err.Error(), "nothing was sent")):
			t.Errorf("booking %s: %v, want the practice's fault with nothing sent", id, err)
		}
	}
	if n := f.requests("POST", "/Appointment"); n != 0 {
		t.Fatalf("%d bookings sent for slots the search leaves out", n)
	}
}

// TestHubSSPRefusal: a refusal coded by the Spine Secure Proxy (spec §9.4)
// is reported as such with its token, and being a definite answer it never
// opens the practice's circuit (which would hide the cause).
func TestHubSSPRefusal(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	f.set("GET /Slot", fakeAnswer{status: 403, body: outcome(gpconnect.SystemSSPResponse, "403", "ASID_CHECK_FAILED_MESSAGESENDER_200000000359")})
	hub := fakeHub(t, f, testIdentity())
	start, end := tomorrow()
	for i := range 8 {
		res, err := hub.Search(ctx, "h", federation.Query{Start: start, End: end})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Failures) != 1 || res.Failures[0].Reason != federation.ReasonSSP || !strings.Contains(res.Failures[0].Detail, "ASID_CHECK_FAILED") {
			t.Fatalf("search %d: failures %v, want the SSP's refusal with its token", i+1, res.Failures)
		}
	}
}

// TestHubChangesOnlyTheAppointmentAsked: a practice that answers a read
// with another appointment gets no amend or cancel.
func TestHubChangesOnlyTheAppointmentAsked(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	appt := `{"resourceType":"Appointment","id":"999","meta":{"versionId":"1"},"status":"booked","description":"x",` +
		`"start":"2030-01-01T09:00:00+00:00","end":"2030-01-01T09:10:00+00:00","slot":[{"reference":"Slot/1"}],"participant":[]}`
	f.set("GET /Appointment/101", fakeAnswer{status: 200, body: appt, header: map[string]string{"ETag": `W/"1"`}})
	hub := fakeHub(t, f, testIdentity())
	if _, err := hub.Cancel(ctx, "h", fakeODS+"/101", "no longer needed"); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("cancel: %v, want a refusal", err)
	}
	comment := "x"
	if _, err := hub.Amend(ctx, "h", fakeODS+"/101", nil, &comment); err == nil {
		t.Fatal("amend went ahead")
	}
	if n := f.requests("PUT", ""); n != 0 {
		t.Fatalf("%d PUTs sent", n)
	}
}

// TestHubBookingAfterEmptyCreate: a 201 without a body still means booked;
// the hub reads the appointment from its Location. The booking's slot
// search repeats the organisation type the slot was found with.
func TestHubBookingAfterEmptyCreate(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	now := time.Now().Truncate(time.Minute)
	start := now.Add(2 * time.Hour)
	f.set("GET /Slot", fakeAnswer{status: 200, body: slotBundle(fakeSlot{"7", "free", "S1", start, start.Add(10 * time.Minute)})})
	f.set("GET /Patient", fakeAnswer{status: 200, body: `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"4",` +
		`"identifier":[{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"9658218865"}],"name":[{"use":"official","family":"Wright","given":["Garth"]}],"gender":"male","birthDate":"1933-11-14"}}]}`})
	root := f.srv.URL + "/" + fakeODS + "/STU3/1/gpconnect"
	f.set("POST /Appointment", fakeAnswer{status: 201, header: map[string]string{"Location": root + "/Appointment/55/_history/1", "ETag": `W/"1"`}})
	f.set("GET /Appointment/55", fakeAnswer{status: 200, header: map[string]string{"ETag": `W/"1"`},
		body: fmt.Sprintf(`{"resourceType":"Appointment","id":"55","meta":{"versionId":"1"},"status":"booked","description":"d","start":%q,"end":%q,"slot":[{"reference":"Slot/7"}],"participant":[]}`,
			scheduling.FormatLocal(start), scheduling.FormatLocal(start.Add(10*time.Minute)))})
	hub := fakeHub(t, f, testIdentity())
	b, err := hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/7", OrgType: "urgent-care", From: now, To: now.Add(24 * time.Hour),
		Patient: federation.PatientDetails{NHSNumber: "9658218865", Family: "WRIGHT", Given: "garth"}})
	if err != nil || b.Appointment == nil || b.Ref() != fakeODS+"/55" {
		t.Fatalf("book: %+v, %v; want appointment 55 read back", b, err)
	}
	f.mu.Lock()
	var filter []string
	for _, r := range f.seen {
		if strings.HasSuffix(r.URL.Path, "/Slot") {
			filter = r.URL.Query()["searchFilter"]
		}
	}
	f.mu.Unlock()
	if !strings.Contains(strings.Join(filter, " "), "GPConnect-OrganisationType-1|urgent-care") {
		t.Fatalf("the booking's slot search sent searchFilter %q, want the urgent-care type it was found with", filter)
	}
	// The booking organisation carries that type too (spec §6.2).
	f.mu.Lock()
	posted := strings.Join(f.posted, "\n")
	f.mu.Unlock()
	if !strings.Contains(posted, `"code":"urgent-care"`) {
		t.Fatalf("the booking's organisation has no urgent-care type:\n%s", posted)
	}

	// An answer that cannot be read says the booking may exist; a refusal does not.
	for _, c := range []struct {
		a    fakeAnswer
		note bool
	}{
		{fakeAnswer{status: 201, body: "not json"}, true},
		{fakeAnswer{status: 502, body: "bad gateway"}, true},
		{fakeAnswer{status: 409, body: outcome(gpconnect.SystemSpineError, "DUPLICATE_REJECTED", "slot taken")}, false},
	} {
		f.set("POST /Appointment", c.a)
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/7", From: now, To: now.Add(24 * time.Hour),
			Patient: federation.PatientDetails{NHSNumber: "9658218865"}})
		if err == nil || strings.Contains(err.Error(), "may have been made") != c.note {
			t.Errorf("answer %d %q: %v (want the may-have-been-made note: %v)", c.a.status, c.a.body, err, c.note)
		}
	}
}

// TestHubIdentityCheck: an identity the hub cannot use is refused before
// any practice is called.
func TestHubIdentityCheck(t *testing.T) {
	for name, c := range map[string]struct {
		mod   func(*federation.Identity)
		proxy string
	}{
		"org type":   {func(id *federation.Identity) { id.OrgType = "urgentcare" }, ""},
		"ODS":        {func(id *federation.Identity) { id.ODS = "y9" }, ""},
		"org name":   {func(id *federation.Identity) { id.OrgName = " " }, ""},
		"proxy":      {func(*federation.Identity) {}, "notaurl"},
		"no issuer":  {func(id *federation.Identity) { id.Token.Issuer = "" }, ""},
		"empty ASID": {func(id *federation.Identity) { id.ASID = "" }, ""},
		"word ASID":  {func(id *federation.Identity) { id.ASID = "abc" }, ""},
	} {
		id := testIdentity()
		c.mod(&id)
		if err := federation.NewGPConnect(id, nil, c.proxy).Check(); err == nil {
			t.Errorf("%s: a bad identity passed the check", name)
		}
	}
	if err := federation.NewGPConnect(testIdentity(), nil, "https://proxy.example.nhs.uk").Check(); err != nil {
		t.Fatalf("a good identity: %v", err)
	}
}

// tokenPayload decodes the JWT payload a request carried.
func tokenPayload(t *testing.T, r *http.Request) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", r.Header.Get("Authorization"))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHubAPIUserInToken: a front end that names its logged-on user in the
// user headers gets that user into the tokens sent to practices (spec
// §3.2), on searches and bookings; without them the hub's own user is sent.
func TestHubAPIUserInToken(t *testing.T) {
	f, srv := fakeBookingAPI(t)
	last := func(method string) *http.Request {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := len(f.seen) - 1; i >= 0; i-- {
			if f.seen[i].Method == method {
				return f.seen[i]
			}
		}
		t.Fatalf("no %s sent", method)
		return nil
	}
	user := map[string]string{federation.HeaderUser: "u42", federation.HeaderUserName: "Ann Jones", federation.HeaderUserSDS: "S123"}
	send := func(method, path, body string, hdr map[string]string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wantUser := func(what string, r *http.Request, id, family, sds string) {
		t.Helper()
		m := tokenPayload(t, r)
		p, _ := m["requesting_practitioner"].(map[string]any)
		b, _ := json.Marshal(p)
		if m["sub"] != id || p["id"] != id || !strings.Contains(string(b), `"family":"`+family+`"`) || !strings.Contains(string(b), `"value":"`+sds+`"`) {
			t.Fatalf("%s: token sub %v, practitioner %s; want %s, %s, %s", what, m["sub"], b, id, family, sds)
		}
		// The third identifier of §3.2: the consumer's local user id (the
		// hub's own user carries its configured identifiers instead).
		if id == "u42" && !strings.Contains(string(b), `{"system":"`+federation.LocalUserSystem+`","value":"`+id+`"}`) {
			t.Fatalf("%s: practitioner %s lacks the local user id %s", what, b, id)
		}
	}
	if st := send("GET", "/hub/h/Slot?start=today&end=%2B2d", "", user); st != 200 {
		t.Fatalf("search: %d", st)
	}
	wantUser("search", last("GET"), "u42", "Jones", "S123")
	send("POST", "/hub/h/Appointment", `{"slot":"`+fakeODS+`/7","patient":{"nhsNumber":"9658218865"}}`, user)
	wantUser("booking", last("POST"), "u42", "Jones", "S123")
	// Without the headers, the hub's own user.
	send("GET", "/hub/h/Slot?start=today&end=%2B2d", "", nil)
	own := testIdentity().Token.Practitioner
	wantUser("search without a user", last("GET"), own.ID, own.Name[0].Family, own.Identifier[0].Value)
	// A name without an id is refused, and so is an id without a name: the
	// token would otherwise carry the id as the user's family name.
	before := f.requests("GET", "/Slot")
	if st := send("GET", "/hub/h/Slot?start=today&end=%2B2d", "", map[string]string{federation.HeaderUserName: "Ann Jones"}); st != 400 {
		t.Fatalf("a user name without an id: %d, want 400", st)
	}
	if st := send("GET", "/hub/h/Slot?start=today&end=%2B2d", "", map[string]string{federation.HeaderUser: "u99", federation.HeaderUserSDS: "S9"}); st != 400 {
		t.Fatalf("a user id without a name: %d, want 400", st)
	}
	if n := f.requests("GET", "/Slot"); n != before {
		t.Fatalf("%d searches sent for refused users", n-before)
	}
}

// TestHubDirectoryInteractions: each hub operation checks, before it sends
// anything, that the practice's directory entry lists the interactions it
// is about to use, and names the ones missing; the fan-out already did.
func TestHubDirectoryInteractions(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	start, _ := tomorrow()
	start = start.Add(10 * time.Hour)
	f.set("GET /Slot", fakeAnswer{status: 200, body: slotBundle(fakeSlot{"7", "free", "S1", start, start.Add(10 * time.Minute)})})
	f.set("GET /Patient", fakeAnswer{status: 200, body: `{"resourceType":"Bundle","type":"searchset","entry":[]}`})
	hub := fakeHub(t, f, testIdentity())
	dir := hub.Dir.(scheduling.FederationStore)
	restrict := func(t *testing.T, ids ...gpconnect.InteractionID) {
		t.Helper()
		var list []string
		for _, id := range ids {
			list = append(list, string(id))
		}
		if err := dir.SaveEndpoint(ctx, &scheduling.Endpoint{ODS: fakeODS, ServiceRoot: f.srv.URL + "/" + fakeODS + "/STU3/1/gpconnect",
			ASID: "918999198001", Enabled: true, Interactions: list}); err != nil {
			t.Fatal(err)
		}
	}
	sent := func(method string) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, r := range f.seen {
			if method == "" || r.Method == method {
				n++
			}
		}
		return n
	}
	refused := func(t *testing.T, what string, err error, missing ...string) {
		t.Helper()
		if scheduling.ErrorCode(err) != scheduling.EFORBIDDEN {
			t.Fatalf("%s: %v, want EFORBIDDEN", what, err)
		}
		for _, m := range missing {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: %v, want it to name %s", what, err, m)
			}
		}
	}
	patient := federation.PatientDetails{NHSNumber: "9658218865", Family: "Wright", Given: "Garth", Gender: "male", BirthDate: "1933-11-14"}
	comment := "x"

	t.Run("ErrBookNothingSent", func(t *testing.T) {
		restrict(t, gpconnect.SearchPatient)
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/7", Patient: patient})
		refused(t, "book", err, "slot.search", "appointment.book")
		if n := sent(""); n != 0 {
			t.Fatalf("%d requests sent", n)
		}
	})
	t.Run("ErrChangesNothingSent", func(t *testing.T) {
		restrict(t, gpconnect.ReadAppointment)
		_, err := hub.Amend(ctx, "h", fakeODS+"/101", nil, &comment)
		refused(t, "amend", err, "appointment.amend")
		_, err = hub.Cancel(ctx, "h", fakeODS+"/101", "no longer needed")
		refused(t, "cancel", err, "appointment.cancel")
		restrict(t, gpconnect.UpdateAppointment, gpconnect.CancelAppointment)
		_, err = hub.Amend(ctx, "h", fakeODS+"/101", nil, &comment)
		refused(t, "amend without read", err, "appointment.read")
		_, err = hub.Read(ctx, "h", fakeODS+"/101")
		refused(t, "read", err, "appointment.read")
		if n := sent(""); n != 0 {
			t.Fatalf("%d requests sent", n)
		}
	})
	t.Run("ErrListNothingSent", func(t *testing.T) {
		restrict(t, gpconnect.SearchPatient)
		appts, fails, err := hub.PatientAppointments(ctx, "h", patient.NHSNumber, time.Time{}, time.Time{})
		if err != nil || len(appts) != 0 || len(fails) != 1 || fails[0].Reason != federation.ReasonDisabled || !strings.Contains(fails[0].Detail, "appointment.retrieve") {
			t.Fatalf("list: %v %+v %+v, want %s failed as disabled, naming appointment.retrieve", err, appts, fails, fakeODS)
		}
		if n := sent(""); n != 0 {
			t.Fatalf("%d requests sent", n)
		}
	})
	t.Run("ErrRegisterNotListed", func(t *testing.T) {
		// The patient is unknown there and the entry lists no registration:
		// the look-ups are made, but no registration and no booking.
		restrict(t, gpconnect.SearchSlot, gpconnect.SearchPatient, gpconnect.CreateAppointment)
		_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/7", Patient: patient})
		refused(t, "book an unregistered patient", err, "patient.register")
		if n := sent("POST"); n != 0 {
			t.Fatalf("%d POSTs sent", n)
		}
	})
	t.Run("ErrBookOverAPI", func(t *testing.T) {
		restrict(t, gpconnect.SearchPatient)
		srv := httptest.NewServer((&federation.API{Hub: hub, Store: dir, Local: true}).Handler())
		t.Cleanup(srv.Close)
		st, _, m := jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", `{"slot":"`+fakeODS+`/7","patient":{"nhsNumber":"9658218865"}}`)
		if st != 403 || m["code"] != "forbidden" || !strings.Contains(fmt.Sprint(m["error"]), "slot.search") {
			t.Fatalf("book over the API: %d %v, want 403 forbidden naming slot.search", st, m)
		}
	})
}

// TestHubBookingFailsAfterRegistering: a booking refused after the hub
// registered the patient as temporary says so, since the registration
// stays: in the error (for the CLI) and in the API's error body.
func TestHubBookingFailsAfterRegistering(t *testing.T) {
	ctx := context.Background()
	f, srv := fakeBookingAPI(t) // the practice refuses every booking with 409
	f.set("GET /Patient", fakeAnswer{status: 200, body: `{"resourceType":"Bundle","type":"searchset","entry":[]}`})
	f.set("POST /Patient/$gpc.registerpatient", fakeAnswer{status: 200,
		body: `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"9"}}]}`})
	patient := `{"nhsNumber":"9658218865","family":"Wright","given":"Garth","gender":"male","birthDate":"1933-11-14"}`

	st, _, m := jsonCall(t, srv.URL, "POST", "/hub/h/Appointment", `{"slot":"`+fakeODS+`/7","patient":`+patient+`}`)
	if st != 409 || m["code"] != "duplicate_rejected" || m["registered"] != true ||
		!strings.Contains(fmt.Sprint(m["error"]), "now registered at "+fakeODS+" as a temporary patient (Patient/9)") {
		t.Fatalf("booking refused after registering: %d %v, want 409 duplicate_rejected saying the patient is now registered", st, m)
	}
	if n := f.requests("POST", "/$gpc.registerpatient"); n != 1 {
		t.Fatalf("%d registrations, want 1", n)
	}

	hub := fakeHub(t, f, testIdentity())
	_, err := hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/7",
		Patient: federation.PatientDetails{NHSNumber: "9658218865", Family: "Wright", Given: "Garth", Gender: "male", BirthDate: "1933-11-14"}})
	var re *federation.RegisteredError
	if !errors.As(err, &re) || re.ODS != fakeODS || re.PatientID != "9" || federation.Classify(err).Reason != federation.Reason(gpconnect.DuplicateRejected) ||
		!strings.Contains(err.Error(), "now registered at "+fakeODS+" as a temporary patient") {
		t.Fatalf("Book: %v, want the practice's refusal and a note that the patient is now registered", err)
	}
}

// TestHubNamesThePracticeFromItsOwnOrganization: a practice's slots carry
// the name of the Organization with its ODS code, however many others its
// Bundle holds (the first one met, in map order, used to win), and no name
// when only another organisation's is there.
func TestHubNamesThePracticeFromItsOwnOrganization(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	start, _ := tomorrow()
	start = start.Add(10 * time.Hour)
	plain := slotBundle(fakeSlot{"7", "free", "S1", start, start.Add(10 * time.Minute)})
	const own = `{"resource":{"resourceType":"Organization","id":"1","name":"Fake Practice"}}`
	org := func(id, name, ods string) string {
		return fmt.Sprintf(`{"resource":{"resourceType":"Organization","id":%q,"name":%q,"identifier":[{"system":"https://fhir.nhs.uk/Id/ods-organization-code","value":%q}]}}`, id, name, ods)
	}
	f.set("GET /Patient", fakeAnswer{status: 200, body: `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Patient","id":"4"}}]}`})
	f.set("POST /Appointment", fakeAnswer{status: 201, body: `{"resourceType":"Appointment","id":"1","status":"booked"}`})
	hub := fakeHub(t, f, testIdentity())
	for _, c := range []struct {
		name, orgs, want string
	}{
		{"OwnAmongOthers", org("0", "Some Other Org", "ZZZ999") + "," + org("1", "Fake Practice", fakeODS) + "," + org("2", "Imposter Surgery", "A20047"), "Fake Practice"},
		{"OnlyAnother", org("2", "Imposter Surgery", "A20047"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.set("GET /Slot", fakeAnswer{status: 200, body: strings.Replace(plain, own, c.orgs, 1)})
			for range 10 {
				res, err := hub.Search(ctx, "h", federation.Query{Start: start.Add(-time.Hour), End: start.Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Slots) != 1 || res.Slots[0].PracticeName != c.want {
					t.Fatalf("search: slots %v, want one named %q", res.Slots, c.want)
				}
			}
			b, err := hub.Book(ctx, "h", federation.BookRequest{Slot: fakeODS + "/7", From: start.Add(-time.Hour), To: start.Add(time.Hour),
				Patient: federation.PatientDetails{NHSNumber: "9658218865"}})
			if err != nil || b.Slot.SlotSchedule == nil || b.Slot.PracticeName != c.want {
				t.Fatalf("booking: %+v, %v; want its slot named %q", b, err, c.want)
			}
		})
	}
}

// TestHubSearchsetKeepsTheService: the hub's FHIR searchset carries the
// HealthcareService a practice's schedule names (1.2.8), with its name, as
// an actor of the hub's Schedule: spec §5.8 has the service shown.
func TestHubSearchsetKeepsTheService(t *testing.T) {
	f, srv := fakeBookingAPI(t)
	start, _ := tomorrow()
	start = start.Add(10 * time.Hour)
	body := slotBundle(fakeSlot{"7", "free", "S1", start, start.Add(10 * time.Minute)})
	body = strings.Replace(body, `{"reference":"Practitioner/P1"}]}}`,
		`{"reference":"Practitioner/P1"},{"reference":"HealthcareService/H1"}]}},{"resource":{"resourceType":"HealthcareService","id":"H1","name":"Same-day Service",`+
			`"identifier":[{"system":"https://fhir.nhs.uk/Id/uec-dos-service-id","value":"2000041002"}]}}`, 1)
	f.set("GET /Slot", fakeAnswer{status: 200, body: body})
	q := url.Values{"start": {scheduling.FormatLocal(start.Add(-time.Hour))}, "end": {scheduling.FormatLocal(start.Add(time.Hour))}}
	st, _, raw := call(t, srv.URL, "GET", "/hub/h/Slot?"+q.Encode(), "")
	if st != 200 {
		t.Fatalf("search: %d %s", st, raw)
	}
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType, ID string
				Name             json.RawMessage
				Actor            []struct{ Reference string }
			}
		}
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var service, actor bool
	for _, e := range b.Entry {
		r := e.Resource
		if r.ResourceType == "HealthcareService" && r.ID == fakeODS+"-H1" && string(r.Name) == `"Same-day Service"` {
			service = true
		}
		for _, a := range r.Actor {
			actor = actor || (r.ResourceType == "Schedule" && a.Reference == "HealthcareService/"+fakeODS+"-H1")
		}
	}
	if !service || !actor || !bytes.Contains(raw, []byte(`{"system":"https://fhir.nhs.uk/Id/uec-dos-service-id","value":"2000041002"}`)) {
		t.Fatalf("service entry %v, schedule actor %v; want both, with the DOS id, in %s", service, actor, raw)
	}
}
