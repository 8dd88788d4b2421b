package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// bookCase is one row of spec §6 (Book an appointment).
type bookCase struct {
	name string
	// slots picks the slots to book (default: one free "open" slot from tomorrow).
	slots func(t *testing.T, a *apptEnv) []slotInfo
	// setup runs before the request (e.g. books the slot first, moves the clock).
	setup func(t *testing.T, a *apptEnv, slots []slotInfo)
	// edit changes the default booking.
	edit func(b *fhir.Appointment, a *apptEnv, slots []slotInfo)
	// raw replaces the body and Content-Type entirely.
	raw func(xml bool) ([]byte, string)
	// extra adds this member (JSON) or element (XML) to the encoded booking.
	extra string
	// jsonOnly replaces old with new in the encoded JSON booking; the case
	// does not run in XML (the text it writes has no XML counterpart).
	jsonOnly [2]string
	path     string // overrides "Appointment"
	hdr      map[string]string
	want     int
	code     string // Spine code for errors
	// check inspects a success response further.
	check func(t *testing.T, a *apptEnv, r *response, v obj, slots []slotInfo)
}

func openSlot(t *testing.T, a *apptEnv) []slotInfo { return a.take(t, "open", 1, 3*time.Hour, false) }

func slotsOf(profile string, n int, adjacent bool) func(t *testing.T, a *apptEnv) []slotInfo {
	return func(t *testing.T, a *apptEnv) []slotInfo { return a.take(t, profile, n, 3*time.Hour, adjacent) }
}

