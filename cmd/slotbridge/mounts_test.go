package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
		"/A20047/STU3/1/gpconnect/Slot//", "/A20047/STU3/1/gpconnect/../x", "/administrator", "//A20047/STU3/1/gpconnect/metadata"} {
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

// encodedSlashes are paths under /admin as sent with an encoded slash:
// ServeMux matches the escaped segments, so no mount takes them (review).
var encodedSlashes = map[string]string{
	"/admin/api/practices/A20047": "/admin%2Fapi/practices/A20047",
	"/admin/api/federation/hubs":  "/admin/api%2ffederation/hubs",
}

// TestMountsAdminPathsAnswerJSON: every path under /admin is answered by
// the admin APIs' JSON, never by the provider's OperationOutcome or by
// ServeMux's redirect: one that is not clean ("//", "/./", "/../"), or that
// no mount serves ("/admin", "/admin/api"), is a JSON 404 with or without a
// token, since no such path exists for a token to open; so is one whose
// slash came encoded.
func TestMountsAdminPathsAnswerJSON(t *testing.T) {
	t.Setenv("SLOTBRIDGE_HUB_LOCAL", "1")
	db := dbConfig{data: t.TempDir(), sync: "NORMAL"}
	st, err := db.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fallback := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the provider got %s", r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	})
	h, err := withMounts(mountEnv{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), horizon: horizonFor(6)}, fallback)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/api/practices/A20047//profiles", "/admin/api/practices/A20047/./profiles", "/admin/api/practices/A20047/../A20047",
		"/admin", "/admin/", "/admin/x", "/admin/api", "/admin/api/federation", "/admin//api/federation/hubs", "/admin/api/federation/./hubs",
		"//admin/api/practices/A20047", "/admin/api/practices/A20047/profiles/", "/admin/api/practices/A20047", "/admin/api/federation/hubs"} {
		for _, auth := range []string{"", "Bearer sbadm_1_x"} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "http://127.0.0.1:8080/", nil)
			req.URL.Path = p
			if raw, ok := encodedSlashes[p]; ok {
				req.URL.RawPath = raw
			}
			req.RemoteAddr = "127.0.0.1:5555"
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			h.ServeHTTP(rec, req)
			var body struct{ Error, Code string }
			err := json.Unmarshal(rec.Body.Bytes(), &body)
			// A path the admin handler serves (the trailing-slash one) asks for a token first.
			want, code := http.StatusNotFound, "not_found"
			if p == "/admin/api/practices/A20047/profiles/" {
				want, code = http.StatusUnauthorized, "unauthorized"
			}
			if rec.Code != want || err != nil || body.Code != code || body.Error == "" ||
				!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("GET %s (%q): %d %s %q, want a JSON %d %s with no-store", p, auth, rec.Code, rec.Header().Get("Content-Type"), rec.Body, want, code)
			}
		}
	}
}

// TestMountsLogAccess: serve's log says how each hub API is reached, so an
// operator sees at start which are closed, open to a token, or local-only.
func TestMountsLogAccess(t *testing.T) {
	t.Setenv("SLOTBRIDGE_HUB_API_TOKEN", "front-end")
	t.Setenv("SLOTBRIDGE_HUB_ADMIN_TOKEN", "")
	db := dbConfig{data: t.TempDir(), sync: "NORMAL"}
	st, err := db.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var buf strings.Builder
	if _, err := withMounts(mountEnv{st: st, log: slog.New(slog.NewTextHandler(&buf, nil)), horizon: horizonFor(6)}, http.NotFoundHandler()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`msg="hub API /hub/" access="bearer token (SLOTBRIDGE_HUB_API_TOKEN)"`,
		`msg="federation admin API /admin/api/federation/" access="closed: set SLOTBRIDGE_HUB_ADMIN_TOKEN"`} {
		if strings.Count(buf.String(), want) != 1 {
			t.Errorf("log should hold once %s:\n%s", want, buf.String())
		}
	}
}

// TestMountsWarnPlaceholderUser: serve warns once at start when an open hub
// API would send practices the built-in placeholder user (spec §3.2 wants
// the logged-on user), and says nothing when the API is closed or a user is
// configured.
func TestMountsWarnPlaceholderUser(t *testing.T) {
	db := dbConfig{data: t.TempDir(), sync: "NORMAL"}
	st, err := db.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []struct {
		name, token, user, userName string
		warns                       bool
	}{
		{"open, placeholder", "front-end", "", "", true},
		{"closed, placeholder", "", "", "", false},
		{"open, configured user", "front-end", "u1", "Ann Jones", false},
		{"open, id without a name", "front-end", "u1", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SLOTBRIDGE_HUB_API_TOKEN", c.token)
			t.Setenv("SLOTBRIDGE_HUB_ADMIN_TOKEN", "")
			t.Setenv("SLOTBRIDGE_HUB_LOCAL", "")
			t.Setenv("SLOTBRIDGE_CONSUMER_USER", c.user)
			t.Setenv("SLOTBRIDGE_CONSUMER_USER_NAME", c.userName)
			var buf strings.Builder
			if _, err := withMounts(mountEnv{st: st, log: slog.New(slog.NewTextHandler(&buf, nil)), horizon: horizonFor(6)}, http.NotFoundHandler()); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(buf.String(), "placeholder user hub-user"); n != map[bool]int{true: 1, false: 0}[c.warns] {
				t.Fatalf("placeholder warning %d times, want it %v:\n%s", n, c.warns, buf.String())
			}
		})
	}
}
