package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAccessLog: one line per request with method, path, status, bytes and
// trace id, and never the query string (it can hold an NHS number).
func TestAccessLog(t *testing.T) {
	var buf strings.Builder
	h := accessLog(slog.New(slog.NewTextHandler(&buf, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quiet" {
			return // writes nothing: a 200 with no body
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("nope"))
	}))
	req := httptest.NewRequest("GET", "/A20047/STU3/1/gpconnect/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number%7C9658218865", nil)
	req.Header.Set("Ssp-TraceID", "trace-1")
	h.ServeHTTP(httptest.NewRecorder(), req)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/quiet", nil))
	out := buf.String()
	for _, want := range []string{"method=GET path=/A20047/STU3/1/gpconnect/Patient status=404 bytes=4", "trace=trace-1", "method=POST path=/quiet status=200 bytes=0"} {
		if !strings.Contains(out, want) {
			t.Errorf("access log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "9658218865") || strings.Count(out, "\n") != 2 {
		t.Errorf("access log should hold two lines and no query:\n%s", out)
	}
}

// TestCheckPublicURL: --public-url is a scheme and host, nothing else.
func TestCheckPublicURL(t *testing.T) {
	for in, want := range map[string]string{"": "", "https://gpc.example.nhs.uk": "https://gpc.example.nhs.uk",
		"https://gpc.example.nhs.uk/": "https://gpc.example.nhs.uk", "http://127.0.0.1:8080": "http://127.0.0.1:8080"} {
		if got, err := checkPublicURL(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"gpc.example.nhs.uk", "ftp://x", "https://x/A20047", "https://x?y", "https://u@x", "https://"} {
		if _, err := checkPublicURL(bad); err == nil || !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("%q: %v, want refused", bad, err)
		}
	}
}
