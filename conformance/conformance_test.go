package conformance_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/conformance"
	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/servertls"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/internal/tlstest"
	"github.com/slotbridge/slotbridge/provider"
)

// demoProvider serves the demo provider on loopback, optionally behind a middleware.
func demoProvider(t *testing.T, e storetest.Engine, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	st := storetest.Open(t, e)
	if err := demo.Load(context.Background(), st, time.Now(), 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
	h := prov.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); prov.Close() })
	return srv.URL + "/A20047/STU3/1/gpconnect"
}

func run(t *testing.T, root string, only ...string) (*conformance.Report, string) {
	t.Helper()
	return runWith(t, root, nil, only...)
}

// runWith is run with extra setting the client's transport (see NewClient).
func runWith(t *testing.T, root string, extra func(*consumer.Config), only ...string) (*conformance.Report, string) {
	t.Helper()
	d := conformance.DefaultData()
	c, err := conformance.NewClient(root, d, extra)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := conformance.Run(context.Background(), conformance.Config{Client: c, Data: d, Only: only, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	return rep, out.String()
}

// TestDemoProvider runs the whole suite against the demo provider: nothing
// fails except the listed known deviations, and everything booked is cancelled.
func TestDemoProvider(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			root := demoProvider(t, e, nil)
			rep, out := run(t, root)
			t.Log("\n" + out)
			if !rep.OK() {
				t.Fatalf("%d checks failed", rep.Failed)
			}
			if !strings.HasSuffix(strings.TrimSpace(out), "known deviations") || !strings.Contains(out, "conformance: ") {
				t.Errorf("summary line missing")
			}
			for _, r := range rep.Results {
				// The transport group needs a TLS endpoint (TestDemoProviderTLS).
				if r.Status == conformance.Skip && r.Group != "transport" {
					t.Errorf("%s skipped against the demo provider: %s", r.ID(), r.Detail)
				}
			}
			for _, c := range rep.Cleanup {
				if !strings.Contains(c, "stays registered") {
					t.Errorf("cleanup problem: %s", c)
				}
			}
			// Black-box check of the clean-up: the bookable patient has no booked appointment left.
			d := conformance.DefaultData()
			c, _ := conformance.NewClient(root, d, nil)
			ctx := context.Background()
			ps, err := c.FindPatient(ctx, d.Patients.Bookable)
			if err != nil || len(ps) != 1 {
				t.Fatalf("find patient: %v", err)
			}
			list, err := c.RetrieveAppointments(ctx, ps[0].ID, time.Now(), time.Now().AddDate(0, 0, 30))
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 0 {
				t.Fatal("the suite booked nothing for the bookable patient")
			}
			for _, a := range list {
				if a.Status != "cancelled" {
					t.Errorf("Appointment/%s left %s after the run", a.ID, a.Status)
				}
			}
		})
	}
}

// TestOnlySomeGroups: a run of only some groups passes on a fresh
// provider too (the README's --only slots,book: the booking through a DOS
// service took a slot a later check then chose as free).
func TestOnlySomeGroups(t *testing.T) {
	for _, only := range [][]string{{"slots", "book"}, {"book"}, {"book", "cancel"}, {"amend"}} {
		t.Run(strings.Join(only, ","), func(t *testing.T) {
			root := demoProvider(t, storetest.Engines(false)[0], nil)
			rep, out := run(t, root, only...)
			if !rep.OK() {
				t.Fatalf("%d checks failed:\n%s", rep.Failed, out)
			}
		})
	}
}

// noCacheControl drops Cache-Control from every response, as a provider
// that forgets it would.
func noCacheControl(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(stripper{w}, r)
	})
}

type stripper struct{ http.ResponseWriter }

func (s stripper) WriteHeader(code int) {
	s.Header().Del("Cache-Control")
	s.ResponseWriter.WriteHeader(code)
}

func (s stripper) Write(b []byte) (int, error) {
	s.Header().Del("Cache-Control")
	return s.ResponseWriter.Write(b)
}