// bookCases covers every success and error row of spec §6.2-§6.4.
var bookCases = []bookCase{
	// Success.
	{name: "OK/SingleSlot", want: 201},
	{name: "OK/AdjacentSlotsOfOneSchedule", slots: slotsOf("own-practice", 3, true), want: 201,
		check: func(t *testing.T, a *apptEnv, r *response, v obj, slots []slotInfo) {
			if n := len(arr(v, "slot")); n != 3 {
				t.Errorf("%d slots in the appointment, want 3", n)
			}
		}},
	{name: "OK/ProviderFillsChannelRolePractitionerAndTypes",
		// The default booking sends no channel, role, practitioner, serviceType or serviceCategory;
		// wantAppointment checks the provider derived them all from the slot and schedule.
		check: func(t *testing.T, a *apptEnv, r *response, v obj, slots []slotInfo) {
			if at(v, "comment") != nil {
				t.Errorf("comment %v returned though none was sent", at(v, "comment"))
			}
		}, want: 201},
	{name: "OK/ConsumerEchoesChannelRoleAndPractitioner", want: 201,
		edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
			b.Extension = append(b.Extension,
				fhir.Extension{URL: extChannel, ValueCode: ptr(s[0].Channel)},
				fhir.Extension{URL: extRole, ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: sysRoleName, Code: s[0].Role}}}})
			b.Participant = append(b.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: fmt.Sprintf("Practitioner/%d", s[0].PractitionerID)}, Status: "accepted"})
		}},
	{name: "OK/ServiceTypeAndCategorySentAreIgnored", want: 201,
		edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
			b.ServiceType = []fhir.CodeableConcept{{Text: "Not the slot type"}}
			b.ServiceCategory = &fhir.CodeableConcept{Text: "Not the schedule type"}
		}},
	{name: "OK/LimitsExactly100And500Characters", want: 201,
		edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
			b.Description, b.Comment = strings.Repeat("d", 99)+"é", strings.Repeat("c", 499)+"é"
		},
		check: func(t *testing.T, a *apptEnv, r *response, v obj, s []slotInfo) {
			if str(v, "description") != strings.Repeat("d", 99)+"é" || str(v, "comment") != strings.Repeat("c", 499)+"é" {
				t.Errorf("description/comment not stored without truncation")
			}
		}},
	{name: "OK/IdentifierPriorityAndMinutesDuration", want: 201,
		edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
			b.Identifier = []fhir.Identifier{{System: "https://consumersupplier.com/Id/booking", Value: "B-123"}}
			b.Priority = ptr(1)
			b.MinutesDuration = ptr(int(s[0].end().Sub(s[0].start()).Minutes()))
		},
		check: func(t *testing.T, a *apptEnv, r *response, v obj, s []slotInfo) {
			if str(v, "identifier", 0, "value") != "B-123" || at(v, "priority") != float64(1) || at(v, "minutesDuration") == nil {
				t.Errorf("identifier/priority/minutesDuration not returned: %s", r.body)
			}
		}},
	{name: "OK/BookingOrganisationStoredAndReturned", want: 201,
		check: func(t *testing.T, a *apptEnv, r *response, v obj, s []slotInfo) {
			org := at(v, "contained", 0)
			if str(org, "identifier", 0, "value") != odsLegg || str(org, "name") != "Test Suite Validator" ||
				str(org, "telecom", 0, "value") != "01823938938" || str(org, "type", 0, "coding", 0, "code") != "urgent-care" {
				t.Errorf("contained booking organisation not returned as sent: %v", org)
			}
		}},
	{name: "OK/ParticipantTypeSent", want: 201, edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Type = []fhir.CodeableConcept{{Text: "Patient"}}
	}},
	{name: "OK/PreferReturnRepresentation", hdr: map[string]string{"Prefer": "return=representation"}, want: 201},
	{name: "OK/PreferReturnMinimal", hdr: map[string]string{"Prefer": "return=minimal"}, want: 201},

	// 422 INVALID_RESOURCE: the body is not an Appointment.
	{name: "ErrBodyIsBundle", raw: func(xml bool) ([]byte, string) {
		if xml {
			return []byte(`<Bundle xmlns="http://hl7.org/fhir"><type value="searchset"/></Bundle>`), mediaXMLCT
		}
		return []byte(`{"resourceType":"Bundle","type":"searchset"}`), mediaJSONCT
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBodyUnparseable", raw: func(xml bool) ([]byte, string) {
		if xml {
			return []byte(`<Appointment xmlns="http://hl7.org/fhir"><status value="booked"`), mediaXMLCT
		}
		return []byte(`{"resourceType":"Appointment","status":`), mediaJSONCT
	}, want: 422, code: "INVALID_RESOURCE"},
	// §6.2: participant.status is a participation status; created is a dateTime
	// with its offset; the booking organisation is the one contained resource.
	{name: "ErrParticipantStatusUnknown", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Status = "foo"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/ParticipantStatusNeedsAction", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[1].Status = "needs-action"
	}, want: 201},
	{name: "ErrCreatedDateOnly", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Created = time.Now().Format("2006-01-02")
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSecondContainedResource", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Contained = append(b.Contained, &fhir.Patient{ResourceType: "Patient", ID: "p1"})
	}, want: 422, code: "INVALID_RESOURCE"},
	// AppointmentBook.feature "send extra fields in the resource": an otherwise valid booking.
	{name: "ErrExtraField", extra: "invalidField", want: 422, code: "INVALID_RESOURCE"},
	// Elements every resource may carry, and a primitive's extension holder, are not extra.
	{name: "OK/LanguageAndPrimitiveExtension", extra: "language", want: 201},
	{name: "ErrUnknownElement", raw: func(xml bool) ([]byte, string) {
		if xml {
			return []byte(`<Appointment xmlns="http://hl7.org/fhir"><status value="booked"/><extraField value="x"/></Appointment>`), mediaXMLCT
		}
		return []byte(`{"resourceType":"Appointment","status":"booked","extraField":"x"}`), mediaJSONCT
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBodyEmpty", raw: func(xml bool) ([]byte, string) {
		if xml {
			return nil, mediaXMLCT
		}
		return nil, mediaJSONCT
	}, want: 422, code: "INVALID_RESOURCE"},

	// 422 INVALID_RESOURCE: §6.2 element rules.
	{name: "ErrIDPresent", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.ID = "123" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrProfileMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Meta = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrProfileOther", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Meta.Profile = []string{"http://hl7.org/fhir/StructureDefinition/Appointment"}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgNotContained", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Contained = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgNoName", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { bookingOrg(b).Name = "" }, want: 422, code: "INVALID_RESOURCE"},
	// Spaces only are no value (spec §6.2: name, phone and ODS code SHALL be there).
	{name: "ErrBookingOrgBlankName", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { bookingOrg(b).Name = "  " }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgBlankPhone", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Telecom = []fhir.ContactPoint{{System: "phone", Value: " "}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgBlankODSCode", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Identifier[0].Value = "   "
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgBlankSecondODSCode", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		o := bookingOrg(b)
		o.Identifier = append(o.Identifier, fhir.Identifier{System: gpconnect.SystemODSOrganisation, Value: " "})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgNoTelecom", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { bookingOrg(b).Telecom = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgNoPhone", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Telecom = []fhir.ContactPoint{{System: "email", Value: "a@example.org"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgWrongIdentifierSystem", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Identifier[0].System = "https://example.org/Id/org"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgTypeNotInValueSet", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Type = []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: gpconnect.SystemOrganisationType, Code: "bogus"}}}}
	}, want: 422, code: "INVALID_RESOURCE"},
	// One booker, one ODS code and one type (spec §6.2): otherwise the
	// access rules would depend on which was read first.
	{name: "ErrBookingOrgTwoODSCodes", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		o := bookingOrg(b)
		o.Identifier = append(o.Identifier, fhir.Identifier{System: gpconnect.SystemODSOrganisation, Value: "Z99999"})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgTwoODSCodesOtherOrder", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		o := bookingOrg(b)
		o.Identifier = append([]fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: "Z99999"}}, o.Identifier...)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/BookingOrgSameODSCodeTwice", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		o := bookingOrg(b)
		o.Identifier = append(o.Identifier, fhir.Identifier{System: gpconnect.SystemODSOrganisation, Value: strings.ToLower(o.Identifier[0].Value)})
	}, want: 201},
	{name: "ErrBookingOrgTwoTypes", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Type = []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: gpconnect.SystemOrganisationType, Code: "urgent-care"}}},
			{Coding: []fhir.Coding{{System: gpconnect.SystemOrganisationType, Code: "gp-practice"}}}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/BookingOrgTypeUrgentCare", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Type = []fhir.CodeableConcept{{Coding: []fhir.Coding{{System: gpconnect.SystemOrganisationType, Code: "urgent-care"}}}}
	}, want: 201},
	// FHIR: priority is an unsignedInt; no element is sent empty; an extension has a value (ext-1).
	{name: "ErrPriorityNegative", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		neg := -1
		b.Priority = &neg
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrCommentEmptyString", jsonOnly: [2]string{`"status":"booked"`, `"status":"booked","comment":""`}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrCommentNull", jsonOnly: [2]string{`"status":"booked"`, `"status":"booked","comment":null`}, want: 422, code: "INVALID_RESOURCE"},
	// Spec §2.1: bodies are UTF-8. encoding/json would store U+FFFD for
	// either, which is not what was sent (the XML decoder refuses both).
	{name: "ErrDescriptionNotUTF8", jsonOnly: [2]string{`"Acceptance test booking"`, "\"Acceptance \xff\xfe booking\""}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrDescriptionLoneSurrogate", jsonOnly: [2]string{`"Acceptance test booking"`, `"Acceptance \ud800 booking"`}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrExtensionWithoutValue", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Extension = append(b.Extension, fhir.Extension{URL: "http://example.org/fhir/StructureDefinition/x"})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/ExtensionOfAnotherValueType", jsonOnly: [2]string{`"extension":[`,
		`"extension":[{"url":"http://example.org/fhir/StructureDefinition/x","valueDecimal":1.5},`}, want: 201},
	{name: "ErrBookingOrgExtensionMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Extension = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgReferenceNotLocal", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Extension[0].ValueReference.Reference = "Organization/1"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgReferenceAbsolute", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Extension[0].ValueReference.Reference = "https://test1.supplier.thirdparty.nhs.uk/A11111/STU3/1/GPConnect/Organization/1"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBookingOrgReferenceDangling", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Extension[0].ValueReference.Reference = "#2"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrDeliveryChannelNotTheSlots", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		other := "Video"
		if s[0].Channel == "Video" {
			other = "In-person"
		}
		b.Extension = append(b.Extension, fhir.Extension{URL: extChannel, ValueCode: &other})
	}, want: 422, code: "INVALID_RESOURCE"},
	// A role other than the schedule's is no longer refused (the appointment
	// carries the schedule's role, §6.4, and the test pack's booking builder
	// always sends R0260: see TestBookRoleOfAnotherSchedule); a code outside
	// the GPConnect-PractitionerRole-1 value set, like R9999, still is.
	{name: "ErrPractitionerRoleNotInValueSet", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Extension = append(b.Extension, fhir.Extension{URL: extRole, ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: sysRoleName, Code: "R9999"}}}})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrCancellationReasonOnBook", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Extension = append(b.Extension, fhir.Extension{URL: extCancelReason, ValueString: ptr("no")})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrIdentifierWithoutValue", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Identifier = []fhir.Identifier{{System: "https://consumersupplier.com/Id/booking"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	// GPConnect-Appointment-1: identifier.use, type, period and assigner are 0..0.
	{name: "ErrIdentifierUse", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Identifier = []fhir.Identifier{{Use: "official", System: "https://consumersupplier.com/Id/booking", Value: "X1"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrIdentifierPeriod", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Identifier = []fhir.Identifier{{System: "https://consumersupplier.com/Id/booking", Value: "X1", Period: &fhir.Period{Start: "2020-01-01"}}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrIdentifierAssigner", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Identifier = []fhir.Identifier{{System: "https://consumersupplier.com/Id/booking", Value: "X1", Assigner: &fhir.Reference{Display: "Someone"}}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrStatusMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Status = "" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrStatusNotBooked", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Status = "pending" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSpecialty", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Specialty = []fhir.CodeableConcept{{Text: "Cardiology"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrAppointmentType", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.AppointmentType = &fhir.CodeableConcept{Text: "ROUTINE"}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrReason", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Reason = []fhir.CodeableConcept{{Text: "Headache"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrIndication", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Indication = []fhir.Reference{{Reference: "Condition/1"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSupportingInformation", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.SupportingInformation = []fhir.Reference{{Reference: "Observation/1"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrIncomingReferral", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.IncomingReferral = []fhir.Reference{{Reference: "ReferralRequest/1"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrRequestedPeriod", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.RequestedPeriod = []fhir.Period{{Start: b.Start, End: b.End}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrDescriptionMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Description = "" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrDescription101Characters", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Description = strings.Repeat("d", 101)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrComment501Characters", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Comment = strings.Repeat("c", 501)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrStartMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Start = "" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrEndMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.End = "" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrStartNotTheSlots", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Start = gpcTime(s[0].start().Add(time.Minute))
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrEndNotTheSlots", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.End = gpcTime(s[0].end().Add(10 * time.Minute))
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrStartSameInstantInUTC", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Start = s[0].start().UTC().Format("2006-01-02T15:04:05Z")
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrMinutesDurationNotTheSlots", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.MinutesDuration = ptr(55) },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Slot = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotMalformed", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot = []fhir.Reference{{Reference: "Slot/hello"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotReferenceLettersInID", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot = []fhir.Reference{{Reference: "Slot/45555g55555"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotReferenceHashes", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot = []fhir.Reference{{Reference: "Slot/45555555##"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotReferenceAbsoluteFragment", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot = []fhir.Reference{{Reference: "https://test1.supplier.thirdparty.nhs.uk/A11111/STU3/1/GPConnect/Slot/#12345"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	// Only the id as written names the slot: "+389" and "0389" are other ids.
	{name: "ErrSlotReferencePlusSign", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot[0].Reference = fmt.Sprintf("Slot/+%d", s[0].ID)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotReferenceLeadingZero", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot[0].Reference = fmt.Sprintf("Slot/0%d", s[0].ID)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPatientReferenceLeadingZero", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Actor.Reference = strings.Replace(b.Participant[0].Actor.Reference, "Patient/", "Patient/0", 1)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotUnknown", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot = []fhir.Reference{{Reference: "Slot/999999999"}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotAbsoluteReference", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Slot[0].Reference = fmt.Sprintf("https://provider.example/A20047/STU3/1/gpconnect/Slot/%d", s[0].ID)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotOfAnotherPractice", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		var other slotInfo
		if err := a.st.DB().GetContext(context.Background(), &other, a.st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, s.schedule_id, sc.location_id,
			sc.practitioner_id, s.channel, sc.role, s.service_type, sc.service_category, '' AS profile, 0 AS profile_id FROM slots s
			JOIN schedules sc ON sc.id = s.schedule_id WHERE s.practice_id <> 7 AND s.status = 'free' AND s.start_at > ? ORDER BY s.start_at LIMIT 1`),
			time.Now().Add(3*time.Hour).Unix()); err != nil {
			panic(err)
		}
		*b = *newBooking(a.patientID(nil, "9658218865"), other)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrCreatedMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Created = "" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrNoParticipants", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Participant = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPatientParticipantRemoved", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Participant = b.Participant[1:] },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrLocationParticipantRemoved", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Participant = b.Participant[:1] },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrParticipantStatusMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Participant[1].Status = "" },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrParticipantActorMissing", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant = append(b.Participant, fhir.AppointmentParticipant{Status: "accepted"})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPatientAbsoluteReference", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Actor.Reference = "https://provider.example/A20047/STU3/1/gpconnect/" + b.Participant[0].Actor.Reference
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrLocationAbsoluteReference", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[1].Actor.Reference = "https://provider.example/A20047/STU3/1/gpconnect/" + b.Participant[1].Actor.Reference
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPatientNotFound", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Actor.Reference = "Patient/999999"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPatientOfAnotherPractice", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Actor.Reference = "Patient/101" // Northgate's patient
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPatientInactive", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Actor.Reference = fmt.Sprintf("Patient/%d", a.patientID(nil, "9658219748")) // patient21
	}, want: 422, code: "INVALID_RESOURCE"},
	// §7 IG, for every Appointment interaction: a request for an S-flagged
	// patient is answered 404 PATIENT_NOT_FOUND.
	{name: "ErrPatientSensitive", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Actor.Reference = fmt.Sprintf("Patient/%d", a.patientID(nil, "9658220142")) // patient9
	}, want: 404, code: "PATIENT_NOT_FOUND"},
	{name: "ErrPatientDeceased", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[0].Actor.Reference = fmt.Sprintf("Patient/%d", a.patientID(nil, "9658220290")) // patient18
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrHealthcareServiceNotLinked", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant = append(b.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: "HealthcareService/1"}, Status: "accepted"})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrUnknownPath", path: "appointmentqq/!", want: 404, code: "NO_RECORD_FOUND"},
	{name: "ErrLocationNotFound", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[1].Actor.Reference = "Location/999999"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrLocationNotTheSchedules", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant[1].Actor.Reference = otherRef(b, "Location", 8, 1)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPractitionerNotTheSchedules", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		ref := "Practitioner/3"
		if s[0].PractitionerID == 3 {
			ref = "Practitioner/1"
		}
		b.Participant = append(b.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: ref}, Status: "accepted"})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPractitionerNotFound", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		b.Participant = append(b.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: "Practitioner/999999"}, Status: "accepted"})
	}, want: 422, code: "INVALID_RESOURCE"},

	// §6.3 several slots: consecutive, one schedule, one channel.
	{name: "ErrSlotsNotAdjacent", slots: func(t *testing.T, a *apptEnv) []slotInfo {
		s := a.take(t, "own-practice", 3, 3*time.Hour, true)
		return []slotInfo{s[0], s[2]}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotsOfDifferentSchedules", slots: func(t *testing.T, a *apptEnv) []slotInfo {
		// e.g. GP morning (Location/1) ends at 12:00 where Same-day GP (Location/3) starts.
		var all []slotInfo
		if err := a.st.DB().SelectContext(context.Background(), &all, a.st.DB().Rebind(slotSelect+`1 = 1 ORDER BY s.start_at LIMIT 2000`),
			time.Now().Add(3*time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		byStart := map[int64][]slotInfo{}
		for _, y := range all {
			byStart[y.StartAt] = append(byStart[y.StartAt], y)
		}
		for _, x := range all {
			for _, y := range byStart[x.EndAt] {
				if x.ScheduleID != y.ScheduleID && !a.used[x.ID] && !a.used[y.ID] {
					a.used[x.ID], a.used[y.ID] = true, true
					return []slotInfo{x, y}
				}
			}
		}
		t.Fatal("no adjacent slots on two schedules")
		return nil
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotsMixedChannels", slots: func(t *testing.T, a *apptEnv) []slotInfo {
		// The GP sessions alternate In-person and Telephone slot by slot.
		var rows []slotInfo
		if err := a.st.DB().SelectContext(context.Background(), &rows, a.st.DB().Rebind(slotSelect+`p.name = 'open' ORDER BY s.schedule_id, s.start_at LIMIT 400`),
			time.Now().Add(3*time.Hour).Unix()); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < len(rows); i++ {
			x, y := rows[i-1], rows[i]
			if x.ScheduleID == y.ScheduleID && x.EndAt == y.StartAt && x.Channel != y.Channel && !a.used[x.ID] && !a.used[y.ID] {
				a.used[x.ID], a.used[y.ID] = true, true
				return []slotInfo{x, y}
			}
		}
		t.Fatal("no adjacent slots with different channels")
		return nil
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrSlotListedTwice", edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) { b.Slot = append(b.Slot, b.Slot[0]) },
		want: 422, code: "INVALID_RESOURCE"},

	// 409 DUPLICATE_REJECTED: the slot is no longer free.
	{name: "ErrSlotBusy", setup: func(t *testing.T, a *apptEnv, s []slotInfo) {
		other := newBooking(a.patientID(t, "9658218873"), s...)
		bookingOrg(other).Identifier[0].Value = "B81016"
		bookingOrg(other).Name = "Another consumer"
		a.mustBook(t, other)
	}, want: 409, code: "DUPLICATE_REJECTED"},
	{name: "ErrOneOfSeveralSlotsBusy", slots: slotsOf("own-practice", 2, true), setup: func(t *testing.T, a *apptEnv, s []slotInfo) {
		a.mustBook(t, newBooking(a.patientID(t, "9658218873"), s[1]))
	}, want: 409, code: "DUPLICATE_REJECTED"},

	// Only future appointments may be booked (§6.1): [REC] 422 INVALID_RESOURCE.
	{name: "ErrStartInThePast", setup: func(t *testing.T, a *apptEnv, s []slotInfo) {
		moveClock(t, a, s[0].end().Add(time.Minute).Sub(time.Now()))
	}, want: 422, code: "INVALID_RESOURCE"},

	// Access profile rules re-checked at booking (§5.4, §6.4 [REC] 422 INVALID_RESOURCE).
	{name: "ErrNotGPConnectBookable", slots: slotsOf("not-bookable", 1, false), want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrOrgTypeNotAllowed", slots: slotsOf("urgent-care", 1, false), edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Type = nil
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/OrgTypeAllowed", slots: slotsOf("urgent-care", 1, false), want: 201},
	// The NHS test pack codes the booking organisation's type with the ValueSet URL.
	{name: "OK/OrgTypeCodedWithValueSetURL", slots: slotsOf("urgent-care", 1, false), edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Type[0].Coding[0].System = "https://fhir.nhs.uk/STU3/ValueSet/GPConnect-OrganisationType-1"
	}, want: 201},
	{name: "ErrODSCodeNotAllowed", slots: slotsOf("own-practice", 1, false), edit: func(b *fhir.Appointment, a *apptEnv, s []slotInfo) {
		bookingOrg(b).Identifier[0].Value = "B81016"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrEmbargo", slots: slotsOf("embargoed-same-day", 1, false), setup: func(t *testing.T, a *apptEnv, s []slotInfo) {
		moveClock(t, a, s[0].start().Add(-time.Hour).Sub(time.Now())) // 1h before a 2h embargo
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/OutsideEmbargo", slots: slotsOf("embargoed-same-day", 1, false), setup: func(t *testing.T, a *apptEnv, s []slotInfo) {
		moveClock(t, a, s[0].start().Add(-3*time.Hour).Sub(time.Now()))
	}, want: 201},
	{name: "ErrBookingWindow", slots: func(t *testing.T, a *apptEnv) []slotInfo {
		return a.take(t, "acceptance-window-2d", 1, 72*time.Hour, false)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/InsideBookingWindow", slots: func(t *testing.T, a *apptEnv) []slotInfo {
		s := a.take(t, "acceptance-window-2d", 1, 3*time.Hour, false)
		if s[0].start().Sub(time.Now()) > 48*time.Hour {
			t.Fatalf("first window slot is %v ahead", s[0].start().Sub(time.Now()))
		}
		return s
	}, want: 201},
	// Slots of day D are released at 09:00 on D-2.
	{name: "ErrNotYetReleased", slots: func(t *testing.T, a *apptEnv) []slotInfo {
		return a.take(t, "acceptance-release-0900-2d", 1, 96*time.Hour, false)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "OK/Released", slots: func(t *testing.T, a *apptEnv) []slotInfo {
		return a.take(t, "acceptance-release-0900-2d", 1, 96*time.Hour, false)
	}, setup: func(t *testing.T, a *apptEnv, s []slotInfo) {
		release := scheduling.AtLocal(scheduling.AddDaysLocal(scheduling.LocalMidnight(s[0].start()), -2), 9, 0)
		moveClock(t, a, release.Add(time.Minute).Sub(time.Now()))
	}, want: 201},
	{name: "ErrCapReached", slots: slotsOf("acceptance-cap-1", 1, false), setup: func(t *testing.T, a *apptEnv, s []slotInfo) {
		a.mustBook(t, newBooking(a.patientID(t, "9658218873"), a.take(t, "acceptance-cap-1", 1, 3*time.Hour, false)...))
	}, want: 422, code: "INVALID_RESOURCE"},
}

// moveClock moves the provider's clock by d for the rest of the row.
func moveClock(t *testing.T, a *apptEnv, d time.Duration) {
	a.offset.Store(int64(d))
	t.Cleanup(func() { a.offset.Store(0) })
}

// addProfiles adds access profiles the demo data lacks, each with an evening
// session every day at Location/1: a 2-day booking window and a cap of 1.
func addProfiles(t *testing.T, a *apptEnv, profiles ...scheduling.AccessProfile) {
	t.Helper()
	ctx := context.Background()
	for i, p := range profiles {
		p.PracticeID = leggID
		id, err := a.st.SaveAccessProfile(ctx, &p)
		if err != nil {
			t.Fatal(err)
		}
		for d := time.Sunday; d <= time.Saturday; d++ {
			start := fmt.Sprintf("%02d:00", 18+i)
			end := fmt.Sprintf("%02d:00", 19+i)
			tpl := &scheduling.SessionTemplate{PracticeID: leggID, Name: fmt.Sprintf("%s %s", d, p.Name), Weekday: d, StartLocal: start, EndLocal: end,
				SlotMinutes: 10, LocationID: 1, PractitionerID: 1, Role: "R0260", ServiceCategory: "Acceptance", ServiceType: "Acceptance slot",
				Channels: []string{"In-person"}, AccessProfileID: id, Active: true}
			if _, err := a.st.SaveSessionTemplate(ctx, tpl); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := time.Now()
	if _, err := a.st.Materialise(ctx, leggID, scheduling.LocalMidnight(now), now.Add(demoHorizon)); err != nil {
		t.Fatal(err)
	}
}

// TestBookAppointment runs every §6 row on every engine, with JSON and with
// XML request bodies.
func TestBookAppointment(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			addProfiles(t, a,
				scheduling.AccessProfile{Name: "acceptance-window-2d", Bookable: true, BookingWindow: 48 * time.Hour},
				scheduling.AccessProfile{Name: "acceptance-cap-1", Bookable: true, Cap: 1},
				scheduling.AccessProfile{Name: "acceptance-release-0900-2d", Bookable: true, ReleaseTime: "09:00", ReleaseDaysBefore: 2})
			pid := a.patientID(t, "9658218865") // patient1
			formats(t, func(t *testing.T, xml bool) {
				for _, c := range bookCases {
					if xml && (c.name == "ErrCapReached" || c.jsonOnly[0] != "") {
						continue // the cap of 1 is used up by the JSON run
					}
					t.Run(c.name, func(t *testing.T) {
						pick := c.slots
						if pick == nil {
							pick = openSlot
						}
						slots := pick(t, a)
						if c.setup != nil {
							c.setup(t, a, slots)
						}
						var r *response
						if c.raw != nil {
							body, ct := c.raw(xml)
							r = a.send(t, http.MethodPost, "Appointment", iidBook, scopePatWrite, body, ct, c.hdr)
						} else {
							b := newBooking(pid, slots...)
							if c.edit != nil {
								c.edit(b, a, slots)
							}
							if c.path != "" || c.extra != "" || c.jsonOnly[0] != "" {
								ct, body := mediaJSONCT, encodeBody(t, b, xml)
								if o := c.jsonOnly; o[0] != "" {
									if !bytes.Contains(body, []byte(o[0])) {
										t.Fatalf("no %s in the booking body", o[0])
									}
									body = bytes.Replace(body, []byte(o[0]), []byte(o[1]), 1)
								}
								if xml {
									ct = mediaXMLCT
								}
								if c.extra != "" {
									body = withExtra(t, body, xml, c.extra)
								}
								path := c.path
								if path == "" {
									path = "Appointment"
								}
								r = a.send(t, http.MethodPost, path, iidBook, scopePatWrite, body, ct, c.hdr)
							} else {
								r = a.book(t, b, xml, c.hdr)
							}
						}
						if c.want >= 400 {
							wantOutcome(t, r, c.want, c.code)
							if c.setup == nil {
								for _, s := range slots {
									if st := a.slotStatus(t, s.ID); st != "free" {
										t.Errorf("slot %d is %q after a refused booking", s.ID, st)
									}
								}
							}
							return
						}
						if c.hdr["Prefer"] == "return=minimal" {
							if r.status != 201 || len(r.body) != 0 || !locationRe.MatchString(r.header.Get("Location")) ||
								!strings.HasPrefix(r.header.Get("ETag"), `W/"`) || r.header.Get("Cache-Control") != "no-store" {
								t.Fatalf("return=minimal: %d %v %q", r.status, r.header, r.body)
							}
						} else {
							v := wantAppointment(t, r, c.want, slots, pid)
							if str(v, "status") != "booked" {
								t.Errorf("status %q", str(v, "status"))
							}
							if c.check != nil {
								c.check(t, a, r, v, slots)
							}
							// The stored appointment reads back the same.
							rr := a.get(t, "Appointment/"+str(v, "id"), iidReadAppt, scopePatRead)
							wantAppointment(t, rr, 200, slots, pid)
						}
						for _, s := range slots {
							if st := a.slotStatus(t, s.ID); st != "busy" {
								t.Errorf("booked slot %d is %q, want busy", s.ID, st)
							}
						}
					})
				}
			})
		})
	}
}

