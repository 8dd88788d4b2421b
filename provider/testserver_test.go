package provider_test

// Test server and request helpers shared by the provider tests. Every test
// runs against a real loopback HTTP server (httptest.NewServer) over a fresh
// store per engine (SQLite always; PostgreSQL when
// SLOTBRIDGE_TEST_DATABASE_URL is set) loaded with the test-pack demo data.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/fhirtest"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

// Identifiers from spec/testpack-data.md and internal/demo.
const (
	odsLegg       = "A20047"       // ORG1, the provider's own practice
	asidLegg      = "918999198993" // providerASID of the test pack
	asidConsumer  = "200000000359" // consumerASID of the test pack
	odsWestbrook  = "D81001"       // demo practice with GP Connect switched off
	asidWestbrook = "918999198996"
	odsNorthgate  = "B82005"       // another demo practice, service filtering off
	asidNorthgate = "918999198994" // another demo practice's ASID
	odsCastle     = "C81001"       // demo practice whose switches TestProvider/*/Enablement turns
	asidCastle    = "918999198995"

	profHealthcareService = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-HealthcareService-1"

	spineSystem  = "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1"
	ooProfile    = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1"
	iidPrefix    = "urn:nhs:names:services:gpconnect:fhir:"
	mediaJSONCT  = "application/fhir+json;charset=utf-8"
	mediaXMLCT   = "application/fhir+xml;charset=utf-8"
	demoHorizon  = 15 * 24 * time.Hour
	sysNHSNumber = "https://fhir.nhs.uk/Id/nhs-number"
	sysODSOrg    = "https://fhir.nhs.uk/Id/ods-organization-code"
	sysODSSite   = "https://fhir.nhs.uk/Id/ods-site-code"
	sysSDSUser   = "https://fhir.nhs.uk/Id/sds-user-id"
	sysSDSRole   = "https://fhir.nhs.uk/Id/sds-role-profile-id"
	sysOrgType   = "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1"
	sysDOS       = "https://fhir.nhs.uk/Id/uec-dos-service-id"
)

// Interaction IDs and their scopes, spelled out from spec §4 rather than
// taken from the code under test.
const (
	iidMetadata     = iidPrefix + "rest:read:metadata-1"
	iidFindPatient  = iidPrefix + "rest:search:patient-1"
	iidReadPatient  = iidPrefix + "rest:read:patient-1"
	iidFindPrac     = iidPrefix + "rest:search:practitioner-1"
	iidReadPrac     = iidPrefix + "rest:read:practitioner-1"
	iidFindOrg      = iidPrefix + "rest:search:organization-1"
	iidReadOrg      = iidPrefix + "rest:read:organization-1"
	iidFindHCS      = iidPrefix + "rest:search:healthcareservice-1"
	iidReadHCS      = iidPrefix + "rest:read:healthcareservice-1"
	iidReadLocation = iidPrefix + "rest:read:location-1"
	iidSlots        = iidPrefix + "rest:search:slot-1"
	iidRetrieveAppt = iidPrefix + "rest:search:patient_appointments-1"

	scopePatRead  = "patient/*.read"
	scopePatWrite = "patient/*.write"
	scopeOrgRead  = "organization/*.read"
	scopeOrgWrite = "organization/*.write"
)

// env is one provider under test.
type env struct {
	engine string
	st     *store.Store
	prov   *provider.Server
	srv    *httptest.Server
	client *http.Client
	now    time.Time // the clock the demo data was loaded with
}

// suites are the provider test suites. They only read, so one server per
// engine serves them all (loading the demo data into a fresh PostgreSQL
// database is the slow part of the run).
var suites = []struct {
	name string
	fn   func(t *testing.T, e *env)
}{
	{"SSPHeaders", testSSPHeaders},
	{"JWT", testJWT},
	{"Formats", testFormats},
	{"Paths", testPaths},
	{"Enablement", testEnablement},
	{"CapabilityStatement", testCapabilityStatement},
	{"FindPatient", testFindPatient},
	{"ReadPatient", testReadPatient},
	{"Organisation", testOrganisation},
	{"Practitioner", testPractitioner},
	{"ReadLocation", testReadLocation},
	{"HealthcareService", testHealthcareService},
	{"SlotSearchErrors", testSlotSearchErrors},
	{"SlotSearchAccepted", testSlotSearchAccepted},
	{"SlotSearchMatching", testSlotSearchMatching},
	{"QueryStrings", testQueryStrings},
	{"ResponseHeaders", testResponseHeaders},
	{"Health", testHealth},
}

