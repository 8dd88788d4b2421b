package provider_test

// Helpers for the appointment acceptance tests (book_test.go,
// amendcancel_test.go, retrieve_test.go, register_test.go). Request bodies
// are built with the fhir package's types and sent as JSON or, through
// fhir.MarshalXML, as application/fhir+xml; URLs, codes and profiles are
// spelled out from the spec, not taken from the code under test.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// Spec §6.2, §7 and §8 URLs.
const (
	iidBook     = iidPrefix + "rest:create:appointment-1"
	iidReadAppt = iidPrefix + "rest:read:appointment-1"
	iidAmend    = iidPrefix + "rest:update:appointment-1"
	iidCancel   = iidPrefix + "rest:cancel:appointment-1"
	iidRegister = iidPrefix + "operation:gpc.registerpatient-1"

	profAppointment = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"
	profOrg         = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1"
	profSearchset   = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Searchset-Bundle-1"
	extBookingOrg   = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1"
	extChannel      = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2"
	extRole         = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-PractitionerRole-1"
	extCancelReason = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1"
	extRegDetails   = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-RegistrationDetails-1"
	extNHSComm      = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-NHSCommunication-1"
	sysRoleName     = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1"

	leggID = 7 // organisation id of A20047 in the demo data
)

// apptEnv is a provider whose clock can be moved forward (to make booked
// appointments past) while the demo data stay where they were loaded.
type apptEnv struct {
	*env
	offset atomic.Int64 // nanoseconds added to the real clock
	mu     sync.Mutex
	used   map[int64]bool // slots handed out by take
}

func newApptEnv(t testing.TB, eng storetest.Engine) *apptEnv {
	t.Helper()
	a := &apptEnv{env: newEnv(t, eng, time.Time{}), used: map[int64]bool{}}
	a.prov.SetClock(func() time.Time { return time.Now().Add(time.Duration(a.offset.Load())) })
	return a
}

// slotInfo is a slot with what a booking of it must echo.
type slotInfo struct {
	ID             int64  `db:"id"`
	StartAt        int64  `db:"start_at"`
	EndAt          int64  `db:"end_at"`
	ScheduleID     int64  `db:"schedule_id"`
	LocationID     int64  `db:"location_id"`
	PractitionerID int64  `db:"practitioner_id"`
	Channel        string `db:"channel"`
	Role           string `db:"role"`
	ServiceType    string `db:"service_type"`
	Category       string `db:"service_category"`
	Profile        string `db:"profile"`
	ProfileID      int64  `db:"profile_id"`
}

func (s slotInfo) start() time.Time { return time.Unix(s.StartAt, 0) }
func (s slotInfo) end() time.Time   { return time.Unix(s.EndAt, 0) }

const slotSelect = `SELECT s.id, s.start_at, s.end_at, s.schedule_id, sc.location_id, sc.practitioner_id, s.channel, sc.role,
	s.service_type, sc.service_category, p.name AS profile, p.id AS profile_id
	FROM slots s JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
	WHERE s.practice_id = 7 AND s.status = 'free' AND s.start_at > ? AND `

