package federation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// TestFanoutReadsEveryFormOfARefusal: a practice's 403 is a definite answer
// however it is written: ACCESS_DENIED with a space (the code system's
// spelling, which consumers must accept, spec §9.2 and §13), or an
// OperationOutcome in XML although the hub asked for JSON. Each is reported
// by its Spine code, as a forbidden issue with the Spine coding in the hub's
// Bundle, and none counts against the practice's circuit.
func TestFanoutReadsEveryFormOfARefusal(t *testing.T) {
	xmlOutcome := func(code string) string {
		return fmt.Sprintf(`<OperationOutcome xmlns="http://hl7.org/fhir"><issue><severity value="error"/><code value="forbidden"/>`+
			`<details><coding><system value="%s"/><code value="%s"/></coding></details><diagnostics value="switched off"/></issue></OperationOutcome>`,
			gpconnect.SystemSpineError, code)
	}
	xmlCT := map[string]string{"Content-Type": gpconnect.MediaXML + ";charset=utf-8"}
	for _, c := range []struct {
		name string
		ans  fakeAnswer
	}{
		{"JSON, with a space", fakeAnswer{status: 403, body: outcome(gpconnect.SystemSpineError, "ACCESS DENIED", "switched off")}},
		{"XML, with the underscore", fakeAnswer{status: 403, body: xmlOutcome("ACCESS_DENIED"), header: xmlCT}},
		{"XML, with a space", fakeAnswer{status: 403, body: xmlOutcome("ACCESS DENIED"), header: xmlCT}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakePractice(t)
			f.set("GET /Slot", c.ans)
			hub := fakeHub(t, f, testIdentity())
			start, end := tomorrow()
			for i := range 4 { // one more than the breaker's threshold
				res, err := hub.Search(context.Background(), "h", federation.Query{Start: start, End: end})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Failures) != 1 {
					t.Fatalf("search %d: failures %v", i, res.Failures)
				}
				fl := res.Failures[0]
				if fl.Reason != federation.Reason(gpconnect.AccessDenied) || fl.Status != 403 || fl.Detail != "switched off" {
					t.Fatalf("search %d: failure %+v, want ACCESS_DENIED 403 with the practice's diagnostics", i, fl)
				}
				is := federation.FailureOutcome(fl).Issue[0]
				if is.Code != "forbidden" || is.Details == nil || len(is.Details.Coding) != 1 || is.Details.Coding[0].Code != string(gpconnect.AccessDenied) {
					t.Fatalf("search %d: outcome issue %+v", i, is)
				}
			}
			if st := hub.Breaker.State(fakeODS); st != "closed" {
				t.Fatalf("circuit %s after four refusals, want closed: a refusal is an answer", st)
			}
			if n := f.requests("GET", "/Slot"); n != 4 {
				t.Fatalf("%d searches reached the practice, want 4", n)
			}
		})
	}
}

// TestFanoutRefusalBounds: an error answer is read for its Spine code only
// when it can be one: a body over consumer.MaxOutcomeBody is not decoded
// (megabytes of it on every search would cost the hub seconds of CPU), and
// a "code" that is not 1 to 64 capitals, underscores or spaces is not
// carried into the hub's answers. Both are provider errors.
func TestFanoutRefusalBounds(t *testing.T) {
	big := `<OperationOutcome xmlns="http://hl7.org/fhir">` + strings.Repeat("<issue/>", consumer.MaxOutcomeBody/8) +
		`<issue><severity value="error"/><code value="forbidden"/><details><coding><system value="` + gpconnect.SystemSpineError +
		`"/><code value="ACCESS_DENIED"/></coding></details></issue></OperationOutcome>`
	for _, c := range []struct {
		name string
		ans  fakeAnswer
	}{
		{"XML over the bound", fakeAnswer{status: 403, body: big, header: map[string]string{"Content-Type": gpconnect.MediaXML}}},
		{"JSON over the bound", fakeAnswer{status: 403, body: outcome(gpconnect.SystemSpineError, "ACCESS_DENIED", strings.Repeat("x", consumer.MaxOutcomeBody))}},
		{"code with markup", fakeAnswer{status: 403, body: outcome(gpconnect.SystemSpineError, "<b>DENIED</b>", "no")}},
		{"code too long", fakeAnswer{status: 403, body: outcome(gpconnect.SystemSpineError, strings.Repeat("A", 65), "no")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakePractice(t)
			f.set("GET /Slot", c.ans)
			hub := fakeHub(t, f, testIdentity())
			start, end := tomorrow()
			res, err := hub.Search(context.Background(), "h", federation.Query{Start: start, End: end})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Failures) != 1 || res.Failures[0].Reason != federation.ReasonProviderError {
				t.Fatalf("failures %+v, want one provider error", res.Failures)
			}
		})
	}
}
