package provider_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// FuzzReadRequests sends GETs with any path and query under the service
// root, any interaction ID and scope of the spec's, and any Accept header,
// to a provider over the demo data (with one booked appointment, so reads
// reach it), on SQLite and, when SLOTBRIDGE_TEST_DATABASE_URL is set, on
// PostgreSQL too (each input goes to both). Every answer must be a 2xx
// resource or a 4xx OperationOutcome with a Spine code, in the format asked
// for (_format over Accept, JSON when neither asks; a 4xx in JSON when what
// is asked for is unsupported); never a 5xx, and never no answer at all to
// a request net/http sends as it is (see sendable).
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
	// Format negotiation: _format over Accept, '+' read as a space, an
	// unsupported charset, a refused type, an error in XML.
	f.Add(uint8(2), uint8(1), "Patient/1?_format=json", "application/fhir+xml")
	f.Add(uint8(9), uint8(0), "Location/8?_format=application/fhir+xml", "")
	f.Add(uint8(9), uint8(0), "Location/8", "application/fhir+xml;charset=latin1")
	f.Add(uint8(9), uint8(0), "Location/8?_format=html", "application/fhir+xml")
	f.Add(uint8(9), uint8(0), "Location/8", "application/fhir+json;q=0, */*")
	f.Add(uint8(0), uint8(0), "Nope?_format=xml", "")
	// A NUL in a search value: PostgreSQL text cannot hold one.
	f.Add(uint8(5), uint8(0), "Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code%7CA2%0047", "")
	f.Add(uint8(3), uint8(0), "Practitioner?identifier=https://fhir.nhs.uk/Id/sds-user-id%7CG1%00", "")
	f.Add(uint8(7), uint8(0), "HealthcareService?identifier=https://fhir.nhs.uk/Id/uec-dos-service-id%7C2%00", "")
	f.Add(uint8(10), uint8(0), "Slot?start=ge"+day(1)+"&end=le"+day(3)+"&status=free&_include=Slot:schedule&service.identifier=https://fhir.nhs.uk/Id/uec-dos-service-id%7C2%00&searchFilter=https://fhir.nhs.uk/Id/ods-organization-code%7CA%00", "")

	f.Fuzz(func(t *testing.T, iid, scope uint8, path, accept string) {
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
	r.Header.Set("Ssp-TraceID", uuid.NewString())
	r.Header.Set("Ssp-From", asidConsumer)
	r.Header.Set("Ssp-To", asidLegg)
	r.Header.Set("Ssp-InteractionID", iid)
	r.Header.Set("Authorization", "Bearer "+token(t, scope))
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	if !sendable(r) {
		return false
	}
	// Screened, the request goes on the wire as it is: any failure to get
	// an answer (a reset, a closed connection, a timeout) is the server's.
	resp, err := a.client.Do(r)
	if err != nil {
		t.Fatalf("%s: GET %s (%s, Accept %q): no answer: %v", name, path, iid, accept, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s: GET %s (%s): reading the answer: %v", name, path, iid, err)
	}
	if err := checkReadAnswer(resp, body, askedFormat(r.URL.RawQuery, accept)); err != nil {
		t.Fatalf("%s: GET %s (%s, Accept %q): %v", name, path, iid, accept, err)
	}
	return true
}

// sendable reports whether net/http's client sends r as it is. Its
// transport refuses a header value holding a control character other than
// tab (httpguts.ValidHeaderFieldValue) and a request URI holding one; a
// space in the URI it would send, but net/http's server then refuses the
// request line before any handler sees it (a plain-text 400), so that is
// not the provider's to answer either.
func sendable(r *http.Request) bool {
	for _, vs := range r.Header {
		for _, v := range vs {
			for _, c := range []byte(v) {
				if c < ' ' && c != '\t' || c == 0x7f {
					return false
				}
			}
		}
	}
	for _, c := range []byte(r.URL.RequestURI()) {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// Wire formats, as askedFormat and checkReadAnswer name them.
const (
	fmtJSON = "json"
	fmtXML  = "xml"
	fmtNone = "none" // nothing supported asked for: a 4xx, in JSON
)

// askedFormat is the answer's format as the spec's negotiation rules read
// the request: _format over Accept, JSON when neither asks (these GETs
// have no Content-Type to go by). It is "" where the fuzzer does not
// read the request plainly (a query that does not decode, an Accept listing
// several types or giving a q), and there only a FHIR format whose body
// matches its Content-Type is required.
func askedFormat(rawQuery, accept string) string {
	var formats []string
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || !scheduling.PlainText(key) || !scheduling.PlainText(val) {
			return "" // refused as a whole; which pairs were read first is the provider's business
		}
		if key == "_format" {
			formats = append(formats, val)
		}
	}
	switch len(formats) {
	case 0:
	case 1:
		v := strings.TrimSpace(formats[0])
		if v == "json" || v == "xml" {
			return v
		}
		// An unescaped '+' in the query reads as a space.
		if rest, ok := strings.CutPrefix(v, "application/fhir "); ok {
			v = "application/fhir+" + rest
		}
		return mediaFormat(v, false)
	default:
		return fmtNone // _format twice is a 400
	}
	if accept = strings.TrimSpace(accept); accept == "" {
		return fmtJSON
	}
	if strings.Contains(accept, ",") {
		return ""
	}
	return mediaFormat(accept, true)
}

// mediaFormat is the format one media type names: a FHIR type (and the
// DSTU2 spellings), with no charset but utf-8; in an Accept header also
// a wildcard (whatever its parameters), which leaves the choice to the
// server's default, JSON.
func mediaFormat(v string, accept bool) string {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return fmtNone
	}
	if _, ok := params["q"]; ok && accept {
		return "" // q=0 refuses the type; any other q changes nothing here but is not read
	}
	switch cs, ok := params["charset"]; {
	case accept && (mt == "*/*" || mt == "application/*"):
		return fmtJSON
	case ok && !strings.EqualFold(cs, "utf-8"):
		return fmtNone
	case mt == "application/fhir+json" || mt == "application/json+fhir":
		return fmtJSON
	case mt == "application/fhir+xml" || mt == "application/xml+fhir":
		return fmtXML
	}
	return fmtNone
}

// checkReadAnswer checks one answer: a 2xx or 4xx (never a 5xx, nor a
// redirect: the provider makes none), in a FHIR format, the one asked for
// (want, when known), with a body in that format: a resource on a 2xx, an
// OperationOutcome with a Spine code on a 4xx.
func checkReadAnswer(resp *http.Response, body []byte, want string) error {
	code, ct := resp.StatusCode, resp.Header.Get("Content-Type")
	if code/100 != 2 && code/100 != 4 {
		return fmt.Errorf("status %d (%s): %.300s", code, ct, body)
	}
	var got string
	if mt, params, err := mime.ParseMediaType(ct); err == nil && strings.EqualFold(params["charset"], "utf-8") {
		switch mt {
		case "application/fhir+json":
			got = fmtJSON
		case "application/fhir+xml":
			got = fmtXML
		}
	}
	switch {
	case got == "":
		return fmt.Errorf("%d in %q, not a FHIR format with charset=utf-8: %.300s", code, ct, body)
	case want == fmtNone && (code/100 != 4 || got != fmtJSON):
		return fmt.Errorf("%d in %s where no supported format was asked for (want a 4xx in JSON)", code, got)
	case want != "" && want != fmtNone && got != want:
		return fmt.Errorf("%d in %s, asked for %s", code, got, want)
	}
	typ, spine := fhirRoot(got, body)
	switch {
	case code/100 == 2 && (typ == "" || typ == "OperationOutcome"):
		return fmt.Errorf("%d whose %s body is not a resource: %.300s", code, got, body)
	case code/100 == 4 && (typ != "OperationOutcome" || spine == ""):
		return fmt.Errorf("%d whose %s body is not an OperationOutcome with a Spine code: %.300s", code, got, body)
	}
	return nil
}

// fhirRoot reads a FHIR body in format f: its resource type ("" when it is
// not well-formed in f) and, for an OperationOutcome, its first Spine code.
func fhirRoot(f string, body []byte) (typ, spine string) {
	if f == fmtJSON {
		var r struct{ ResourceType string }
		if json.Unmarshal(body, &r) != nil {
			return "", ""
		}
		return r.ResourceType, spineCode(body)
	}
	// XML: the root element names the type; the first code after the
	// Spine code system is the Spine code. The whole document must be
	// well-formed.
	d := xml.NewDecoder(bytes.NewReader(body))
	spineSystem := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return typ, spine
		}
		if err != nil {
			return "", ""
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if typ == "" {
			if el.Name.Space != "http://hl7.org/fhir" {
				return "", ""
			}
			typ = el.Name.Local
		}
		for _, at := range el.Attr {
			switch {
			case at.Name.Local != "value":
			case el.Name.Local == "system":
				spineSystem = strings.Contains(at.Value, "Spine-ErrorOrWarningCode-1")
			case el.Name.Local == "code" && spineSystem && spine == "":
				spine = at.Value
			}
		}
	}
}
