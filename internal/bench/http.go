package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/provider"
)

// Loopback is an HTTP handler served on 127.0.0.1 for the length of a benchmark.
type Loopback struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string
	srv *http.Server
}

// Serve starts h on a free loopback port, with the timeouts serve uses.
func Serve(h http.Handler) (*Loopback, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go srv.Serve(ln)
	return &Loopback{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

// Close stops the server.
func (l *Loopback) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return l.srv.Shutdown(ctx)
}

// providerServer serves the GP Connect provider over st on loopback, with
// the audit trail on as in production; stop flushes the audit.
func providerServer(st *store.Store) (*provider.Server, *Loopback, error) {
	prov := provider.New(st, &auth.Verifier{}, slog.New(slog.NewTextHandler(io.Discard, nil)), provider.Config{})
	lb, err := Serve(prov.Handler())
	if err != nil {
		prov.Close()
		return nil, nil, err
	}
	return prov, lb, nil
}

// NewClient is an HTTP client for n concurrent callers over loopback. It asks
// for identity encoding, so what is measured is the FHIR work, not gzip.
func NewClient(n int) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConns: 2 * n, MaxIdleConnsPerHost: 2 * n,
		MaxConnsPerHost: 2 * n, DisableCompression: true, IdleConnTimeout: time.Minute}}
}

// Tokens hands out unsigned GP Connect tokens of the default test identity,
// minted once per scope and re-minted well before they expire.
type Tokens struct {
	mu   sync.Mutex
	toks map[gpconnect.Scope]token
}

type token struct {
	bearer string
	at     time.Time
}

// Bearer returns "Bearer <token>" for the scope.
func (t *Tokens) Bearer(scope gpconnect.Scope) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tk, ok := t.toks[scope]; ok && time.Since(tk.at) < time.Minute {
		return tk.bearer, nil
	}
	now := time.Now()
	s, err := auth.Mint(auth.DefaultTestIdentity(), scope, now)
	if err != nil {
		return "", err
	}
	if t.toks == nil {
		t.toks = map[gpconnect.Scope]token{}
	}
	t.toks[scope] = token{bearer: "Bearer " + s, at: now}
	return t.toks[scope].bearer, nil
}

// SetGPConnectHeaders sets the Spine headers and token of one interaction.
func SetGPConnectHeaders(h http.Header, toASID, trace string, iid gpconnect.InteractionID, bearer string) {
	h.Set("Ssp-TraceID", trace)
	h.Set("Ssp-From", "200000000359")
	h.Set("Ssp-To", toASID)
	h.Set("Ssp-InteractionID", string(iid))
	h.Set("Authorization", bearer)
	h.Set("Accept", "application/fhir+json")
}

// StatusError is a response with an unexpected status.
type StatusError struct {
	Status int
	Body   string
}

// Error gives the status and the body that came back.
func (e *StatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// do sends req and reads the whole body; a status other than want is an error.
func do(c *http.Client, req *http.Request, want int, buf []byte) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return buf, err
	}
	defer resp.Body.Close()
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if resp.StatusCode != want {
		return buf, &StatusError{Status: resp.StatusCode, Body: clip(string(buf), 300)}
	}
	return buf, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