// testHealth: /healthz answers GET and HEAD (load balancers use either) with
// 200 while the database answers, uncached.
func testHealth(t *testing.T, e *env) {
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		r := e.do(t, e.rawRequest(t, m, "/healthz"))
		if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s /healthz: %d, Cache-Control %q", m, r.status, r.header.Get("Cache-Control"))
		}
		if want := map[string]string{http.MethodGet: "ok\n", http.MethodHead: ""}[m]; string(r.body) != want {
			t.Errorf("%s /healthz body %q, want %q", m, r.body, want)
		}
	}
}

// TestProvider runs every suite against each engine, e.g.
// go test ./provider/ -run 'TestProvider/sqlite/SlotSearchErrors'.
func TestProvider(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, eng, time.Time{})
			for _, s := range suites {
				t.Run(s.name, func(t *testing.T) {
					t.Parallel()
					s.fn(t, e)
				})
			}
		})
	}
}

// newEnv builds a provider over a fresh store on eng. With a zero clock the
// demo data is loaded for time.Now and the provider keeps the system clock;
// otherwise both the data and the provider's clock are pinned to clock (the
// JWT check always uses the real clock, as do the tokens the helpers mint).
func newEnv(t testing.TB, eng storetest.Engine, clock time.Time) *env {
	t.Helper()
	st := storetest.Open(t, eng)
	now := clock
	if now.IsZero() {
		now = time.Now()
	} else {
		st.Now = func() time.Time { return clock }
	}
	if err := demo.Load(context.Background(), st, now, demoHorizon); err != nil {
		t.Fatalf("demo.Load: %v", err)
	}
	p := provider.New(st, &auth.Verifier{}, slog.New(slog.DiscardHandler), provider.Config{})
	if !clock.IsZero() {
		p.SetClock(func() time.Time { return clock })
	}
	srv := httptest.NewServer(p.Handler())
	// Cleanups run last-in first-out: server, then audit flush, then store.
	t.Cleanup(p.Close)
	t.Cleanup(srv.Close)
	// DisableCompression: see exactly what the server sends (Content-Encoding).
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(client.CloseIdleConnections)
	return &env{engine: eng.Name, st: st, prov: p, srv: srv, client: client, now: now}
}

// token mints a valid test-pack token for scope, issued now.
func token(t testing.TB, scope string) string {
	t.Helper()
	tok, err := auth.Mint(auth.DefaultTestIdentity(), gpconnect.Scope(scope), time.Now())
	if err != nil {
		t.Fatalf("auth.Mint: %v", err)
	}
	return tok
}

// request builds a GET (or method) to the A20047 service root with the four
// Ssp headers, a fresh token for scope and Accept: application/fhir+json.
// pathAndQuery is relative to the service root, e.g. "Patient/1" or
// "Slot?"+values.Encode().
func (e *env) request(t testing.TB, method, pathAndQuery, iid, scope string) *http.Request {
	t.Helper()
	return e.requestAt(t, odsLegg, asidLegg, method, pathAndQuery, iid, scope)
}

// requestAt is request for another practice's service root and ASID.
func (e *env) requestAt(t testing.TB, ods, asid, method, pathAndQuery, iid, scope string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+"/"+ods+"/STU3/1/gpconnect/"+pathAndQuery, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	r.Header.Set("Ssp-TraceID", uuid.NewString())
	r.Header.Set("Ssp-From", asidConsumer)
	r.Header.Set("Ssp-To", asid)
	r.Header.Set("Ssp-InteractionID", iid)
	r.Header.Set("Authorization", "Bearer "+token(t, scope))
	r.Header.Set("Accept", "application/fhir+json")
	return r
}

// rawRequest builds a request to an arbitrary server path (not necessarily
// under a service root) with valid metadata headers.
func (e *env) rawRequest(t testing.TB, method, serverPath string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, e.srv.URL+serverPath, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	r.Header.Set("Ssp-TraceID", uuid.NewString())
	r.Header.Set("Ssp-From", asidConsumer)
	r.Header.Set("Ssp-To", asidLegg)
	r.Header.Set("Ssp-InteractionID", iidMetadata)
	r.Header.Set("Authorization", "Bearer "+token(t, scopeOrgRead))
	r.Header.Set("Accept", "application/fhir+json")
	return r
}

// response is a fully read HTTP response; body is decompressed when the
// server sent Content-Encoding: gzip (raw keeps the bytes as sent).
type response struct {
	status int
	header http.Header
	body   []byte
	raw    []byte
}

func (e *env) do(t testing.TB, r *http.Request) *response {
	t.Helper()
	res, err := e.client.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	body := raw
	if strings.EqualFold(res.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatalf("gunzip body: %v", err)
		}
	}
	return &response{status: res.StatusCode, header: res.Header, body: body, raw: raw}
}

