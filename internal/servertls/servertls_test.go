package servertls_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/servertls"
	"github.com/slotbridge/slotbridge/internal/tlstest"
)

const sspName = "ssp.test.nhs.uk"

// serve starts a real TLS server on loopback with the options, whose
// handler answers the client check's status and reason (200 "ok" when it passes).
func serve(t *testing.T, o servertls.Options) (*servertls.Server, string) {
	t.Helper()
	s, err := servertls.Load(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := servertls.HSTS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st, why := s.CheckClient(r.TLS, time.Now()); st != 0 {
			w.WriteHeader(st)
			fmt.Fprint(w, why)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	// The handshakes the tests make fail on purpose; their log is noise.
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(s.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return s, ln.Addr().String()
}

// client is an HTTPS client trusting the PKI's CA, presenting the key pair if given.
func client(t *testing.T, p *tlstest.PKI, certFile, keyFile string, edit func(*tls.Config)) *http.Client {
	t.Helper()
	cfg := p.ClientConfig(certFile, keyFile)
	if edit != nil {
		edit(cfg)
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
}

func TestClientCertificates(t *testing.T) {
	p := tlstest.New(t)
	now := time.Now()
	good, goodKey := p.Issue("ssp", sspName, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	expired, expiredKey := p.Issue("expired", sspName, x509.ExtKeyUsageClientAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	revoked, revokedKey := p.Issue("revoked", sspName, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	misnamed, misnamedKey := p.Issue("misnamed", "other.example.org", x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	serverUse, serverUseKey := p.Issue("serveruse", sspName, x509.ExtKeyUsageServerAuth, now.Add(-time.Hour), now.Add(time.Hour))
	foreign := tlstest.New(t)
	alien, alienKey := foreign.Issue("alien", sspName, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	crl := p.CRL("crl", revoked)

	_, addr := serve(t, servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile, ClientCRLFile: crl, ClientName: sspName})
	for _, c := range []struct {
		name, cert, key string
		status          int
		why             string
	}{
		{"the SSP's", good, goodKey, 200, "ok"},
		{"none", "", "", 496, "required"},
		{"expired", expired, expiredKey, 495, "expired"},
		{"revoked", revoked, revokedKey, 495, "revoked"},
		{"another name", misnamed, misnamedKey, 495, "Spine Secure Proxy's"},
		{"server use only", serverUse, serverUseKey, 495, "not valid for client authentication"},
		{"another CA's", alien, alienKey, 495, "not signed by a trusted CA"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, err := client(t, p, c.cert, c.key, nil).Get("https://" + addr + "/metadata")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.status || !strings.Contains(string(body), c.why) {
				t.Errorf("status %d %q, want %d saying %q", res.StatusCode, body, c.status, c.why)
			}
			if res.Header.Get("Strict-Transport-Security") == "" {
				t.Errorf("no Strict-Transport-Security header")
			}
		})
	}
}

func TestTransportRules(t *testing.T) {
	p := tlstest.New(t)
	_, addr := serve(t, servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey})
	get := func(edit func(*tls.Config)) error {
		res, err := client(t, p, "", "", edit).Get("https://" + addr + "/")
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	t.Run("TLS 1.2 with a spec cipher suite", func(t *testing.T) {
		for _, cs := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA} {
			if err := get(func(c *tls.Config) { c.CipherSuites = []uint16{cs} }); err != nil {
				t.Errorf("%s: %v", tls.CipherSuiteName(cs), err)
			}
		}
	})
	t.Run("suites outside the spec's refused", func(t *testing.T) {
		for _, cs := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA} {
			if err := get(func(c *tls.Config) { c.CipherSuites = []uint16{cs}; c.MaxVersion = tls.VersionTLS12 }); err == nil {
				t.Errorf("%s accepted", tls.CipherSuiteName(cs))
			}
		}
	})
	t.Run("RSA key exchange refused with an RSA certificate", func(t *testing.T) {
		// AES128-SHA256, which the test pack expects refused, needs an RSA
		// key to be possible at all; ECDHE_RSA with AES-GCM is the spec's.
		cert, key := p.IssueRSA("rsa", "127.0.0.1", x509.ExtKeyUsageServerAuth, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		_, rsaAddr := serve(t, servertls.Options{CertFile: cert, KeyFile: key})
		try := func(cs uint16) error {
			res, err := client(t, p, "", "", func(c *tls.Config) { c.CipherSuites, c.MaxVersion = []uint16{cs}, tls.VersionTLS12 }).Get("https://" + rsaAddr + "/")
			if err == nil {
				res.Body.Close()
			}
			return err
		}
		if err := try(tls.TLS_RSA_WITH_AES_128_CBC_SHA256); err == nil {
			t.Errorf("TLS_RSA_WITH_AES_128_CBC_SHA256 accepted")
		}
		if err := try(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256); err != nil {
			t.Errorf("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: %v", err)
		}
	})
	t.Run("only TLS 1.2", func(t *testing.T) {
		for _, v := range []uint16{tls.VersionTLS11, tls.VersionTLS13} {
			if err := get(func(c *tls.Config) { c.MinVersion, c.MaxVersion = v, v }); err == nil {
				t.Errorf("version %x accepted", v)
			}
		}
	})
	t.Run("plain HTTP is closed unanswered", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /metadata HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if line != "" || !errors.Is(err, io.EOF) && !isReset(err) {
			t.Errorf("read %q, %v; want the connection closed with no answer", line, err)
		}
	})
	t.Run("no client certificate asked for without a CA bundle", func(t *testing.T) {
		if err := get(nil); err != nil {
			t.Error(err)
		}
	})
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "reset")
}

func TestLoadRefuses(t *testing.T) {
	p := tlstest.New(t)
	other := tlstest.New(t)
	expired, expiredKey := p.Issue("old", "127.0.0.1", x509.ExtKeyUsageServerAuth, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	empty := p.Dir + "/empty.pem"
	if err := os.WriteFile(empty, []byte("nothing here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		o    servertls.Options
		want string
	}{
		{"key missing", servertls.Options{CertFile: p.ServerCert}, "no key file given"},
		{"key of another certificate", servertls.Options{CertFile: p.ServerCert, KeyFile: p.ClientKey}, "does not match"},
		{"expired server certificate", servertls.Options{CertFile: expired, KeyFile: expiredKey}, "expired on"},
		{"name without CA", servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientName: sspName}, "needs the client CA bundle"},
		{"CA bundle without certificates", servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: empty}, "holds no PEM certificate"},
		{"CRL of another CA", servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile,
			ClientCRLFile: other.CRL("crl")}, "not signed by any CA"},
		{"CRL file without a list", servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile, ClientCRLFile: p.CAFile}, "holds no CRL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := servertls.Load(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load: %v, want an error saying %q", err, c.want)
			}
		})
	}
}

