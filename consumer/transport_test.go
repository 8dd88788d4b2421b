package consumer_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
)

const capJSON = `{"resourceType":"CapabilityStatement","status":"active","date":"2026","kind":"instance","fhirVersion":"3.0.1","acceptUnknown":"both","format":[]}`

// countingServer counts the TCP connections it accepts.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestKeepAlivePool(t *testing.T) {
	ctx := context.Background()
	t.Run("SequentialReuseOneConnection", func(t *testing.T) {
		srv, conns := countingServer(t, answer(200, fhirJSON, capJSON))
		c := newClient(t, testConfig(srv.URL+"/A20047/STU3/1/gpconnect", leggASID))
		for i := 0; i < 20; i++ {
			if _, err := c.Metadata(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if conns.Load() != 1 {
			t.Fatalf("20 sequential calls opened %d connections, want 1", conns.Load())
		}
	})
	t.Run("FanOutBoundedByMaxConnsPerHost", func(t *testing.T) {
		var inFlight, peak atomic.Int64
		srv, conns := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			inFlight.Add(-1)
			answer(200, fhirJSON, capJSON)(w, r)
		})
		cfg := testConfig(srv.URL+"/A20047/STU3/1/gpconnect", leggASID)
		cfg.MaxConnsPerHost, cfg.MaxIdleConnsPerHost = 4, 4
		c := newClient(t, cfg)
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := 0; i < 32; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Metadata(ctx); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if conns.Load() > 4 || peak.Load() > 4 {
			t.Fatalf("%d connections, %d requests in flight at once; MaxConnsPerHost is 4", conns.Load(), peak.Load())
		}
	})
	t.Run("ForEndpointSharesThePool", func(t *testing.T) {
		srv, conns := countingServer(t, answer(200, fhirJSON, capJSON))
		c := newClient(t, testConfig(srv.URL+"/A20047/STU3/1/gpconnect", leggASID))
		other, err := c.ForEndpoint(srv.URL+"/B82005/STU3/1/gpconnect", "918999198994")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if _, err := c.Metadata(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Metadata(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if conns.Load() != 1 {
			t.Fatalf("two endpoints on one host opened %d connections, want 1 shared", conns.Load())
		}
	})
}

func TestGzipBombBounded(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"resourceType":"CapabilityStatement","description":"`))
	zw.Write(bytes.Repeat([]byte("a"), 8<<20))
	zw.Close()
	c := newClient(t, func() consumer.Config {
		cfg := testConfig(stub(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", fhirJSON)
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
		}), leggASID)
		cfg.MaxBody = 1 << 20
		return cfg
	}())
	_, err := c.Metadata(context.Background())
	if !errors.Is(err, consumer.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge for an 8 MiB body behind %d gzip bytes", err, gz.Len())
	}
}

// certPair makes a self-signed CA and a leaf it signs, as PEM.
func certPair(t *testing.T, name string, client bool) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func TestMutualTLS(t *testing.T) {
	srvCA, srvCert, srvKey := certPair(t, "provider", false)
	cliCA, cliCert, cliKey := certPair(t, "consumer", true)
	serverPair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	clientRoots := x509.NewCertPool()
	clientRoots.AppendCertsFromPEM(cliCA)
	srv := httptest.NewUnstartedServer(answer(200, fhirJSON, capJSON))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverPair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientRoots, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	root := srv.URL + "/A20047/STU3/1/gpconnect"
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("CertFiles", func(t *testing.T) {
		cfg := testConfig(root, leggASID)
		cfg.CertFile, cfg.KeyFile, cfg.CAFile = write("c.pem", cliCert), write("k.pem", cliKey), write("ca.pem", srvCA)
		if _, err := newClient(t, cfg).Metadata(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("TLSConfig", func(t *testing.T) {
		pair, _ := tls.X509KeyPair(cliCert, cliKey)
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(srvCA)
		cfg := testConfig(root, leggASID)
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, MinVersion: tls.VersionTLS12}
		if _, err := newClient(t, cfg).Metadata(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("NoClientCertificateRefused", func(t *testing.T) {
		cfg := testConfig(root, leggASID)
		cfg.CAFile = write("ca2.pem", srvCA)
		_, err := newClient(t, cfg).Metadata(context.Background())
		if !errors.Is(err, consumer.ErrTransport) {
			t.Fatalf("err = %v, want ErrTransport (handshake refused)", err)
		}
	})
	t.Run("BadFiles", func(t *testing.T) {
		cfg := testConfig(root, leggASID)
		cfg.CAFile = write("empty.pem", []byte("nothing here"))
		if _, err := consumer.New(cfg); err == nil {
			t.Fatal("a CA file without certificates was accepted")
		}
	})
}

func TestNewValidates(t *testing.T) {
	good := testConfig("https://provider.example/A20047/STU3/1/gpconnect", leggASID)
	for name, edit := range map[string]func(*consumer.Config){
		"RelativeRoot":   func(c *consumer.Config) { c.ServiceRoot = "/A20047/STU3/1/gpconnect" },
		"NoASID":         func(c *consumer.Config) { c.ProviderASID = "" },
		"NoOrganisation": func(c *consumer.Config) { c.Organization.Identifier = nil },
		"NoPractitioner": func(c *consumer.Config) { c.Practitioner.ID = "" },
		"BadProxy":       func(c *consumer.Config) { c.ProxyURL = "proxy" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := good
			edit(&cfg)
			if _, err := consumer.New(cfg); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
