// Package servertls is the provider's own end of GP Connect transport
// security (spec §1.4): TLS 1.2 with the spec's cipher suites, a client
// certificate checked against the Spine CA bundle, its revocation list and
// the SSP's name, and a listener that drops plain HTTP. stdlib only.
package servertls

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Options are the files and the name the provider's TLS is built from.
type Options struct {
	// CertFile and KeyFile are the server's certificate chain and key (PEM).
	CertFile, KeyFile string
	// ClientCAFile is the PEM bundle of the CAs a client certificate must
	// chain to (the Spine root and sub CA). Empty: no client certificate is asked for.
	ClientCAFile string
	// ClientCRLFile holds certificate revocation lists (PEM or DER) of those
	// CAs; it is read again when it changes on disk.
	ClientCRLFile string
	// ClientName is the FQDN a client certificate must carry (as a DNS name
	// or its common name): the SSP's. Empty: any certificate the CAs signed.
	ClientName string
}

// StatusCertInvalid and StatusCertRequired are the statuses the test pack
// expects for a bad and a missing client certificate (nginx's 495 and 496).
const (
	StatusCertInvalid  = 495
	StatusCertRequired = 496
)

// cipherSuites follow spec §1.4's order (AESGCM+EECDH, then AES256+EECDH)
// as far as Go implements them: it has no DHE suites and no CBC-SHA384 one.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
}

// crlRecheck is how often the revocation list's file is looked at for a change.
const crlRecheck = 30 * time.Second

// Server holds the loaded TLS settings and checks client certificates.
type Server struct {
	cfg     *tls.Config
	roots   *x509.CertPool
	cas     []*x509.Certificate
	name    string
	crlFile string

	mu       sync.Mutex
	revoked  map[string]bool
	crlMod   time.Time
	crlCheck time.Time
	crlErr   error
}

// Load reads the files of o and builds the server's TLS settings.
func Load(o Options) (*Server, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, errors.New("a certificate and its key are both needed")
	}
	if o.ClientCAFile == "" && (o.ClientCRLFile != "" || o.ClientName != "") {
		return nil, errors.New("a client revocation list or name needs the client CA bundle")
	}
	pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("certificate and key: %w", err)
	}
	s := &Server{name: strings.TrimSpace(o.ClientName), crlFile: o.ClientCRLFile}
	s.cfg = &tls.Config{
		Certificates: []tls.Certificate{pair},
		// Spec §1.4: TLS 1.2 only. Allowing 1.3 too would let a client that
		// asked for a refused 1.2 suite connect anyway with a 1.3 one.
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   tls.VersionTLS12,
		CipherSuites: cipherSuites,
		NextProtos:   []string{"http/1.1"},
	}
	if o.ClientCAFile == "" {
		return s, nil
	}
	pemBytes, err := os.ReadFile(o.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("client CA bundle: %w", err)
	}
	s.roots = x509.NewCertPool()
	for rest := pemBytes; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("client CA bundle: %w", err)
		}
		s.roots.AddCert(c)
		s.cas = append(s.cas, c)
	}
	if len(s.cas) == 0 {
		return nil, fmt.Errorf("client CA bundle %s holds no PEM certificate", o.ClientCAFile)
	}
	// The certificate is asked for but judged by CheckClient, not by the
	// handshake: a bad one then gets an answer saying why (495, 496), as
	// the test pack expects, rather than a dropped connection, and the
	// admin and hub APIs on the same port stay reachable without one.
	s.cfg.ClientAuth = tls.RequestClientCert
	if s.crlFile != "" {
		if err := s.loadCRL(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Config is the listener's TLS configuration.
func (s *Server) Config() *tls.Config { return s.cfg }

// ChecksClients says whether client certificates are checked.
func (s *Server) ChecksClients() bool { return s.roots != nil }

// CheckClient judges the client certificate of a connection: 0 when it may
// go on (or client certificates are not checked), else StatusCertRequired or
// StatusCertInvalid and why.
func (s *Server) CheckClient(cs *tls.ConnectionState, now time.Time) (int, string) {
	if s.roots == nil {
		return 0, ""
	}
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return StatusCertRequired, "A client certificate is required (the Spine Secure Proxy's)"
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: s.roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		var inv x509.CertificateInvalidError
		var unknown x509.UnknownAuthorityError
		switch {
		case errors.As(err, &inv) && inv.Reason == x509.Expired:
			return StatusCertInvalid, "The client certificate has expired or is not yet valid"
		case errors.As(err, &unknown):
			return StatusCertInvalid, "The client certificate is not signed by a trusted CA"
		}
		return StatusCertInvalid, "The client certificate is not valid for client authentication"
	}
	if s.crlFile != "" {
		revoked := s.revokedSet(now)
		for _, c := range chains[0][:len(chains[0])-1] {
			if revoked[revocationKey(c.RawIssuer, c.SerialNumber.String())] {
				return StatusCertInvalid, "The client certificate has been revoked"
			}
		}
	}
	if s.name != "" && !certNames(leaf, s.name) {
		return StatusCertInvalid, "The client certificate is not the Spine Secure Proxy's"
	}
	return 0, ""
}

// certNames says whether the certificate carries name as a DNS name or,
// as Spine's certificates do, as its common name.
func certNames(c *x509.Certificate, name string) bool {
	if strings.EqualFold(c.Subject.CommonName, name) {
		return true
	}
	for _, d := range c.DNSNames {
		if strings.EqualFold(d, name) {
			return true
		}
	}
	return false
}

func revocationKey(rawIssuer []byte, serial string) string {
	return string(rawIssuer) + "/" + serial
}

// revokedSet is the revocation list, read again when its file has changed
// (looked at every crlRecheck); a file that no longer loads leaves the last
// good list in force, and CRLError says why.
func (s *Server) revokedSet(now time.Time) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.crlCheck) >= crlRecheck {
		s.crlCheck = now
		if fi, err := os.Stat(s.crlFile); err == nil && !fi.ModTime().Equal(s.crlMod) {
			s.mu.Unlock()
			err := s.loadCRL()
			s.mu.Lock()
			s.crlErr = err
		}
	}
	return s.revoked
}

