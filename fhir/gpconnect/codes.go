package gpconnect

import "strings"

// SpineCode is a code of the Spine-ErrorOrWarningCode-1 code system.
type SpineCode string

// Spine codes GP Connect uses (spec §9.2).
const (
	BadRequest                 SpineCode = "BAD_REQUEST"
	InvalidIdentifierSystem    SpineCode = "INVALID_IDENTIFIER_SYSTEM"
	InvalidIdentifierValue     SpineCode = "INVALID_IDENTIFIER_VALUE"
	InvalidNHSNumber           SpineCode = "INVALID_NHS_NUMBER"
	InvalidPatientDemographics SpineCode = "INVALID_PATIENT_DEMOGRAPHICS"
	AccessDenied               SpineCode = "ACCESS_DENIED"
	PatientNotFound            SpineCode = "PATIENT_NOT_FOUND"
	OrganisationNotFound       SpineCode = "ORGANISATION_NOT_FOUND"
	PractitionerNotFound       SpineCode = "PRACTITIONER_NOT_FOUND"
	NoRecordFound              SpineCode = "NO_RECORD_FOUND"
	DuplicateRejected          SpineCode = "DUPLICATE_REJECTED"
	ConstraintViolation        SpineCode = "FHIR_CONSTRAINT_VIOLATION"
	InvalidResource            SpineCode = "INVALID_RESOURCE"
	InvalidParameter           SpineCode = "INVALID_PARAMETER"
	ReferenceNotFound          SpineCode = "REFERENCE_NOT_FOUND"
	UnsupportedMediaType       SpineCode = "UNSUPPORTED_MEDIA_TYPE"
	InternalServerError        SpineCode = "INTERNAL_SERVER_ERROR"
	NotImplemented             SpineCode = "NOT_IMPLEMENTED"
)

type spineInfo struct {
	status    int
	issueType string
	display   string
}

var spineInfos = map[SpineCode]spineInfo{
	BadRequest:                 {400, "invalid", "Bad request"},
	InvalidIdentifierSystem:    {400, "value", "Invalid identifier system"},
	InvalidIdentifierValue:     {400, "value", "Invalid identifier value"},
	InvalidNHSNumber:           {400, "value", "Invalid NHS number"},
	InvalidPatientDemographics: {400, "business-rule", "Invalid patient demographics"},
	AccessDenied:               {403, "forbidden", "Access has been denied to process this request"},
	PatientNotFound:            {404, "not-found", "Patient not found"},
	OrganisationNotFound:       {404, "not-found", "Organisation not found"},
	PractitionerNotFound:       {404, "not-found", "Practitioner not found"},
	NoRecordFound:              {404, "not-found", "No record found"},
	DuplicateRejected:          {409, "duplicate", "Create would lead to creation of a duplicate resource"},
	ConstraintViolation:        {409, "conflict", "FHIR constraint violated"},
	InvalidResource:            {422, "invalid", "Invalid validation of resource"},
	InvalidParameter:           {422, "invalid", "Invalid parameter"},
	ReferenceNotFound:          {422, "invalid", "Reference not found"},
	UnsupportedMediaType:       {415, "not-supported", "Unsupported media type"},
	InternalServerError:        {500, "processing", "Unexpected internal server error"},
	NotImplemented:             {501, "not-supported", "Not implemented"},
}

// HTTPStatus is the HTTP status GP Connect pairs with the code.
func (c SpineCode) HTTPStatus() int {
	if i, ok := spineInfos[c]; ok {
		return i.status
	}
	return 500
}

// IssueType is the FHIR issue-type code GP Connect pairs with the code.
func (c SpineCode) IssueType() string {
	if i, ok := spineInfos[c]; ok {
		return i.issueType
	}
	return "processing"
}

// Display is the code-system display text of the code.
func (c SpineCode) Display() string {
	if i, ok := spineInfos[c]; ok {
		return i.display
	}
	return string(c)
}

// Known reports whether c is a code this package describes.
func (c SpineCode) Known() bool { _, ok := spineInfos[c]; return ok }

// ReadSpineCode reads a code as a provider sent it. The code system spells
// ACCESS_DENIED with a space ("ACCESS DENIED") where the 1.2.8 pages use the
// underscore, and consumers accept both (spec §9.2, §13), so the space form
// reads as AccessDenied. Any other code is kept as sent.
func ReadSpineCode(s string) SpineCode {
	if s == "ACCESS DENIED" {
		return AccessDenied
	}
	return SpineCode(s)
}

// IsSpineSystem reports whether a coding's system is the Spine error code
// system: the CodeSystem URL, or any URL ending in its name (providers have
// sent the ValueSet URL of the page examples, spec §10).
func IsSpineSystem(system string) bool {
	return system == SystemSpineError || strings.HasSuffix(system, "/Spine-ErrorOrWarningCode-1")
}

// PlausibleSpineCode reports whether a code a provider sent can be a Spine
// code (1 to 64 capitals, underscores or spaces): anything else is not
// carried on as a reason, since it would be repeated in the hub's answers.
func PlausibleSpineCode(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && c != '_' && c != ' ' {
			return false
		}
	}
	return true
}