// TestSwitchOffSeenAtOnce: a practice switched off, through the store the
// provider uses or by another process, answers 403 ACCESS_DENIED to the very
// next search (and booking), and switched on again is served at once, though
// the provider caches practices for two seconds.
func TestSwitchOffSeenAtOnce(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			pid := a.patientID(t, "9658218865")
			search := func() *response {
				return a.do(t, a.request(t, http.MethodGet, "Slot?"+slotQuery(a.now, 1).Encode(), iidSlots, scopeOrgRead))
			}
			wantOK(t, search(), "Bundle") // the practice is now cached as switched on
			for _, sw := range []struct{ gpc, appts bool }{{true, false}, {false, true}} {
				if err := a.st.SetSwitches(context.Background(), odsLegg, sw.gpc, sw.appts); err != nil {
					t.Fatal(err)
				}
				wantOutcome(t, search(), 403, "ACCESS_DENIED")
				wantOutcome(t, a.book(t, newBooking(pid, openSlot(t, a)...), false, nil), 403, "ACCESS_DENIED")
				if err := a.st.SetSwitches(context.Background(), odsLegg, true, true); err != nil {
					t.Fatal(err)
				}
				wantOK(t, search(), "Bundle")
			}
			// Another process (plain SQL here) switches it off and on: the
			// cache still says on, but the search finds it off and says so,
			// and a switched-off practice is never cached.
			exec := func(q string) {
				if _, err := a.st.DB().ExecContext(context.Background(), q); err != nil {
					t.Fatal(err)
				}
			}
			wantOK(t, search(), "Bundle")
			exec(`UPDATE organisations SET appts_enabled = FALSE WHERE ods = 'A20047'`)
			wantOutcome(t, search(), 403, "ACCESS_DENIED")
			exec(`UPDATE organisations SET appts_enabled = TRUE WHERE ods = 'A20047'`)
			wantOK(t, search(), "Bundle")
		})
	}
}

