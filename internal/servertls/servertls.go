// Package servertls is the provider's own end of GP Connect transport
// security (spec §1.4): TLS 1.2 with the spec's cipher suites, a client
// certificate checked against the Spine CA bundle, its revocation list and
// the SSP's name, and a listener that drops plain HTTP.
package servertls

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/slotbridge/slotbridge/internal/tlsfiles"
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
	// Log hears of refused client certificates (why, and whose), and of
	// revocation lists that stop loading, load again, or are out of date
	// when read (nil: not said).
	Log *slog.Logger
}

// StatusCertInvalid and StatusCertRequired are the statuses the test pack
// expects for a bad and a missing client certificate (nginx's 495 and 496).
const (
	StatusCertInvalid  = 495
	StatusCertRequired = 496
)

// cipherSuites are the suites of spec §1.4 (AESGCM+EECDH, AES256+EECDH)
// that Go implements: it has no DHE suites and no CBC-SHA384 one. Go picks
// among them by its own preference (AES-128-GCM first), not by this order.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
}

const (
	// crlRecheck is how often the revocation list's file is looked at for a change.
	crlRecheck = 30 * time.Second
	// passTTL is how long a client certificate that passed is trusted
	// without checking it again (never past its own or its lists' expiry);
	// the chain check costs tens of microseconds a request otherwise.
	passTTL = time.Minute
	// maxPasses bounds that memory; past it, it starts again.
	maxPasses = 64
)

// crlInfo is one CA's revocation list: the serials it revokes and when it
// must be replaced.
type crlInfo struct {
	ca         *x509.Certificate
	revoked    map[string]bool
	nextUpdate time.Time
}

// Server holds the loaded TLS settings and checks client certificates.
type Server struct {
	cfg     *tls.Config
	roots   *x509.CertPool
	cas     []*x509.Certificate
	name    string
	crlFile string
	log     *slog.Logger

	mu       sync.Mutex
	crls     map[string]*crlInfo // by the signing CA's raw public key
	crlGen   uint64
	crlMod   time.Time
	crlCheck time.Time
	crlErr   error
	passes   map[string]pass // by the leaf's raw bytes
	// said is when each refusal (reason and certificate) was last logged;
	// window, inWindow and unsaid cap refusal lines at maxSaid a minute
	// whatever the certificates (a client can mint new ones at will).
	said     map[string]time.Time
	window   time.Time
	inWindow int
	unsaid   int
}

// maxSaid is how many refusal lines a minute the log gets at most.
const maxSaid = 20

// pass is a client certificate that passed every check, until when, under
// which generation of the revocation lists.
type pass struct {
	until time.Time
	gen   uint64
}

