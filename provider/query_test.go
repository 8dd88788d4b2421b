package provider_test

// Query strings as consumers really send them (spec §2.1, §5.1–5.3, §7):
// raw ';' in a value, undecodable percent-encoding, repeated _format,
// several values of one searchFilter system, and the wording of range and not-found errors.

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func testQueryStrings(t *testing.T, e *env) {
	t.Run("raw semicolon stays in _format", func(t *testing.T) {
		// Go's url.ParseQuery drops a pair holding a raw ';', which would
		// silently answer JSON to a consumer asking for XML.
		r := e.get(t, "Patient/1?_format=application/fhir%2Bxml;charset=utf-8", iidReadPatient, scopePatRead)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/fhir+xml") {
			t.Fatalf("status %d, Content-Type %q; want 200 in XML", r.status, r.header.Get("Content-Type"))
		}
	})
	t.Run("undecodable query is 400 saying so", func(t *testing.T) {
		q := slotQuery(e.now, 2).Encode()
		for _, bad := range []string{"start=ge2026-12-07%ZZ&", "foo=%ZZ&", "%G1=x&"} {
			r := e.get(t, "Slot?"+bad+q, iidSlots, scopeOrgRead)
			diag := wantOutcome(t, r, http.StatusBadRequest, "BAD_REQUEST")
			if !strings.Contains(diag, "could not be decoded") {
				t.Errorf("%s: diagnostics %q do not say the query could not be decoded", bad, diag)
			}
		}
	})
	t.Run("an undecodable query is weighed after format, token and switches", func(t *testing.T) {
		// Spec §3.5 checks query parameters last (step 9): a bad pair, even
		// of a parameter the interaction ignores, must not hide a fault the
		// steps before it would answer.
		r := e.request(t, http.MethodGet, "metadata?foo=%zz", iidMetadata, scopeOrgRead)
		r.Header.Set("Accept", "text/html")
		wantOutcome(t, e.do(t, r), http.StatusUnsupportedMediaType, "BAD_REQUEST")

		r = e.request(t, http.MethodGet, "metadata?foo=%zz", iidMetadata, scopePatRead)
		if diag := wantOutcome(t, e.do(t, r), http.StatusBadRequest, "BAD_REQUEST"); strings.Contains(diag, "could not be decoded") {
			t.Errorf("a read scope on metadata answered with the query's fault: %q", diag)
		}

		r = e.requestAt(t, odsWestbrook, asidWestbrook, http.MethodGet, "metadata?foo=%zz", iidMetadata, scopeOrgRead)
		wantOutcome(t, e.do(t, r), http.StatusForbidden, "ACCESS_DENIED")

		// A _format that cannot be decoded is a format fault, weighed with
		// the format (before the token), not left for Accept to decide.
		r = e.request(t, http.MethodGet, "metadata?_format=application/fhir%2Bxml%ZZ", iidMetadata, scopePatRead)
		r.Header.Set("Accept", "text/html")
		if diag := wantOutcome(t, e.do(t, r), http.StatusBadRequest, "BAD_REQUEST"); !strings.Contains(diag, "_format") {
			t.Errorf("an undecodable _format answered %q, want it named", diag)
		}

		// _format after the bad pair is still read.
		r = e.request(t, http.MethodGet, "metadata?foo=%zz&_format=text/html", iidMetadata, scopeOrgRead)
		wantOutcome(t, e.do(t, r), http.StatusUnsupportedMediaType, "BAD_REQUEST")
	})
	t.Run("_format twice is 400", func(t *testing.T) {
		for _, f := range []string{"_format=application/fhir%2Bxml&_format=application/fhir%2Bxml", "_format=application/fhir%2Bjson&_format=application/fhir%2Bxml"} {
			r := e.get(t, "metadata?"+f, iidMetadata, scopeOrgRead)
			diag := wantOutcome(t, r, http.StatusBadRequest, "BAD_REQUEST")
			if !strings.Contains(diag, "_format") {
				t.Errorf("%s: diagnostics %q do not name _format", f, diag)
			}
		}
	})
	t.Run("several values of one searchFilter system show only what every value may see", func(t *testing.T) {
		// searchFilter is 0..n (spec §5.1) and the pack's "three valid
		// searchFilter" step sends two org types, so a second value is not
		// an error. A slot restricted on that system is offered only when
		// every value is allowed: more values never show more slots, and
		// their order does not matter.
		search := func(filters ...string) []string {
			q := slotQuery(e.now, 7)
			q["searchFilter"] = filters
			return slotIDs(wantOK(t, e.get(t, "Slot?"+q.Encode(), iidSlots, scopeOrgRead), "Bundle"))
		}
		for _, c := range []struct{ fixed, a, b string }{
			{sysODSOrg + "|" + odsLegg, sysOrgType + "|gp-practice", sysOrgType + "|urgent-care"},
			{sysOrgType + "|urgent-care", sysODSOrg + "|B81016", sysODSOrg + "|" + odsLegg},
		} {
			a, b := search(c.fixed, c.a), search(c.fixed, c.b)
			if slices.Equal(a, b) {
				t.Fatalf("%s and %s see the same %d slots: the data does not tell the values apart", c.a, c.b, len(a))
			}
			var both []string
			for _, id := range a {
				if slices.Contains(b, id) {
					both = append(both, id)
				}
			}
			if len(both) == 0 {
				t.Fatalf("%s and %s share no slot: the unrestricted slots are missing", c.a, c.b)
			}
			if got := search(c.fixed, c.a, c.b); !slices.Equal(got, both) {
				t.Errorf("%s and %s: %d slots, want the %d both may see", c.a, c.b, len(got), len(both))
			}
			if got := search(c.b, c.fixed, c.a); !slices.Equal(got, both) {
				t.Errorf("%s and %s in the other order: %d slots, want %d", c.b, c.a, len(got), len(both))
			}
		}
	})
	t.Run("too long a period is stated exactly", func(t *testing.T) {
		// Periods are compared in wall-clock time (§5.2), so a clock change
		// inside the window does not alter the figures.
		start := localDay(e.now, 1)
		for end, want := range map[string]string{
			gpcTime(start.AddDate(0, 0, 14).Add(1e9)): "14 days 00:00:01",
			gpcTime(start.AddDate(0, 0, 15)):          "15 days",
		} {
			q := slotQuery(e.now, 2)
			q.Set("end", "le"+end)
			diag := wantOutcome(t, e.get(t, "Slot?"+q.Encode(), iidSlots, scopeOrgRead), 422, "INVALID_PARAMETER")
			if !strings.Contains(diag, "was "+want+" between") {
				t.Errorf("end %s: diagnostics %q, want it to say %q", end, diag, want)
			}
		}
	})
	t.Run("hidden and absent patients read alike", func(t *testing.T) {
		// Patient 9 is held but sensitive; 99 is not held. §7: a hidden
		// patient is reported exactly as an unknown one.
		hidden := wantOutcome(t, e.get(t, "Patient/9", iidReadPatient, scopePatRead), 404, "PATIENT_NOT_FOUND")
		absent := wantOutcome(t, e.get(t, "Patient/99", iidReadPatient, scopePatRead), 404, "PATIENT_NOT_FOUND")
		if strings.Replace(hidden, "9", "99", 1) != absent {
			t.Errorf("diagnostics differ: %q for a hidden patient, %q for an absent one", hidden, absent)
		}
		// The same on Retrieve a patient's appointments (§7.4).
		day := localDay(e.now, 0).Format("2006-01-02")
		q := "/Appointment?start=ge" + day + "&start=le" + day
		hidden = wantOutcome(t, e.get(t, "Patient/9"+q, iidRetrieveAppt, scopePatRead), 404, "PATIENT_NOT_FOUND")
		absent = wantOutcome(t, e.get(t, "Patient/99"+q, iidRetrieveAppt, scopePatRead), 404, "PATIENT_NOT_FOUND")
		if strings.Replace(hidden, "9", "99", 1) != absent {
			t.Errorf("retrieve diagnostics differ: %q for a hidden patient, %q for an absent one", hidden, absent)
		}
	})
}
