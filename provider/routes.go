package provider

import (
	"net/http"
	"strings"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// route is one FHIR path shape and what each verb on it means.
type route struct {
	// verbs maps an HTTP method to the interactions it may carry (amend and
	// cancel share PUT /Appointment/{id}).
	verbs map[string][]gpconnect.InteractionID
}

// match is a resolved request path.
type match struct {
	route *route
	id    string // the {id} segment, if any
}

var (
	rMetadata    = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.ReadMetadata}}}
	rPatient     = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.SearchPatient}}}
	rPatientID   = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.ReadPatient}}}
	rRegister    = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodPost: {gpconnect.RegisterPatient}}}
	rPatientAppt = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.SearchPatientAppointment}}}
	rPrac        = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.SearchPractitioner}}}
	rPracID      = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.ReadPractitioner}}}
	rOrg         = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.SearchOrganization}}}
	rOrgID       = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.ReadOrganization}}}
	rHCS         = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.SearchHealthcareService}}}
	rHCSID       = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.ReadHealthcareService}}}
	rLocationID  = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.ReadLocation}}}
	rSlot        = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodGet: {gpconnect.SearchSlot}}}
	rAppt        = &route{verbs: map[string][]gpconnect.InteractionID{http.MethodPost: {gpconnect.CreateAppointment}}}
	rApptID      = &route{verbs: map[string][]gpconnect.InteractionID{
		http.MethodGet: {gpconnect.ReadAppointment},
		http.MethodPut: {gpconnect.UpdateAppointment, gpconnect.CancelAppointment},
	}}
)

// resolve maps the path below the service root (no leading slash) to a route.
// Paths and ids are case-sensitive.
func resolve(p string) (match, bool) {
	segs := strings.Split(p, "/")
	switch len(segs) {
	case 1:
		switch segs[0] {
		case "metadata":
			return match{route: rMetadata}, true
		case "Patient":
			return match{route: rPatient}, true
		case "Practitioner":
			return match{route: rPrac}, true
		case "Organization":
			return match{route: rOrg}, true
		case "HealthcareService":
			return match{route: rHCS}, true
		case "Slot":
			return match{route: rSlot}, true
		case "Appointment":
			return match{route: rAppt}, true
		}
	case 2:
		id := segs[1]
		if id == "" {
			// A read with no id: the HealthcareService read answers 400 (test
			// pack HealthcareRead); elsewhere the path is unknown.
			if segs[0] == "HealthcareService" {
				return match{route: rHCSID}, true
			}
			return match{}, false
		}
		switch segs[0] {
		case "Patient":
			// An operation may arrive with its $ percent-encoded; any other
			// operation name (a typo included) is an unknown path, not a read.
			if op, ok := operationName(id); ok {
				if op == "gpc.registerpatient" {
					return match{route: rRegister}, true
				}
				return match{}, false
			}
			return match{route: rPatientID, id: id}, true
		case "Practitioner":
			return match{route: rPracID, id: id}, true
		case "Organization":
			return match{route: rOrgID, id: id}, true
		case "HealthcareService":
			return match{route: rHCSID, id: id}, true
		case "Location":
			return match{route: rLocationID, id: id}, true
		case "Appointment":
			return match{route: rApptID, id: id}, true
		}
	case 3:
		if segs[0] == "Patient" && segs[2] == "Appointment" && segs[1] != "" {
			return match{route: rPatientAppt, id: segs[1]}, true
		}
	}
	return match{}, false
}

// operationName returns the name of an operation path segment ("$name",
// or "%24name" as a raw path may carry it).
func operationName(seg string) (string, bool) {
	if name, ok := strings.CutPrefix(seg, "$"); ok {
		return name, true
	}
	if len(seg) >= 3 && strings.EqualFold(seg[:3], "%24") {
		return seg[3:], true
	}
	return "", false
}
