package fhirmap_test

// Body checks of spec §6.2, §7.3 and §8.1 that the audit of the Appointment
// interactions found missing: 0..1 extensions sent twice, meta.versionId or
// meta.lastUpdated on the contained booking organisation (FHIR dom-4), a
// cancellation reason of the wrong type, and practitioner role codes. URLs
// are spelled out from the spec, not taken from the code under test.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/fhirmap"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

const (
	tProfAppt     = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"
	tProfOrg      = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1"
	tExtBooking   = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1"
	tExtChannel   = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2"
	tExtRole      = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-PractitionerRole-1"
	tExtReason    = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1"
	tSysODS       = "https://fhir.nhs.uk/Id/ods-organization-code"
	tSysRoleName  = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1"
	tSysOrgType   = "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1"
	tBookingStart = "2030-05-30T10:00:00+01:00"
	tBookingEnd   = "2030-05-30T10:15:00+01:00"
)

func sp(s string) *string { return &s }

// tBooking is the request skeleton of spec §6.5.
func tBooking() *fhir.Appointment {
	return &fhir.Appointment{ResourceType: "Appointment", Meta: &fhir.Meta{Profile: []string{tProfAppt}},
		Contained: fhir.ResourceList{&fhir.Organization{ResourceType: "Organization", ID: "1", Meta: &fhir.Meta{Profile: []string{tProfOrg}},
			Identifier: []fhir.Identifier{{System: tSysODS, Value: "Z100"}},
			Type:       []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: tSysOrgType, Code: "urgent-care"}}}},
			Name:       "North Ambulance Service", Telecom: []fhir.ContactPoint{{System: "phone", Value: "01111222333"}}}},
		Extension:   []fhir.Extension{{URL: tExtBooking, ValueReference: &fhir.Reference{Reference: "#1"}}},
		Status:      "booked",
		Description: "Short description",
		Start:       tBookingStart, End: tBookingEnd,
		Slot:    []fhir.Reference{{Reference: "Slot/1"}},
		Created: "2030-05-25T13:48:41+01:00",
		Participant: []fhir.AppointmentParticipant{
			{Actor: &fhir.Reference{Reference: "Patient/1"}, Status: "accepted"},
			{Actor: &fhir.Reference{Reference: "Location/32"}, Status: "accepted"},
		},
	}
}

func roleExt(code string) fhir.Extension {
	return fhir.Extension{URL: tExtRole, ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: tSysRoleName, Code: code}}}}
}

func wantInvalid(t *testing.T, err error, contains string) {
	t.Helper()
	if scheduling.ErrorCode(err) != scheduling.EINVALID {
		t.Fatalf("got %v, want EINVALID (422 INVALID_RESOURCE)", err)
	}
	if !strings.Contains(scheduling.ErrorMessage(err), contains) {
		t.Errorf("diagnostics %q do not mention %q", scheduling.ErrorMessage(err), contains)
	}
}

