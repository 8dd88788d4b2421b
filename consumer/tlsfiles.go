package consumer

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

// ClientTLS loads a client's TLS identity from PEM files into a
// configuration of TLS 1.2 or later (spec §1.4 wants mutual TLS towards
// the Spine Secure Proxy). certFile is the client certificate (its chain may
// follow it) and keyFile its key, both or neither; caFile is the bundle of
// CAs trusted for servers, empty for the system's roots. It fails, naming
// the file, when a file cannot be read or holds no PEM certificate, the key
// does not match, or the certificate has expired or is not valid yet at
// now: better when a client is built than as every handshake failing.
func ClientTLS(certFile, keyFile, caFile string, now time.Time) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case certFile != "" && keyFile == "":
		return nil, fmt.Errorf("TLS client certificate %s: no key file given (a certificate and its key go together)", certFile)
	case certFile == "" && keyFile != "":
		return nil, fmt.Errorf("TLS client key %s: no certificate file given (a certificate and its key go together)", keyFile)
	case certFile != "":
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate %s with key %s: %w", certFile, keyFile, err)
		}
		leaf := pair.Leaf
		if leaf == nil {
			if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
				return nil, fmt.Errorf("TLS client certificate %s: %w", certFile, err)
			}
		}
		if now.After(leaf.NotAfter) {
			return nil, fmt.Errorf("TLS client certificate %s expired on %s", certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
		}
		if now.Before(leaf.NotBefore) {
			return nil, fmt.Errorf("TLS client certificate %s is not valid until %s", certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("TLS CA bundle %s holds no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
