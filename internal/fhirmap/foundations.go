// Package fhirmap is the only place where domain values become FHIR
// resources and FHIR resources become domain values.
package fhirmap

import (
	"strconv"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func id(n int64) string { return strconv.FormatInt(n, 10) }

func meta(version int64, p gpconnect.Profile) *fhir.Meta {
	return &fhir.Meta{VersionID: id(version), Profile: []string{string(p)}}
}

// Ref builds a relative reference such as "Location/3".
func Ref(resourceType string, n int64) fhir.Reference {
	return fhir.Reference{Reference: resourceType + "/" + id(n)}
}

func address(a scheduling.Address) fhir.Address {
	return fhir.Address{Use: a.Use, Line: a.Lines, City: a.City, District: a.District, PostalCode: a.PostalCode, Country: a.Country, Period: endPeriod(a.End)}
}

func endPeriod(end string) *fhir.Period {
	if end == "" {
		return nil
	}
	return &fhir.Period{End: end}
}

func emptyAddress(a scheduling.Address) bool {
	return len(a.Lines) == 0 && a.City == "" && a.PostalCode == "" && a.District == ""
}

// Organization maps an organisation to CareConnect-GPC-Organization-1.
func Organization(o *scheduling.Organisation) *fhir.Organization {
	r := &fhir.Organization{ResourceType: "Organization", ID: id(o.ID), Meta: meta(o.Version, gpconnect.ProfileOrganization),
		Identifier: []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: o.ODS}}, Name: o.Name}
	if o.Phone != "" {
		r.Telecom = []fhir.ContactPoint{{System: "phone", Value: o.Phone, Use: "work"}}
	}
	if !emptyAddress(o.Address) {
		a := address(o.Address)
		if a.Use == "" {
			a.Use = "work"
		}
		r.Address = []fhir.Address{a}
	}
	return r
}

// Location maps a location to CareConnect-GPC-Location-1.
func Location(l *scheduling.Location) *fhir.Location {
	r := &fhir.Location{ResourceType: "Location", ID: id(l.ID), Meta: meta(l.Version, gpconnect.ProfileLocation), Name: l.Name,
		Status: l.Status}
	if l.SiteCode != "" {
		r.Identifier = []fhir.Identifier{{System: gpconnect.SystemODSSite, Value: l.SiteCode}}
	}
	if l.Phone != "" {
		r.Telecom = []fhir.ContactPoint{{System: "phone", Value: l.Phone, Use: "work"}}
	}
	if !emptyAddress(l.Address) {
		a := address(l.Address)
		if a.Use == "" {
			a.Use = "work"
		}
		r.Address = &a
	}
	ref := Ref("Organization", l.PracticeID)
	r.ManagingOrganization = &ref
	return r
}

// Practitioner maps a practitioner to CareConnect-GPC-Practitioner-1.
func Practitioner(p *scheduling.Practitioner) *fhir.Practitioner {
	r := &fhir.Practitioner{ResourceType: "Practitioner", ID: id(p.ID), Meta: meta(p.Version, gpconnect.ProfilePractitioner),
		Identifier: []fhir.Identifier{{System: gpconnect.SystemSDSUser, Value: p.SDSUserID}},
		Name:       []fhir.HumanName{{Use: "usual", Family: p.Family, Given: p.Given, Prefix: p.Prefix}}, Gender: p.Gender}
	for _, rp := range p.RoleProfileIDs {
		r.Identifier = append(r.Identifier, fhir.Identifier{System: gpconnect.SystemSDSRoleProfile, Value: rp})
	}
	return r
}

// Patient maps a patient to CareConnect-GPC-Patient-1 as Find/Read/Register return it.
// withStatus adds registrationStatus-free details as for register responses.
func Patient(p *scheduling.Patient, practiceID int64) *fhir.Patient {
	active := p.Active
	r := &fhir.Patient{ResourceType: "Patient", ID: id(p.ID), Meta: meta(p.Version, gpconnect.ProfilePatient), Active: &active,
		Gender: p.Gender, BirthDate: p.BirthDate}
	code, display := "01", "Number present and verified"
	r.Identifier = []fhir.Identifier{{System: gpconnect.SystemNHSNumber, Value: p.NHSNumber, Extension: []fhir.Extension{{
		URL:                  gpconnect.ExtNHSNumberVerification,
		ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: gpconnect.SystemNHSNumberVerifStatus, Code: code, Display: display}}},
	}}}}
	r.Name = []fhir.HumanName{{Use: "official", Family: p.Family, Given: p.Given, Prefix: p.Prefix}}
	for _, t := range p.Telecoms {
		r.Telecom = append(r.Telecom, fhir.ContactPoint{System: t.System, Value: t.Value, Use: t.Use, Period: endPeriod(t.End)})
	}
	for _, a := range p.Addresses {
		fa := address(a)
		if fa.Use == "" {
			fa.Use = "home"
		}
		r.Address = append(r.Address, fa)
	}
	if p.Deceased != "" {
		r.DeceasedDateTime = p.Deceased
	}
	reg := fhir.Extension{URL: gpconnect.ExtRegistrationDetails}
	if p.RegistrationStart != "" || p.RegistrationEnd != "" {
		reg.Extension = append(reg.Extension, fhir.Extension{URL: "registrationPeriod", ValuePeriod: &fhir.Period{Start: p.RegistrationStart, End: p.RegistrationEnd}})
	}
	regCode, regDisplay := "R", "Regular"
	if p.RegistrationType == scheduling.RegTemporary {
		regCode, regDisplay = "T", "Temporary"
	}
	reg.Extension = append(reg.Extension, fhir.Extension{URL: "registrationType", ValueCodeableConcept: &fhir.CodeableConcept{
		Coding: []fhir.Coding{{System: gpconnect.SystemRegistrationType, Code: regCode, Display: regDisplay}}}})
	if p.PreferredLocationID != 0 {
		ref := Ref("Location", p.PreferredLocationID)
		reg.Extension = append(reg.Extension, fhir.Extension{URL: "preferredBranchSurgery", ValueReference: &ref})
	}
	r.Extension = append(r.Extension, reg)
	if p.Communication != nil {
		r.Extension = append(r.Extension, nhsCommunication(p.Communication))
	}
	if p.GPPractitionerID != 0 {
		r.GeneralPractitioner = []fhir.Reference{Ref("Practitioner", p.GPPractitionerID)}
	}
	mo := Ref("Organization", practiceID)
	r.ManagingOrganization = &mo
	return r
}

// HealthcareService maps a service to CareConnect-GPC-HealthcareService-1:
// its DOS id, the practice that provides it, and its name.
func HealthcareService(h *scheduling.HealthcareService) *fhir.HealthcareService {
	org := Ref("Organization", h.PracticeID)
	return &fhir.HealthcareService{ResourceType: "HealthcareService", ID: id(h.ID), Meta: meta(h.Version, gpconnect.ProfileHealthcareService),
		Identifier: []fhir.Identifier{{System: gpconnect.SystemDOSService, Value: h.DOSID}}, ProvidedBy: &org, Name: h.Name}
}
