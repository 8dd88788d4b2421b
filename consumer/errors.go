package consumer

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// Kinds of failure that are not a provider's OperationOutcome. Test for them
// with errors.Is; the error itself is a *TransportError or a *ProtocolError.
var (
	// ErrTransport: the request never got an HTTP response (DNS, connect, TLS, reset).
	ErrTransport = errors.New("consumer: transport failure")
	// ErrTimeout: the caller's context deadline (or Config.Timeout) passed first.
	ErrTimeout = errors.New("consumer: timed out")
	// ErrCanceled: the caller's context was canceled.
	ErrCanceled = errors.New("consumer: canceled")
	// ErrContentType: a success response that is not application/fhir+json.
	ErrContentType = errors.New("consumer: unexpected content type")
	// ErrMalformedBody: a success response whose body is not the FHIR JSON expected.
	ErrMalformedBody = errors.New("consumer: malformed response body")
	// ErrTooLarge: the response body is larger than Config.MaxBody.
	ErrTooLarge = errors.New("consumer: response body too large")
	// ErrUnexpectedStatus: a 1xx/2xx/3xx status the interaction does not define.
	ErrUnexpectedStatus = errors.New("consumer: unexpected HTTP status")
)

// Error is a provider (or SSP) refusal: an HTTP status of 400 or more, with
// the OperationOutcome when the body held one.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the Spine-ErrorOrWarningCode-1 code of the first issue ("" when
	// the outcome carries no Spine coding, e.g. an SSP error or a bare 502).
	Code gpconnect.SpineCode
	// IssueType is issue[0].code (invalid, not-found, ...).
	IssueType string
	// Diagnostics is issue[0].diagnostics, for support staff rather than end users.
	Diagnostics string
	// Detail is issue[0].details.coding[0], whatever its system (SSP errors use
	// http://fhir.nhs.net/ValueSet/gpconnect-schedule-response-code-1-0).
	Detail fhir.Coding
	// Outcome is the decoded OperationOutcome, nil if the body was not one.
	Outcome *fhir.OperationOutcome
	// BodyProblem says why Outcome is nil ("" when it is not).
	BodyProblem string
	// Interaction and TraceID identify the request that failed.
	Interaction gpconnect.InteractionID
	TraceID     string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gpconnect: HTTP %d", e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	} else if e.Detail.Code != "" {
		fmt.Fprintf(&b, " %s", e.Detail.Code)
	}
	if e.Diagnostics != "" {
		fmt.Fprintf(&b, ": %s", clip(e.Diagnostics, 300))
	} else if e.BodyProblem != "" {
		fmt.Fprintf(&b, " (%s)", e.BodyProblem)
	}
	return b.String()
}

// HasCode reports whether the error carries Spine code c. ACCESS_DENIED and
// ACCESS DENIED are the same code (spec §9.2: consumers accept both).
func (e *Error) HasCode(c gpconnect.SpineCode) bool {
	norm := func(s gpconnect.SpineCode) string { return strings.ReplaceAll(string(s), " ", "_") }
	return e.Code != "" && norm(e.Code) == norm(c)
}

// BadReference reports whether the error is the 422 a provider gives for a
// missing or malformed reference; both codes are in use (spec §10.21).
func (e *Error) BadReference() bool {
	return e.Status == 422 && (e.Code == gpconnect.InvalidResource || e.Code == gpconnect.ReferenceNotFound)
}

// AsError returns the *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// TransportError is a request that got no HTTP response.
type TransportError struct {
	// Kind is ErrTransport, ErrTimeout or ErrCanceled.
	Kind error
	// URL is the address called (without the query).
	URL string
	// Err is the underlying error from net/http.
	Err error
}

// Error implements error.
func (e *TransportError) Error() string { return fmt.Sprintf("%v: %s: %v", e.Kind, e.URL, e.Err) }

// Unwrap exposes the net/http error.
func (e *TransportError) Unwrap() error { return e.Err }

// Is matches the Kind sentinel.
func (e *TransportError) Is(target error) bool { return target == e.Kind }

// ProtocolError is a response that arrived but cannot be used: wrong content
// type, garbage or oversized body, wrong resource type, or a status the
// interaction does not define.
type ProtocolError struct {
	// Kind is ErrContentType, ErrMalformedBody, ErrTooLarge or ErrUnexpectedStatus.
	Kind error
	// Status and ContentType are from the response.
	Status      int
	ContentType string
	// Detail says what was wrong.
	Detail string
	// Snippet is the start of the body, for logs.
	Snippet string
}

// Error implements error.
func (e *ProtocolError) Error() string {
	return fmt.Sprintf("%v: HTTP %d, Content-Type %q: %s", e.Kind, e.Status, e.ContentType, e.Detail)
}

// Is matches the Kind sentinel.
func (e *ProtocolError) Is(target error) bool { return target == e.Kind }

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// MaxOutcomeBody bounds an error answer that is decoded for its Spine code
// when it did not come as FHIR JSON: an OperationOutcome is a few hundred
// bytes, and decoding megabytes of a practice's error page on every search
// would cost the hub seconds of CPU.
const MaxOutcomeBody = 64 << 10

// DecodeOutcome decodes an OperationOutcome that did not come labelled as
// FHIR JSON: FHIR XML, or JSON under another content type. Anything else,
// including other resources and bodies over MaxOutcomeBody, is nil.
func DecodeOutcome(body []byte) *fhir.OperationOutcome {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || len(b) > MaxOutcomeBody {
		return nil
	}
	var r fhir.Resource
	var err error
	switch b[0] {
	case '<':
		r, err = fhir.DecodeXML(b, "OperationOutcome") // refuses another root before decoding it
	case '{':
		r, err = fhir.UnmarshalResource(b)
	default:
		return nil
	}
	if oo, ok := r.(*fhir.OperationOutcome); ok && err == nil {
		return oo
	}
	return nil
}

// outcomeError builds the *Error for a response of status >= 400.
func outcomeError(resp *Response) *Error {
	e := &Error{Status: resp.Status, Interaction: resp.Interaction, TraceID: resp.TraceID}
	oo, ok := resp.Resource.(*fhir.OperationOutcome)
	if !ok && !isJSON(resp.Header.Get("Content-Type")) {
		// Only the error's Spine code is wanted here, and a provider or
		// proxy may send its OperationOutcome as XML or mislabelled: take it
		// in either encoding before calling the body foreign.
		if oo = DecodeOutcome(resp.Body); oo == nil {
			e.BodyProblem = "body is not FHIR JSON (Content-Type " + fmt.Sprintf("%q", resp.Header.Get("Content-Type")) + ")"
			return e
		}
		ok = true
	}
	if !ok {
		if resp.DecodeErr != nil {
			e.BodyProblem = "body is not a FHIR resource: " + clip(resp.DecodeErr.Error(), 120)
		} else if resp.Resource != nil {
			e.BodyProblem = "body is a " + resp.Resource.GetResourceType() + ", not an OperationOutcome"
		} else {
			e.BodyProblem = "empty body"
		}
		return e
	}
	e.Outcome = oo
	if len(oo.Issue) > 0 {
		is := oo.Issue[0]
		e.IssueType, e.Diagnostics = is.Code, is.Diagnostics
		if is.Details != nil && len(is.Details.Coding) > 0 {
			e.Detail = is.Details.Coding[0]
			for _, c := range is.Details.Coding {
				if gpconnect.IsSpineSystem(c.System) && gpconnect.PlausibleSpineCode(c.Code) {
					e.Code = gpconnect.ReadSpineCode(c.Code)
					break
				}
			}
		}
	}
	return e
}
