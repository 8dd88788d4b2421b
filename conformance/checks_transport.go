package conformance

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
)

// transportChecks are spec §1.4's rules for the provider's own TLS
// endpoint (the NHS test pack's Security.feature): TLS 1.2 only, the weak
// suites refused, a client certificate required, plain HTTP refused or
// redirected, HSTS. They need an https service root reached directly (not
// through --proxy, whose TLS would be the proxy's), and skip otherwise.
func transportChecks() []check {
	g := "transport"
	refused := func(what string, edit func(*tls.Config)) func(context.Context, *env) error {
		return func(ctx context.Context, e *env) error {
			c, err := e.tlsVariant(edit)
			if err != nil {
				return err
			}
			_, err = c.Metadata(ctx)
			return wantNoAnswer(what, err)
		}
	}
	return []check{
		{g, "tls-1.2-accepted", func(ctx context.Context, e *env) error {
			c, err := e.tlsVariant(func(tc *tls.Config) { tc.MinVersion, tc.MaxVersion = tls.VersionTLS12, tls.VersionTLS12 })
			if err != nil {
				return err
			}
			_, err = c.Metadata(ctx)
			return wantOK("GET /metadata over TLS 1.2", err)
		}},
		{g, "tls-1.1-refused", refused("a TLS 1.1 connection", func(tc *tls.Config) {
			tc.MinVersion, tc.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
		})},
		// "TLS 1.2 only" (§1.4): a provider that also speaks 1.3 lets a
		// client past the cipher rules, which are 1.2 suites.
		{g, "tls-1.3-refused", refused("a TLS 1.3 connection", func(tc *tls.Config) {
			tc.MinVersion, tc.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
		})},
		// AES128-SHA256, which the test pack expects refused.
		{g, "weak-cipher-refused", refused("a connection offering only TLS_RSA_WITH_AES_128_CBC_SHA256", func(tc *tls.Config) {
			tc.MinVersion, tc.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
			tc.CipherSuites = []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA256}
		})},
		{g, "client-certificate-required", func(ctx context.Context, e *env) error {
			base, err := e.baseTLS()
			if err != nil {
				return err
			}
			if len(base.Certificates) == 0 && base.GetClientCertificate == nil {
				return skipf("the suite has no client certificate (--cert, --key) to leave out")
			}
			c, err := e.tlsVariant(func(tc *tls.Config) { tc.Certificates, tc.GetClientCertificate = nil, nil })
			if err != nil {
				return err
			}
			_, err = c.Metadata(ctx)
			var ce *consumer.Error
			if errors.As(err, &ce) && (ce.Status == 495 || ce.Status == 496) {
				return nil // nginx's answers, which the test pack accepts
			}
			return wantNoAnswer("a request without a client certificate", err)
		}},
		{g, "plain-http-refused", func(ctx context.Context, e *env) error {
			if _, err := e.baseTLS(); err != nil {
				return err
			}
			u, err := url.Parse(e.c.ServiceRoot())
			if err != nil {
				return failf("service root: %v", err)
			}
			u.Scheme = "http"
			if u.Port() == "" {
				u.Host += ":443" // plain HTTP to the TLS port, not to port 80
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+"/metadata", nil)
			if err != nil {
				return failf("request: %v", err)
			}
			hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: consumer.NoRedirects}
			resp, err := hc.Do(req)
			if err != nil {
				return nil // closed: refused
			}
			resp.Body.Close()
			// The test pack's Security.feature accepts a closed connection
			// or a redirect carrying HSTS, and nothing else.
			switch {
			case resp.StatusCode < 300 || resp.StatusCode >= 400:
				return failf("plain HTTP was answered %d: §1.4 wants the connection closed or redirected", resp.StatusCode)
			case resp.Header.Get("Strict-Transport-Security") == "":
				return failf("plain HTTP redirected (%d) without Strict-Transport-Security (§1.4: HSTS SHALL be used)", resp.StatusCode)
			}
			return nil
		}},
		{g, "hsts", func(ctx context.Context, e *env) error {
			if _, err := e.baseTLS(); err != nil {
				return err
			}
			var raw consumer.Response
			if _, err := e.c.Metadata(ctx, consumer.Capture(&raw)); err != nil {
				return wantOK("GET /metadata", err)
			}
			if raw.Header.Get("Strict-Transport-Security") == "" {
				return failf("no Strict-Transport-Security header on an answer over TLS (§1.4, §2.2)")
			}
			return nil
		}},
	}
}

// baseTLS is the suite's own TLS configuration, or a skip when the
// transport checks cannot judge the provider's endpoint.
func (e *env) baseTLS() (*tls.Config, error) {
	cfg := e.c.Config()
	switch {
	case !strings.HasPrefix(strings.ToLower(cfg.ServiceRoot), "https://"):
		return nil, skipf("the service root is not https: the transport checks need the provider's TLS endpoint")
	case cfg.ProxyURL != "":
		return nil, skipf("requests go through a proxy: its TLS is the proxy's, not the provider's")
	}
	// The suite's own transport, built as its client builds it.
	tr, err := consumer.NewTransport(cfg)
	if err != nil {
		return nil, failf("the suite's TLS files: %v", err)
	}
	if tr.TLSClientConfig == nil {
		return &tls.Config{}, nil
	}
	return tr.TLSClientConfig, nil
}

// tlsVariant is a client like the suite's whose TLS configuration edit has changed.
func (e *env) tlsVariant(edit func(*tls.Config)) (*consumer.Client, error) {
	tc, err := e.baseTLS()
	if err != nil {
		return nil, err
	}
	edit(tc)
	cfg := e.c.Config()
	cfg.TLS, cfg.CertFile, cfg.KeyFile, cfg.CAFile, cfg.HTTPClient = tc, "", "", "", nil
	c, err := consumer.New(cfg)
	if err != nil {
		return nil, failf("client: %v", err)
	}
	return c, nil
}

// wantNoAnswer checks that a connection the provider should refuse got no
// HTTP answer (the handshake failed or the connection was closed).
func wantNoAnswer(what string, err error) error {
	var te *consumer.TransportError
	switch {
	case err == nil:
		return failf("%s was answered: §1.4 wants it refused", what)
	case errors.As(err, &te):
		return nil
	}
	return failf("%s got an HTTP answer (%v): §1.4 wants the connection refused", what, err)
}
