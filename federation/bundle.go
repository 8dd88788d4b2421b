package federation

import (
	"fmt"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// hub-wide logical ids: "{ODS}-{provider id}". ODS codes hold no "-", so the
// first "-" splits them; FHIR ids allow [A-Za-z0-9-.]{1,64}.
func hubID(ods, id string) string { return ods + "-" + id }

// Bundle renders a fan-out as one FHIR STU3 searchset: the merged Slots
// (search.mode match) with their Schedules, Locations, Practitioners,
// HealthcareServices and practices' Organizations (mode include), every id prefixed with the
// practice's ODS code so ids from different practices cannot collide; and
// one OperationOutcome per failed practice (mode outcome).
func (r *Result) Bundle() *fhir.Bundle {
	b := fhir.NewSearchset()
	match := &fhir.BundleEntrySearch{Mode: "match"}
	include := &fhir.BundleEntrySearch{Mode: "include"}
	outcome := &fhir.BundleEntrySearch{Mode: "outcome"}
	seen := map[string]bool{}
	var related []fhir.BundleEntry
	add := func(key string, res fhir.Resource) {
		if seen[key] {
			return
		}
		seen[key] = true
		related = append(related, fhir.BundleEntry{Resource: res, Search: include})
	}
	for i := range r.Slots {
		s := &r.Slots[i]
		fs := &fhir.Slot{ResourceType: "Slot", ID: hubID(s.ODS, s.ID),
			Meta:     &fhir.Meta{Profile: []string{string(gpconnect.ProfileSlot)}},
			Schedule: fhir.Reference{Reference: "Schedule/" + hubID(s.ODS, s.ScheduleID)},
			Status:   "free", Start: scheduling.FormatLocal(s.Start), End: scheduling.FormatLocal(s.End)}
		if s.DeliveryChannel != "" {
			ch := s.DeliveryChannel
			fs.Extension = []fhir.Extension{{URL: gpconnect.ExtDeliveryChannel, ValueCode: &ch}}
		}
		if s.SlotType != "" {
			fs.ServiceType = []fhir.CodeableConcept{{Text: s.SlotType}}
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: fs, Search: match})

		sch := &fhir.Schedule{ResourceType: "Schedule", ID: hubID(s.ODS, s.ScheduleID),
			Meta: &fhir.Meta{Profile: []string{string(gpconnect.ProfileSchedule)}}}
		if s.ScheduleType != "" {
			sch.ServiceCategory = &fhir.CodeableConcept{Text: s.ScheduleType}
		}
		if s.RoleCode != "" {
			sch.Extension = []fhir.Extension{{URL: gpconnect.ExtPractitionerRole, ValueCodeableConcept: &fhir.CodeableConcept{
				Coding: []fhir.Coding{{System: gpconnect.SystemSDSJobRoleName, Code: s.RoleCode, Display: s.RoleDisplay}}}}}
		}
		if s.LocationID != "" {
			sch.Actor = append(sch.Actor, fhir.Reference{Reference: "Location/" + hubID(s.ODS, s.LocationID)})
			loc := &fhir.Location{ResourceType: "Location", ID: hubID(s.ODS, s.LocationID), Name: s.LocationName,
				Meta:                 &fhir.Meta{Profile: []string{string(gpconnect.ProfileLocation)}},
				ManagingOrganization: &fhir.Reference{Reference: "Organization/" + s.ODS}}
			if s.LocationAddress != "" {
				loc.Address = &fhir.Address{Text: s.LocationAddress}
			}
			add("Location/"+loc.ID, loc)
		}
		if s.PractitionerID != "" {
			sch.Actor = append(sch.Actor, fhir.Reference{Reference: "Practitioner/" + hubID(s.ODS, s.PractitionerID)})
			pr := &fhir.Practitioner{ResourceType: "Practitioner", ID: hubID(s.ODS, s.PractitionerID), Gender: s.PractitionerSex,
				Meta: &fhir.Meta{Profile: []string{string(gpconnect.ProfilePractitioner)}}}
			if s.PractitionerName != "" {
				pr.Name = []fhir.HumanName{{Text: s.PractitionerName}}
			}
			add("Practitioner/"+pr.ID, pr)
		}
		if s.ServiceID != "" {
			// Spec §5.8: the service's name is shown with the slot.
			sch.Actor = append(sch.Actor, fhir.Reference{Reference: "HealthcareService/" + hubID(s.ODS, s.ServiceID)})
			hs := &fhir.HealthcareService{ResourceType: "HealthcareService",
				ID: hubID(s.ODS, s.ServiceID), Name: s.ServiceName, ProvidedBy: &fhir.Reference{Reference: "Organization/" + s.ODS},
				Meta: &fhir.Meta{Profile: []string{string(gpconnect.ProfileHealthcareService)}}}
			if s.ServiceDOSID != "" {
				// The id a consumer that chose the service in DOS matches it by.
				hs.Identifier = []fhir.Identifier{{System: gpconnect.SystemDOSService, Value: s.ServiceDOSID}}
			}
			add("HealthcareService/"+hs.ID, hs)
		}
		add("Schedule/"+sch.ID, sch)
		add("Organization/"+s.ODS, &fhir.Organization{ResourceType: "Organization", ID: s.ODS, Name: s.PracticeName,
			Meta:       &fhir.Meta{Profile: []string{string(gpconnect.ProfileOrganization)}},
			Identifier: []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: s.ODS}}})
	}
	b.Entry = append(b.Entry, related...)
	for _, f := range r.Failures {
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: FailureOutcome(f), Search: outcome})
	}
	for _, p := range r.Practices {
		if p.Dropped > 0 {
			b.Entry = append(b.Entry, fhir.BundleEntry{Resource: DroppedOutcome(p), Search: outcome})
		}
	}
	total := len(r.Slots)
	b.Total = &total
	return b
}

