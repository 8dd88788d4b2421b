package provider

import (
	"net/http"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// capability describes what this server implements, and nothing it does not.
func (s *Server) capability(practice *scheduling.Organisation) *fhir.CapabilityStatement {
	t := true
	f := false
	status := string(s.filtering(practice))
	read := []fhir.CapabilityInteraction{{Code: "read"}}
	readSearch := []fhir.CapabilityInteraction{{Code: "read"}, {Code: "search-type"}}
	ident := func(doc string) []fhir.CapabilitySearchParam {
		return []fhir.CapabilitySearchParam{{Name: "identifier", Type: "token", Documentation: doc}}
	}
	filteringExt := []fhir.Extension{{URL: gpconnect.ExtServiceFilteringState, ValueCode: &status}}
	profiles := []gpconnect.Profile{gpconnect.ProfileAppointment, gpconnect.ProfileSlot, gpconnect.ProfileSchedule, gpconnect.ProfilePatient,
		gpconnect.ProfilePractitioner, gpconnect.ProfilePractitionerRole, gpconnect.ProfileOrganization, gpconnect.ProfileLocation,
		gpconnect.ProfileHealthcareService, gpconnect.ProfileOperationOutcome, gpconnect.ProfileSearchsetBundle}
	cs := &fhir.CapabilityStatement{ResourceType: "CapabilityStatement",
		Extension: filteringExt,
		Version:   gpconnect.SpecVersion, Name: "GP Connect", Status: "active", Date: s.cfg.ReleaseDate, Publisher: "Slotbridge",
		Contact:     []fhir.ContactDetail{{Name: "Slotbridge maintainers"}},
		Description: "This server implements the GP Connect API version " + gpconnect.SpecVersion + " (Appointment Management and Foundations) for " + practice.Name,
		Kind:        "capability",
		Software:    &fhir.CapabilitySoftware{Name: s.cfg.Software, Version: s.cfg.Version, ReleaseDate: s.cfg.ReleaseDate},
		FHIRVersion: gpconnect.FHIRVersion, AcceptUnknown: "both", Format: []string{gpconnect.MediaJSON, gpconnect.MediaXML}}
	for _, p := range profiles {
		cs.Profile = append(cs.Profile, fhir.Reference{Reference: string(p)})
	}
	// The spec's Foundations template (12.1) also names Access Record
	// Structured's profiles and operation, and the test pack checks this
	// endpoint for them, though that capability is served (elsewhere) by
	// no part of Slotbridge.
	for _, p := range structuredProfiles {
		cs.Profile = append(cs.Profile, fhir.Reference{Reference: p})
	}
	// The service filtering status goes on the statement and on its rest
	// component: the 1.2.8 Foundations template puts it on rest[0], while
	// the interaction text says "in the CapabilityStatement"; a consumer
	// looking in either place finds it.
	cs.Rest = []fhir.CapabilityRest{{Extension: filteringExt, Mode: "server", Security: &fhir.CapabilitySecurity{CORS: &t},
		Resource: []fhir.CapabilityResource{
			{Type: "Patient", Interaction: readSearch, SearchParam: ident("NHS number (e.g. https://fhir.nhs.uk/Id/nhs-number|123456789)")},
			{Type: "Organization", Interaction: readSearch, SearchParam: ident("ODS code (e.g. https://fhir.nhs.uk/Id/ods-organization-code|Y12345)")},
			{Type: "HealthcareService", Interaction: readSearch, SearchParam: ident("DOS service ID (e.g. https://fhir.nhs.uk/Id/uec-dos-service-id|100000123)")},
			{Type: "Practitioner", Interaction: readSearch, SearchParam: ident("SDS user ID (i.e. https://fhir.nhs.uk/Id/sds-user-id|999999)")},
			{Type: "Location", Interaction: read},
			{Type: "Appointment", Interaction: []fhir.CapabilityInteraction{{Code: "read"}, {Code: "create"}, {Code: "update"}, {Code: "search-type"}},
				UpdateCreate: &f, SearchParam: []fhir.CapabilitySearchParam{{Name: "start", Type: "date"}}},
			{Type: "Slot", Interaction: []fhir.CapabilityInteraction{{Code: "search-type"}},
				SearchInclude: []string{"Schedule:actor:Location", "Schedule:actor:Practitioner", "Schedule:actor:HealthcareService", "Slot:schedule", "Location:managingOrganization"},
				SearchParam: []fhir.CapabilitySearchParam{{Name: "start", Type: "date"}, {Name: "end", Type: "date"}, {Name: "status", Type: "token"},
					{Name: "searchFilter", Type: "token"},
					{Name: "service.identifier", Type: "token", Definition: string(gpconnect.ProfileServiceIdentifier),
						Documentation: "UEC DOS service ID (i.e. https://fhir.nhs.uk/Id/uec-dos-service-id|1000123)"}}},
		},
		Operation: []fhir.CapabilityOperation{{Name: "gpc.registerpatient", Definition: fhir.Reference{Reference: string(gpconnect.ProfileRegisterPatientOp)}},
			{Name: "gpc.getstructuredrecord", Definition: fhir.Reference{Reference: string(gpconnect.ProfileGetStructuredOp)}}},
	}}
	return cs
}

// structuredProfiles are the Access Record Structured profiles the 12.1
// template lists.
var structuredProfiles = []string{
	"https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-AllergyIntolerance-1",
	"https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Medication-1",
	"https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-MedicationStatement-1",
	"https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-MedicationRequest-1",
	"https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-List-1",
	"https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-StructuredRecord-Bundle-1",
}

func (s *Server) metadata(rq *request) error {
	s.write(rq, http.StatusOK, s.capability(rq.practice))
	return nil
}
