package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMountsUncleanPaths checks that a path ServeMux would redirect (307,
// HTML, no Cache-Control) reaches the provider as sent, so that it answers
// with its own OperationOutcome; clean paths are still routed to the mounts.
func TestMountsUncleanPaths(t *testing.T) {
	t.Setenv("SLOTBRIDGE_HUB_LOCAL", "1") // the requests below come from a local caller
	db := dbConfig{data: t.TempDir(), sync: "NORMAL"}
	st, err := db.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []string
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	})
	h, err := withMounts(mountEnv{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), horizon: horizonFor(6)}, fallback)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/A20047/STU3/1/gpconnect//metadata", "/A20047/STU3/1/gpconnect/./metadata", "/A20047//STU3/1/gpconnect/metadata",
		"/A20047/STU3/1/gpconnect/Slot//", "/admin//api/federation/hubs", "/A20047/STU3/1/gpconnect/../x"} {
		got = nil
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://127.0.0.1:8080/", nil)
		req.URL.Path = p
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusTeapot || len(got) != 1 || got[0] != p {
			t.Errorf("GET %s: status %d, provider saw %q; want the provider to get the path as sent", p, rec.Code, got)
		}
	}
	for p, want := range map[string]bool{"/": true, "/a/b": true, "/a/b/": true, "": false, "a": false, "//a": false, "/a/./b": false, "/a/../b": false, "/a//": false} {
		if cleanPath(p) != want {
			t.Errorf("cleanPath(%q) = %v, want %v", p, !want, want)
		}
	}
	// A clean mount path still reaches its mount, not the provider.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/admin/api/federation/hubs", nil)
	req.RemoteAddr, req.Host = "127.0.0.1:5555", "127.0.0.1:8080"
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("GET /admin/api/federation/hubs = %d, want 200 from the federation admin mount", rec.Code)
	}
}
