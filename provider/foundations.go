package provider

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/fhirmap"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func init() {
	handlers[gpconnect.ReadMetadata] = (*Server).metadata
	handlers[gpconnect.SearchPatient] = (*Server).findPatient
	handlers[gpconnect.ReadPatient] = (*Server).readPatient
	handlers[gpconnect.SearchOrganization] = (*Server).findOrganization
	handlers[gpconnect.ReadOrganization] = (*Server).readOrganization
	handlers[gpconnect.SearchPractitioner] = (*Server).findPractitioner
	handlers[gpconnect.ReadPractitioner] = (*Server).readPractitioner
	handlers[gpconnect.ReadLocation] = (*Server).readLocation
	handlers[gpconnect.SearchHealthcareService] = (*Server).findHealthcareService
	handlers[gpconnect.ReadHealthcareService] = (*Server).readHealthcareService
}

// identifierParam reads the single `identifier=system|value` search parameter
// with the error rules of spec §4 notes.
func identifierParam(rq *request) (system, value string, err error) {
	q := rq.query()
	for k := range q {
		if k != "identifier" && strings.EqualFold(k, "identifier") {
			return "", "", fail(gpconnect.BadRequest, "Search parameter %q is not recognised (parameter names are case-sensitive)", k)
		}
	}
	vs := q["identifier"]
	switch {
	case len(vs) == 0:
		for k := range q {
			if strings.HasPrefix(k, "identifier:") {
				return "", "", fail(gpconnect.BadRequest, "The identifier search parameter is required; modifiers such as %q are not supported", clip(k, 40))
			}
		}
		return "", "", fail(gpconnect.BadRequest, "The identifier search parameter is required")
	case len(vs) > 1:
		return "", "", fail(gpconnect.BadRequest, "The identifier search parameter may be given only once")
	}
	system, value, ok := strings.Cut(vs[0], "|")
	if !ok || strings.TrimSpace(system) == "" || strings.TrimSpace(value) == "" {
		return "", "", fail(gpconnect.InvalidParameter, "The identifier parameter must be system|value with both parts present")
	}
	return system, value, nil
}

// logicalID parses a numeric logical id; anything else is simply not found.
func logicalID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == s
}

func (s *Server) findPatient(rq *request) error {
	system, value, err := identifierParam(rq)
	if err != nil {
		return err
	}
	if system != gpconnect.SystemNHSNumber {
		return fail(gpconnect.InvalidIdentifierSystem, "Only the NHS number system %s is supported", gpconnect.SystemNHSNumber)
	}
	if !scheduling.ValidNHSNumber(value) {
		return fail(gpconnect.InvalidNHSNumber, "The NHS number is not a valid 10-digit NHS number")
	}
	b := fhir.NewSearchset()
	p, err := s.store.PatientByNHSNumber(rq.c.Request.Context(), rq.practice.ID, value)
	switch {
	case err == nil && p.Findable():
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: fhirmap.Patient(p, rq.practice.ID)})
		rq.noteResource("Patient", strconv.FormatInt(p.ID, 10))
	case err != nil && scheduling.ErrorCode(err) != scheduling.ENOTFOUND:
		return err
	}
	s.write(rq, http.StatusOK, b)
	return nil
}

// patientNotFound is the one answer for a patient id that names no patient,
// names one this practice does not hold, or names one it holds but hides
// (sensitive, deceased, inactive): the words must not tell them apart.
func patientNotFound(id string) error {
	return fail(gpconnect.PatientNotFound, "No patient with id %q", clip(id, 64))
}

func (s *Server) readPatient(rq *request) error {
	id, ok := logicalID(rq.id)
	if !ok {
		return patientNotFound(rq.id)
	}
	p, err := s.store.PatientByID(rq.c.Request.Context(), rq.practice.ID, id)
	if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
		return patientNotFound(rq.id)
	}
	if err != nil {
		return err
	}
	if !p.Findable() {
		return patientNotFound(rq.id)
	}
	s.writeVersioned(rq, fhirmap.Patient(p, rq.practice.ID), p.Version)
	return nil
}

func (s *Server) findOrganization(rq *request) error {
	// The test pack's OrganizationSearch refuses a parameter other than
	// identifier and the _-prefixed result parameters (_format, _count,
	// _sort) with 400; the other searches ignore unknown parameters.
	for k := range rq.query() {
		if k != "identifier" && !strings.HasPrefix(k, "_") && !strings.EqualFold(k, "identifier") {
			return fail(gpconnect.BadRequest, "Search parameter %q is not supported on Organization", clip(k, 40))
		}
	}
	system, value, err := identifierParam(rq)
	if err != nil {
		return err
	}
	if system != gpconnect.SystemODSOrganisation && system != gpconnect.SystemODSOrganisationOld {
		return fail(gpconnect.InvalidIdentifierSystem, "Only the ODS organisation code system %s is supported", gpconnect.SystemODSOrganisation)
	}
	b := fhir.NewSearchset()
	o, err := s.store.OrganisationByODS(rq.c.Request.Context(), value)
	switch {
	case err == nil:
		// The one searchset entry with a fullUrl: spec 1.2.3 says not to
		// populate it, but the test pack's OrganizationSearch scenarios
		// assert it is not null (OrganizationSteps "the Organization Full
		// Url should be valid"), and an Organization has a read endpoint,
		// so its absolute URL is real.
		id := strconv.FormatInt(o.ID, 10)
		b.Entry = append(b.Entry, fhir.BundleEntry{FullURL: rq.serviceRoot() + "/Organization/" + id, Resource: fhirmap.Organization(o)})
		rq.noteResource("Organization", id)
	case scheduling.ErrorCode(err) != scheduling.ENOTFOUND:
		return err
	}
	s.write(rq, http.StatusOK, b)
	return nil
}

