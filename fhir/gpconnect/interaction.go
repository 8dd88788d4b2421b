package gpconnect

import "strings"

// InteractionID is an Ssp-InteractionID URN.
type InteractionID string

const idPrefix = "urn:nhs:names:services:gpconnect:fhir:"

// Interaction IDs of Appointment Management and Foundations (spec §4).
const (
	ReadMetadata             InteractionID = idPrefix + "rest:read:metadata-1"
	SearchPatient            InteractionID = idPrefix + "rest:search:patient-1"
	ReadPatient              InteractionID = idPrefix + "rest:read:patient-1"
	RegisterPatient          InteractionID = idPrefix + "operation:gpc.registerpatient-1"
	SearchPractitioner       InteractionID = idPrefix + "rest:search:practitioner-1"
	ReadPractitioner         InteractionID = idPrefix + "rest:read:practitioner-1"
	SearchOrganization       InteractionID = idPrefix + "rest:search:organization-1"
	ReadOrganization         InteractionID = idPrefix + "rest:read:organization-1"
	SearchHealthcareService  InteractionID = idPrefix + "rest:search:healthcareservice-1"
	ReadHealthcareService    InteractionID = idPrefix + "rest:read:healthcareservice-1"
	ReadLocation             InteractionID = idPrefix + "rest:read:location-1"
	SearchSlot               InteractionID = idPrefix + "rest:search:slot-1"
	CreateAppointment        InteractionID = idPrefix + "rest:create:appointment-1"
	ReadAppointment          InteractionID = idPrefix + "rest:read:appointment-1"
	UpdateAppointment        InteractionID = idPrefix + "rest:update:appointment-1"
	CancelAppointment        InteractionID = idPrefix + "rest:cancel:appointment-1"
	SearchPatientAppointment InteractionID = idPrefix + "rest:search:patient_appointments-1"
)

// InteractionInfo describes one interaction: its scope and a short name.
type InteractionInfo struct {
	ID    InteractionID
	Short string
	Scope Scope
}

// Interactions lists every interaction this server knows, in spec order.
var Interactions = []InteractionInfo{
	{ReadMetadata, "metadata", ScopeOrgRead},
	{SearchPatient, "patient.search", ScopePatientRead},
	{ReadPatient, "patient.read", ScopePatientRead},
	{RegisterPatient, "patient.register", ScopePatientWrite},
	{SearchPractitioner, "practitioner.search", ScopeOrgRead},
	{ReadPractitioner, "practitioner.read", ScopeOrgRead},
	{SearchOrganization, "organization.search", ScopeOrgRead},
	{ReadOrganization, "organization.read", ScopeOrgRead},
	{SearchHealthcareService, "healthcareservice.search", ScopeOrgRead},
	{ReadHealthcareService, "healthcareservice.read", ScopeOrgRead},
	{ReadLocation, "location.read", ScopeOrgRead},
	{SearchSlot, "slot.search", ScopeOrgRead},
	{CreateAppointment, "appointment.book", ScopePatientWrite},
	{ReadAppointment, "appointment.read", ScopePatientRead},
	{UpdateAppointment, "appointment.amend", ScopePatientWrite},
	{CancelAppointment, "appointment.cancel", ScopePatientWrite},
	{SearchPatientAppointment, "appointment.retrieve", ScopePatientRead},
}

// LookupInteraction finds an interaction by full URN or short name.
func LookupInteraction(s string) (InteractionInfo, bool) {
	s = strings.TrimSpace(s)
	for _, in := range Interactions {
		if string(in.ID) == s || strings.EqualFold(in.Short, s) {
			return in, true
		}
	}
	return InteractionInfo{}, false
}

// Known reports whether id is an interaction this server knows.
func (id InteractionID) Known() bool {
	for _, in := range Interactions {
		if in.ID == id {
			return true
		}
	}
	return false
}

// Scope is the requested_scope the interaction requires ("" if unknown).
func (id InteractionID) Scope() Scope {
	for _, in := range Interactions {
		if in.ID == id {
			return in.Scope
		}
	}
	return ""
}
