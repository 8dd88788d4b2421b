// Package gpconnect holds the GP Connect 1.2.8 identifiers: profile URLs,
// interaction IDs, Spine error codes, identifier systems and value sets.
package gpconnect

// SpecVersion is the GP Connect specification version this server implements.
const SpecVersion = "1.2.8"

// FHIRVersion is the FHIR release GP Connect 1.x uses (STU3).
const FHIRVersion = "3.0.1"

// Profile is a StructureDefinition (or OperationDefinition) URL.
type Profile string

// Profiles used by the Appointment Management and Foundations capabilities.
const (
	ProfileAppointment       Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"
	ProfileSlot              Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1"
	ProfileSchedule          Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Schedule-1"
	ProfilePatient           Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Patient-1"
	ProfilePractitioner      Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Practitioner-1"
	ProfilePractitionerRole  Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-PractitionerRole-1"
	ProfileOrganization      Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1"
	ProfileLocation          Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Location-1"
	ProfileHealthcareService Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-HealthcareService-1"
	ProfileOperationOutcome  Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1"
	ProfileSearchsetBundle   Profile = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Searchset-Bundle-1"
	ProfileRegisterPatientOp Profile = "https://fhir.nhs.uk/STU3/OperationDefinition/GPConnect-RegisterPatient-Operation-1"
	ProfileGetStructuredOp   Profile = "https://fhir.nhs.uk/STU3/OperationDefinition/GPConnect-GetStructuredRecord-Operation-1/_history/1.12"
	ProfileServiceIdentifier Profile = "https://fhir.nhs.uk/STU3/SearchParameter/GPConnect-Slot-ServiceIdentifier-1"
)

// Extension URLs.
const (
	ExtBookingOrganisation   = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1"
	ExtCancellationReason    = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1"
	ExtDeliveryChannel       = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2"
	ExtDeliveryChannelOld    = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-1"
	ExtPractitionerRole      = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-PractitionerRole-1"
	ExtServiceFilteringState = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-ServiceFilteringStatus-1"
	ExtRegistrationDetails   = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-RegistrationDetails-1"
	ExtNHSCommunication      = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-NHSCommunication-1"
	ExtNHSNumberVerification = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-NHSNumberVerificationStatus-1"
)

// Identifier and code systems.
const (
	SystemNHSNumber          = "https://fhir.nhs.uk/Id/nhs-number"
	SystemODSOrganisation    = "https://fhir.nhs.uk/Id/ods-organization-code"
	SystemODSOrganisationOld = "http://fhir.nhs.net/Id/ods-organization-code"
	SystemODSSite            = "https://fhir.nhs.uk/Id/ods-site-code"
	SystemSDSUser            = "https://fhir.nhs.uk/Id/sds-user-id"
	SystemSDSRoleProfile     = "https://fhir.nhs.uk/Id/sds-role-profile-id"
	SystemDOSService         = "https://fhir.nhs.uk/Id/uec-dos-service-id"
	SystemSpineError         = "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1"
	// SystemSSPResponse codes the Spine Secure Proxy's own refusals (spec §9.4): code is the HTTP status.
	SystemSSPResponse          = "http://fhir.nhs.net/ValueSet/gpconnect-schedule-response-code-1-0"
	SystemOrganisationType     = "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1"
	SystemDeliveryChannel      = "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-DeliveryChannel-1"
	SystemSDSJobRoleName       = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1"
	SystemNHSNumberVerifStatus = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-NHSNumberVerificationStatus-1"
	SystemRegistrationType     = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-RegistrationType-1"
	SystemHumanLanguage        = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-HumanLanguage-1"
)

// Media types.
const (
	MediaJSON = "application/fhir+json"
	MediaXML  = "application/fhir+xml"
)

// Scope is a JWT requested_scope value.
type Scope string

// The four scopes of §3.3.
const (
	ScopePatientRead  Scope = "patient/*.read"
	ScopePatientWrite Scope = "patient/*.write"
	ScopeOrgRead      Scope = "organization/*.read"
	ScopeOrgWrite     Scope = "organization/*.write"
)

// ValidScope reports whether s is one of the four GP Connect scopes.
func ValidScope(s Scope) bool {
	switch s {
	case ScopePatientRead, ScopePatientWrite, ScopeOrgRead, ScopeOrgWrite:
		return true
	}
	return false
}

// SystemOrganisationTypeVS is the ValueSet of the organisation type codes,
// which the NHS provider test pack sends as the system of a booking
// organisation's type.
const SystemOrganisationTypeVS = "https://fhir.nhs.uk/STU3/ValueSet/GPConnect-OrganisationType-1"

// IsOrganisationTypeSystem reports whether system names the organisation type
// codes: the CodeSystem the spec gives or the ValueSet consumers also send.
func IsOrganisationTypeSystem(system string) bool {
	return system == SystemOrganisationType || system == SystemOrganisationTypeVS
}

// IsODSOrganisationSystem reports whether system names ODS organisation codes, in its current or pre-STU3 form.
func IsODSOrganisationSystem(system string) bool {
	return system == SystemODSOrganisation || system == SystemODSOrganisationOld
}

// IsWrite reports whether the scope grants write access.
func (s Scope) IsWrite() bool { return s == ScopePatientWrite || s == ScopeOrgWrite }

// SSP header names.
const (
	HeaderTraceID       = "Ssp-TraceID"
	HeaderFrom          = "Ssp-From"
	HeaderTo            = "Ssp-To"
	HeaderInteractionID = "Ssp-InteractionID"
)