// withExtra adds member name (JSON: "name":"en") or element name (XML:
// <name value="en"/>) to an encoded booking, after its status.
func withExtra(t testing.TB, body []byte, xml bool, name string) []byte {
	t.Helper()
	var old, repl string
	if xml {
		old = `<status value="booked"/>`
		repl = old + `<` + name + ` value="en"/>`
	} else {
		old = `"status":"booked"`
		repl = old + `,"` + name + `":"en"`
		if name == "language" {
			repl += `,"_status":{"id":"s1"}`
		}
	}
	if !bytes.Contains(body, []byte(old)) {
		t.Fatalf("no %s in the booking body", old)
	}
	return bytes.Replace(body, []byte(old), []byte(repl), 1)
}

// TestMalformedBodyDiagnostics: a body that cannot be read is described in
// the consumer's terms, without the Go package prefixes of the decoder that
// found the fault (spec §9.1: diagnostics for people, nothing internal).
func TestMalformedBodyDiagnostics(t *testing.T) {
	a := newApptEnv(t, storetest.Engines(false)[0])
	for _, c := range []struct{ name, ct, body, want string }{
		{"xml bad integer", mediaXMLCT, `<Appointment xmlns="http://hl7.org/fhir"><minutesDuration value="abc"/></Appointment>`, "minutesDuration"},
		{"xml truncated", mediaXMLCT, `<Appointment xmlns="http://hl7.org/fhir">`, "XML syntax error"},
		{"json not json", mediaJSONCT, `{"resourceType":"Appointment","status":nope}`, "not valid JSON"},
		{"json no resourceType", mediaJSONCT, `{}`, "resourceType"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := a.send(t, http.MethodPost, "Appointment", iidBook, scopePatWrite, []byte(c.body), c.ct, nil)
			diag := wantOutcome(t, r, http.StatusUnprocessableEntity, "INVALID_RESOURCE")
			if !strings.Contains(diag, c.want) {
				t.Errorf("diagnostics %q do not say %q", diag, c.want)
			}
			if strings.Contains(diag, "fhir: ") || strings.Contains(diag, "xml: ") {
				t.Errorf("diagnostics %q carry a Go package prefix", diag)
			}
		})
	}
}

// TestNoncharacterRefusedBeforeStoring: a description holding U+FFFF is
// refused at the door (422) in JSON, rather than booked and then answered
// 500 to an XML client, which XML 1.0 cannot carry it to.
func TestNoncharacterRefusedBeforeStoring(t *testing.T) {
	a := newApptEnv(t, storetest.Engines(false)[0])
	pid := a.patientID(t, "9658218865")
	slots := openSlot(t, a)
	appt := newBooking(pid, slots...)
	appt.Description = "x\uffffy"
	body, err := json.Marshal(appt)
	if err != nil {
		t.Fatal(err)
	}
	r := a.send(t, http.MethodPost, "Appointment", iidBook, scopePatWrite, body, mediaJSONCT, map[string]string{"Accept": "application/fhir+xml"})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "INVALID_RESOURCE") || !strings.Contains(string(r.body), "U+FFFF") {
		t.Fatalf("status %d, body %.300s; want 422 INVALID_RESOURCE naming U+FFFF", r.status, r.body)
	}
	for _, s := range slots {
		if st := a.slotStatus(t, s.ID); st != "free" {
			t.Errorf("slot %d is %s after the refused booking", s.ID, st)
		}
	}
}
