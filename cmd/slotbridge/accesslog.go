package main

import (
	"flag"
	"log/slog"
	"net/http"
	"time"
)

// accessLog logs one line per request once it is answered: method, path,
// status, bytes, duration, the Ssp-TraceID (which ties the line to the
// audit trail) and the peer. Never the query: a patient search or a hub's
// appointment list carries an NHS number there.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			status := rec.status
			if status == 0 {
				status = http.StatusOK // a handler that wrote nothing answered 200
			}
			path := r.URL.EscapedPath()
			if len(path) > 200 {
				path = path[:200] + "..."
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", path), slog.Int("status", status),
				slog.Int64("bytes", rec.bytes), slog.Duration("took", time.Since(start)),
				slog.String("trace", clipHeader(r.Header.Get("Ssp-TraceID"))), slog.String("peer", r.RemoteAddr))
		}()
		next.ServeHTTP(rec, r)
	})
}

// clipHeader bounds a client's header value in the log.
func clipHeader(v string) string {
	if len(v) > 80 {
		return v[:80] + "..."
	}
	return v
}

// recorder notes the status and size of a response as it is written.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the server's writer (Flush, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// flagGiven reports whether the flag was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
