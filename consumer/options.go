package consumer

import (
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// Option changes one request. Most exist so that a test harness can send a
// deliberately wrong request through the normal code path; WithIfMatch,
// WithPrefer and Capture are for everyday use too.
type Option func(*callOpts)

type headerMod struct {
	key, val string
	del      bool
}

type callOpts struct {
	header      []headerMod
	claims      func(map[string]any)
	tokenHeader func(map[string]any)
	scope       gpconnect.Scope
	interaction gpconnect.InteractionID
	query       [][2]string
	rawQuery    *string
	body        []byte
	capture     *Response
	ifMatch     *string
	// practitioner replaces Config.Practitioner in this request's token.
	practitioner *fhir.Practitioner
}

// WithHeader sets header k to v (an empty v sends an empty header), after
// the client's own headers, so it overrides them (Authorization, Ssp-To, Accept, ...).
func WithHeader(k, v string) Option {
	return func(o *callOpts) { o.header = append(o.header, headerMod{key: k, val: v}) }
}

// WithoutHeader removes header k from the request.
func WithoutHeader(k string) Option {
	return func(o *callOpts) { o.header = append(o.header, headerMod{key: k, del: true}) }
}

// WithClaims edits the JWT payload (decoded as a map, numbers as json.Number)
// before it is re-encoded; the token stays unsigned.
func WithClaims(f func(claims map[string]any)) Option {
	return func(o *callOpts) { o.claims = f }
}

// WithTokenHeader edits the JWT JOSE header ({"alg":"none","typ":"JWT"}).
func WithTokenHeader(f func(h map[string]any)) Option {
	return func(o *callOpts) { o.tokenHeader = f }
}

// WithScope mints the token with this requested_scope instead of the interaction's.
func WithScope(s gpconnect.Scope) Option { return func(o *callOpts) { o.scope = s } }

// WithInteraction sends this Ssp-InteractionID instead of the call's own.
func WithInteraction(id gpconnect.InteractionID) Option {
	return func(o *callOpts) { o.interaction = id }
}

// WithQuery adds a query parameter to the call's own.
func WithQuery(k, v string) Option {
	return func(o *callOpts) { o.query = append(o.query, [2]string{k, v}) }
}

// WithRawQuery replaces the whole query string, sent verbatim (not re-encoded).
func WithRawQuery(q string) Option { return func(o *callOpts) { o.rawQuery = &q } }

// WithBody replaces the request body, sent verbatim.
func WithBody(b []byte) Option { return func(o *callOpts) { o.body = b } }

// WithPractitioner names another logged-on user in this request's token
// (requesting_practitioner and sub), as a hub serving many users must
// (spec §3.2: the logged-on user, never a generic one).
func WithPractitioner(p fhir.Practitioner) Option {
	return func(o *callOpts) { o.practitioner = &p }
}

// WithIfMatch sets If-Match on amend and cancel (e.g. W/"3"); an empty value
// sends none. Without it the client sends the ETag the appointment was read
// with, else W/"{meta.versionId}".
func WithIfMatch(v string) Option { return func(o *callOpts) { o.ifMatch = &v } }

// WithPrefer sets the Prefer header, e.g. "return=minimal".
func WithPrefer(v string) Option { return WithHeader("Prefer", v) }

// Capture copies the raw response (status, headers, body) into r, for callers
// that need more than the typed result (ETag, Cache-Control, gzip, ...).
// It is filled whenever a complete response was read, success or refusal
// (not for transport errors, oversized bodies or broken gzip streams).
func Capture(r *Response) Option { return func(o *callOpts) { o.capture = r } }
