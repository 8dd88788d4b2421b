package consumer

import (
	"net/http"
	"strings"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// spineHeaders are the Ssp-* names as the spec spells them (§2.1). Header
// names are case-insensitive (RFC 7230), but http.Header.Set would send
// Ssp-Traceid and Ssp-Interactionid, which a server or log comparing names
// literally does not match; so these keys go into the map as they are.
var spineHeaders = []string{gpconnect.HeaderTraceID, gpconnect.HeaderFrom, gpconnect.HeaderTo, gpconnect.HeaderInteractionID}

// SetSpineHeaders sets Ssp-TraceID, Ssp-From, Ssp-To and Ssp-InteractionID
// on h under exactly those names (not Go's canonical Ssp-Traceid), replacing
// any spelling already there. Code that builds its own request, such as the
// hub's slot fan-out, uses it to send the headers the client sends.
func SetSpineHeaders(h http.Header, traceID, from, to string, iid gpconnect.InteractionID) {
	setHeader(h, gpconnect.HeaderTraceID, traceID, false)
	setHeader(h, gpconnect.HeaderFrom, from, false)
	setHeader(h, gpconnect.HeaderTo, to, false)
	setHeader(h, gpconnect.HeaderInteractionID, string(iid), false)
}

// setHeader removes every spelling of name from h and, unless del, sets it
// to v under its spec spelling (an Ssp-* header) or its canonical form.
// Removing all spellings matters: with two keys for one name both would be
// sent, and a WithoutHeader that missed the spec spelling would remove nothing.
func setHeader(h http.Header, name, v string, del bool) {
	for k := range h {
		if strings.EqualFold(k, name) {
			delete(h, k)
		}
	}
	if del {
		return
	}
	key := http.CanonicalHeaderKey(name)
	for _, s := range spineHeaders {
		if strings.EqualFold(s, name) {
			key = s
		}
	}
	h[key] = []string{v}
}

// headerValue is h.Get for a key that may not be in canonical form.
func headerValue(h http.Header, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
