package provider

import (
	"errors"
	"fmt"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// apiError is an error already decided at the edge: a Spine code, an HTTP
// status (0 = the code's usual one) and the diagnostics shown to the consumer.
type apiError struct {
	code   gpconnect.SpineCode
	status int
	msg    string
}

func (e *apiError) Error() string { return fmt.Sprintf("%s: %s", e.code, e.msg) }

func fail(code gpconnect.SpineCode, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

func failStatus(status int, code gpconnect.SpineCode, format string, args ...any) error {
	return &apiError{code: code, status: status, msg: fmt.Sprintf(format, args...)}
}

// notFoundCodes maps domain not-found kinds to the Spine code the spec wants.
var notFoundCodes = map[string]gpconnect.SpineCode{
	"patient":      gpconnect.PatientNotFound,
	"organisation": gpconnect.OrganisationNotFound,
	"practitioner": gpconnect.PractitionerNotFound,
}

// classify maps any error to (HTTP status, Spine code, diagnostics, internal).
// It is the one place where domain and auth errors meet the wire.
func classify(err error) (int, gpconnect.SpineCode, string, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		st := ae.status
		if st == 0 {
			st = ae.code.HTTPStatus()
		}
		return st, ae.code, ae.msg, false
	}
	var je *auth.Error
	if errors.As(err, &je) {
		return je.Code.HTTPStatus(), je.Code, je.Message, false
	}
	var de *scheduling.Error
	if errors.As(err, &de) {
		var code gpconnect.SpineCode
		switch de.Code {
		case scheduling.ENOTFOUND:
			code = gpconnect.NoRecordFound
			if c, ok := notFoundCodes[de.Kind]; ok {
				code = c
			}
		case scheduling.EINVALID:
			code = gpconnect.InvalidResource
		case scheduling.EPARAM:
			code = gpconnect.InvalidParameter
		case scheduling.ECONFLICT, scheduling.EDUPLICATE:
			code = gpconnect.DuplicateRejected
		case scheduling.ESTALE:
			code = gpconnect.ConstraintViolation
		case scheduling.EFORBIDDEN:
			code = gpconnect.AccessDenied
		case scheduling.EDEMOGRAPHICS:
			code = gpconnect.InvalidPatientDemographics
		case scheduling.ENHSNUMBER:
			code = gpconnect.InvalidNHSNumber
		case scheduling.EUNAVAILABLE:
			// A 500 as GP Connect pairs it with INTERNAL_SERVER_ERROR, but with
			// a message that says what is wrong (and names nothing internal);
			// the cause is logged in full.
			return 500, gpconnect.InternalServerError, de.Message, true
		default:
			return 500, gpconnect.InternalServerError, "An internal error occurred.", true
		}
		return code.HTTPStatus(), code, de.Message, false
	}
	return 500, gpconnect.InternalServerError, "An internal error occurred.", true
}
