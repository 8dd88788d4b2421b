// Package tlsfiles loads TLS identities and CA bundles from PEM files for
// both ends of GP Connect's mutual TLS (the hub as a client, the provider
// as a server), failing when they are loaded rather than in every handshake.
package tlsfiles

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"
)

// KeyPair loads a certificate (its chain may follow it) and its key. role
// names it in errors ("TLS client certificate"). It fails when either file
// cannot be read, the key does not match, or the certificate has expired
// or is not valid yet at now.
func KeyPair(role, certFile, keyFile string, now time.Time) (tls.Certificate, error) {
	switch {
	case certFile == "" && keyFile == "":
		return tls.Certificate{}, fmt.Errorf("%s: no certificate or key file given", role)
	case keyFile == "":
		return tls.Certificate{}, fmt.Errorf("%s %s: no key file given (a certificate and its key go together)", role, certFile)
	case certFile == "":
		return tls.Certificate{}, fmt.Errorf("%s key %s: no certificate file given (a certificate and its key go together)", role, keyFile)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s %s with key %s: %w", role, certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("%s %s: %w", role, certFile, err)
		}
	}
	if now.After(leaf.NotAfter) {
		return tls.Certificate{}, fmt.Errorf("%s %s expired on %s", role, certFile, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(leaf.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("%s %s is not valid until %s", role, certFile, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return pair, nil
}

// Bundle loads the PEM certificates of a CA bundle; role names it in
// errors ("TLS CA bundle"). A file holding none is an error.
func Bundle(role, file string) (*x509.CertPool, []*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", role, err)
	}
	pool := x509.NewCertPool()
	var certs []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", role, file, err)
		}
		pool.AddCert(c)
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, nil, fmt.Errorf("%s %s holds no PEM certificate", role, file)
	}
	return pool, certs, nil
}
