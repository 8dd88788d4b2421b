// Package consumer is a typed GP Connect 1.2.8 client (FHIR STU3) for any
// Appointment Management provider, not only Slotbridge.
//
// Every call sets the Ssp-* headers (a fresh TraceID, From = the consumer
// ASID, To = the provider ASID, the interaction's InteractionID), mints a
// fresh unsigned JWT for the requesting organisation, practitioner and device
// of the Config, asks for application/fhir+json with gzip, and decodes the
// answer into typed values. A provider refusal is an *Error (HTTP status,
// Spine code, diagnostics); a failed exchange is a *TransportError or a
// *ProtocolError, told apart with errors.Is(err, ErrTimeout), ErrContentType
// and the other sentinels. Bodies are bounded and garbage never panics.
//
// Options (WithHeader, WithoutHeader, WithClaims, ...) change one request at
// the wire level; the conformance suite uses them to send deliberately bad
// requests through the same code path.
package consumer

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
)

// DefaultMaxBody bounds a response body (after gzip) when Config.MaxBody is 0.
const DefaultMaxBody = 16 << 20

// Config describes one provider endpoint and who is calling it.
type Config struct {
	// ServiceRoot is the provider's FHIR service root as held in SDS, e.g.
	// https://provider.example/A20047/STU3/1/gpconnect (no trailing slash).
	ServiceRoot string
	// ProxyURL, when set, is the Spine Secure Proxy prefix: requests go to
	// ProxyURL + "/" + ServiceRoot + "/" + path (spec §1.1).
	ProxyURL string
	// ConsumerASID goes in Ssp-From; ProviderASID in Ssp-To.
	ConsumerASID, ProviderASID string

	// Issuer is the JWT iss: the consumer system's endpoint URL.
	Issuer string
	// Audience is the JWT aud; it defaults to ServiceRoot.
	Audience string
	// Organization, Practitioner and Device are the requesting_* claims: the
	// real organisation, logged-on user and system making the request. The
	// Device needs identifier[0].system and .value, model and version, and the
	// Organization the current ODS system, not the legacy one (spec §3.2, §8.4).
	Organization fhir.Organization
	Practitioner fhir.Practitioner
	Device       fhir.Device

	// HTTPClient is used when set (share one across clients for fan-out);
	// the transport settings below are then ignored. One without its own
	// CheckRedirect is used through a copy that does not follow redirects.
	HTTPClient *http.Client
	// MaxConnsPerHost and MaxIdleConnsPerHost size the keep-alive pool
	// (defaults 64 and 64); IdleConnTimeout defaults to 90s.
	MaxConnsPerHost, MaxIdleConnsPerHost int
	IdleConnTimeout                      time.Duration
	// TLS is the client TLS configuration (mutual TLS: set Certificates).
	// Alternatively CertFile/KeyFile (client certificate) and CAFile (trusted roots).
	TLS                       *tls.Config
	CertFile, KeyFile, CAFile string

	// Timeout, if positive, bounds each call on top of the caller's context.
	Timeout time.Duration
	// MaxBody bounds response bodies (DefaultMaxBody when 0).
	MaxBody int64
	// UserAgent is sent when set.
	UserAgent string
	// Now is the clock for tokens and created times (time.Now when nil).
	Now func() time.Time
}

// Client calls one GP Connect provider endpoint. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	now  func() time.Time
}