// take hands out n free A20047 slots with the named access profile that no
// earlier take returned, starting at least after (from now); with adjacent,
// the n slots are consecutive slots of one schedule.
// t may be nil inside table edits, where a failure panics instead.
func (a *apptEnv) take(t testing.TB, profile string, n int, after time.Duration, adjacent bool) []slotInfo {
	fatalf := func(format string, args ...any) {
		if t == nil {
			panic(fmt.Sprintf(format, args...))
		}
		t.Helper()
		t.Fatalf(format, args...)
	}
	var rows []slotInfo
	err := a.st.DB().SelectContext(context.Background(), &rows, a.st.DB().Rebind(slotSelect+`p.name = ? ORDER BY sc.start_at, s.schedule_id, s.start_at`),
		time.Now().Add(after).Unix(), profile)
	if err != nil {
		fatalf("slots: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []slotInfo
	for _, r := range rows {
		if a.used[r.ID] {
			out = out[:0]
			continue
		}
		if adjacent && len(out) > 0 {
			prev := out[len(out)-1]
			if prev.ScheduleID != r.ScheduleID || prev.EndAt != r.StartAt || prev.Channel != r.Channel {
				out = out[:0]
			}
		}
		out = append(out, r)
		if len(out) == n {
			for _, s := range out {
				a.used[s.ID] = true
			}
			return out
		}
	}
	fatalf("no %d free %q slots (adjacent=%v) left", n, profile, adjacent)
	return nil
}

// patientID looks a demo patient up by NHS number.
// t may be nil inside table edits, where a failure panics instead.
func (a *apptEnv) patientID(t testing.TB, nhs string) int64 {
	var id int64
	if err := a.st.DB().GetContext(context.Background(), &id, a.st.DB().Rebind(`SELECT id FROM patients WHERE nhs_number = ? AND practice_id = 7`), nhs); err != nil {
		if t == nil {
			panic(fmt.Sprintf("patient %s: %v", nhs, err))
		}
		t.Fatalf("patient %s: %v", nhs, err)
	}
	return id
}

func ptr[T any](v T) *T { return &v }

// newBooking is the test pack's default booking (testpack-data.md §8): the
// contained booking organisation "Test Suite Validator" (A20047), Patient and
// Location participants, no Practitioner, description and created.
func newBooking(patientID int64, slots ...slotInfo) *fhir.Appointment {
	first, last := slots[0], slots[len(slots)-1]
	a := &fhir.Appointment{ResourceType: "Appointment", Meta: &fhir.Meta{Profile: []string{profAppointment}},
		Contained: fhir.ResourceList{&fhir.Organization{ResourceType: "Organization", ID: "1", Meta: &fhir.Meta{Profile: []string{profOrg}},
			Identifier: []fhir.Identifier{{System: sysODSOrg, Value: odsLegg}},
			Type:       []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: sysOrgType, Code: "urgent-care", Display: "Urgent Care"}}}},
			Name:       "Test Suite Validator", Telecom: []fhir.ContactPoint{{System: "phone", Value: "01823938938", Use: "temp"}}}},
		Extension:   []fhir.Extension{{URL: extBookingOrg, ValueReference: &fhir.Reference{Reference: "#1"}}},
		Status:      "booked",
		Description: "Acceptance test booking",
		Start:       gpcTime(first.start()),
		End:         gpcTime(last.end()),
		Created:     gpcTime(time.Now()),
		Participant: []fhir.AppointmentParticipant{
			{Actor: &fhir.Reference{Reference: fmt.Sprintf("Patient/%d", patientID)}, Status: "accepted"},
			{Actor: &fhir.Reference{Reference: fmt.Sprintf("Location/%d", first.LocationID)}, Status: "accepted"},
		},
	}
	for _, s := range slots {
		a.Slot = append(a.Slot, fhir.Reference{Reference: fmt.Sprintf("Slot/%d", s.ID)})
	}
	return a
}

// bookingOrg is the contained booking organisation of a.
func bookingOrg(a *fhir.Appointment) *fhir.Organization { return a.Contained[0].(*fhir.Organization) }

// encodeBody renders r as JSON or, with xml, as FHIR XML.
func encodeBody(t testing.TB, r fhir.Resource, xml bool) []byte {
	t.Helper()
	var b []byte
	var err error
	if xml {
		b, err = fhir.MarshalXML(r)
	} else {
		b, err = json.Marshal(r)
	}
	if err != nil {
		t.Fatalf("encode body: %v", err)
	}
	return b
}