func TestBookRequestBodyChecks(t *testing.T) {
	now := time.Date(2030, 5, 25, 12, 0, 0, 0, time.UTC)
	t.Run("OK/Skeleton", func(t *testing.T) {
		if _, err := fhirmap.BookRequest(tBooking(), 7, now); err != nil {
			t.Fatalf("the spec's skeleton is refused: %v", err)
		}
	})
	t.Run("OK/AnyRoleOfTheValueSet", func(t *testing.T) {
		// §6.4: the appointment's role comes from the schedule; a role the
		// consumer sends is not compared with it, only checked as a code.
		b := tBooking()
		b.Extension = append(b.Extension, roleExt("R0260"))
		r, err := fhirmap.BookRequest(b, 7, now)
		if err != nil || r.PractitionerRole != "R0260" {
			t.Fatalf("role R0260: %v, %+v", err, r)
		}
	})
	t.Run("ErrRoleNotInValueSet", func(t *testing.T) {
		b := tBooking()
		b.Extension = append(b.Extension, roleExt("R9999"))
		_, err := fhirmap.BookRequest(b, 7, now)
		wantInvalid(t, err, "R9999")
	})
	t.Run("ErrRoleWithoutCoding", func(t *testing.T) {
		b := tBooking()
		b.Extension = append(b.Extension, fhir.Extension{URL: tExtRole, ValueCodeableConcept: &fhir.CodeableConcept{Text: "GP"}})
		_, err := fhirmap.BookRequest(b, 7, now)
		wantInvalid(t, err, "practitioner role")
	})
	// §8.1: bookingOrganisation, practitionerRole and deliveryChannel are 0..1.
	for name, exts := range map[string][]fhir.Extension{
		"deliveryChannel":     {{URL: tExtChannel, ValueCode: sp("Video")}, {URL: tExtChannel, ValueCode: sp("In-person")}},
		"practitionerRole":    {roleExt("R0260"), roleExt("R0620")},
		"bookingOrganisation": {{URL: tExtBooking, ValueReference: &fhir.Reference{Reference: "#1"}}},
	} {
		t.Run("ErrTwice/"+name, func(t *testing.T) {
			b := tBooking()
			b.Extension = append(b.Extension, exts...)
			_, err := fhirmap.BookRequest(b, 7, now)
			wantInvalid(t, err, "the "+name+" extension")
			if !strings.Contains(scheduling.ErrorMessage(err), "at most once") {
				t.Errorf("diagnostics %q do not say the extension may appear at most once", scheduling.ErrorMessage(err))
			}
		})
	}
	t.Run("ErrChannelNotValueCode", func(t *testing.T) {
		b := tBooking()
		b.Extension = append(b.Extension, fhir.Extension{URL: tExtChannel, ValueCode: sp("Video"), ValueString: sp("Video")})
		_, err := fhirmap.BookRequest(b, 7, now)
		wantInvalid(t, err, "valueString")
	})
	// FHIR dom-4 (spec §8.1): a contained resource has no meta.versionId or meta.lastUpdated.
	for name, m := range map[string]*fhir.Meta{
		"versionId":   {VersionID: "1", Profile: []string{tProfOrg}},
		"lastUpdated": {LastUpdated: "2030-05-25T13:48:41+01:00", Profile: []string{tProfOrg}},
	} {
		t.Run("ErrContainedMeta/"+name, func(t *testing.T) {
			b := tBooking()
			b.Contained[0].(*fhir.Organization).Meta = m
			_, err := fhirmap.BookRequest(b, 7, now)
			wantInvalid(t, err, "meta.versionId or meta.lastUpdated")
		})
	}
}

// tStored is an appointment as booked from tBooking.
func tStored(t *testing.T) *scheduling.Appointment {
	t.Helper()
	start, _ := time.Parse(time.RFC3339, tBookingStart)
	end, _ := time.Parse(time.RFC3339, tBookingEnd)
	created, _ := time.Parse(time.RFC3339, "2030-05-25T13:48:41+01:00")
	raw, err := json.Marshal(tBooking().Contained[0])
	if err != nil {
		t.Fatal(err)
	}
	return &scheduling.Appointment{ID: 9, PracticeID: 7, PatientID: 1, LocationID: 32, SlotIDs: []int64{1}, Status: scheduling.ApptBooked,
		Start: start, End: end, Created: created, Description: "Short description",
		BookingOrg:      scheduling.BookingOrg{ODS: "Z100", Name: "North Ambulance Service", Type: "urgent-care", Raw: raw},
		DeliveryChannel: "In-person", PractitionerRole: "R0260", ServiceCategory: "General GP Appointments", ServiceType: "General GP Appointment",
		Version: 1}
}