// get is request + do.
func (e *env) get(t testing.TB, pathAndQuery, iid, scope string) *response {
	t.Helper()
	return e.do(t, e.request(t, http.MethodGet, pathAndQuery, iid, scope))
}

// obj is decoded JSON.
type obj = map[string]any

// at walks decoded JSON by object keys (string) and array indexes (int);
// it returns nil when any step is missing.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		default:
			panic("at: bad path element")
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := at(v, path...).(string)
	return s
}

func arr(v any, path ...any) []any {
	a, _ := at(v, path...).([]any)
	return a
}

// validateSTU3 runs the google/fhir STU3 validator over a JSON body.
func validateSTU3(t testing.TB, what string, body []byte) {
	t.Helper()
	_ = what // the failure shows the JSON, resourceType included
	fhirtest.ValidateSTU3(t, body)
}

// wantJSON checks the common headers of a JSON response and decodes it.
func wantJSON(t testing.TB, r *response, status int) obj {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %.600s", r.status, status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if ct := r.header.Get("Content-Type"); ct != mediaJSONCT {
		t.Errorf("Content-Type = %q, want %q", ct, mediaJSONCT)
	}
	var v obj
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not JSON: %v; body: %.300s", err, r.body)
	}
	return v
}

// wantOK checks a 200 JSON response carrying a resource of type rt, validates
// it as STU3 and returns it decoded.
func wantOK(t testing.TB, r *response, rt string) obj {
	t.Helper()
	v := wantJSON(t, r, http.StatusOK)
	if got := str(v, "resourceType"); got != rt {
		t.Fatalf("resourceType = %q, want %q; body: %.600s", got, rt, r.body)
	}
	validateSTU3(t, rt, r.body)
	return v
}

// wantOutcome checks an error response: the HTTP status, a JSON
// GPConnect-OperationOutcome-1 with one error issue whose details carry the
// Spine code (codes may list alternatives separated by "|"), and
// Cache-Control: no-store. It returns the diagnostics.
func wantOutcome(t testing.TB, r *response, status int, codes string) string {
	t.Helper()
	v := wantJSON(t, r, status)
	return checkOutcome(t, v, r.body, status, codes)
}

// issueTypes is OperationOutcome.issue.code for each Spine code (§9.2).
var issueTypes = map[string]string{
	"BAD_REQUEST":                  "invalid",
	"INVALID_IDENTIFIER_SYSTEM":    "value",
	"INVALID_IDENTIFIER_VALUE":     "value",
	"INVALID_NHS_NUMBER":           "value",
	"INVALID_PATIENT_DEMOGRAPHICS": "business-rule",
	"ACCESS_DENIED":                "forbidden",
	"PATIENT_NOT_FOUND":            "not-found",
	"ORGANISATION_NOT_FOUND":       "not-found",
	"PRACTITIONER_NOT_FOUND":       "not-found",
	"NO_RECORD_FOUND":              "not-found",
	"DUPLICATE_REJECTED":           "duplicate",
	"FHIR_CONSTRAINT_VIOLATION":    "conflict",
	"INVALID_RESOURCE":             "invalid",
	"INVALID_PARAMETER":            "invalid",
	"REFERENCE_NOT_FOUND":          "invalid",
	"INTERNAL_SERVER_ERROR":        "processing|exception",
	"NOT_IMPLEMENTED":              "not-supported",
}

// mustDiagnose are the codes whose diagnostics are MUST (§9.1).
var mustDiagnose = []string{"INVALID_RESOURCE", "INVALID_PARAMETER", "REFERENCE_NOT_FOUND", "INTERNAL_SERVER_ERROR"}