// FailureOutcome describes one practice's failure as an OperationOutcome
// whose id is the practice's ODS code. The issue is a warning: the search as
// a whole worked. A Spine code is carried in details.coding; the reason is
// details.text.
func FailureOutcome(f Failure) *fhir.OperationOutcome {
	code := "exception"
	switch f.Reason {
	case ReasonTimeout:
		code = "timeout"
	case ReasonUnknown:
		code = "not-found"
	case ReasonDisabled, Reason(gpconnect.AccessDenied):
		code = "forbidden"
	case ReasonCircuitOpen:
		code = "transient"
	case ReasonSSP:
		code = "security"
	}
	det := &fhir.CodeableConcept{Text: string(f.Reason)}
	if s := gpconnect.SpineCode(f.Reason); s.Known() {
		code = s.IssueType()
		det.Coding = []fhir.Coding{{System: gpconnect.SystemSpineError, Code: string(s), Display: s.Display()}}
	}
	diag := f.ODS + ": " + string(f.Reason)
	if f.Detail != "" {
		diag += " (" + f.Detail + ")"
	}
	return &fhir.OperationOutcome{ResourceType: "OperationOutcome", ID: f.ODS,
		Meta:  &fhir.Meta{Profile: []string{string(gpconnect.ProfileOperationOutcome)}},
		Issue: []fhir.OperationOutcomeIssue{{Severity: "warning", Code: code, Details: det, Diagnostics: diag}}}
}

// DroppedNote says why a practice's slots were left out of a search.
const DroppedNote = "the practice's answer described them too poorly to book (no schedule or location, bad times, or not free)"

// DroppedOutcome tells hub staff that a practice answered with slots the hub
// could not offer (PracticeOutcome.Dropped), so that this is not taken for a
// lack of capacity. Its id is "{ODS}-dropped".
func DroppedOutcome(p PracticeOutcome) *fhir.OperationOutcome {
	return &fhir.OperationOutcome{ResourceType: "OperationOutcome", ID: p.ODS + "-dropped",
		Meta: &fhir.Meta{Profile: []string{string(gpconnect.ProfileOperationOutcome)}},
		Issue: []fhir.OperationOutcomeIssue{{Severity: "warning", Code: "invalid", Details: &fhir.CodeableConcept{Text: "slots dropped"},
			Diagnostics: fmt.Sprintf("%s: %d slots left out: %s", p.ODS, p.Dropped, DroppedNote)}}}
}