func TestCompareForUpdateBodyChecks(t *testing.T) {
	cancel := func(x *fhir.Appointment, reason fhir.Extension) {
		x.Status = "cancelled"
		x.Extension = append(x.Extension, reason)
	}
	t.Run("OK/Cancel", func(t *testing.T) {
		st := tStored(t)
		x := fhirmap.Appointment(st, false)
		cancel(x, fhir.Extension{URL: tExtReason, ValueString: sp("no longer needed")})
		ed, err := fhirmap.CompareForUpdate(x, st)
		if err != nil || ed.CancelReason == nil || *ed.CancelReason != "no longer needed" {
			t.Fatalf("%v %+v", err, ed)
		}
	})
	t.Run("OK/ServiceTypeAndCategoryChanged", func(t *testing.T) {
		// §7.2, §10.11: the consumer's serviceType and serviceCategory are ignored.
		st := tStored(t)
		x := fhirmap.Appointment(st, false)
		x.ServiceType = []fhir.CodeableConcept{{Text: "Test-ServiceType"}}
		x.ServiceCategory = &fhir.CodeableConcept{Text: "Test-ServiceCategory"}
		cancel(x, fhir.Extension{URL: tExtReason, ValueString: sp("no longer needed")})
		if _, err := fhirmap.CompareForUpdate(x, st); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrReasonAsValueCode", func(t *testing.T) {
		// §8.2: the reason's value[x] is valueString; another type is a profile violation.
		st := tStored(t)
		x := fhirmap.Appointment(st, false)
		cancel(x, fhir.Extension{URL: tExtReason, ValueCode: sp("no-longer-needed")})
		_, err := fhirmap.CompareForUpdate(x, st)
		wantInvalid(t, err, "valueCode")
	})
	t.Run("ErrReasonTwice", func(t *testing.T) {
		st := tStored(t)
		x := fhirmap.Appointment(st, false)
		cancel(x, fhir.Extension{URL: tExtReason, ValueString: sp("a")})
		x.Extension = append(x.Extension, fhir.Extension{URL: tExtReason, ValueString: sp("b")})
		_, err := fhirmap.CompareForUpdate(x, st)
		wantInvalid(t, err, "appointmentCancellationReason extension")
	})
	for _, url := range []string{tExtChannel, tExtRole, tExtBooking} {
		t.Run("ErrEchoedTwice/"+url[strings.LastIndex(url, "-GPConnect-")+11:], func(t *testing.T) {
			// The same (unchanged) value twice is still two of a 0..1 extension.
			st := tStored(t)
			x := fhirmap.Appointment(st, false)
			for _, e := range x.Extension {
				if e.URL == url {
					x.Extension = append(x.Extension, e)
					break
				}
			}
			x.Description = "amended"
			_, err := fhirmap.CompareForUpdate(x, st)
			wantInvalid(t, err, "at most once")
		})
	}
	t.Run("ErrContainedVersionId", func(t *testing.T) {
		st := tStored(t)
		x := fhirmap.Appointment(st, false)
		x.Contained[0].(*fhir.Organization).Meta = &fhir.Meta{VersionID: "1", Profile: []string{tProfOrg}}
		x.Description = "amended"
		_, err := fhirmap.CompareForUpdate(x, st)
		wantInvalid(t, err, "meta.versionId or meta.lastUpdated")
	})
}

// TestStoredContainedMetaNotReturned: an organisation stored before bookings
// with meta.versionId were refused is returned without it (FHIR dom-4), and
// an amend of what was returned is accepted.
func TestStoredContainedMetaNotReturned(t *testing.T) {
	st := tStored(t)
	st.BookingOrg.Raw = []byte(`{"resourceType":"Organization","id":"1","meta":{"versionId":"1","lastUpdated":"2030-05-25T13:48:41+01:00","profile":["` +
		tProfOrg + `"]},"identifier":[{"system":"` + tSysODS + `","value":"Z100"}],"name":"North Ambulance Service","telecom":[{"system":"phone","value":"01111222333"}]}`)
	x := fhirmap.Appointment(st, false)
	org := x.Contained[0].(*fhir.Organization)
	if org.Meta == nil || len(org.Meta.Profile) != 1 || org.Meta.VersionID != "" || org.Meta.LastUpdated != "" {
		t.Fatalf("contained meta = %+v, want the profile only", org.Meta)
	}
	x.Description = "amended"
	if _, err := fhirmap.CompareForUpdate(x, st); err != nil {
		t.Fatalf("amend of the returned appointment: %v", err)
	}
	// With nothing else in meta, no empty meta is left behind.
	st.BookingOrg.Raw = []byte(`{"resourceType":"Organization","id":"1","meta":{"versionId":"3"},"name":"N"}`)
	if m := fhirmap.Appointment(st, false).Contained[0].(*fhir.Organization).Meta; m != nil {
		t.Errorf("contained meta = %+v, want none", m)
	}
}

// TestBookRequestSlotCount: a booking listing more slots than any session
// can hold consecutively is refused as one problem (SQLite refused the
// statement with 32,766 slot ids, a 500), and a body with many bad slot
// references gets an error naming a few and counting the rest, not one
// larger than the request.
func TestBookRequestSlotCount(t *testing.T) {
	now := time.Date(2030, 5, 25, 14, 0, 0, 0, scheduling.London)
	b := tBooking()
	for i := range scheduling.MaxBookingSlots + 1 {
		b.Slot = append(b.Slot, fhir.Reference{Reference: "Slot/" + strings.Repeat("9", 1+i%5)})
	}
	_, err := fhirmap.BookRequest(b, 7, now)
	wantInvalid(t, err, "at most 1440 slots")
	if len(err.Error()) > 400 {
		t.Fatalf("error of %d bytes: %.400s", len(err.Error()), err)
	}
	b = tBooking()
	for range 500 {
		b.Slot = append(b.Slot, fhir.Reference{Reference: "Slot/x"})
	}
	_, err = fhirmap.BookRequest(b, 7, now)
	wantInvalid(t, err, "not a local Slot reference")
	if !strings.Contains(err.Error(), "and 490 more problems") || len(err.Error()) > 1000 {
		t.Fatalf("500 bad references: error of %d bytes: %.600s", len(err.Error()), err)
	}
}
