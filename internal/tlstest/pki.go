// Package tlstest holds fixtures for tests of mutual TLS: a throw-away
// certificate authority whose certificates are written as PEM files (which
// the code under test loads as it would in production), and a loopback
// stand-in for the Spine Secure Proxy that requires a client certificate.
package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is one test CA and the PEM files of what it issued, in a temporary directory.
type PKI struct {
	// Dir holds the files.
	Dir string
	// CAFile is the CA's certificate: the bundle a client trusts for the server's certificate.
	CAFile string
	// ServerCert and ServerKey are a server certificate for 127.0.0.1 and localhost, and its key.
	ServerCert, ServerKey string
	// ClientCert and ClientKey are a client certificate (CN "slotbridge-hub"), and its key.
	ClientCert, ClientKey string

	tb     testing.TB
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64
}

// New makes a CA valid from an hour ago for a day, with its server and client certificates.
func New(tb testing.TB) *PKI {
	tb.Helper()
	p := &PKI{tb: tb, Dir: tb.TempDir(), serial: 1}
	now := time.Now()
	var err error
	if p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: "Slotbridge test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		tb.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		tb.Fatal(err)
	}
	p.CAFile = p.write("ca.pem", "CERTIFICATE", der)
	p.ServerCert, p.ServerKey = p.Issue("server", "127.0.0.1", x509.ExtKeyUsageServerAuth, now.Add(-time.Hour), now.Add(12*time.Hour))
	p.ClientCert, p.ClientKey = p.Issue("client", "slotbridge-hub", x509.ExtKeyUsageClientAuth, now.Add(-time.Hour), now.Add(12*time.Hour))
	return p
}

// Issue has the CA sign a certificate for cn with the usage, valid from
// notBefore to notAfter (either may lie in the past or the future, to make
// an expired or not yet valid one), and writes it and its key as
// name.pem and name-key.pem. A server certificate also names 127.0.0.1 and localhost.
func (p *PKI) Issue(name, cn string, usage x509.ExtKeyUsage, notBefore, notAfter time.Time) (certFile, keyFile string) {
	p.tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.tb.Fatal(err)
	}
	return p.issue(name, cn, usage, notBefore, notAfter, key, &key.PublicKey)
}

// IssueRSA is Issue with an RSA key (2048 bits), for the cipher suites
// that need one (RSA key exchange, ECDHE_RSA).
func (p *PKI) IssueRSA(name, cn string, usage x509.ExtKeyUsage, notBefore, notAfter time.Time) (certFile, keyFile string) {
	p.tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		p.tb.Fatal(err)
	}
	return p.issue(name, cn, usage, notBefore, notAfter, key, &key.PublicKey)
}

func (p *PKI) issue(name, cn string, usage x509.ExtKeyUsage, notBefore, notAfter time.Time, key crypto.Signer, pub crypto.PublicKey) (certFile, keyFile string) {
	p.tb.Helper()
	p.serial++
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.serial), Subject: pkix.Name{CommonName: cn}, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment // RSA key exchange
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, pub, p.caKey)
	if err != nil {
		p.tb.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		p.tb.Fatal(err)
	}
	return p.write(name+".pem", "CERTIFICATE", der), p.write(name+"-key.pem", "PRIVATE KEY", kb)
}

// ServerTLS is a server configuration presenting the server certificate
// and requiring a client certificate this CA signed, at TLS 1.2 or later.
func (p *PKI) ServerTLS() *tls.Config {
	p.tb.Helper()
	pair, err := tls.LoadX509KeyPair(p.ServerCert, p.ServerKey)
	if err != nil {
		p.tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12}
}

// CRL writes a revocation list, signed by the CA, naming the certificates
// in the files given, as name.pem; it is due for replacement in an hour.
func (p *PKI) CRL(name string, certFiles ...string) string {
	p.tb.Helper()
	return p.crl(name, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), certFiles)
}

// StaleCRL is CRL with a list that was due for replacement an hour ago.
func (p *PKI) StaleCRL(name string, certFiles ...string) string {
	p.tb.Helper()
	return p.crl(name, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour), certFiles)
}

func (p *PKI) crl(name string, thisUpdate, nextUpdate time.Time, certFiles []string) string {
	p.tb.Helper()
	var entries []x509.RevocationListEntry
	for _, f := range certFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			p.tb.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			p.tb.Fatalf("%s: no PEM block", f)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			p.tb.Fatal(err)
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)})
	}
	p.serial++
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(p.serial), ThisUpdate: thisUpdate,
		NextUpdate: nextUpdate, RevokedCertificateEntries: entries}, p.ca, p.caKey)
	if err != nil {
		p.tb.Fatal(err)
	}
	return p.write(name+".pem", "X509 CRL", der)
}

// ClientConfig is a client configuration trusting this CA for the server
// and presenting the certificate and key in the files given (none when empty).
func (p *PKI) ClientConfig(certFile, keyFile string) *tls.Config {
	p.tb.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	cfg := &tls.Config{RootCAs: pool}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			p.tb.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}

// write stores one PEM block in the directory and returns its path.
func (p *PKI) write(name, typ string, der []byte) string {
	p.tb.Helper()
	path := filepath.Join(p.Dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		p.tb.Fatal(err)
	}
	return path
}
