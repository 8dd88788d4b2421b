package provider_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// FuzzReadRequests sends GETs with any path and query under the service
// root, any interaction ID and scope of the spec's, and any Accept header,
// to a provider over the demo data (with one booked appointment, so reads
// reach it), on SQLite and, when SLOTBRIDGE_TEST_DATABASE_URL is set, on
// PostgreSQL too (each input goes to both). Every answer must be a 2xx, or a
// 4xx OperationOutcome with a Spine code in the format asked for; never a 5xx.
func FuzzReadRequests(f *testing.F) {
	type target struct {
		name string
		a    *apptEnv
	}
	var targets []target
	var pid int64
	var apptID string
	for i, e := range storetest.Engines(false) {
		a := newApptEnv(f, e)
		p := a.patientID(f, "9658218865")
		appt := a.mustBook(f, newBooking(p, a.take(f, "open", 1, 3*time.Hour, false)...))
		targets = append(targets, target{e.Name, a})
		if i == 0 {
			pid, apptID = p, appt.ID
		}
	}
	iids := []string{iidMetadata, iidFindPatient, iidReadPatient, iidFindPrac, iidReadPrac, iidFindOrg, iidReadOrg,
		iidFindHCS, iidReadHCS, iidReadLocation, iidSlots, iidRetrieveAppt, iidReadAppt, iidBook}
	scopes := []string{scopeOrgRead, scopePatRead, scopePatWrite, scopeOrgWrite}
	day := func(n int) string { return localDate(time.Now().AddDate(0, 0, n)) }

	f.Add(uint8(0), uint8(0), "metadata?_format=xml", "")
	f.Add(uint8(1), uint8(1), "Patient?identifier=https://fhir.nhs.uk/Id/nhs-number%7C9658218865", "application/fhir+xml")
	f.Add(uint8(2), uint8(1), "Patient/1", "application/json+fhir")
	f.Add(uint8(3), uint8(0), "Practitioner?identifier=https://fhir.nhs.uk/Id/sds-user-id%7CG13579135", "")
	f.Add(uint8(5), uint8(0), "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code%7CA20047&identifier=x%7C", "")
	f.Add(uint8(7), uint8(0), "HealthcareService?identifier=https://fhir.nhs.uk/Id/uec-dos-service-id%7C2000041002", "text/html")
	f.Add(uint8(9), uint8(0), "Location/8", "*/*")
	f.Add(uint8(10), uint8(0), "Slot?start=ge"+day(1)+"&end=le"+day(3)+"&status=free&_include=Slot:schedule&_include:recurse=Schedule:actor:Practitioner", "application/fhir+json;q=0.5, application/fhir+xml")
	f.Add(uint8(11), uint8(1), "Patient/"+itoa(int(pid))+"/Appointment?start=ge"+day(0)+"&start=le"+day(30), "")
	f.Add(uint8(12), uint8(1), "Appointment/"+apptID+"?_format=application/fhir%2Bxml", "")
	f.Add(uint8(12), uint8(2), "Appointment/%zz", "")
	f.Add(uint8(13), uint8(2), "Appointment", "")
	// A NUL in a search value: PostgreSQL text cannot hold one.
	f.Add(uint8(5), uint8(0), "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code%7CA2%0047", "")
	f.Add(uint8(3), uint8(0), "Practitioner?identifier=https://fhir.nhs.uk/Id/sds-user-id%7CG1%00", "")
	f.Add(uint8(7), uint8(0), "HealthcareService?identifier=https://fhir.nhs.uk/Id/uec-dos-service-id%7C2%00", "")
	f.Add(uint8(10), uint8(0), "Slot?start=ge"+day(1)+"&end=le"+day(3)+"&status=free&_include=Slot:schedule&service.identifier=https://fhir.nhs.uk/Id/uec-dos-service-id%7C2%00&searchFilter=https://fhir.nhs.uk/Id/ods-organization-code%7CA%00", "")

	f.Fuzz(func(t *testing.T, iid, scope uint8, path, accept string) {
		for _, c := range accept {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return // not a header value a client can send
			}
		}
		for _, tg := range targets {
			if !readOnce(t, tg.name, tg.a, iids[int(iid)%len(iids)], scopes[int(scope)%len(scopes)], path, accept) {
				return
			}
		}
	})
}

// readOnce makes one FuzzReadRequests request to a and checks its answer;
// false means the input is not a request a client could send.
func readOnce(t *testing.T, name string, a *apptEnv, iid, scope, path, accept string) bool {
	r, err := http.NewRequest(http.MethodGet, a.srv.URL+"/"+odsLegg+"/STU3/1/gpconnect/"+path, nil)
	if err != nil {
		return false
	}
	for _, c := range r.URL.RequestURI() {
		if c <= ' ' || c == 0x7f {
			// Go's client would put it in the request line as it is, and
			// net/http's server refuses such a line before any handler
			// sees it (plain-text 400): not the provider's to answer.
			return false
		}
	}
	r.Header.Set("Ssp-TraceID", uuid.NewString())
	r.Header.Set("Ssp-From", asidConsumer)
	r.Header.Set("Ssp-To", asidLegg)
	r.Header.Set("Ssp-InteractionID", iid)
	r.Header.Set("Authorization", "Bearer "+token(t, scope))
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	resp, err := a.client.Do(r)
	if err != nil {
		return false // the client refused to send it (e.g. a host part it only checks now)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	switch ct := resp.Header.Get("Content-Type"); {
	case resp.StatusCode >= 500:
		t.Fatalf("%s: GET %s (%s): %d %s", name, path, iid, resp.StatusCode, body)
	case resp.StatusCode < 400:
	case strings.HasPrefix(ct, "application/fhir+xml"):
		if !strings.Contains(string(body), "<OperationOutcome") || !strings.Contains(string(body), "Spine-ErrorOrWarningCode-1") {
			t.Fatalf("%s: GET %s: %d without an XML OperationOutcome carrying a Spine code: %s", name, path, resp.StatusCode, body)
		}
	case spineCode(body) == "":
		t.Fatalf("%s: GET %s: %d (%s) without an OperationOutcome carrying a Spine code: %s", name, path, resp.StatusCode, ct, body)
	}
	return true
}
