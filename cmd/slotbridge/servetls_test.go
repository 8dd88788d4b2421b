package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/bench"
	"github.com/slotbridge/slotbridge/internal/lockedbuf"
	"github.com/slotbridge/slotbridge/internal/tlstest"
)

// TestServeTLS: serve --tls-cert/--tls-key/--tls-client-ca/--tls-client-name
// answers GP Connect over TLS only to the SSP's client certificate (spec
// §1.4): without one 496, with another name's 495, each an
// OperationOutcome on a closed connection; every answer carries HSTS; the
// health check needs no client certificate; settings that cannot be
// loaded stop serve before it opens a store.
func TestServeTLS(t *testing.T) {
	pki := tlstest.New(t)
	now := time.Now()
	const ssp = "ssp.test.nhs.uk"
	sspCert, sspKey := pki.Issue("ssp", ssp, x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	tlsArgs := []string{"--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--tls-client-ca", pki.CAFile, "--tls-client-name", ssp}

	t.Run("bad settings stop serve", func(t *testing.T) {
		dir := t.TempDir()
		err := runServe(context.Background(), []string{"--data", dir, "--tls-cert", pki.ServerCert}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--tls-") {
			t.Fatalf("serve with a certificate and no key: %v, want an error naming the flags", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("the data directory holds %d entries: the store was opened", len(entries))
		}
	})

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out lockedbuf.Buffer
	go func() {
		done <- runServe(ctx, append([]string{"--data", t.TempDir(), "--demo", "--addr", addr}, tlsArgs...), &out, io.Discard)
	}()
	defer func() { cancel(); <-done }()

	clientWith := func(cert, key string) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.ClientConfig(cert, key)}}
	}
	var toks bench.Tokens
	metadata := func(c *http.Client) (*http.Response, []byte, error) {
		bearer, err := toks.Bearer(gpconnect.ReadMetadata.Scope())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+addr+"/A20047/STU3/1/gpconnect/metadata", nil)
		bench.SetGPConnectHeaders(req.Header, "918999198993", "serve-tls-test", gpconnect.ReadMetadata, bearer)
		resp, err := c.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	ssps := clientWith(sspCert, sspKey)
	untilServing(t, done, func() error {
		resp, body, err := metadata(ssps)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"CapabilityStatement"`) {
			t.Fatalf("metadata with the SSP's certificate: %d %s", resp.StatusCode, body)
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("no Strict-Transport-Security on a TLS answer")
		}
		return nil
	})
	if !strings.Contains(out.String(), "https://"+addr) {
		t.Errorf("serve printed %q, want its https address", out.String())
	}

	other, otherKey := pki.Issue("other", "someone.example.org", x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(time.Hour))
	for _, c := range []struct {
		name   string
		client *http.Client
		status int
		code   string
	}{
		{"no client certificate", clientWith("", ""), 496, "ACCESS_DENIED"},
		{"another name's certificate", clientWith(other, otherKey), 495, "ACCESS_DENIED"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body, err := metadata(c.client)
			if err != nil {
				t.Fatal(err)
			}
			var oo fhir.OperationOutcome
			if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 ||
				oo.Issue[0].Details == nil || len(oo.Issue[0].Details.Coding) != 1 || oo.Issue[0].Details.Coding[0].Code != c.code {
				t.Errorf("body %s (%v), want an OperationOutcome with %s", body, err, c.code)
			}
			if resp.StatusCode != c.status || !resp.Close {
				t.Errorf("status %d, connection closed %v; want %d and closed", resp.StatusCode, resp.Close, c.status)
			}
		})
	}
	t.Run("conformance", func(t *testing.T) {
		// The whole suite, the transport group's checks included, passes
		// against serve's own TLS; a suite without the right files is
		// stopped at once, saying which.
		conf := func(extra ...string) (string, error) {
			var out, errb lockedbuf.Buffer
			err := run(context.Background(), append([]string{"conformance", "--base", "https://" + addr}, extra...), &out, &errb)
			return out.String(), err
		}
		if _, err := conf("--ca", pki.CAFile); err == nil || !strings.Contains(err.Error(), "client certificate was refused (HTTP 496") {
			t.Errorf("without a client certificate: %v", err)
		}
		if _, err := conf("--cert", sspCert, "--key", sspKey); err == nil || !strings.Contains(err.Error(), "not accepted") || !strings.Contains(err.Error(), "--ca") {
			t.Errorf("without the CA bundle: %v", err)
		}
		out, err := conf("--cert", sspCert, "--key", sspKey, "--ca", pki.CAFile)
		if err != nil || !strings.Contains(out, " 0 failed, 0 skipped") || !strings.Contains(out, "PASS  transport/client-certificate-required") {
			t.Errorf("the suite over serve's TLS: %v\n%s", err, out)
		}
	})
	t.Run("health check without a client certificate", func(t *testing.T) {
		resp, err := clientWith("", "").Get("https://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("healthz: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
		}
	})
}

// untilServing calls try until it returns nil (serve answered), failing the
// test if serve stops first or 60 s pass.
func untilServing(t *testing.T, done <-chan error, try func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := try()
		if err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer within 60 s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeAddr is a loopback address no one listens on, for a serve to take.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
