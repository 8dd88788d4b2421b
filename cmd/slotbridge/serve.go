package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/servertls"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/provider"
)

// supplierFromEnv reads SLOTBRIDGE_SERVICE_FILTERING (see serve --service-filtering).
func supplierFromEnv() (scheduling.SupplierFiltering, error) {
	return scheduling.ParseSupplierFiltering(envOr("SLOTBRIDGE_SERVICE_FILTERING", "on"))
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbConfig
	db.register(fs)
	addr := fs.String("addr", envOr("SLOTBRIDGE_ADDR", "127.0.0.1:8080"), "listen address")
	withDemo := fs.Bool("demo", false, "load the embedded demo and test-pack data (idempotent)")
	logJSON := fs.Bool("log-json", false, "log as JSON instead of text")
	accessDefault, accessErr := strconv.ParseBool(envOr("SLOTBRIDGE_ACCESS_LOG", "true"))
	accessLogOn := fs.Bool("access-log", accessDefault || accessErr != nil, "log one line per request (method, path without its query, status, bytes, time, Ssp-TraceID, peer)")
	jwks := fs.String("jwks", envOr("SLOTBRIDGE_JWKS", ""), "JWKS file: when set, only tokens signed by one of its keys are accepted")
	// The timeouts bound what a slow or stalled client can hold: a
	// connection that trickles its headers (slowloris) is dropped after
	// read-header-timeout, one that trickles its body after read-timeout.
	readHeaderTimeout := fs.Duration("read-header-timeout", 10*time.Second, "longest time to read a request's headers")
	readTimeout := fs.Duration("read-timeout", 30*time.Second, "longest time to read a whole request, body included")
	requestTimeout := fs.Duration("request-timeout", 30*time.Second, "longest time a GP Connect request may take, its database work included; a database that stops answering then costs an error, not a hung request")
	horizonOf := horizonFlag(fs, "weeks of sessions materialised ahead and kept topped up (hourly, and at start)")
	filtering := fs.String("service-filtering", envOr("SLOTBRIDGE_SERVICE_FILTERING", "on"),
		"supplier switch of 1.2.8 service filtering: on (each practice's own switch decides), off, or a comma-separated list of ODS codes it is on at")
	publicURL := fs.String("public-url", envOr("SLOTBRIDGE_PUBLIC_URL", ""), "scheme and host consumers reach the server at, e.g. https://gpc.example.nhs.uk: Location and fullUrl are built on it rather than on the request's Host and X-Forwarded-Proto")
	var tlsOpt servertls.Options
	fs.StringVar(&tlsOpt.CertFile, "tls-cert", envOr("SLOTBRIDGE_TLS_CERT", ""), "server certificate chain (PEM): serve HTTPS only, TLS 1.2 with the spec's cipher suites and HSTS; plain HTTP connections are closed")
	fs.StringVar(&tlsOpt.KeyFile, "tls-key", envOr("SLOTBRIDGE_TLS_KEY", ""), "the server certificate's private key (PEM)")
	fs.StringVar(&tlsOpt.ClientCAFile, "tls-client-ca", envOr("SLOTBRIDGE_TLS_CLIENT_CA", ""), "CA bundle (PEM) a GP Connect client certificate must chain to (the Spine CAs): a GP Connect request without one is answered 496, with an expired, foreign, revoked or misnamed one 495")
	fs.StringVar(&tlsOpt.ClientCRLFile, "tls-client-crl", envOr("SLOTBRIDGE_TLS_CLIENT_CRL", ""), "revocation lists (PEM or DER) of the client CAs; read again when the file changes")
	fs.StringVar(&tlsOpt.ClientName, "tls-client-name", envOr("SLOTBRIDGE_TLS_CLIENT_NAME", ""), "FQDN a client certificate must carry (DNS name or common name): the Spine Secure Proxy's")
	debugAddr := fs.String("debug-addr", envOr("SLOTBRIDGE_DEBUG_ADDR", ""), "when set, serve Go runtime profiles (/debug/pprof/) on this separate loopback address, e.g. 127.0.0.1:6184")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if accessErr != nil && !flagGiven(fs, "access-log") {
		return fmt.Errorf("SLOTBRIDGE_ACCESS_LOG=%q: want true or false", os.Getenv("SLOTBRIDGE_ACCESS_LOG"))
	}
	public, err := checkPublicURL(*publicURL)
	if err != nil {
		return err
	}
	horizon, err := horizonOf()
	if err != nil {
		return err
	}
	supplier, err := scheduling.ParseSupplierFiltering(*filtering)
	if err != nil {
		return fmt.Errorf("--service-filtering: %w", err)
	}
	if *debugAddr != "" {
		if err := checkDebugAddr(*debugAddr); err != nil {
			return err
		}
	}
	if *readHeaderTimeout <= 0 || *readTimeout <= 0 || *requestTimeout <= 0 {
		// Zero would turn the protection off, not make it instant.
		return errors.New("--read-header-timeout, --read-timeout and --request-timeout must be longer than zero")
	}
	if err := checkMounts(); err != nil {
		return err
	}
	// Every setting that can be refused is checked before the store opens
	// and background work starts: a bad JWKS file then stops serve with
	// its own error alone, and leaves no data directory behind.
	verifier := &auth.Verifier{}
	if *jwks != "" {
		set, err := auth.LoadKeySet(*jwks)
		if err != nil {
			return fmt.Errorf("--jwks (SLOTBRIDGE_JWKS): %w", err)
		}
		verifier.KeySet = set
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if *logJSON {
		h = slog.NewJSONHandler(stderr, nil)
	}
	log := slog.New(h)
	var tlsSrv *servertls.Server
	if tlsOpt != (servertls.Options{}) {
		tlsOpt.Log = log
		if tlsSrv, err = servertls.Load(tlsOpt); err != nil {
			return fmt.Errorf("--tls-cert, --tls-key, --tls-client-*: %w", err)
		}
	}
	// The addresses are taken before the store opens, so that one in use
	// stops serve before it creates a data directory or loads the demo;
	// the database settings are checked first, so that a bad one is said
	// without taking an address.
	if err := db.check(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr (SLOTBRIDGE_ADDR): %w", err)
	}
	defer ln.Close()
	scheme := "http"
	if tlsSrv != nil {
		ln, scheme = tlsSrv.Listener(ln), "https"
	}
	if *debugAddr != "" {
		dbg, err := serveDebug(*debugAddr, log)
		if err != nil {
			return fmt.Errorf("--debug-addr (SLOTBRIDGE_DEBUG_ADDR): %w", err)
		}
		defer dbg.Close()
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("store open", "engine", st.Engine())
	// The supplier switch decides which practices may filter by service; say it once, as read.
	log.Info("service filtering", "supplier switch", supplier.String())
	if *jwks != "" {
		log.Info("signed tokens required", "jwks", *jwks)
	}
	if *withDemo {
		t0 := time.Now()
		if err := demo.Load(ctx, st, time.Now(), horizon); err != nil {
			return err
		}
		log.Info("demo data loaded", "took", time.Since(t0).Round(time.Millisecond))
	}
	// A server with no practice answers every GP Connect request 404: say
	// why at start, rather than leave the operator to find out from them.
	if orgs, err := st.Organisations(ctx); err == nil && !slices.ContainsFunc(orgs, (*scheduling.Organisation).IsPractice) {
		log.Warn("no practices: every GP Connect request will be 404; add one with slotbridge admin practices create (or serve --demo for the demo and test-pack data)")
	}
	// The top-up is stopped, and waited for, before the store closes
	// (deferred calls run last first), whatever makes serve return: one
	// still running would log "database is closed" after the real error.
	bg, stopBG := context.WithCancel(ctx)
	topped, released := make(chan struct{}), make(chan struct{})
	go func() { defer close(topped); topUp(bg, st, log, horizon) }()
	go func() { defer close(released); releaseCaps(bg, st, log, time.Minute) }()
	defer func() { stopBG(); <-topped; <-released }()

	pcfg := provider.Config{ServiceFiltering: supplier, RequestTimeout: *requestTimeout, PublicURL: public}
	switch {
	case tlsSrv == nil:
		// Spec §1.4 wants TLS with the SSP's client certificate; on loopback
		// (the demo) a proxy or nothing stands in front, elsewhere say so.
		if !isLoopback(ln.Addr()) {
			log.Warn("serving plain HTTP: GP Connect needs TLS 1.2 with the Spine Secure Proxy's client certificate (spec 1.4); terminate it in a proxy in front, or give --tls-cert, --tls-key and --tls-client-ca")
		}
	case !tlsSrv.ChecksClients():
		log.Warn("TLS without client certificates: any client reaches GP Connect; give --tls-client-ca (and --tls-client-name) to admit only the Spine Secure Proxy")
	default:
		pcfg.ClientCert = func(r *http.Request) (int, string) { return tlsSrv.CheckClient(r.TLS, time.Now()) }
		log.Info("GP Connect requires a client certificate", "ca", tlsOpt.ClientCAFile, "crl", tlsOpt.ClientCRLFile, "name", tlsOpt.ClientName)
		if !tlsSrv.ChecksName() {
			// The Spine sub CA signs every Spine system's certificate: without
			// the SSP's name any of them could call around the proxy.
			log.Warn("client certificates are not held to the Spine Secure Proxy's name: any certificate the CAs signed reaches GP Connect; give --tls-client-name")
		}
	}
	prov := provider.New(st, verifier, log, pcfg)
	defer prov.Close()
	// The admin API materialises template changes to the same horizon and
	// reports service filtering by the same supplier switch as the server.
	handler, err := withMounts(mountEnv{st: st, log: log, horizon: horizon, supplier: supplier}, prov.Handler())
	if err != nil {
		return err
	}
	if *accessLogOn {
		handler = accessLog(log, handler)
	}
	if tlsSrv != nil {
		handler = servertls.HSTS(handler)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: *readHeaderTimeout, ReadTimeout: *readTimeout,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10,
		// The server's own complaints (TLS handshakes that failed, plain
		// HTTP to the TLS port) go to the same log as everything else.
		ErrorLog: slog.NewLogLogger(h, slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	fmt.Fprintf(stdout, "slotbridge listening on %s://%s\n", scheme, ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down; finishing requests in flight", "grace", shutdownGrace)
	// A second interrupt or TERM ends the grace at once.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	go func() {
		select {
		case <-again:
			log.Warn("second signal: stopping now")
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		srv.Close()
		return fmt.Errorf("shutdown: requests still in flight were cut off (%s grace over or a second signal)", shutdownGrace)
	}
	return nil
}

// shutdownGrace is how long serve waits, after an interrupt or TERM, for
// requests in flight to finish.
const shutdownGrace = 20 * time.Second

// releaseCaps gives back, every period, the cap places of bookings whose
// slots have ended, so that a capped profile's slots are offered again
// within a period of a booking being over.
func releaseCaps(ctx context.Context, st *store.Store, log *slog.Logger, period time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := st.ReleaseEndedBookings(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("releasing the cap places of ended bookings failed", "err", err)
		case n > 0:
			log.Info("cap places of ended bookings released", "places", n)
		}
	}
}

// topUp keeps the rolling horizon of sessions materialised as days pass:
// once at start (a server down for days would otherwise wait an hour with
// its last days missing), then hourly.
func topUp(ctx context.Context, st *store.Store, log *slog.Logger, horizon time.Duration) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		now := time.Now()
		n, err := st.Materialise(ctx, 0, scheduling.LocalMidnight(now), now.Add(horizon))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("horizon top-up failed", "err", err)
		case n > 0:
			log.Info("horizon topped up", "sessions", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkPublicURL reads --public-url: empty, or an http(s) URL with a host
// and nothing after it but an optional "/".
func checkPublicURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
		return "", fmt.Errorf("--public-url (SLOTBRIDGE_PUBLIC_URL) %q: want the scheme and host alone, e.g. https://gpc.example.nhs.uk", v)
	}
	return strings.TrimSuffix(v, "/"), nil
}

// isLoopback says whether a listening address is a loopback one.
func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}