func checkOutcome(t testing.TB, v obj, body []byte, status int, codes string) string {
	t.Helper()
	if rt := str(v, "resourceType"); rt != "OperationOutcome" {
		t.Fatalf("resourceType = %q, want OperationOutcome; body: %.300s", rt, body)
	}
	if !slices.Contains(strSlice(arr(v, "meta", "profile")), ooProfile) {
		t.Errorf("meta.profile = %v, want %s", at(v, "meta", "profile"), ooProfile)
	}
	issues := arr(v, "issue")
	if len(issues) != 1 {
		t.Errorf("issue count = %d, want 1", len(issues))
	}
	if sev := str(v, "issue", 0, "severity"); sev != "error" {
		t.Errorf("issue[0].severity = %q, want error", sev)
	}
	if n := len(arr(v, "issue", 0, "details", "coding")); n != 1 {
		t.Errorf("issue[0].details.coding has %d codings, want exactly 1", n)
	}
	c := at(v, "issue", 0, "details", "coding", 0)
	if sys := str(c, "system"); sys != spineSystem {
		t.Errorf("coding.system = %q, want %q", sys, spineSystem)
	}
	if code := str(c, "code"); !slices.Contains(strings.Split(codes, "|"), code) {
		t.Errorf("Spine code = %q, want %s (diagnostics %q)", code, codes, str(v, "issue", 0, "diagnostics"))
	}
	if str(c, "display") == "" {
		t.Errorf("coding.display is empty")
	}
	code, itype := str(c, "code"), str(v, "issue", 0, "code")
	want, ok := issueTypes[code]
	if status == http.StatusUnsupportedMediaType {
		// §9.2: a 415 is issue type not-supported whatever its Spine code.
		want, ok = "not-supported", true
	}
	if ok && !slices.Contains(strings.Split(want, "|"), itype) {
		t.Errorf("issue[0].code = %q for %s, want %s (§9.2)", itype, code, want)
	}
	if itype == "" {
		t.Errorf("issue[0].code is empty")
	}
	if slices.Contains(mustDiagnose, code) && str(v, "issue", 0, "diagnostics") == "" {
		t.Errorf("%s outcome has no diagnostics (MUST, §9.1)", code)
	}
	validateSTU3(t, "OperationOutcome", body)
	return str(v, "issue", 0, "diagnostics")
}

func strSlice(a []any) []string {
	out := make([]string, 0, len(a))
	for _, v := range a {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// entries returns the resources of a Bundle.
func entries(b obj) []obj {
	var out []obj
	for _, e := range arr(b, "entry") {
		if r, ok := at(e, "resource").(map[string]any); ok {
			out = append(out, r)
		}
	}
	return out
}

// extension finds the first extension with url.
func extension(v any, url string) obj {
	for _, x := range arr(v, "extension") {
		if str(x, "url") == url {
			return x.(map[string]any)
		}
	}
	return nil
}

// wantETag checks ETag W/"<meta.versionId>" and the Content-Location naming that version.
func wantETag(t testing.TB, r *response, res obj) {
	t.Helper()
	vid := str(res, "meta", "versionId")
	if vid == "" {
		t.Errorf("meta.versionId is empty")
	}
	if got, want := r.header.Get("ETag"), `W/"`+vid+`"`; got != want {
		t.Errorf("ETag = %q, want %q", got, want)
	}
	// The spec's response table requires Content-Location on read, create
	// and update; it names the version returned.
	want := "/STU3/1/gpconnect/" + str(res, "resourceType") + "/" + str(res, "id") + "/_history/" + vid
	if got := r.header.Get("Content-Location"); !strings.HasPrefix(got, "http") || !strings.HasSuffix(got, want) || strings.Count(got, "/STU3/") != 1 {
		t.Errorf("Content-Location = %q, want [base]%s", got, strings.TrimPrefix(want, "/STU3/1/gpconnect"))
	}
}

// wantProfile checks meta.profile contains p and meta.versionId is set.
func wantProfile(t testing.TB, res obj, p string) {
	t.Helper()
	if !slices.Contains(strSlice(arr(res, "meta", "profile")), p) {
		t.Errorf("%s/%s meta.profile = %v, want %s", str(res, "resourceType"), str(res, "id"), at(res, "meta", "profile"), p)
	}
	if str(res, "meta", "versionId") == "" {
		t.Errorf("%s/%s has no meta.versionId", str(res, "resourceType"), str(res, "id"))
	}
}

// localDay is local midnight n days after today (UK time).
func localDay(now time.Time, n int) time.Time {
	return scheduling.AddDaysLocal(scheduling.LocalMidnight(now), n)
}

// gpcTime formats t the GP Connect way: UK local time with its offset.
func gpcTime(t time.Time) string { return t.In(scheduling.London).Format("2006-01-02T15:04:05-07:00") }

// slotQuery is the test pack's standard search ("std"): start=ge<local
// midnight tomorrow>, end=le<that + days>, status=free, every _include, and
// both searchFilters as the booking organisation A20047 / urgent-care.
func slotQuery(now time.Time, days int) url.Values {
	start := localDay(now, 1)
	return url.Values{
		"start":            {"ge" + gpcTime(start)},
		"end":              {"le" + gpcTime(scheduling.AddDaysLocal(start, days))},
		"status":           {"free"},
		"_include":         {"Slot:schedule"},
		"_include:recurse": {"Schedule:actor:Practitioner", "Schedule:actor:Location", "Location:managingOrganization"},
		"searchFilter":     {sysODSOrg + "|" + odsLegg, sysOrgType + "|urgent-care"},
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
