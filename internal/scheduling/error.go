// Package scheduling is the appointments domain: practices, sessions,
// slots, access profiles, appointments and patients, and the service
// interfaces the edges call. It imports only the standard library.
package scheduling

import (
	"errors"
	"fmt"
)

// Code classifies a domain error; the provider maps each code to an HTTP
// status and a Spine code once, at the edge.
type Code string

// Error codes.
const (
	ENOTFOUND     Code = "not_found"     // the thing asked for does not exist (or is out of scope)
	EINVALID      Code = "invalid"       // a resource or request breaks a rule
	EPARAM        Code = "invalid_param" // a query parameter is wrong
	ECONFLICT     Code = "conflict"      // the slot is no longer free or would duplicate
	ESTALE        Code = "stale"         // If-Match names an old version
	EDUPLICATE    Code = "duplicate"     // patient already registered
	EFORBIDDEN    Code = "forbidden"     // switched off or refused by the practice
	EDEMOGRAPHICS Code = "demographics"  // PDS trace or verification failed
	ENHSNUMBER    Code = "nhs_number"    // NHS number malformed, invalid or superseded
	EUNAVAILABLE  Code = "unavailable"   // the database cannot take the request now (full, read-only, unreachable)
	EINTERNAL     Code = "internal"      // anything unexpected
)

// Error is the one application error type.
type Error struct {
	Code    Code
	Message string
	// Kind refines ENOTFOUND ("patient", "organisation", "practitioner", ...).
	Kind string
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound builds an ENOTFOUND error for a kind of thing.
func NotFound(kind, format string, args ...any) *Error {
	return &Error{Code: ENOTFOUND, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, or EINTERNAL if it is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err when it is safe to show, else a generic one.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "An internal error occurred."
}
