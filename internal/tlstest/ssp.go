package tlstest

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// SSP is a loopback stand-in for the Spine Secure Proxy: it takes requests
// addressed as {URL}/{service root}/{path} (spec §1.1) over TLS and
// forwards each to the service root it names.
type SSP struct {
	*httptest.Server

	mu sync.Mutex
	// forwarded counts the requests passed on, by client certificate CN.
	forwarded map[string]int
}

// StartSSP starts an SSP serving TLS with cfg (PKI.ServerTLS, which
// requires a client certificate, or a variation of it); it is closed when
// the test ends.
func StartSSP(tb testing.TB, cfg *tls.Config) *SSP {
	tb.Helper()
	s := &SSP{forwarded: map[string]int{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.forward))
	s.Server.TLS = cfg
	s.Server.StartTLS()
	tb.Cleanup(s.Server.Close)
	return s
}

// Forwarded is how many requests were passed on for the client whose
// certificate has the common name cn.
func (s *SSP) Forwarded(cn string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forwarded[cn]
}

// forward sends the request on to the URL after the proxy's own: the raw
// request URI, since a path cleaner would fold the target's "//".
func (s *SSP) forward(w http.ResponseWriter, r *http.Request) {
	target := strings.TrimPrefix(r.RequestURI, "/")
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		http.Error(w, "not a proxied URL", http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		s.mu.Lock()
		s.forwarded[r.TLS.PeerCertificates[0].Subject.CommonName]++
		s.mu.Unlock()
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}