// Load reads the files of o and builds the server's TLS settings.
func Load(o Options) (*Server, error) {
	if o.ClientCAFile == "" && (o.ClientCRLFile != "" || o.ClientName != "") {
		return nil, errors.New("a client revocation list or name needs the client CA bundle")
	}
	pair, err := tlsfiles.KeyPair("TLS server certificate", o.CertFile, o.KeyFile, time.Now())
	if err != nil {
		return nil, err
	}
	s := &Server{name: strings.TrimSpace(o.ClientName), crlFile: o.ClientCRLFile, log: o.Log, passes: map[string]pass{}, said: map[string]time.Time{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// A certificate is read once, at start: one about to expire will be
	// served expired until serve is restarted with a new one.
	if leaf, err := x509.ParseCertificate(pair.Certificate[0]); err == nil && time.Until(leaf.NotAfter) < 30*24*time.Hour {
		s.log.Warn("the server certificate expires within 30 days; serve reads it only at start, so restart it with the renewed one",
			"file", o.CertFile, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
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
	if s.roots, s.cas, err = tlsfiles.Bundle("TLS client CA bundle", o.ClientCAFile); err != nil {
		return nil, err
	}
	// The certificate is asked for but judged by CheckClient, not by the
	// handshake: a bad one then gets an answer saying why (495, 496), as
	// the test pack expects, rather than a dropped connection, and the
	// admin and hub APIs on the same port stay reachable without one.
	// ClientCAs only names the CAs in the request, so that a client
	// holding several certificates offers the right one.
	s.cfg.ClientAuth = tls.RequestClientCert
	s.cfg.ClientCAs = s.roots
	if s.crlFile != "" {
		crls, mod, err := readCRLs(s.crlFile, s.cas)
		if err != nil {
			return nil, err
		}
		s.crls, s.crlMod, s.crlGen = crls, mod, 1
		s.warnStale(crls, time.Now())
	}
	return s, nil
}

// warnStale says which revocation lists are past their next update: until
// newer ones are in the file, every certificate they cover is refused.
func (s *Server) warnStale(crls map[string]*crlInfo, now time.Time) {
	for _, l := range crls {
		if !l.nextUpdate.IsZero() && now.After(l.nextUpdate) {
			s.log.Warn("a client revocation list is past its next update: the certificates its CA issued are refused (495) until a newer list is in the file",
				"file", s.crlFile, "ca", l.ca.Subject.String(), "next_update", l.nextUpdate.UTC().Format(time.RFC3339))
		}
	}
}

// Config is the listener's TLS configuration.
func (s *Server) Config() *tls.Config { return s.cfg }

// ChecksClients says whether client certificates are checked.
func (s *Server) ChecksClients() bool { return s.roots != nil }

// ChecksName says whether a client certificate must carry the SSP's name.
func (s *Server) ChecksName() bool { return s.name != "" }

// CheckClient judges the client certificate of a connection: 0 when it may
// go on (or client certificates are not checked), else StatusCertRequired or
// StatusCertInvalid and why. A refusal is logged with the certificate's
// subject, issuer and serial (once a minute for the same one and reason):
// the reason goes back to the caller, which behind the SSP is not whoever
// runs this server.
func (s *Server) CheckClient(cs *tls.ConnectionState, now time.Time) (int, string) {
	st, why := s.judge(cs, now)
	if st != 0 {
		s.noteRefusal(cs, why, now)
	}
	return st, why
}

func (s *Server) noteRefusal(cs *tls.ConnectionState, why string, now time.Time) {
	var args []any
	key := why
	if cs != nil && len(cs.PeerCertificates) > 0 {
		c := cs.PeerCertificates[0]
		// The names are the client's own choosing: clipped.
		args = []any{"subject", clip(c.Subject.String(), 200), "issuer", clip(c.Issuer.String(), 200), "serial", clip(c.SerialNumber.String(), 80),
			"not_after", c.NotAfter.UTC().Format(time.RFC3339)}
		sum := sha256.Sum256(c.Raw) // a key of fixed size, whatever the client sent
		key += "\x00" + string(sum[:])
	}
	s.mu.Lock()
	if now.Sub(s.window) >= time.Minute {
		if s.unsaid > 0 {
			s.log.Warn("client certificate refusals not logged in the last minute (more than the log takes)", "count", s.unsaid)
		}
		s.window, s.inWindow, s.unsaid = now, 0, 0
	}
	last, seen := s.said[key]
	repeat := seen && now.Sub(last) < time.Minute
	full := !repeat && s.inWindow >= maxSaid
	switch {
	case repeat:
	case full:
		s.unsaid++
	default:
		if len(s.said) >= 256 {
			s.said = map[string]time.Time{}
		}
		s.said[key] = now
		s.inWindow++
	}
	s.mu.Unlock()
	if repeat || full {
		return
	}
	s.log.Warn("client certificate refused: "+why, args...)
}

// clip cuts s to at most n bytes, never inside a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

func (s *Server) judge(cs *tls.ConnectionState, now time.Time) (int, string) {
	if s.roots == nil {
		return 0, ""
	}
	if cs == nil || len(cs.PeerCertificates) == 0 {
		// A client holding only certificates of other CAs sends none, as
		// the request names the CAs accepted.
		return StatusCertRequired, "A client certificate is required (the Spine Secure Proxy's): none was sent, or none the client holds was issued by a CA this server accepts"
	}
	leaf := cs.PeerCertificates[0]
	crls, gen := s.currentCRLs(now)
	s.mu.Lock()
	p, ok := s.passes[string(leaf.Raw)]
	s.mu.Unlock()
	if ok && p.gen == gen && now.Before(p.until) {
		return 0, ""
	}
	if s.name != "" && !certNames(leaf, s.name) {
		return StatusCertInvalid, "The client certificate is not the Spine Secure Proxy's"
	}
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
	until := now.Add(passTTL)
	chain := chains[0]
	for _, c := range chain {
		if c.NotAfter.Before(until) {
			until = c.NotAfter
		}
	}
	if s.crlFile != "" {
		for i, c := range chain {
			if bytes.Equal(c.RawIssuer, c.RawSubject) {
				continue // a root: no list can revoke it
			}
			l := issuerList(crls, chain, i)
			if l == nil {
				// The anchor may be a sub CA of the bundle whose own
				// issuer is not there to have a list; every certificate
				// below an anchor needs its issuer's list, as nginx's
				// ssl_crl does.
				if i == len(chain)-1 {
					continue
				}
				return StatusCertInvalid, "No revocation list is held for the client certificate's issuer"
			}
			if !l.nextUpdate.IsZero() && now.After(l.nextUpdate) {
				return StatusCertInvalid, "The revocation list of the client certificate's issuer is out of date"
			}
			if l.revoked[c.SerialNumber.String()] {
				return StatusCertInvalid, "The client certificate has been revoked"
			}
			if !l.nextUpdate.IsZero() && l.nextUpdate.Before(until) {
				until = l.nextUpdate
			}
		}
	}
	s.mu.Lock()
	if len(s.passes) >= maxPasses {
		s.passes = map[string]pass{}
	}
	s.passes[string(leaf.Raw)] = pass{until: until, gen: gen}
	s.mu.Unlock()
	return 0, ""
}

// issuerList is the revocation list of chain[i]'s issuer: the CA above it
// in the chain, or for the chain's anchor, a bundle CA that signed it. Lists
// are matched by the key that signed them, not by name, so that a list of
// another CA of the same name cannot stand in.
func issuerList(crls map[string]*crlInfo, chain []*x509.Certificate, i int) *crlInfo {
	if i+1 < len(chain) {
		return crls[string(chain[i+1].RawSubjectPublicKeyInfo)]
	}
	c := chain[i]
	for _, l := range crls {
		if bytes.Equal(l.ca.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(l.ca) == nil {
			return l
		}
	}
	return nil
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

// currentCRLs is the revocation lists in force and their generation. The
// file is looked at every crlRecheck and read again when it has changed; a
// file that no longer loads leaves the last good lists in force, and
// CRLError (and the log) says why.
func (s *Server) currentCRLs(now time.Time) (map[string]*crlInfo, uint64) {
	s.mu.Lock()
	crls, gen, mod := s.crls, s.crlGen, s.crlMod
	due := s.crlFile != "" && now.Sub(s.crlCheck) >= crlRecheck
	if due {
		s.crlCheck = now
	}
	s.mu.Unlock()
	if !due {
		return crls, gen
	}
	if fi, err := os.Stat(s.crlFile); err == nil && fi.ModTime().Equal(mod) {
		return crls, gen
	}
	fresh, freshMod, err := readCRLs(s.crlFile, s.cas)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if s.crlErr == nil || s.crlErr.Error() != err.Error() {
			s.log.Warn("client revocation lists did not load again; the last good ones stay in force", "file", s.crlFile, "err", err)
		}
		s.crlErr = err
		return s.crls, s.crlGen
	}
	if s.crlMod.Equal(mod) { // no other caller replaced them meanwhile
		s.crls, s.crlMod, s.crlErr = fresh, freshMod, nil
		s.crlGen++
		s.log.Info("client revocation lists loaded again", "file", s.crlFile, "lists", len(fresh))
		s.warnStale(fresh, now)
	}
	return s.crls, s.crlGen
}

// CRLError is why the revocation lists last failed to load again, or nil.
func (s *Server) CRLError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.crlErr
}

// readCRLs reads every list in the file; each must be signed by one of the
// client CAs, so that a list from elsewhere cannot stand in for theirs.
func readCRLs(file string, cas []*x509.Certificate) (map[string]*crlInfo, time.Time, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("client revocation list: %w", err)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("client revocation list: %w", err)
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
		return nil, time.Time{}, fmt.Errorf("client revocation list %s holds no CRL", file)
	}
	crls := map[string]*crlInfo{}
	for _, der := range ders {
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("client revocation list %s: %w", file, err)
		}
		var signer *x509.Certificate
		for _, ca := range cas {
			if bytes.Equal(ca.RawSubject, l.RawIssuer) && l.CheckSignatureFrom(ca) == nil {
				signer = ca
				break
			}
		}
		if signer == nil {
			return nil, time.Time{}, fmt.Errorf("client revocation list %s: a list is not signed by any CA of the client CA bundle", file)
		}
		info := crls[string(signer.RawSubjectPublicKeyInfo)]
		if info == nil {
			info = &crlInfo{ca: signer, revoked: map[string]bool{}, nextUpdate: l.NextUpdate}
			crls[string(signer.RawSubjectPublicKeyInfo)] = info
		}
		// Two lists of one CA: the later replacement date stands, and
		// every serial either revokes stays revoked.
		if l.NextUpdate.After(info.nextUpdate) {
			info.nextUpdate = l.NextUpdate
		}
		for _, e := range l.RevokedCertificateEntries {
			info.revoked[e.SerialNumber.String()] = true
		}
	}
	return crls, fi.ModTime(), nil
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
