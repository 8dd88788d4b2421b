package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/conformance"
	"github.com/slotbridge/slotbridge/consumer"
)

// errChecksFailed makes the command exit non-zero after printing its own summary.
var errChecksFailed = errors.New("conformance checks failed")

// runConformance runs the black-box conformance suite against a provider.
func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "", "provider service root (https://host/A20047/STU3/1/gpconnect), or just the server URL: /{ODS}/STU3/1/gpconnect is then added from the data map")
	dataPath := fs.String("data", "", "JSON data map (which NHS numbers, ODS codes, ASIDs to use); default: the GP Connect test pack's data, as in serve --demo")
	only := fs.String("only", "", "comma-separated groups to run (default all): "+strings.Join(conformance.Groups(), ","))
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	proxy := fs.String("proxy", "", "Spine Secure Proxy prefix: requests go to PROXY/{service root}/...")
	cert := fs.String("cert", "", "client certificate (PEM) for mutual TLS")
	key := fs.String("key", "", "client key (PEM) for mutual TLS")
	ca := fs.String("ca", "", "trusted CA certificates (PEM) for the provider's certificate")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout per request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: slotbridge conformance --base URL [--data map.json] [--only group,...] [--json report.json]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *base == "" {
		fs.Usage()
		return errors.New("conformance: --base is required")
	}
	d, err := conformance.LoadData(*dataPath)
	if err != nil {
		return err
	}
	root := strings.TrimRight(*base, "/")
	if !strings.Contains(root, "/STU3/") {
		root += "/" + d.ODS + "/STU3/1/gpconnect"
	}
	if err := conformanceTarget(ctx, root, *proxy, d.ODS); err != nil {
		return err
	}
	c, err := conformance.NewClient(root, d, func(cfg *consumer.Config) {
		cfg.ProxyURL, cfg.CertFile, cfg.KeyFile, cfg.CAFile, cfg.Timeout = *proxy, *cert, *key, *ca, *timeout
	})
	if err != nil {
		return err
	}
	// A provider refusing the suite's client certificate (spec §1.4: 495,
	// 496, or a refused handshake) would fail every check but the
	// transport group's for the same reason: said once, here.
	if _, err := c.Metadata(ctx); err != nil {
		if why := certificateProblem(err); why != "" {
			return fmt.Errorf("conformance: %s: %s", root, why)
		}
	}
	var groups []string
	for _, g := range strings.Split(*only, ",") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	fmt.Fprintf(stdout, "conformance: %s (practice %s, ASID %s)\n", root, d.ODS, d.ProviderASID)
	rep, err := conformance.Run(ctx, conformance.Config{Client: c, Data: d, Only: groups, Out: stdout})
	if rep != nil && *jsonPath != "" {
		f, ferr := os.Create(*jsonPath)
		if ferr != nil {
			return ferr
		}
		werr := rep.WriteJSON(f)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("%w: %d of %d", errChecksFailed, rep.Failed, len(rep.Results))
	}
	return nil
}

// conformanceTarget stops a run that could only fail throughout: a service
// root whose practice is not the data map's (every check would fail on
// Ssp-To, not on what it tests), or a server that cannot be reached (every
// check would fail on the connection).
func conformanceTarget(ctx context.Context, root, proxy, ods string) error {
	u, err := url.Parse(root)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("conformance: --base %q is not an http(s) URL", root)
	}
	if at, _, ok := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/STU3/"); ok {
		if practice := path.Base("/" + at); !strings.EqualFold(practice, ods) {
			return fmt.Errorf("conformance: --base is practice %s's service root, but the data map is for %s: give --data a map for %s, or the base of %s", practice, ods, practice, ods)
		}
	}
	if proxy != "" {
		if u, err = url.Parse(proxy); err != nil || u.Host == "" {
			return fmt.Errorf("conformance: --proxy %q is not a URL", proxy)
		}
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("conformance: cannot reach %s (%v): is the server running there?", addr, err)
	}
	return conn.Close()
}

// certificateProblem says what is wrong, when err is a failed mutual TLS
// exchange: the provider's (or proxy's) certificate not trusted, or the
// suite's refused (a 495 or 496 answer, or a handshake ended over it);
// "" otherwise.
func certificateProblem(err error) string {
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		var host x509.HostnameError
		var inv x509.CertificateInvalidError
		advice := "give --ca with the CA that signed it"
		switch {
		case errors.As(verr.Err, &host):
			advice = "give --base with a host name the certificate carries"
		case errors.As(verr.Err, &inv) && inv.Reason == x509.Expired:
			advice = "the provider must renew it"
		}
		return fmt.Sprintf("its certificate is not accepted (%s): %s", clipText(verr.Err.Error(), 160), advice)
	}
	refused := ""
	var te *consumer.TransportError
	if ce := consumer.AsError(err); ce != nil && (ce.Status == 495 || ce.Status == 496) {
		refused = fmt.Sprintf("HTTP %d: %s", ce.Status, clipText(ce.Diagnostics, 160))
	} else if errors.As(err, &te) && strings.Contains(te.Err.Error(), "tls: ") && strings.Contains(te.Err.Error(), "certificate") {
		refused = clipText(te.Err.Error(), 160)
	}
	if refused == "" {
		return ""
	}
	return "the suite's client certificate was refused (" + refused + "): give --cert and --key of one it accepts"
}