// TestRevocationListReloaded: a certificate revoked after the server
// started is refused once the list's file changes, without a restart.
func TestRevocationListReloaded(t *testing.T) {
	p := tlstest.New(t)
	now := time.Now()
	cert, key := p.Issue("ssp", sspName, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	crl := p.CRL("crl")
	s, err := servertls.Load(servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile, ClientCRLFile: crl})
	if err != nil {
		t.Fatal(err)
	}
	cs := stateOf(t, cert, key)
	if st, why := s.CheckClient(cs, now); st != 0 {
		t.Fatalf("before revocation: %d %s", st, why)
	}
	newer := p.CRL("crl2", cert)
	b, err := os.ReadFile(newer)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crl, b, 0o600); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Second)
	if err := os.Chtimes(crl, later, later); err != nil {
		t.Fatal(err)
	}
	if st, why := s.CheckClient(cs, now.Add(time.Minute)); st != servertls.StatusCertInvalid || !strings.Contains(why, "revoked") {
		t.Errorf("after the list changed: %d %q, want 495 revoked", st, why)
	}
	// A list that no longer loads leaves the last good one in force.
	if err := os.WriteFile(crl, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	even := now.Add(2 * time.Second)
	os.Chtimes(crl, even, even)
	if st, _ := s.CheckClient(cs, now.Add(2*time.Minute)); st != servertls.StatusCertInvalid {
		t.Errorf("after a bad list: %d, want the revocation kept", st)
	}
	if s.CRLError() == nil {
		t.Errorf("CRLError is nil after a bad list")
	}
}

// TestRevocationListCoverage: with revocation lists given, a certificate
// whose issuer has none, or whose issuer's list is past its next update,
// is refused (as nginx's ssl_crl does), not let through unchecked.
func TestRevocationListCoverage(t *testing.T) {
	p, other := tlstest.New(t), tlstest.New(t)
	now := time.Now()
	cert, key := p.Issue("ssp", sspName, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(3*time.Hour))
	bundle := p.Dir + "/both.pem"
	a, _ := os.ReadFile(p.CAFile)
	b, _ := os.ReadFile(other.CAFile)
	if err := os.WriteFile(bundle, append(a, b...), 0o600); err != nil {
		t.Fatal(err)
	}
	cs := stateOf(t, cert, key)

	s, err := servertls.Load(servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: bundle, ClientCRLFile: other.CRL("crl")})
	if err != nil {
		t.Fatal(err)
	}
	if st, why := s.CheckClient(cs, now); st != servertls.StatusCertInvalid || !strings.Contains(why, "No revocation list") {
		t.Errorf("issuer without a list: %d %q, want 495", st, why)
	}

	s, err = servertls.Load(servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: bundle, ClientCRLFile: p.CRL("crl")})
	if err != nil {
		t.Fatal(err)
	}
	if st, why := s.CheckClient(cs, now); st != 0 {
		t.Fatalf("with its issuer's list: %d %q", st, why)
	}
	// tlstest's lists are due for replacement an hour on.
	if st, why := s.CheckClient(cs, now.Add(2*time.Hour)); st != servertls.StatusCertInvalid || !strings.Contains(why, "out of date") {
		t.Errorf("list past its next update: %d %q, want 495", st, why)
	}
}