// CRLError is why the revocation list last failed to reload, or nil.
func (s *Server) CRLError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crlErr
}

// loadCRL reads every list in the file; each must be signed by one of the
// client CAs, so that a list from elsewhere cannot stand in for theirs.
func (s *Server) loadCRL() error {
	fi, err := os.Stat(s.crlFile)
	if err != nil {
		return fmt.Errorf("client revocation list: %w", err)
	}
	data, err := os.ReadFile(s.crlFile)
	if err != nil {
		return fmt.Errorf("client revocation list: %w", err)
	}
	var ders [][]byte
	if bytes.Contains(data, []byte("-----BEGIN")) {
		for rest := data; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			if b.Type == "X509 CRL" {
				ders = append(ders, b.Bytes)
			}
		}
	} else {
		ders = append(ders, data)
	}
	if len(ders) == 0 {
		return fmt.Errorf("client revocation list %s holds no CRL", s.crlFile)
	}
	revoked := map[string]bool{}
	for _, der := range ders {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			return fmt.Errorf("client revocation list: %w", err)
		}
		signed := false
		for _, ca := range s.cas {
			if l.CheckSignatureFrom(ca) == nil {
				signed = true
				break
			}
		}
		if !signed {
			return fmt.Errorf("client revocation list %s: a list is not signed by any CA of the client CA bundle", s.crlFile)
		}
		for _, e := range l.RevokedCertificateEntries {
			revoked[revocationKey(l.RawIssuer, e.SerialNumber.String())] = true
		}
	}
	s.mu.Lock()
	s.revoked, s.crlMod = revoked, fi.ModTime()
	s.mu.Unlock()
	return nil
}

// HSTS adds Strict-Transport-Security to every response (spec §1.4, §2.2).
func HSTS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// Listener serves TLS on ln with the server's settings. A connection whose
// first byte does not start a TLS handshake (plain HTTP to the TLS port) is
// closed at once, as spec §1.4 allows, rather than answered in plain text.
func (s *Server) Listener(ln net.Listener) net.Listener {
	return tls.NewListener(plainDropper{ln}, s.cfg)
}

type plainDropper struct{ net.Listener }

func (l plainDropper) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &firstByteConn{Conn: c}, nil
}

// errNotTLS ends a connection that did not begin with a TLS record.
var errNotTLS = errors.New("servertls: not a TLS connection (plain HTTP?); closed")

// firstByteConn checks the first byte read is a TLS handshake record's
// type (22). The check runs in the connection's own goroutine, in the
// handshake, so a client that sends nothing holds up no other.
type firstByteConn struct {
	net.Conn
	seen bool
}

func (c *firstByteConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.seen && n > 0 {
		c.seen = true
		if b[0] != 22 {
			c.Conn.Close()
			return 0, errNotTLS
		}
	}
	return n, err
}
