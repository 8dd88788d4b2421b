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
// reach it). Every answer must be a 2xx, or a 4xx OperationOutcome with a
// Spine code in the format asked for; never a 5xx.
func FuzzReadRequests(f *testing.F) {
	a := newApptEnv(f, storetest.Engines(false)[0])
	pid := a.patientID(f, "9658218865")
	appt := a.mustBook(f, newBooking(pid, a.take(f, "open", 1, 3*time.Hour, false)...))
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
	f.Add(uint8(12), uint8(1), "Appointment/"+appt.ID+"?_format=application/fhir%2Bxml", "")
	f.Add(uint8(12), uint8(2), "Appointment/%zz", "")
	f.Add(uint8(13), uint8(2), "Appointment", "")

	f.Fuzz(func(t *testing.T, iid, scope uint8, path, accept string) {
		for _, c := range accept {
			if c < 0x20 && c != '\t' || c == 0x7f {
				return // not a header value a client can send
			}
		}
		r, err := http.NewRequest(http.MethodGet, a.srv.URL+"/"+odsLegg+"/STU3/1/gpconnect/"+path, nil)
		if err != nil {
			return // not a URL a client can send
		}
		for _, c := range r.URL.RequestURI() {
			if c <= ' ' || c == 0x7f {
				// Go's client would put it in the request line as it is,
				// and net/http's server refuses such a line before any
				// handler sees it (plain-text 400): not the provider's to answer.
				return
			}
		}
		r.Header.Set("Ssp-TraceID", uuid.NewString())
		r.Header.Set("Ssp-From", asidConsumer)
		r.Header.Set("Ssp-To", asidLegg)
		r.Header.Set("Ssp-InteractionID", iids[int(iid)%len(iids)])
		r.Header.Set("Authorization", "Bearer "+token(t, scopes[int(scope)%len(scopes)]))
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		resp, err := a.client.Do(r)
		if err != nil {
			return // the client refused to send it (e.g. a host part it only checks now)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		res := &response{status: resp.StatusCode, header: resp.Header, body: body}
		switch ct := res.header.Get("Content-Type"); {
		case res.status >= 500:
			t.Fatalf("GET %s (%s): %d %s", path, r.Header.Get("Ssp-InteractionID"), res.status, res.body)
		case res.status < 400:
		case strings.HasPrefix(ct, "application/fhir+xml"):
			if !strings.Contains(string(res.body), "<OperationOutcome") || !strings.Contains(string(res.body), "Spine-ErrorOrWarningCode-1") {
				t.Fatalf("GET %s: %d without an XML OperationOutcome carrying a Spine code: %s", path, res.status, res.body)
			}
		case spineCode(res.body) == "":
			t.Fatalf("GET %s: %d (%s) without an OperationOutcome carrying a Spine code: %s", path, res.status, ct, res.body)
		}
	})
}