// New checks cfg and builds a client. It fails when the service root is not
// an absolute http(s) URL, an ASID is missing, the issuer is not an absolute
// URI, the device lacks identifier[0].system/.value, model or version, the
// organisation uses the legacy ODS system, the identity cannot make a valid
// token, or the TLS files cannot be loaded.
func New(cfg Config) (*Client, error) {
	cfg.ServiceRoot = strings.TrimRight(cfg.ServiceRoot, "/")
	if u, err := url.Parse(cfg.ServiceRoot); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("consumer: service root %q is not an absolute http(s) URL", cfg.ServiceRoot)
	}
	if cfg.ProxyURL != "" {
		cfg.ProxyURL = strings.TrimRight(cfg.ProxyURL, "/")
		if u, err := url.Parse(cfg.ProxyURL); err != nil || u.Host == "" {
			return nil, fmt.Errorf("consumer: proxy URL %q is not an absolute URL", cfg.ProxyURL)
		}
	}
	if cfg.ConsumerASID == "" || cfg.ProviderASID == "" {
		return nil, errors.New("consumer: ConsumerASID and ProviderASID are required")
	}
	if err := checkIdentity(cfg); err != nil {
		return nil, err
	}
	if cfg.Audience == "" {
		cfg.Audience = cfg.ServiceRoot
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	c := &Client{cfg: cfg, now: cfg.Now, http: cfg.HTTPClient}
	if c.http != nil && c.http.CheckRedirect == nil {
		// Following a redirect would resend the Ssp-* headers (and, to the
		// same host, the token) wherever the answer points.
		hc := *c.http
		hc.CheckRedirect = NoRedirects
		c.http = &hc
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.http == nil {
		tr, err := NewTransport(cfg)
		if err != nil {
			return nil, err
		}
		c.http = &http.Client{Transport: tr, CheckRedirect: NoRedirects}
	}
	// Mint once now so that a bad identity fails here, not on every call.
	if _, err := c.token(gpconnect.ScopeOrgRead, nil, nil, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// NoRedirects is a CheckRedirect that hands a 3xx back to the caller: a GP
// Connect provider never redirects, and following one would resend the token
// elsewhere.
func NoRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// NewTransport builds the keep-alive transport New uses, from the pool and
// TLS fields of cfg; share it between clients of many providers.
func NewTransport(cfg Config) (*http.Transport, error) {
	tr := &http.Transport{
		Proxy:                 nil, // the SSP is addressed by URL prefix, not as an HTTP proxy
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          0,
		MaxConnsPerHost:       orInt(cfg.MaxConnsPerHost, 64),
		MaxIdleConnsPerHost:   orInt(cfg.MaxIdleConnsPerHost, 64),
		IdleConnTimeout:       orDur(cfg.IdleConnTimeout, 90*time.Second),
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	tc := cfg.TLS
	if tc != nil {
		tc = tc.Clone()
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" || cfg.CAFile != "" {
		files, err := ClientTLS(cfg.CertFile, cfg.KeyFile, cfg.CAFile, time.Now())
		if err != nil {
			return nil, fmt.Errorf("consumer: %w", err)
		}
		if tc == nil {
			tc = files
		} else {
			tc.Certificates = append(tc.Certificates, files.Certificates...)
			if files.RootCAs != nil {
				tc.RootCAs = files.RootCAs
			}
		}
	}
	tr.TLSClientConfig = tc
	return tr, nil
}

func orInt(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

func orDur(v, d time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return d
}

// ServiceRoot is the provider service root this client addresses.
func (c *Client) ServiceRoot() string { return c.cfg.ServiceRoot }

// Config returns a copy of the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// ForEndpoint returns a client for another provider (service root and ASID)
// that shares this client's identity, settings and connection pool.
func (c *Client) ForEndpoint(serviceRoot, providerASID string) (*Client, error) {
	cfg := c.cfg
	cfg.ServiceRoot, cfg.ProviderASID, cfg.HTTPClient = serviceRoot, providerASID, c.http
	if c.cfg.Audience == c.cfg.ServiceRoot {
		cfg.Audience = ""
	}
	return New(cfg)
}

// Request is one raw GP Connect exchange, for calls the typed methods do not cover.
type Request struct {
	// Method is the HTTP verb; Path is relative to the service root ("Slot",
	// "Appointment/12"); an empty Path addresses the bare service root.
	Method, Path string
	// Query is encoded with url.Values.Encode (so "+" and "|" are percent-encoded).
	Query url.Values
	// Interaction sets Ssp-InteractionID and, through its scope, requested_scope.
	Interaction gpconnect.InteractionID
	// Body is sent with ContentType (default application/fhir+json;charset=utf-8).
	Body        []byte
	ContentType string
}

// Response is what came back from the provider.
type Response struct {
	// Status, Header and Body (decompressed, bounded) of the HTTP response.
	Status int
	Header http.Header
	Body   []byte
	// Gzipped reports that the provider sent Content-Encoding: gzip.
	Gzipped bool
	// Resource is the decoded JSON body (nil if empty or not JSON); DecodeErr says why decoding failed.
	Resource  fhir.Resource
	DecodeErr error
	// Interaction and TraceID are what the request carried.
	Interaction gpconnect.InteractionID
	TraceID     string
	// URL is the address called.
	URL string
}

// Err returns the *Error for a status of 400 or more, else nil.
func (r *Response) Err() error {
	if r.Status >= 400 {
		return outcomeError(r)
	}
	return nil
}

// ETag is the response ETag header.
func (r *Response) ETag() string { return r.Header.Get("ETag") }

// Do sends a raw request with every GP Connect header and a fresh token, and
// returns the response whatever its status. The error is a *TransportError
// (no response) or a *ProtocolError with Kind ErrTooLarge or ErrMalformedBody
// (a body that could not be read or un-gzipped); a non-JSON body is not an
// error here (see Response.DecodeErr).
func (c *Client) Do(ctx context.Context, req Request, opts ...Option) (*Response, error) {
	o := &callOpts{}
	for _, f := range opts {
		f(o)
	}
	if o.interaction != "" {
		req.Interaction = o.interaction
	}
	if c.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
	}
	u := c.cfg.ServiceRoot
	if req.Path != "" {
		u += "/" + strings.TrimLeft(req.Path, "/")
	}
	if c.cfg.ProxyURL != "" {
		u = c.cfg.ProxyURL + "/" + u
	}
	q := req.Query
	if len(o.query) > 0 {
		q = url.Values{}
		for k, v := range req.Query {
			q[k] = append([]string(nil), v...)
		}
		for _, kv := range o.query {
			q.Add(kv[0], kv[1])
		}
	}
	full := u
	switch {
	case o.rawQuery != nil:
		full += "?" + *o.rawQuery
	case len(q) > 0:
		full += "?" + q.Encode()
	}
	body := req.Body
	if o.body != nil {
		body = o.body
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, full, rd)
	if err != nil {
		return nil, &TransportError{Kind: ErrTransport, URL: u, Err: err}
	}
	trace := uuid.NewString()
	h := hr.Header
	SetSpineHeaders(h, trace, c.cfg.ConsumerASID, c.cfg.ProviderASID, req.Interaction)
	scope := req.Interaction.Scope()
	if o.scope != "" {
		scope = o.scope
	}
	if scope == "" {
		scope = gpconnect.ScopeOrgRead
	}
	tok, err := c.token(scope, o.practitioner, o.claims, o.tokenHeader)
	if err != nil {
		return nil, err
	}
	h.Set("Authorization", "Bearer "+tok)
	h.Set("Accept", gpconnect.MediaJSON+";charset=utf-8")
	h.Set("Accept-Encoding", "gzip")
	if body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = gpconnect.MediaJSON + ";charset=utf-8"
		}
		h.Set("Content-Type", ct)
	}
	if c.cfg.UserAgent != "" {
		h.Set("User-Agent", c.cfg.UserAgent)
	}
	for _, m := range o.header {
		setHeader(h, m.key, m.val, m.del)
	}
	trace = headerValue(h, gpconnect.HeaderTraceID)
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, transportError(ctx, u, err)
	}
	defer resp.Body.Close()
	out := &Response{Status: resp.StatusCode, Header: resp.Header, Interaction: req.Interaction, TraceID: trace, URL: u}
	var src io.Reader = resp.Body
	if strings.EqualFold(strings.TrimSpace(resp.Header.Get("Content-Encoding")), "gzip") {
		out.Gzipped = true
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			if ctx.Err() != nil {
				return nil, transportError(ctx, u, err)
			}
			return nil, &ProtocolError{Kind: ErrMalformedBody, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Detail: "bad gzip stream: " + err.Error()}
		}
		defer zr.Close()
		src = zr
	}
	b, err := io.ReadAll(io.LimitReader(src, c.cfg.MaxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, transportError(ctx, u, err)
		}
		// A broken connection is a transport failure; a bad gzip stream over a
		// healthy connection is the provider's malformed body.
		var ne net.Error
		if !out.Gzipped || errors.As(err, &ne) {
			return nil, &TransportError{Kind: ErrTransport, URL: u, Err: err}
		}
		return nil, &ProtocolError{Kind: ErrMalformedBody, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Detail: "reading body: " + err.Error()}
	}
	if int64(len(b)) > c.cfg.MaxBody {
		return nil, &ProtocolError{Kind: ErrTooLarge, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
			Detail: fmt.Sprintf("body exceeds %d bytes", c.cfg.MaxBody)}
	}
	out.Body = b
	if len(bytes.TrimSpace(b)) > 0 && isJSON(resp.Header.Get("Content-Type")) {
		// Appointments keep their JSON, so that Amend and Cancel send back
		// what the provider returned, edited in place (spec §7.2).
		out.Resource, out.DecodeErr = fhir.UnmarshalResourceKeepingSource(b)
	}
	if o.capture != nil {
		*o.capture = *out
	}
	return out, nil
}

