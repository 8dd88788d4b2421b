package main

import (
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
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("path", clipText(r.URL.EscapedPath(), 200)), slog.Int("status", status),
				slog.Int64("bytes", rec.bytes), slog.Duration("took", time.Since(start)),
				slog.String("trace", clipText(r.Header.Get("Ssp-TraceID"), 80)), slog.String("peer", r.RemoteAddr))
		}()
		next.ServeHTTP(rec, r)
	})
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