func (s *Server) readOrganization(rq *request) error {
	id, ok := logicalID(rq.id)
	if !ok {
		return fail(gpconnect.OrganisationNotFound, "No organisation with id %q", clip(rq.id, 64))
	}
	o, err := s.store.OrganisationByID(rq.c.Request.Context(), id)
	if err != nil {
		return err
	}
	s.writeVersioned(rq, fhirmap.Organization(o), o.Version)
	return nil
}

func (s *Server) findPractitioner(rq *request) error {
	system, value, err := identifierParam(rq)
	if err != nil {
		return err
	}
	if system != gpconnect.SystemSDSUser {
		return fail(gpconnect.InvalidIdentifierSystem, "Only the SDS user id system %s is supported", gpconnect.SystemSDSUser)
	}
	ps, err := s.store.PractitionersBySDS(rq.c.Request.Context(), rq.practice.ID, value)
	if err != nil {
		return err
	}
	b := fhir.NewSearchset()
	for _, p := range ps {
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: fhirmap.Practitioner(p)})
		rq.noteResource("Practitioner", strconv.FormatInt(p.ID, 10))
	}
	s.write(rq, http.StatusOK, b)
	return nil
}

func (s *Server) readPractitioner(rq *request) error {
	id, ok := logicalID(rq.id)
	if !ok {
		return fail(gpconnect.PractitionerNotFound, "No practitioner with id %q", clip(rq.id, 64))
	}
	p, err := s.store.PractitionerByID(rq.c.Request.Context(), rq.practice.ID, id)
	if err != nil {
		return err
	}
	s.writeVersioned(rq, fhirmap.Practitioner(p), p.Version)
	return nil
}

func (s *Server) readLocation(rq *request) error {
	id, ok := logicalID(rq.id)
	if !ok {
		return fail(gpconnect.NoRecordFound, "No location with id %q", clip(rq.id, 64))
	}
	l, err := s.store.LocationByID(rq.c.Request.Context(), rq.practice.ID, id)
	if err != nil {
		return err
	}
	s.writeVersioned(rq, fhirmap.Location(l), l.Version)
	return nil
}

// Find a healthcare service (1.2.8): the practice's services, or the one
// with the DOS id the identifier parameter names (optional here, and read as
// the other finds read it). With service filtering off at the practice the
// list counts as empty (spec §5.10): an empty Bundle.
func (s *Server) findHealthcareService(rq *request) error {
	var dosID string
	hasParam := false
	for k := range rq.query() {
		hasParam = hasParam || strings.EqualFold(k, "identifier")
		// identifier is optional here, so a modified one that went unread
		// would return every service to a consumer that asked for one.
		if name, mod, ok := strings.Cut(k, ":"); ok && strings.EqualFold(name, "identifier") {
			return fail(gpconnect.InvalidParameter, "The :%s modifier is not supported on identifier", clip(mod, 40))
		}
	}
	if hasParam {
		system, value, err := identifierParam(rq)
		if err != nil {
			return err
		}
		if system != gpconnect.SystemDOSService {
			return fail(gpconnect.InvalidIdentifierSystem, "Healthcare services are found by DOS service id (%s) only", gpconnect.SystemDOSService)
		}
		dosID = strings.TrimSpace(value) // as the slot search's service.identifier is read
	}
	b := fhir.NewSearchset()
	if s.filtering(rq.practice) == scheduling.FilteringEnabled {
		l, err := s.store.HealthcareServices(rq.c.Request.Context(), rq.practice.ID)
		if err != nil {
			return err
		}
		for i := range l {
			if h := &l[i]; !hasParam || h.DOSID == dosID {
				b.Entry = append(b.Entry, fhir.BundleEntry{Resource: fhirmap.HealthcareService(h)})
				rq.noteResource("HealthcareService", strconv.FormatInt(h.ID, 10))
			}
		}
	}
	s.write(rq, http.StatusOK, b)
	return nil
}

// Read a healthcare service (1.2.8): 404 for an unknown id, and for every id
// while service filtering is off at the practice (spec §5.10).
func (s *Server) readHealthcareService(rq *request) error {
	if rq.id == "" {
		return fail(gpconnect.BadRequest, "A HealthcareService read needs a logical id")
	}
	notFound := fail(gpconnect.NoRecordFound, "No healthcare service with id %q", clip(rq.id, 64))
	id, ok := logicalID(rq.id)
	if !ok || s.filtering(rq.practice) != scheduling.FilteringEnabled {
		return notFound
	}
	h, err := s.store.HealthcareService(rq.c.Request.Context(), rq.practice.ID, id)
	if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
		return notFound
	}
	if err != nil {
		return err
	}
	s.writeVersioned(rq, fhirmap.HealthcareService(h), h.Version)
	return nil
}