// TestCertificateRequestNamesCAs: the handshake's certificate request names
// the client CAs, so a client holding several certificates offers the Spine one.
func TestCertificateRequestNamesCAs(t *testing.T) {
	p := tlstest.New(t)
	_, addr := serve(t, servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile})
	var named int
	c := client(t, p, "", "", func(cfg *tls.Config) {
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			named = len(cri.AcceptableCAs)
			pair, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
			return &pair, err
		}
	})
	res, err := c.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if named != 1 || res.StatusCode != 200 {
		t.Errorf("request named %d CAs, status %d; want 1 and 200", named, res.StatusCode)
	}
}

// TestRefusalsLogged: a refused certificate is logged with why and whose
// (once a minute for the same one), and a revocation list already past its
// next update is said at load, since the reason otherwise goes only to the
// caller.
func TestRefusalsLogged(t *testing.T) {
	p := tlstest.New(t)
	now := time.Now()
	cert, key := p.Issue("old", sspName, x509.ExtKeyUsageClientAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	var buf bytes.Buffer
	lg := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := servertls.Load(servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile, ClientCRLFile: p.CRL("crl"), Log: lg})
	if err != nil {
		t.Fatal(err)
	}
	cs := stateOf(t, cert, key)
	for _, at := range []time.Duration{0, time.Second, 2 * time.Minute} {
		if st, _ := s.CheckClient(cs, now.Add(at)); st != servertls.StatusCertInvalid {
			t.Fatalf("expired certificate: %d", st)
		}
	}
	if n := strings.Count(buf.String(), "client certificate refused: The client certificate has expired"); n != 2 {
		t.Errorf("%d refusal lines, want 2 (the second within the minute is not repeated):\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), `subject="CN=`+sspName+`"`) || !strings.Contains(buf.String(), "serial=") {
		t.Errorf("the refusal does not say whose certificate:\n%s", buf.String())
	}

	buf.Reset()
	if _, err := servertls.Load(servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile, ClientCRLFile: p.CRL("current"), Log: lg}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "past its next update") {
		t.Errorf("a current list was called stale:\n%s", buf.String())
	}
	if _, err := servertls.Load(servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile, ClientCRLFile: p.StaleCRL("stale"), Log: lg}); err != nil {
		t.Fatal(err)
	}
	// tlstest's server certificate lasts 12 hours.
	if !strings.Contains(buf.String(), "server certificate expires within 30 days") {
		t.Errorf("a server certificate about to expire was not said at load:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "past its next update") || !strings.Contains(buf.String(), "next_update=") {
		t.Errorf("a stale list was not said at load:\n%s", buf.String())
	}
}

// TestRefusalLinesCapped: a client minting a new certificate for every
// connection gets at most 20 refusal lines a minute into the log, and the
// rest are counted in one line when the minute is over.
func TestRefusalLinesCapped(t *testing.T) {
	p, other := tlstest.New(t), tlstest.New(t)
	var buf bytes.Buffer
	s, err := servertls.Load(servertls.Options{CertFile: p.ServerCert, KeyFile: p.ServerKey, ClientCAFile: p.CAFile,
		Log: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 30 {
		cert, key := other.Issue(fmt.Sprintf("c%d", i), sspName, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
		if st, _ := s.CheckClient(stateOf(t, cert, key), now.Add(time.Duration(i)*time.Second)); st != servertls.StatusCertInvalid {
			t.Fatalf("certificate %d of another CA: %d", i, st)
		}
	}
	if n := strings.Count(buf.String(), "client certificate refused"); n != 20 {
		t.Errorf("%d refusal lines in the minute, want 20", n)
	}
	s.CheckClient(nil, now.Add(2*time.Minute))
	if !strings.Contains(buf.String(), "not logged in the last minute") || !strings.Contains(buf.String(), "count=10") {
		t.Errorf("the refusals over the cap were not counted:\n%s", buf.String())
	}
}

// stateOf is a connection state presenting the certificate in the files.
func stateOf(t *testing.T, certFile, keyFile string) *tls.ConnectionState {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
}