// TestBrokenProviderFails: the suite notices a provider that breaks a rule.
func TestBrokenProviderFails(t *testing.T) {
	e := storetest.Engines(false)[0]

	t.Run("NoCacheControl", func(t *testing.T) {
		rep, out := run(t, demoProvider(t, e, noCacheControl), "metadata", "headers")
		failed := map[string]bool{}
		for _, r := range rep.Results {
			if r.Status == conformance.Fail {
				failed[r.ID()] = true
			}
		}
		if rep.OK() || !failed["metadata/capability-statement"] || !failed["headers/no-store-on-errors"] {
			t.Fatalf("missing Cache-Control not reported:\n%s", out)
		}
	})

	t.Run("HTMLErrors", func(t *testing.T) {
		// Every refusal comes back as an HTML page instead of an OperationOutcome.
		html := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code >= 400 {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(rec.Code)
					w.Write([]byte("<html>error</html>"))
					return
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
			})
		}
		rep, out := run(t, demoProvider(t, e, html), "headers", "patient")
		for _, id := range []string{"headers/missing-trace-id", "patient/read-unknown", "patient/find-bad-check-digit"} {
			found := false
			for _, r := range rep.Results {
				found = found || (r.ID() == id && r.Status == conformance.Fail && strings.Contains(r.Detail, "without an OperationOutcome"))
			}
			if !found {
				t.Errorf("%s did not fail for the missing OperationOutcome:\n%s", id, out)
			}
		}
	})

	t.Run("KnownDeviationDoesNotFail", func(t *testing.T) {
		d := conformance.DefaultData()
		c, _ := conformance.NewClient(demoProvider(t, e, noCacheControl), d, nil)
		rep, err := conformance.Run(context.Background(), conformance.Config{Client: c, Data: d, Only: []string{"metadata"},
			Deviations: map[string]string{"metadata/capability-statement": "test: listed on purpose"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Results {
			if r.ID() == "metadata/capability-statement" && r.Status != conformance.Known {
				t.Fatalf("listed deviation reported as %s", r.Status)
			}
		}
		if rep.Deviations != 1 {
			t.Fatalf("deviations = %d, want 1", rep.Deviations)
		}
	})
}

// TestLoadData: a data map overrides the defaults it names, and a key the
// map does not know is refused rather than leaving a default in force.
func TestLoadData(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d, err := conformance.LoadData(write("ok.json", `{"ods":"B82005","patients":{"bookable":"9658218873"}}`))
	if err != nil || d.ODS != "B82005" || d.Patients.Bookable != "9658218873" || d.ProviderASID != conformance.DefaultData().ProviderASID {
		t.Fatalf("LoadData = %+v, %v", d, err)
	}
	if _, err := conformance.LoadData(write("typo.json", `{"odsCode":"B82005"}`)); err == nil || !strings.Contains(err.Error(), "odsCode") {
		t.Fatalf("unknown key: %v, want an error naming it", err)
	}
	if _, err := conformance.LoadData(write("two.json", `{"ods":"B82005"}{}`)); err == nil {
		t.Fatal("two JSON values accepted")
	}
}

// demoProviderTLS serves the demo provider as serve --tls-* does: TLS 1.2
// only, every GP Connect request judged for the client certificate the PKI
// issued to ssp, and HSTS; wrap, when set, goes around the provider.
func demoProviderTLS(t *testing.T, e storetest.Engine, pki *tlstest.PKI, ssp string, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	st := storetest.Open(t, e)
	if err := demo.Load(context.Background(), st, time.Now(), 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	ts, err := servertls.Load(servertls.Options{CertFile: pki.ServerCert, KeyFile: pki.ServerKey, ClientCAFile: pki.CAFile, ClientName: ssp})
	if err != nil {
		t.Fatal(err)
	}
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)),
		provider.Config{ClientCert: func(r *http.Request) (int, string) { return ts.CheckClient(r.TLS, time.Now()) }})
	h := servertls.HSTS(prov.Handler())
	if wrap != nil {
		h = wrap(h)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ts.Listener(ln))
	t.Cleanup(func() { srv.Close(); prov.Close() })
	return "https://" + ln.Addr().String() + "/A20047/STU3/1/gpconnect"
}

// runTLS is run with the suite's client presenting certFile and keyFile and trusting the PKI's CA.
func runTLS(t *testing.T, root string, pki *tlstest.PKI, certFile, keyFile string, only ...string) (*conformance.Report, string) {
	t.Helper()
	return runWith(t, root, func(cfg *consumer.Config) { cfg.CertFile, cfg.KeyFile, cfg.CAFile = certFile, keyFile, pki.CAFile }, only...)
}

// TestDemoProviderTLS runs the whole suite over mutual TLS against the demo
// provider with serve's transport settings: every check passes, the
// transport group's included, and none is skipped.
func TestDemoProviderTLS(t *testing.T) {
	pki := tlstest.New(t)
	const ssp = "ssp.test.nhs.uk"
	cert, key := pki.Issue("ssp", ssp, x509.ExtKeyUsageClientAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	root := demoProviderTLS(t, storetest.Engines(false)[0], pki, ssp, nil)
	rep, out := runTLS(t, root, pki, cert, key)
	if !rep.OK() {
		t.Fatalf("%d checks failed:\n%s", rep.Failed, out)
	}
	transport := 0
	for _, r := range rep.Results {
		if r.Status == conformance.Skip {
			t.Errorf("%s skipped over TLS: %s", r.ID(), r.Detail)
		}
		if r.Group == "transport" && r.Status == conformance.Pass {
			transport++
		}
	}
	if transport != 7 {
		t.Errorf("%d transport checks passed, want 7:\n%s", transport, out)
	}
}

// TestTransportChecksFail: the transport group notices a TLS endpoint that
// breaks every rule of §1.4 — one that answers without a client
// certificate, speaks TLS 1.1, 1.3 and plain HTTP, takes AES128-SHA256 and
// sends no HSTS — and passes it on TLS 1.2 alone.
func TestTransportChecksFail(t *testing.T) {
	pki := tlstest.New(t)
	st := storetest.Open(t, storetest.Engines(false)[0])
	if err := demo.Load(context.Background(), st, time.Now(), 10*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
	defer prov.Close()
	srv := httptest.NewUnstartedServer(prov.Handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // its handshakes fail on purpose
	// An RSA key, TLS 1.0 to 1.3 and RSA key exchange allowed: every rule broken.
	certFile, keyFile := pki.IssueRSA("rsa-server", "127.0.0.1", x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS10,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256}}
	srv.StartTLS()
	defer srv.Close()
	rep, out := runTLS(t, srv.URL+"/A20047/STU3/1/gpconnect", pki, pki.ClientCert, pki.ClientKey, "transport")
	want := map[string]conformance.Status{"transport/tls-1.2-accepted": conformance.Pass, "transport/tls-1.3-refused": conformance.Fail,
		"transport/client-certificate-required": conformance.Fail, "transport/plain-http-refused": conformance.Fail,
		"transport/hsts": conformance.Fail, "transport/tls-1.1-refused": conformance.Fail, "transport/weak-cipher-refused": conformance.Fail}
	for _, r := range rep.Results {
		if w, ok := want[r.ID()]; ok && r.Status != w {
			t.Errorf("%s: %s (%s), want %s", r.ID(), r.Status, r.Detail, w)
		}
	}
	if len(rep.Results) != len(want) {
		t.Errorf("%d transport results, want %d:\n%s", len(rep.Results), len(want), out)
	}
}