func transportError(ctx context.Context, u string, err error) error {
	kind := ErrTransport
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		kind = ErrTimeout
	case errors.Is(ctx.Err(), context.Canceled):
		kind = ErrCanceled
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			kind = ErrTimeout
		}
	}
	return &TransportError{Kind: kind, URL: u, Err: err}
}

// isJSON reports whether a Content-Type names FHIR JSON (or plain JSON).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case gpconnect.MediaJSON, "application/json", "application/json+fhir":
		return true
	}
	return false
}

// token mints the JWT for scope and applies the per-request mutators.
func (c *Client) token(scope gpconnect.Scope, user *fhir.Practitioner, claims func(map[string]any), header func(map[string]any)) (string, error) {
	id := auth.Identity{Issuer: c.cfg.Issuer, Audience: c.cfg.Audience, Device: c.cfg.Device,
		Organization: c.cfg.Organization, Practitioner: c.cfg.Practitioner}
	if user != nil {
		id.Practitioner = *user
	}
	tok, err := auth.Mint(id, scope, c.now())
	if err != nil {
		return "", fmt.Errorf("consumer: minting token: %w", err)
	}
	if claims == nil && header == nil {
		return tok, nil
	}
	parts := strings.SplitN(tok, ".", 3)
	rewrite := func(seg string, f func(map[string]any)) (string, error) {
		if f == nil {
			return seg, nil
		}
		raw, err := base64.RawURLEncoding.DecodeString(seg)
		if err != nil {
			return "", err
		}
		m := map[string]any{}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return "", err
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			return "", err
		}
		return base64.RawURLEncoding.EncodeToString(out), nil
	}
	h, err := rewrite(parts[0], header)
	if err != nil {
		return "", fmt.Errorf("consumer: rewriting token header: %w", err)
	}
	p, err := rewrite(parts[1], claims)
	if err != nil {
		return "", fmt.Errorf("consumer: rewriting token claims: %w", err)
	}
	return h + "." + p + "." + parts[2], nil
}
