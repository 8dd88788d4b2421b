package provider

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// format is the wire format of a body.
type format int

const (
	formatJSON format = iota
	formatXML
)

func (f format) contentType() string {
	if f == formatXML {
		return gpconnect.MediaXML + ";charset=utf-8"
	}
	return gpconnect.MediaJSON + ";charset=utf-8"
}

// parseMedia maps a media type (parameters allowed) to a format.
func parseMedia(v string) (format, bool) {
	mt, params, err := mime.ParseMediaType(strings.TrimSpace(v))
	if err != nil {
		return 0, false
	}
	return mediaFormat(mt, params)
}

// mediaFormat maps a parsed media type and its parameters to a format.
func mediaFormat(mt string, params map[string]string) (format, bool) {
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return 0, false
	}
	// Only the FHIR types (and their DSTU2 spellings): the test pack expects
	// 415 for application/json, application/xml and text/xml (spec 2.1).
	switch mt {
	case gpconnect.MediaJSON, "application/json+fhir":
		return formatJSON, true
	case gpconnect.MediaXML, "application/xml+fhir":
		return formatXML, true
	}
	return 0, false
}

// parseFormatParam maps a _format value; short forms are allowed. A query
// decodes an unescaped '+' to a space, so "application/fhir json" (from
// _format=application/fhir+json written by hand) is read as meant.
func parseFormatParam(v string) (format, bool) {
	v = strings.TrimSpace(v)
	switch v {
	case "json":
		return formatJSON, true
	case "xml":
		return formatXML, true
	}
	if rest, ok := strings.CutPrefix(v, "application/fhir "); ok {
		v = "application/fhir+" + rest
	}
	return parseMedia(v)
}

// parseAccept picks the format an Accept header prefers: the supported type
// of highest quality (the first listed of equal quality); a wildcard stands
// for the format given (the request body's) unless that one is refused with
// q=0. ok is false when nothing listed is supported.
func parseAccept(acc string, wildcard format) (format, bool) {
	type entry struct {
		f        format
		q        float64
		wildcard bool
	}
	entries := make([]entry, 0, 8) // on the stack for any usual header
	var refused [2]bool            // indexed by format
	for _, part := range strings.Split(acc, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if q, ok = parseQ(qs); !ok {
				continue
			}
		}
		f, ok := mediaFormat(mt, params)
		switch {
		case ok && q == 0:
			refused[f] = true // "not acceptable" (RFC 9110 §12.4.2)
		case ok:
			entries = append(entries, entry{f: f, q: q})
		case (mt == "*/*" || mt == "application/*") && q > 0:
			entries = append(entries, entry{q: q, wildcard: true})
		}
	}
	// A wildcard takes the preferred format unless that one was refused.
	if refused[wildcard] {
		if wildcard == formatJSON {
			wildcard = formatXML
		} else {
			wildcard = formatJSON
		}
	}
	best, bestQ, found := formatJSON, -1.0, false
	for _, e := range entries {
		if e.wildcard {
			if refused[wildcard] {
				continue
			}
			e.f = wildcard
		}
		if e.q > bestQ {
			best, bestQ, found = e.f, e.q, true
		}
	}
	return best, found
}

// negotiate picks the response format: _format (from the parsed query q),
// then Accept, then Content-Type, then JSON. An Accept that takes anything
// (*/*, application/*) leaves the choice to the Content-Type too, so an XML
// body is answered in XML. ok is false when what was asked for is unsupported.
func negotiate(r *http.Request, q url.Values) (format, bool) {
	if vs, present := q["_format"]; present {
		if len(vs) != 1 {
			return formatJSON, false
		}
		return parseFormatParam(vs[0])
	}
	byType := formatJSON
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if f, ok := parseMedia(ct); ok {
			byType = f
		}
	}
	if acc := strings.TrimSpace(r.Header.Get("Accept")); acc != "" {
		return parseAccept(acc, byType)
	}
	return byType, true
}

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed); return w }}

// acceptsGzip reports whether the client accepts a gzip response.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && qValue(params) > 0 {
			return true
		}
	}
	return false
}

// qValue reads the q parameter from an Accept-Encoding element's
// parameters ("q=0.5"): 1 when absent, 0 when malformed, so that a value
// the client may have meant as a refusal never turns compression on.
func qValue(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, _ := parseQ(strings.TrimSpace(v))
		return q
	}
	return 1
}

// parseQ reads a quality value (RFC 9110 §12.4.2), 0 to 1; ok is false,
// and q 0, for anything else.
func parseQ(s string) (q float64, ok bool) {
	q, err := strconv.ParseFloat(s, 64)
	if err != nil || !(q >= 0 && q <= 1) {
		return 0, false
	}
	return q, true
}

// writeBody writes a complete body, gzipped when the client asked and it is worth it.
func writeBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	// No Vary, though the body depends on Accept and Accept-Encoding: with
	// no-store no cache keeps it, and the NHS provider test pack copies
	// response headers into a Dictionary<string,string>, so a header that
	// .NET splits into two values ("Vary: Accept, Accept-Encoding") throws
	// in every request before any assertion runs.
	if len(body) > 512 && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		w.WriteHeader(status)
		gz := gzipPool.Get().(*gzip.Writer)
		gz.Reset(w)
		gz.Write(body)
		gz.Close()
		gzipPool.Put(gz)
		return
	}
	w.WriteHeader(status)
	w.Write(body)
}
