package federation_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/internal/tlstest"
)

// TestHubMutualTLS: the hub reaches practices through a Spine Secure Proxy
// that requires a client certificate (spec §1.4): its searches get through
// with the hub's certificate, fail with a reason that names the
// certificate without one, and refuse a server offering less than TLS 1.2.
func TestHubMutualTLS(t *testing.T) {
	pki := tlstest.New(t)
	ssp := tlstest.StartSSP(t, pki.ServerTLS())
	s, _, dir, _ := newFederation(t, 2, federation.Config{})
	search := func(t *testing.T, proxy string, files federation.TLSFiles) *federation.Result {
		t.Helper()
		hc, err := federation.NewHubTLSClient(federation.Config{}, files)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hc.CloseIdleConnections)
		hub := &federation.Hub{Dir: dir, Client: federation.NewGPConnect(testIdentity(), hc, proxy), Breaker: &federation.Breaker{}}
		start, end := tomorrow()
		res, err := hub.Search(context.Background(), "h", federation.Query{Start: start, End: end})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("OK", func(t *testing.T) {
		res := search(t, ssp.URL, federation.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CAFile})
		if len(res.Failures) != 0 || len(res.Slots) == 0 {
			t.Fatalf("%d slots, failures %v", len(res.Slots), res.Failures)
		}
		if n := ssp.Forwarded("slotbridge-hub"); n < len(s.Endpoints) {
			t.Fatalf("the proxy passed on %d requests under the hub's certificate, want one per practice at least", n)
		}
	})
	t.Run("ErrNoClientCertificate", func(t *testing.T) {
		// Refused by the proxy, the hub's own link fails for every practice
		// alike: said as the proxy's refusal, and, search after search, no
		// practice's circuit opens for it.
		hc, err := federation.NewHubTLSClient(federation.Config{}, federation.TLSFiles{CAFile: pki.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hc.CloseIdleConnections)
		hub := &federation.Hub{Dir: dir, Client: federation.NewGPConnect(testIdentity(), hc, ssp.URL), Breaker: &federation.Breaker{}}
		start, end := tomorrow()
		for i := range 5 {
			res, err := hub.Search(context.Background(), "h", federation.Query{Start: start, End: end})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Failures) != len(s.Endpoints) {
				t.Fatalf("search %d without a client certificate: failures %v, slots %d", i, res.Failures, len(res.Slots))
			}
			for _, f := range res.Failures {
				if f.Reason != federation.ReasonSSP || !strings.Contains(f.Detail, "Spine Secure Proxy") || !strings.Contains(f.Detail, "TLS") {
					t.Fatalf("search %d: failure %v does not say the hub's TLS link to the proxy failed", i, f)
				}
			}
		}
	})
	t.Run("ErrNoClientCertificateBooking", func(t *testing.T) {
		// A booking (or any call beside the search) refused at the proxy's
		// handshake is the proxy's refusal too, not the practice's error.
		hc, err := federation.NewHubTLSClient(federation.Config{}, federation.TLSFiles{CAFile: pki.CAFile})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(hc.CloseIdleConnections)
		g := federation.NewGPConnect(testIdentity(), hc, ssp.URL)
		eps, err := dir.Endpoints(context.Background())
		if err != nil || len(eps) == 0 {
			t.Fatalf("endpoints: %v", err)
		}
		_, err = g.ReadAppointment(context.Background(), eps[0], "1")
		if ce := federation.Classify(err); ce.Reason != federation.ReasonSSP || !strings.Contains(ce.Detail, "Spine Secure Proxy") {
			t.Fatalf("a read refused at the proxy's handshake: %v", ce)
		}
	})
	t.Run("ErrServerNotTrusted", func(t *testing.T) {
		res := search(t, ssp.URL, federation.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey})
		if len(res.Failures) != len(s.Endpoints) || !strings.Contains(res.Failures[0].Detail, "TLS") || !strings.Contains(res.Failures[0].Detail, "certificate") {
			t.Fatalf("a server certificate outside the CA bundle: failures %v", res.Failures)
		}
	})
	t.Run("ErrOldTLS", func(t *testing.T) {
		old := pki.ServerTLS()
		old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		oldSSP := tlstest.StartSSP(t, old)
		res := search(t, oldSSP.URL, federation.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.ClientKey, CAFile: pki.CAFile})
		if len(res.Failures) != len(s.Endpoints) || oldSSP.Forwarded("slotbridge-hub") != 0 {
			t.Fatalf("a server offering only TLS 1.1 was used: failures %v", res.Failures)
		}
	})
}

// TestHubTLSFilesRefused: files that cannot make the hub's TLS identity
// are refused when the client is built, each naming what is wrong.
func TestHubTLSFilesRefused(t *testing.T) {
	pki := tlstest.New(t)
	now := time.Now()
	expCert, expKey := pki.Issue("expired", "slotbridge-hub", x509.ExtKeyUsageClientAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	_, otherKey := pki.Issue("other", "other", x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for name, c := range map[string]struct {
		files federation.TLSFiles
		want  string
	}{
		"ErrCertWithoutKey":  {federation.TLSFiles{CertFile: pki.ClientCert}, "key"},
		"ErrKeyWithoutCert":  {federation.TLSFiles{KeyFile: pki.ClientKey}, "certificate"},
		"ErrMissingCert":     {federation.TLSFiles{CertFile: missing, KeyFile: pki.ClientKey}, missing},
		"ErrKeyMismatch":     {federation.TLSFiles{CertFile: pki.ClientCert, KeyFile: otherKey}, pki.ClientCert},
		"ErrExpired":         {federation.TLSFiles{CertFile: expCert, KeyFile: expKey}, "expired"},
		"ErrCAFileNotPEM":    {federation.TLSFiles{CAFile: notPEM}, notPEM},
		"ErrCAFileMissing":   {federation.TLSFiles{CAFile: missing}, missing},
		"ErrCertFileNotPEM":  {federation.TLSFiles{CertFile: notPEM, KeyFile: pki.ClientKey}, notPEM},
		"ErrKeyFileIsNotKey": {federation.TLSFiles{CertFile: pki.ClientCert, KeyFile: pki.CAFile}, pki.CAFile},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := federation.NewHubTLSClient(federation.Config{}, c.files)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
		})
	}
}
