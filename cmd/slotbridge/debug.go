package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"
)

// checkDebugAddr refuses a debug address that is not on loopback. The
// profiles show command lines, goroutine stacks and heap contents, and
// /debug/pprof/profile costs CPU on demand: they are for the operator on
// the host, never for the network. An empty host (":6184") listens on
// every interface, so it is refused too.
func checkDebugAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-addr (SLOTBRIDGE_DEBUG_ADDR) %q: want HOST:PORT on loopback, e.g. 127.0.0.1:6184", addr)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	what := strconv.Quote(host)
	if host == "" {
		what = "every interface"
	}
	return fmt.Errorf("--debug-addr (SLOTBRIDGE_DEBUG_ADDR) %q: the profiles listener must be on loopback (127.0.0.1, ::1 or localhost), not %s", addr, what)
}

// serveDebug serves the Go runtime profiles on their own listener, apart from
// the public API, so an operator (or the soak test) can watch goroutines and
// heap without exposing them to consumers.
func serveDebug(addr string, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("debug profiles", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return srv, nil
}
