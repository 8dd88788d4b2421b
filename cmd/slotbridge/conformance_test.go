package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

func TestConformanceCommand(t *testing.T) {
	st := storetest.Open(t, storetest.Engines(false)[0])
	if err := demo.Load(context.Background(), st, time.Now(), 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
	srv := httptest.NewServer(prov.Handler())
	t.Cleanup(func() { srv.Close(); prov.Close() })

	t.Run("OK", func(t *testing.T) {
		report := filepath.Join(t.TempDir(), "report.json")
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"conformance", "--base", srv.URL, "--only", "metadata,location", "--json", report}, &out, &errOut)
		if err != nil {
			t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "PASS  location/read") || !strings.Contains(out.String(), "conformance: ") {
			t.Fatalf("output:\n%s", out.String())
		}
		var rep struct {
			Results []struct{ Group, Status string }
			Passed  int
		}
		b, _ := os.ReadFile(report)
		if err := json.Unmarshal(b, &rep); err != nil || rep.Passed == 0 {
			t.Fatalf("report %s: %v", b, err)
		}
		for _, r := range rep.Results {
			if r.Group != "metadata" && r.Group != "location" {
				t.Fatalf("--only ran group %s", r.Group)
			}
		}
	})

	t.Run("FailuresExitNonZero", func(t *testing.T) {
		// D81001 has GP Connect switched off, so its checks fail.
		data := filepath.Join(t.TempDir(), "map.json")
		os.WriteFile(data, []byte(`{"ods":"D81001","providerAsid":"918999198996"}`), 0o600)
		var out bytes.Buffer
		err := run(context.Background(), []string{"conformance", "--base", srv.URL, "--data", data, "--only", "location"}, &out, io.Discard)
		if err == nil || !strings.Contains(out.String(), "FAIL  location/read") {
			t.Fatalf("err %v, output:\n%s", err, out.String())
		}
	})

	// A run that could only fail throughout stops at once, saying why.
	t.Run("TargetChecked", func(t *testing.T) {
		closed := httptest.NewServer(nil)
		closed.Close()
		for _, c := range []struct{ base, want string }{
			{closed.URL, "cannot reach"},
			{srv.URL + "/B82005/STU3/1/gpconnect", "practice B82005's service root, but the data map is for A20047"},
			{"ftp://example.org/A20047/STU3/1/gpconnect", "not an http(s) URL"},
		} {
			var out bytes.Buffer
			err := run(context.Background(), []string{"conformance", "--base", c.base}, &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(out.String(), "FAIL") {
				t.Errorf("--base %s: %v (output %q), want it stopped: %s", c.base, err, out.String(), c.want)
			}
		}
	})

	t.Run("NeedsBase", func(t *testing.T) {
		if err := run(context.Background(), []string{"conformance"}, io.Discard, io.Discard); err == nil {
			t.Fatal("no error without --base")
		}
	})
}
