// Package jsonapi is what the binary's two management JSON APIs, the
// practice admin API (internal/admin) and the federation admin API
// (federation), share at their HTTP edge: one error body, one status for
// each domain code, and one way of writing JSON. A script that drives both
// reads their errors the same way.
package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/jsonkind"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Error is the body of every error answer: a message for people and a
// stable code for programs.
type Error struct {
	Message string `json:"error"`
	Code    string `json:"code"`
}

// Codes only the HTTP edges use, beside the domain's.
const (
	CodeUnauthorized     scheduling.Code = "unauthorized" // a missing or wrong bearer token
	CodeMethodNotAllowed scheduling.Code = "method_not_allowed"
	CodeTooLarge         scheduling.Code = "too_large"
	CodeMediaType        scheduling.Code = "unsupported_media_type"
)

// Status maps a code to its HTTP status, once, here.
func Status(c scheduling.Code) int {
	switch c {
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case scheduling.EFORBIDDEN:
		return http.StatusForbidden
	case scheduling.ENOTFOUND:
		return http.StatusNotFound
	case scheduling.EPARAM:
		return http.StatusBadRequest
	case scheduling.EINVALID, scheduling.ENHSNUMBER, scheduling.EDEMOGRAPHICS:
		return http.StatusUnprocessableEntity
	case scheduling.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case scheduling.ECONFLICT, scheduling.ESTALE, scheduling.EDUPLICATE:
		return http.StatusConflict
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeMediaType:
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// Write sends v as indented JSON. The error is the connection's; the caller
// may log it.
func Write(w http.ResponseWriter, status int, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(Error{Message: "An internal error occurred.", Code: string(scheduling.EINTERNAL)})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteError sends err as an Error body with the status of its code; only
// a scheduling.Error's message is shown, anything else is "internal". It
// returns the status sent, so the caller can log what was a 500.
func WriteError(w http.ResponseWriter, err error) int {
	code := scheduling.ErrorCode(err)
	status := Status(code)
	Write(w, status, Error{Message: scheduling.ErrorMessage(err), Code: string(code)})
	return status
}

// MethodNotAllowed answers 405 with the Allow header listing allowed, sorted.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allowed []string) {
	allowed = slices.Sorted(slices.Values(allowed))
	allow := strings.Join(allowed, ", ")
	w.Header().Set("Allow", allow)
	WriteError(w, scheduling.Errorf(CodeMethodNotAllowed, "method %s is not allowed here (allowed: %s)", r.Method, allow))
}

// Decode reads one JSON value of at most max bytes into v, refusing unknown
// fields and trailing data: 415 unless the Content-Type is application/json
// (or, when typeOptional, absent), 413 past max, 400 for anything that is
// not one such value.
func Decode(r *http.Request, v any, max int64, typeOptional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" || !typeOptional {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return scheduling.Errorf(CodeMediaType, "send the body as Content-Type: application/json")
		}
	}
	tooLarge := scheduling.Errorf(CodeTooLarge, "the body is larger than %d bytes", max)
	if r.ContentLength > max {
		// Said at once, whatever the body holds, rather than after reading it.
		return tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return tooLarge
		}
		return scheduling.Errorf(scheduling.EPARAM, "the body could not be read")
	}
	// What encoding/json would quietly make U+FFFD is refused, so that what
	// is stored and audited is what was sent.
	if err := fhir.CheckJSONText(body); err != nil {
		return scheduling.Errorf(scheduling.EPARAM, "the JSON body %s", strings.TrimPrefix(err.Error(), "fhir: the body "))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return scheduling.Errorf(scheduling.EPARAM, "a JSON body is required")
		}
		return scheduling.Errorf(scheduling.EPARAM, "bad JSON body: %s", decodeProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return scheduling.Errorf(scheduling.EPARAM, "bad JSON body: data after the JSON value")
	}
	// encoding/json kept the last of a repeated name: a PATCH naming a
	// field twice would change it to a value the sender may not have meant.
	if name, path, found := jsonkind.DuplicateKey(body); found {
		where := ""
		if path != "" {
			where = " in " + clipText(path, 60)
		}
		return scheduling.Errorf(scheduling.EPARAM, "bad JSON body: %q is given twice%s", clipText(name, 60), where)
	}
	return nil
}

// decodeProblem words a decoding error for the caller: encoding/json's own
// text names Go types and struct fields ("into Go struct field
// ProfileInput.cap of type int"), which mean nothing to an API user and
// show how the server is built.
func decodeProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		want := jsonkind.Of(typeErr.Type)
		if typeErr.Field == "" {
			return "the body must be " + want
		}
		return fmt.Sprintf("%s must be %s", clipText(typeErr.Field, 60), want)
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	// A field's own decoder can quote the body: keep it short.
	return clipText(msg, 200)
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