// send makes a write (or read) request with a raw body; ct is the
// Content-Type ("" for none). The response is always asked for as JSON so
// outcomes can be checked with wantOutcome.
func (a *apptEnv) send(t testing.TB, method, path, iid, scope string, body []byte, ct string, hdr map[string]string) *response {
	t.Helper()
	r := a.request(t, method, path, iid, scope)
	if body != nil {
		r.Body = ioNopCloser(body)
		r.ContentLength = int64(len(body))
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return a.do(t, r)
}

// sendRes sends a resource as JSON or XML.
func (a *apptEnv) sendRes(t testing.TB, method, path, iid, scope string, res fhir.Resource, xml bool, hdr map[string]string) *response {
	t.Helper()
	ct := mediaJSONCT
	if xml {
		ct = mediaXMLCT
	}
	return a.send(t, method, path, iid, scope, encodeBody(t, res, xml), ct, hdr)
}

func (a *apptEnv) book(t testing.TB, appt *fhir.Appointment, xml bool, hdr map[string]string) *response {
	t.Helper()
	return a.sendRes(t, http.MethodPost, "Appointment", iidBook, scopePatWrite, appt, xml, hdr)
}

// mustBook books and returns the stored appointment as the provider sent it.
func (a *apptEnv) mustBook(t testing.TB, appt *fhir.Appointment) *fhir.Appointment {
	t.Helper()
	r := a.book(t, appt, false, nil)
	if r.status != http.StatusCreated {
		t.Fatalf("book: %d %s", r.status, r.body)
	}
	return decodeAppt(t, r.body)
}

func decodeAppt(t testing.TB, body []byte) *fhir.Appointment {
	t.Helper()
	res, err := fhir.DecodeJSON(body, "Appointment")
	if err != nil {
		t.Fatalf("decode appointment: %v; %s", err, body)
	}
	return res.(*fhir.Appointment)
}

func (a *apptEnv) put(t testing.TB, iid string, appt *fhir.Appointment, xml bool, hdr map[string]string) *response {
	t.Helper()
	return a.sendRes(t, http.MethodPut, "Appointment/"+appt.ID, iid, scopePatWrite, appt, xml, hdr)
}

func ifMatch(v string) map[string]string { return map[string]string{"If-Match": `W/"` + v + `"`} }

// slotStatus reads a slot's status straight from the database.
func (a *apptEnv) slotStatus(t testing.TB, id int64) string {
	t.Helper()
	var s string
	if err := a.st.DB().GetContext(context.Background(), &s, a.st.DB().Rebind(`SELECT status FROM slots WHERE id = ?`), id); err != nil {
		t.Fatal(err)
	}
	return s
}

var locationRe = regexp.MustCompile(`^https?://[^/]+/A20047/STU3/1/gpconnect/Appointment/(\d+)/_history/(\d+)$`)

// wantAppointment checks a successful Book/Read/Amend/Cancel response: the
// status, the headers of §6.4 (ETag, Last-Modified, Cache-Control, Location
// on 201) and the returned resource against §6.4 / §7 ("Every returned
// Appointment SHALL have"). It returns the decoded body.
func wantAppointment(t testing.TB, r *response, status int, slots []slotInfo, patientID int64) obj {
	t.Helper()
	v := wantJSON(t, r, status)
	validateSTU3(t, "Appointment", r.body)
	if str(v, "resourceType") != "Appointment" {
		t.Fatalf("resourceType %q", str(v, "resourceType"))
	}
	id, vid := str(v, "id"), str(v, "meta", "versionId")
	if id == "" || vid == "" {
		t.Fatalf("id %q / versionId %q missing", id, vid)
	}
	wantProfile(t, v, profAppointment)
	wantETag(t, r, v)
	if lm, err := http.ParseTime(r.header.Get("Last-Modified")); err != nil || lm.IsZero() {
		t.Errorf("Last-Modified = %q, want an HTTP date", r.header.Get("Last-Modified"))
	}
	if status == http.StatusCreated {
		m := locationRe.FindStringSubmatch(r.header.Get("Location"))
		if m == nil || m[1] != id || m[2] != vid {
			t.Errorf("Location = %q, want [base]/Appointment/%s/_history/%s", r.header.Get("Location"), id, vid)
		}
	}
	first, last := slots[0], slots[len(slots)-1]
	if got, want := str(v, "start"), gpcTime(first.start()); got != want {
		t.Errorf("start = %q, want %q", got, want)
	}
	if got, want := str(v, "end"), gpcTime(last.end()); got != want {
		t.Errorf("end = %q, want %q", got, want)
	}
	for _, k := range []string{"start", "end", "created"} {
		if s := str(v, k); !regexp.MustCompile(`T\d\d:\d\d:\d\d[+-]\d\d:\d\d$`).MatchString(s) {
			t.Errorf("%s = %q, want local time with a numeric offset", k, s)
		}
	}
	var refs []string
	for _, s := range arr(v, "slot") {
		refs = append(refs, str(s, "reference"))
	}
	var want []string
	for _, s := range slots {
		want = append(want, "Slot/"+strconv.FormatInt(s.ID, 10))
	}
	slices.Sort(refs)
	slices.Sort(want)
	if !slices.Equal(refs, want) {
		t.Errorf("slot = %v, want %v", refs, want)
	}
	if got := str(v, "serviceType", 0, "text"); got != first.ServiceType {
		t.Errorf("serviceType[0].text = %q, want the slot type %q", got, first.ServiceType)
	}
	if got := str(v, "serviceCategory", "text"); got != first.Category {
		t.Errorf("serviceCategory.text = %q, want the schedule type %q", got, first.Category)
	}
	if got := str(extension(v, extChannel), "valueCode"); got != first.Channel {
		t.Errorf("deliveryChannel = %q, want the slot's %q", got, first.Channel)
	}
	role := extension(v, extRole)
	if got := str(role, "valueCodeableConcept", "coding", 0, "code"); got != first.Role {
		t.Errorf("practitionerRole = %q, want the schedule's %q", got, first.Role)
	}
	if str(role, "valueCodeableConcept", "coding", 0, "system") != sysRoleName {
		t.Errorf("practitionerRole system = %q", str(role, "valueCodeableConcept", "coding", 0, "system"))
	}
	ref := str(extension(v, extBookingOrg), "valueReference", "reference")
	var org obj
	for _, c := range arr(v, "contained") {
		if "#"+str(c, "id") == ref && str(c, "resourceType") == "Organization" {
			org = c.(map[string]any)
		}
	}
	if org == nil || str(org, "name") == "" || len(arr(org, "telecom")) == 0 {
		t.Errorf("booking organisation %q is not a contained Organization with name and telecom: %v", ref, at(v, "contained"))
	}
	parts := map[string]bool{}
	for _, p := range arr(v, "participant") {
		if str(p, "status") == "" {
			t.Errorf("participant %v has no status", p)
		}
		parts[str(p, "actor", "reference")] = true
	}
	if !parts[fmt.Sprintf("Patient/%d", patientID)] || !parts[fmt.Sprintf("Location/%d", first.LocationID)] {
		t.Errorf("participants %v lack Patient/%d or Location/%d", parts, patientID, first.LocationID)
	}
	if first.PractitionerID != 0 && !parts[fmt.Sprintf("Practitioner/%d", first.PractitionerID)] {
		t.Errorf("participants %v lack the schedule's Practitioner/%d (populate every element for which data exist)", parts, first.PractitionerID)
	}
	if at(v, "reason") != nil || at(v, "specialty") != nil {
		t.Errorf("reason/specialty populated")
	}
	return v
}

func ioNopCloser(b []byte) *nopCloser { return &nopCloser{bytes.NewReader(b)} }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// formats runs f once with a JSON body and once with an XML body.
func formats(t *testing.T, f func(t *testing.T, xml bool)) {
	t.Run("json", func(t *testing.T) { f(t, false) })
	t.Run("xml", func(t *testing.T) { f(t, true) })
}

// localDate is the UK local date of t.
func localDate(t time.Time) string { return t.In(scheduling.London).Format("2006-01-02") }

// otherRef is "typ/a", or "typ/b" when the appointment already names typ/a.
func otherRef(x *fhir.Appointment, typ string, a, b int) string {
	for _, p := range x.Participant {
		if p.Actor != nil && p.Actor.Reference == fmt.Sprintf("%s/%d", typ, a) {
			return fmt.Sprintf("%s/%d", typ, b)
		}
	}
	return fmt.Sprintf("%s/%d", typ, a)
}
