package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/internal/tlstest"
)

// TestHubMutualTLSCommands: the hub's client certificate, key and CA
// bundle, given as flags or as SLOTBRIDGE_CONSUMER_CERT, _KEY and _CA,
// carry slots, book and serve's hub API through a Spine Secure Proxy that
// requires mutual TLS (spec §1.4); without the certificate the search fails
// saying so, and a file that cannot be loaded stops the command at once.
func TestHubMutualTLSCommands(t *testing.T) {
	ctx := context.Background()
	s, file, data := startSim(t, sim.Config{Practices: 2, Days: 3, Seed: 5}, "pcn")
	pki := tlstest.New(t)
	ssp := tlstest.StartSSP(t, pki.ServerTLS())
	cli := func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		err := run(ctx, append(args, data), &out, &errb)
		return out.String(), errb.String(), err
	}
	if _, errs, err := cli("directory", "import", file); err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	search := []string{"slots", "--hub", "pcn", "--start", "tomorrow", "--end", "tomorrow", "--json"}
	var res struct {
		Slots []struct {
			Ref string `json:"ref"`
		} `json:"slots"`
		Failures []struct {
			ODS, Detail string
		} `json:"failures"`
	}

	t.Run("FlagsOK", func(t *testing.T) {
		out, errs, err := cli(append(search, "--ssp", ssp.URL, "--cert", pki.ClientCert, "--key", pki.ClientKey, "--ca", pki.CAFile)...)
		if err != nil {
			t.Fatalf("slots with --cert: %v\n%s", err, errs)
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Slots) == 0 || len(res.Failures) != 0 || ssp.Forwarded("slotbridge-hub") < 2 {
			t.Fatalf("%d slots, failures %v, %d requests through the proxy", len(res.Slots), res.Failures, ssp.Forwarded("slotbridge-hub"))
		}
	})
	t.Run("ErrNoClientCertificate", func(t *testing.T) {
		out, _, err := cli(append(search, "--ssp", ssp.URL, "--ca", pki.CAFile)...)
		if err == nil || !strings.Contains(err.Error(), "no practice") {
			t.Fatalf("slots without a client certificate: err %v", err)
		}
		if !strings.Contains(out, "TLS") || !strings.Contains(out, "client certificate") {
			t.Fatalf("the failures do not say the proxy wanted a client certificate:\n%s", out)
		}
	})
	t.Run("ErrBadFiles", func(t *testing.T) {
		before := ssp.Forwarded("slotbridge-hub")
		missing := filepath.Join(t.TempDir(), "hub.pem")
		_, _, err := cli(append(search, "--ssp", ssp.URL, "--cert", missing, "--key", pki.ClientKey, "--ca", pki.CAFile)...)
		if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "SLOTBRIDGE_CONSUMER_CERT/--cert") {
			t.Fatalf("slots with a missing --cert: err %v", err)
		}
		if _, _, err := cli(append(search, "--cert", pki.ClientCert)...); err == nil || !strings.Contains(err.Error(), "no key file") {
			t.Fatalf("slots with --cert and no --key: err %v", err)
		}
		if ssp.Forwarded("slotbridge-hub") != before {
			t.Fatal("a command with a bad TLS file called out")
		}
	})

	// From here the identity comes from the environment, as serve takes it.
	t.Setenv("SLOTBRIDGE_SSP_URL", ssp.URL)
	t.Setenv("SLOTBRIDGE_CONSUMER_CERT", pki.ClientCert)
	t.Setenv("SLOTBRIDGE_CONSUMER_KEY", pki.ClientKey)
	t.Setenv("SLOTBRIDGE_CONSUMER_CA", pki.CAFile)
	t.Run("EnvBookOK", func(t *testing.T) {
		if len(res.Slots) == 0 {
			t.Fatal("no slot to book: FlagsOK found none")
		}
		before := ssp.Forwarded("slotbridge-hub")
		p := s.Patients[0]
		out, errs, err := cli("book", "--hub", "pcn", "--slot", res.Slots[0].Ref, "--patient", p.NHSNumber, "--family", p.Family, "--given", p.Given,
			"--gender", p.Gender, "--birth-date", p.BirthDate)
		if err != nil || !strings.Contains(out, "booked ") {
			t.Fatalf("book through the proxy: %v\n%s%s", err, out, errs)
		}
		// Slot search, patient search, registration and the booking itself.
		if n := ssp.Forwarded("slotbridge-hub") - before; n < 4 {
			t.Fatalf("book made %d calls through the proxy, want its search, patient lookup, registration and booking", n)
		}
	})
	t.Run("EnvServeOK", func(t *testing.T) {
		t.Setenv("SLOTBRIDGE_HUB_API_TOKEN", "front-end")
		h := serveHubAPI(t, data)
		before := ssp.Forwarded("slotbridge-hub")
		q := url.Values{"start": {"tomorrow"}, "end": {"tomorrow"}}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/hub/pcn/Slot?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer front-end")
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || strings.Contains(rec.Body.String(), "OperationOutcome") || ssp.Forwarded("slotbridge-hub")-before < 2 {
			t.Fatalf("hub API search through the proxy: %d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("ErrServeBadFile", func(t *testing.T) {
		t.Setenv("SLOTBRIDGE_CONSUMER_CA", pki.ClientKey)
		fresh := filepath.Join(t.TempDir(), "data")
		// Bounded: a serve that took the file would run until stopped.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := runServe(sctx, []string{"--data", fresh, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), pki.ClientKey) || !strings.Contains(err.Error(), "SLOTBRIDGE_CONSUMER_CA") {
			t.Fatalf("serve with a CA bundle that holds no certificate: %v", err)
		}
		if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("serve opened the store before checking the TLS files (%s exists)", fresh)
		}
	})
}

// serveHubAPI is serve's handler for /hub/ on the database of the --data flag given.
func serveHubAPI(t *testing.T, dataFlag string) http.Handler {
	t.Helper()
	db := dbConfig{data: strings.TrimPrefix(dataFlag, "--data="), sync: "NORMAL"}
	st, err := db.openExisting(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := withMounts(mountEnv{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), horizon: horizonFor(6)}, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
