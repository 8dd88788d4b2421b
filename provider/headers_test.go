package provider_test

// Response headers (spec §2.2) as a .NET consumer reads them: the NHS
// provider test pack copies every response header value into a
// Dictionary<string,string>, so a header that .NET splits into several
// values (Vary: Accept, Accept-Encoding did) throws before any assertion.

import (
	"net/http"
	"testing"
)

// singleValued are the headers the provider may send; .NET reads each as one
// value (Date's comma is part of the date, Content-Type's parameters belong
// to the one media type).
var singleValued = map[string]bool{
	"Cache-Control": true, "Content-Type": true, "Content-Length": true, "Content-Encoding": true, "Content-Location": true,
	"Date": true, "Etag": true, "Last-Modified": true, "Location": true, "X-Slotbridge-Replayed": true,
}

func testResponseHeaders(t *testing.T, e *env) {
	gz := e.request(t, http.MethodGet, "Slot?"+slotQuery(e.now, 2).Encode(), iidSlots, scopeOrgRead)
	gz.Header.Set("Accept-Encoding", "gzip")
	xml := e.request(t, http.MethodGet, "Patient/1", iidReadPatient, scopePatRead)
	xml.Header.Set("Accept", "application/fhir+xml")
	for name, r := range map[string]*http.Request{
		"metadata":           e.request(t, http.MethodGet, "metadata", iidMetadata, scopeOrgRead),
		"read with ETag":     e.request(t, http.MethodGet, "Patient/1", iidReadPatient, scopePatRead),
		"read in XML":        xml,
		"gzipped search":     gz,
		"404 OperationOutc.": e.request(t, http.MethodGet, "Patient/99", iidReadPatient, scopePatRead),
		"400 OperationOutc.": e.request(t, http.MethodGet, "Slot?status=free", iidSlots, scopeOrgRead),
		"415 OperationOutc.": e.request(t, http.MethodGet, "metadata?_format=text/csv", iidMetadata, scopeOrgRead),
	} {
		res := e.do(t, r)
		for k, vs := range res.header {
			if !singleValued[k] {
				t.Errorf("%s: header %s: %q is not one the provider is meant to send; check how .NET reads it before adding it", name, k, vs)
			}
			if len(vs) != 1 {
				t.Errorf("%s: header %s sent %d times: %q", name, k, len(vs), vs)
			}
		}
		if got := res.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, got)
		}
	}
	// Accept-Encoding's q-values (RFC 9110 §12.5.3): any spelling of zero
	// refuses gzip; another positive value accepts it.
	for ae, want := range map[string]string{"gzip;q=0": "", "gzip;q=0.0": "", "gzip; q=0.000": "", "gzip;q=bad": "", "gzip;q=0.5": "gzip", "identity, gzip": "gzip"} {
		r := e.request(t, http.MethodGet, "Slot?"+slotQuery(e.now, 2).Encode(), iidSlots, scopeOrgRead)
		r.Header.Set("Accept-Encoding", ae)
		res := e.do(t, r)
		if got := res.header.Get("Content-Encoding"); res.status != 200 || got != want {
			t.Errorf("Accept-Encoding %q: status %d, Content-Encoding %q, want %q", ae, res.status, got, want)
		}
	}
}
