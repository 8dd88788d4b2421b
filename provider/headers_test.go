package provider_test

// Response headers (spec §2.2) as a .NET consumer reads them: the NHS
// provider test pack copies every response header value into a
// Dictionary<string,string>, so a header that .NET splits into several
// values (Vary: Accept, Accept-Encoding did) throws before any assertion.

import (
	"bufio"
	"net"
	"net/http"
	"net/textproto"
	"strings"
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
	// On the wire the version header is spelt "ETag", as RFC 9110 and the
	// test pack's case-sensitive lookup spell it; Go's client would
	// canonicalise it to "Etag" before a test could see it, so read the
	// raw response.
	if names := rawHeaderNames(t, e.request(t, http.MethodGet, "Patient/1", iidReadPatient, scopePatRead)); !names["ETag"] {
		t.Errorf("read: raw header names %v lack \"ETag\"", names)
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

// rawHeaderNames sends r over a plain connection and returns the response
// header names exactly as they were written on the wire.
func rawHeaderNames(t *testing.T, r *http.Request) map[string]bool {
	t.Helper()
	conn, err := net.Dial("tcp", r.URL.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r.Close = true
	if err := r.Write(conn); err != nil {
		t.Fatal(err)
	}
	tp := textproto.NewReader(bufio.NewReader(conn))
	if status, err := tp.ReadLine(); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("status line %q, %v", status, err)
	}
	names := map[string]bool{}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			t.Fatal(err)
		}
		if line == "" {
			return names
		}
		name, _, _ := strings.Cut(line, ":")
		names[name] = true
	}
}
