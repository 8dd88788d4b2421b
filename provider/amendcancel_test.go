package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// updateCase is one row of spec §7.2 (amend) or §7.3 (cancel). Each row
// starts from a freshly booked appointment read back from the provider,
// which the consumer edits in place, as §7.2 recommends.
type updateCase struct {
	name  string
	iid   string // iidAmend or iidCancel
	slots func(t *testing.T, a *apptEnv) []slotInfo
	setup func(t *testing.T, a *apptEnv, cur *fhir.Appointment) // before the edit (e.g. amend first, move the clock)
	edit  func(x *fhir.Appointment, a *apptEnv)
	raw   func(xml bool, cur *fhir.Appointment) ([]byte, string)
	path  string            // overrides Appointment/{id}
	hdr   map[string]string // nil: If-Match with the current version
	noIfM bool
	want  int
	code  string
	check func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, slots []slotInfo)
}

func withReason(x *fhir.Appointment, reason string) {
	x.Status = "cancelled"
	x.Extension = append(x.Extension, fhir.Extension{URL: extCancelReason, ValueString: &reason})
}

func setDesc(x *fhir.Appointment, a *apptEnv) {
	x.Description, x.Comment = "Amended description", "Amended comment"
}

func cancelOK(x *fhir.Appointment, a *apptEnv) {
	withReason(x, "Patient no longer requires appointment")
}

// absolute turns a participant's reference into an absolute URL.
func absolute(prefix string) func(x *fhir.Appointment, a *apptEnv) {
	return func(x *fhir.Appointment, a *apptEnv) {
		for i := range x.Participant {
			if strings.HasPrefix(x.Participant[i].Actor.Reference, prefix) {
				x.Participant[i].Actor.Reference = "https://provider.example/A20047/STU3/1/gpconnect/" + x.Participant[i].Actor.Reference
			}
		}
	}
}

func both(fs ...func(x *fhir.Appointment, a *apptEnv)) func(x *fhir.Appointment, a *apptEnv) {
	return func(x *fhir.Appointment, a *apptEnv) {
		for _, f := range fs {
			f(x, a)
		}
	}
}

// pastClock moves the clock a day past the appointment's start.
func pastClock(t *testing.T, a *apptEnv, cur *fhir.Appointment) {
	start, err := time.Parse(time.RFC3339, cur.Start)
	if err != nil {
		t.Fatal(err)
	}
	moveClock(t, a, start.Add(25*time.Hour).Sub(time.Now()))
}

var updateCases = []updateCase{
	// §7.2 Amend.
	{name: "Amend/OK/DescriptionAndComment", iid: iidAmend, edit: setDesc, want: 200,
		check: func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, s []slotInfo) {
			if str(v, "description") != "Amended description" || str(v, "comment") != "Amended comment" || str(v, "status") != "booked" {
				t.Errorf("amend not applied: %v", v)
			}
			if str(v, "meta", "versionId") != "2" {
				t.Errorf("versionId = %q after one amend, want 2", str(v, "meta", "versionId"))
			}
		}},
	{name: "Amend/OK/CommentRemoved", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Comment = "" }, want: 200,
		check: func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, s []slotInfo) {
			if at(v, "comment") != nil {
				t.Errorf("comment = %v after removing it", at(v, "comment"))
			}
		}},
	{name: "Amend/OK/Limits100And500", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Description, x.Comment = strings.Repeat("D", 100), strings.Repeat("C", 500)
	}, want: 200},
	{name: "Amend/OK/ServiceTypeAndCategoryIgnored", iid: iidAmend, edit: both(setDesc, func(x *fhir.Appointment, a *apptEnv) {
		x.ServiceType = []fhir.CodeableConcept{{Text: "changed"}}
		x.ServiceCategory = nil
	}), want: 200},
	{name: "Amend/OK/NoIfMatch", iid: iidAmend, edit: setDesc, noIfM: true, want: 200},
	{name: "Amend/OK/PreferReturnMinimal", iid: iidAmend, edit: setDesc, hdr: map[string]string{"Prefer": "return=minimal"}, want: 200},
	{name: "Amend/OK/BookedByAnotherOrganisation", iid: iidAmend, edit: both(setDesc, func(x *fhir.Appointment, a *apptEnv) {}), want: 200,
		setup: func(t *testing.T, a *apptEnv, cur *fhir.Appointment) {
			// The JWT's requesting organisation (GPCA0001) is not the booking organisation (A20047).
			if bookingOrg(cur).Identifier[0].Value == "GPCA0001" {
				t.Fatal("booking organisation equals the requesting organisation")
			}
		}},
	{name: "Amend/ErrStatusCancelled", iid: iidAmend, edit: cancelOK, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrStatusOther", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Status = "arrived" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrStartChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Start = gpcTime(mustTime(x.Start).Add(-10 * time.Minute))
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrEndChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.End = gpcTime(mustTime(x.End).Add(10 * time.Minute))
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrSlotChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Slot = []fhir.Reference{{Reference: fmt.Sprintf("Slot/%d", a.take(nil, "open", 1, 3*time.Hour, false)[0].ID)}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrSlotAdded", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Slot = append(x.Slot, fhir.Reference{Reference: fmt.Sprintf("Slot/%d", a.take(nil, "open", 1, 3*time.Hour, false)[0].ID)})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrPatientChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Participant[0].Actor.Reference = fmt.Sprintf("Patient/%d", a.patientID(nil, "9658218873"))
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrPatientRemoved", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Participant = x.Participant[1:] },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrLocationChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Participant[1].Actor.Reference = otherRef(x, "Location", 8, 1)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrPractitionerChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Participant[2].Actor.Reference = otherRef(x, "Practitioner", 3, 1)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrParticipantAdded", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Participant = append(x.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: otherRef(x, "Practitioner", 3, 1)}, Status: "accepted"})
	}, want: 422, code: "INVALID_RESOURCE"},
	// Spec §7.2/§7.3: participants as stored; one sent twice is one added (book refuses it too).
	{name: "Amend/ErrParticipantRepeated", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Participant = append(x.Participant, x.Participant[1])
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrParticipantStatusChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Participant[0].Status = "declined"
	}, want: 422, code: "INVALID_RESOURCE"},
	// The open slot the row gets depends on the time of day, and may itself
	// be a video slot, so the channel is changed to one it is not.
	{name: "Amend/ErrDeliveryChannelChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		changed := false
		for i := range x.Extension {
			if e := &x.Extension[i]; e.URL == extChannel {
				to := "Video"
				if e.ValueCode != nil && *e.ValueCode == to {
					to = "Telephone"
				}
				e.ValueCode, changed = ptr(to), true
			}
		}
		if !changed {
			panic("the appointment carries no delivery channel to change")
		}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrPractitionerRoleChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		for i := range x.Extension {
			if x.Extension[i].URL == extRole {
				x.Extension[i].ValueCodeableConcept = &fhir.CodeableConcept{Coding: []fhir.Coding{{System: sysRoleName, Code: "R0620"}}}
			}
		}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrBookingOrganisationRemoved", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Contained = nil
		x.Extension = x.Extension[1:]
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrBookingOrganisationChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		bookingOrg(x).Name = "Someone else"
		bookingOrg(x).Identifier[0].Value = "B81016"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrIdentifierAdded", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Identifier = append(x.Identifier, fhir.Identifier{System: "https://consumersupplier.com/Id/booking", Value: "new"})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrIdentifierChanged", iid: iidAmend, slots: nil, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Identifier[0].Value = "changed"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrIdentifierUseAdded", iid: iidAmend, slots: nil, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Identifier[0].Use = "official"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrPriorityAdded", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Priority = ptr(5) }, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrMinutesDurationWrong", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.MinutesDuration = ptr(99) },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrCreatedChanged", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Created = gpcTime(mustTime(x.Created).Add(-48 * time.Hour))
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrCancellationReason", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Extension = append(x.Extension, fhir.Extension{URL: extCancelReason, ValueString: ptr("why")})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrUnknownExtension", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Extension = append(x.Extension, fhir.Extension{URL: "https://example.org/ext", ValueString: ptr("x")})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrReason", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Reason = []fhir.CodeableConcept{{Text: "x"}} },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrSpecialty", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Specialty = []fhir.CodeableConcept{{Text: "x"}} },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrProfileMissing", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Meta = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrDescriptionMissing", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Description = "" },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrDescription101", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Description = strings.Repeat("D", 101) },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrComment501", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.Comment = strings.Repeat("C", 501) },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrAbsolutePatientReference", iid: iidAmend, edit: both(setDesc, absolute("Patient/")), want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrAbsoluteLocationReference", iid: iidAmend, edit: both(setDesc, absolute("Location/")), want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrBodyIsBundle", iid: iidAmend, raw: bundleBody, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrBodyUnparseable", iid: iidAmend, raw: brokenBody, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrNewAppointmentBody", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) {
		// The consumer sends a brand-new appointment instead of the stored one (test pack).
		*x = *newBooking(a.patientID(nil, "9658218881"), a.take(nil, "open", 1, 3*time.Hour, false)...)
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrIDMismatch", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { x.ID = "999999" }, want: 400, code: "BAD_REQUEST"},
	// FHIR update: the body SHALL carry the URL's id. Without one it is
	// refused as the brand-new body above is (the test pack's 422).
	{name: "Amend/ErrNoID", iid: iidAmend, edit: func(x *fhir.Appointment, a *apptEnv) { setDesc(x, a); x.ID = "" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrNoID", iid: iidCancel, edit: func(x *fhir.Appointment, a *apptEnv) { cancelOK(x, a); x.ID = "" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrNotFound", iid: iidAmend, path: "Appointment/999999", edit: func(x *fhir.Appointment, a *apptEnv) { x.ID = "999999" },
		want: 404, code: "NO_RECORD_FOUND"},
	{name: "Amend/ErrStaleIfMatch", iid: iidAmend, edit: setDesc, hdr: ifMatch("1"), setup: func(t *testing.T, a *apptEnv, cur *fhir.Appointment) {
		x := *cur
		x.Comment = "first change"
		if r := a.put(t, iidAmend, &x, false, ifMatch("1")); r.status != 200 {
			t.Fatalf("first amend: %d %s", r.status, r.body)
		}
	}, want: 409, code: "FHIR_CONSTRAINT_VIOLATION"},
	{name: "Amend/ErrCancelled", iid: iidAmend, edit: setDesc, noIfM: true, setup: func(t *testing.T, a *apptEnv, cur *fhir.Appointment) {
		x := *cur
		x.Extension = append([]fhir.Extension{}, cur.Extension...)
		cancelOK(&x, a)
		if r := a.put(t, iidCancel, &x, false, nil); r.status != 200 {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Amend/ErrInThePast", iid: iidAmend, edit: setDesc, setup: pastClock, want: 422, code: "INVALID_RESOURCE"},

	// §7.3 Cancel.
	{name: "Cancel/OK", iid: iidCancel, edit: cancelOK, want: 200,
		check: func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, s []slotInfo) {
			if str(v, "status") != "cancelled" || str(extension(v, extCancelReason), "valueString") != "Patient no longer requires appointment" {
				t.Errorf("cancel not applied: %v", v)
			}
			if str(v, "meta", "versionId") != "2" {
				t.Errorf("versionId = %q after cancel, want 2", str(v, "meta", "versionId"))
			}
			for _, sl := range s {
				if st := a.slotStatus(t, sl.ID); st != "free" {
					t.Errorf("slot %d is %q after cancel, want free", sl.ID, st)
				}
			}
			// The freed slot is offered by a search again, and can be booked again.
			day := scheduling.LocalMidnight(s[0].start())
			q := url.Values{"start": {"ge" + gpcTime(day)}, "end": {"le" + gpcTime(scheduling.AddDaysLocal(day, 1))}, "status": {"free"},
				"_include": {"Slot:schedule"}, "searchFilter": {sysODSOrg + "|" + odsLegg, sysOrgType + "|urgent-care"}}
			sr := a.get(t, "Slot?"+q.Encode(), iidSlots, scopeOrgRead)
			found := false
			for _, e := range entries(wantOK(t, sr, "Bundle")) {
				found = found || str(e, "resourceType") == "Slot" && str(e, "id") == fmt.Sprint(s[0].ID)
			}
			if !found {
				t.Errorf("cancelled slot %d is not offered by a search", s[0].ID)
			}
			again := newBooking(a.patientID(t, "9658218873"), s...)
			a.mustBook(t, again)
		}},
	{name: "Cancel/OK/SeveralSlotsAllFreed", iid: iidCancel, slots: slotsOf("own-practice", 3, true), edit: cancelOK, want: 200,
		check: func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, s []slotInfo) {
			for _, sl := range s {
				if st := a.slotStatus(t, sl.ID); st != "free" {
					t.Errorf("slot %d is %q after cancel, want free", sl.ID, st)
				}
			}
		}},
	{name: "Cancel/OK/LongReason", iid: iidCancel, edit: func(x *fhir.Appointment, a *apptEnv) { withReason(x, strings.Repeat("r", 5000)) }, want: 200},
	{name: "Cancel/OK/NoIfMatch", iid: iidCancel, edit: cancelOK, noIfM: true, want: 200},
	{name: "Cancel/OK/AfterAmend", iid: iidCancel, edit: cancelOK, setup: func(t *testing.T, a *apptEnv, cur *fhir.Appointment) {
		x := *cur
		x.Comment = "amended first"
		r := a.put(t, iidAmend, &x, false, ifMatch("1"))
		if r.status != 200 {
			t.Fatalf("amend: %d %s", r.status, r.body)
		}
		*cur = *decodeAppt(t, r.body)
	}, want: 200, check: func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, s []slotInfo) {
		if str(v, "meta", "versionId") != "3" || str(v, "comment") != "amended first" {
			t.Errorf("versionId %q comment %q, want 3 and the amended comment", str(v, "meta", "versionId"), str(v, "comment"))
		}
	}},
	// §10.11: allow optional elements the consumer omitted. A cancel that
	// leaves the comment out keeps it; one that changes it is refused.
	{name: "Cancel/OK/CommentOmittedKept", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) { x.Comment = "" }),
		want: 200, check: func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, slots []slotInfo) {
			if got := str(v, "comment"); got != "Original comment" {
				t.Errorf("comment after a cancel that left it out: %q, want the stored one", got)
			}
		}},
	{name: "Cancel/ErrCommentChanged", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) { x.Comment = "changed" }),
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrDescriptionChanged", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) { x.Description = "changed" }),
		want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrParticipantAdded", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.Participant = append(x.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: otherRef(x, "Practitioner", 3, 1)}, Status: "accepted"})
	}), want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrParticipantRepeated", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.Participant = append(x.Participant, x.Participant[0])
	}), want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrStartChanged", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.Start = gpcTime(mustTime(x.Start).Add(-10 * time.Minute))
	}), want: 422, code: "INVALID_RESOURCE"},
	// serviceType and serviceCategory sent on a cancel are ignored, as on an
	// amend (§7.2, §10.11: "ignore serviceType/serviceCategory sent by the
	// consumer"); these rows expected 422 before. wantAppointment checks the
	// provider's own values come back.
	{name: "Cancel/OK/ServiceTypeTextChangedIgnored", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.ServiceType = []fhir.CodeableConcept{{Text: "RANDOM TYPE TEXT"}}
	}), want: 200},
	{name: "Cancel/OK/ServiceCategoryChangedIgnored", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.ServiceCategory = &fhir.CodeableConcept{Text: "RANDOM CATEGORY"}
	}), want: 200},
	{name: "Cancel/ErrAppointmentTypeText", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.AppointmentType = &fhir.CodeableConcept{Text: "RANDOM TYPE TEXT"}
	}), want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/OK/ServiceTypeAndCategoryOmitted", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.ServiceType, x.ServiceCategory = nil, nil
	}), want: 200},
	{name: "Cancel/ErrBookingOrgReferenceAbsolute", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.Extension[0].ValueReference.Reference = "https://provider.example/A20047/STU3/1/gpconnect/Organization/1"
	}), want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrIfMatchNotAVersion", iid: iidCancel, edit: cancelOK, hdr: map[string]string{"If-Match": "invalidEtag"},
		want: 409, code: "FHIR_CONSTRAINT_VIOLATION"},
	{name: "Cancel/ErrReasonMissing", iid: iidCancel, edit: func(x *fhir.Appointment, a *apptEnv) { x.Status = "cancelled" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrReasonEmpty", iid: iidCancel, edit: func(x *fhir.Appointment, a *apptEnv) { withReason(x, "") }, want: 422, code: "INVALID_PARAMETER"},
	// What other libraries write for an empty reason: no value at all
	// (Firely 1.x, HAPI drop empty strings), or value="" in XML.
	{name: "Cancel/ErrReasonWithoutValue", iid: iidCancel, raw: cancelBody(nil), want: 422, code: "INVALID_PARAMETER"},
	{name: "Cancel/ErrReasonEmptyValueAttribute", iid: iidCancel, raw: cancelBody(func(b []byte, xml bool) []byte {
		if xml {
			return bytes.Replace(b, []byte(`<valueString value="why"/>`), []byte(`<valueString value=""/>`), 1)
		}
		return bytes.Replace(b, []byte(`"valueString":"why"`), []byte(`"valueString":""`), 1)
	}), want: 422, code: "INVALID_PARAMETER"},
	// A reason of another value type is a profile violation, not an empty
	// reason, whether the structs hold that type (valueBoolean) or not
	// (valueDate), in JSON and in XML alike.
	{name: "Cancel/ErrReasonOfAnotherType", iid: iidCancel, raw: cancelBody(func(b []byte, xml bool) []byte {
		if xml {
			return bytes.Replace(b, []byte(`<valueString value="why"/>`), []byte(`<valueBoolean value="true"/>`), 1)
		}
		return bytes.Replace(b, []byte(`"valueString":"why"`), []byte(`"valueBoolean":true`), 1)
	}), want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrReasonOfATypeNotModelled", iid: iidCancel, raw: cancelBody(func(b []byte, xml bool) []byte {
		if xml {
			return bytes.Replace(b, []byte(`<valueString value="why"/>`), []byte(`<valueDate value="2026-12-10"/>`), 1)
		}
		return bytes.Replace(b, []byte(`"valueString":"why"`), []byte(`"valueDate":"2026-12-10"`), 1)
	}), want: 422, code: "INVALID_RESOURCE"},
	// Only the appointment's own reason extension is the reason: one with no
	// value nested inside another extension makes the body invalid, not the
	// (valid) reason empty.
	{name: "Cancel/ErrEmptyReasonURLNestedElsewhere", iid: iidCancel, edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) {
		x.Extension = append(x.Extension, fhir.Extension{URL: "https://example.org/wrapper", Extension: []fhir.Extension{{URL: extCancelReason}}})
	}), want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrReasonUnderUnknownURL", iid: iidCancel, edit: func(x *fhir.Appointment, a *apptEnv) {
		x.Status = "cancelled"
		x.Extension = append(x.Extension, fhir.Extension{URL: extCancelReason + "-wrong", ValueString: ptr("why")})
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrStatusNotCancelled", iid: iidCancel, edit: func(x *fhir.Appointment, a *apptEnv) {
		withReason(x, "why")
		x.Status = "booked"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrInThePast", iid: iidCancel, edit: cancelOK, setup: pastClock, want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrStaleIfMatch", iid: iidCancel, edit: cancelOK, hdr: ifMatch("1"), setup: func(t *testing.T, a *apptEnv, cur *fhir.Appointment) {
		x := *cur
		x.Comment = "first change"
		if r := a.put(t, iidAmend, &x, false, ifMatch("1")); r.status != 200 {
			t.Fatalf("amend: %d %s", r.status, r.body)
		}
	}, want: 409, code: "FHIR_CONSTRAINT_VIOLATION"},
	{name: "Cancel/ErrAbsoluteReferences", iid: iidCancel, edit: both(cancelOK, absolute("Location/")), want: 422, code: "INVALID_RESOURCE"},
	{name: "Cancel/ErrBodyIsBundle", iid: iidCancel, raw: bundleBody, want: 422, code: "INVALID_RESOURCE"},
	// Spec 7.3 leaves a second cancel open; the reference provider accepts
	// it without freeing the slots again: 200 and the appointment unchanged.
	{name: "Cancel/OK/AlreadyCancelled", iid: iidCancel, edit: cancelOK, noIfM: true, setup: func(t *testing.T, a *apptEnv, cur *fhir.Appointment) {
		x := *cur
		x.Extension = append([]fhir.Extension{}, cur.Extension...)
		cancelOK(&x, a)
		if r := a.put(t, iidCancel, &x, false, nil); r.status != 200 {
			t.Fatalf("first cancel: %d %s", r.status, r.body)
		}
	}, want: 200, check: func(t *testing.T, a *apptEnv, v obj, cur *fhir.Appointment, slots []slotInfo) {
		if str(v, "status") != "cancelled" || str(v, "meta", "versionId") != "2" {
			t.Errorf("second cancel: status %q version %q, want cancelled and 2 (unchanged)", str(v, "status"), str(v, "meta", "versionId"))
		}
	}},
	{name: "Cancel/ErrNotFound", iid: iidCancel, path: "Appointment/999999", edit: both(cancelOK, func(x *fhir.Appointment, a *apptEnv) { x.ID = "999999" }),
		want: 404, code: "NO_RECORD_FOUND"},

	// Amend and cancel share PUT /Appointment/{id}; the interaction ID tells them apart.
	{name: "Shared/ErrReadInteractionOnPut", iid: iidReadAppt, edit: setDesc, want: 400, code: "BAD_REQUEST"},
	{name: "Shared/ErrAmendBodyUnderCancel", iid: iidCancel, edit: setDesc, want: 422, code: "INVALID_RESOURCE"},
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// cancelBody is the current appointment cancelled: with a reason "why"
// rewritten by edit, or with a reason extension that has no value when edit
// is nil.
func cancelBody(edit func(b []byte, xml bool) []byte) func(xml bool, cur *fhir.Appointment) ([]byte, string) {
	return func(xml bool, cur *fhir.Appointment) ([]byte, string) {
		x := *cur
		x.Extension = append([]fhir.Extension{}, cur.Extension...)
		if edit == nil {
			x.Status = "cancelled"
			x.Extension = append(x.Extension, fhir.Extension{URL: extCancelReason})
		} else {
			withReason(&x, "why")
		}
		var b []byte
		ct := mediaJSONCT
		if xml {
			b, _ = fhir.MarshalXML(&x)
			ct = mediaXMLCT
		} else {
			b, _ = json.Marshal(&x)
		}
		if edit != nil {
			b = edit(b, xml)
		}
		return b, ct
	}
}

func bundleBody(xml bool, cur *fhir.Appointment) ([]byte, string) {
	if xml {
		return []byte(`<Bundle xmlns="http://hl7.org/fhir"><type value="searchset"/></Bundle>`), mediaXMLCT
	}
	return []byte(`{"resourceType":"Bundle","type":"searchset"}`), mediaJSONCT
}

func brokenBody(xml bool, cur *fhir.Appointment) ([]byte, string) {
	if xml {
		return []byte(`<Appointment xmlns="http://hl7.org/fhir"><id value="` + cur.ID + `"/`), mediaXMLCT
	}
	return []byte(`{"resourceType":"Appointment","id":"` + cur.ID + `",`), mediaJSONCT
}

// TestAmendCancelAppointment runs every §7.2/§7.3 row on every engine with
// JSON and XML bodies.
func TestAmendCancelAppointment(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			pid := a.patientID(t, "9658218881") // patient3
			formats(t, func(t *testing.T, xml bool) {
				for _, c := range updateCases {
					t.Run(c.name, func(t *testing.T) {
						pick := c.slots
						if pick == nil {
							pick = openSlot
						}
						slots := pick(t, a)
						b := newBooking(pid, slots...)
						// The consumer echoes the practitioner and sends an identifier, so the
						// rows can change them.
						b.Participant = append(b.Participant, fhir.AppointmentParticipant{
							Actor: &fhir.Reference{Reference: fmt.Sprintf("Practitioner/%d", slots[0].PractitionerID)}, Status: "accepted"})
						b.Identifier = []fhir.Identifier{{System: "https://consumersupplier.com/Id/booking", Value: "acc-1"}}
						b.Comment = "Original comment"
						cur := readAppt(t, a, a.mustBook(t, b).ID)
						if c.setup != nil {
							c.setup(t, a, cur)
						}
						hdr := c.hdr
						if hdr == nil && !c.noIfM {
							hdr = ifMatch(cur.Meta.VersionID)
						}
						path := "Appointment/" + cur.ID
						if c.path != "" {
							path = c.path
						}
						var r *response
						if c.raw != nil {
							body, ct := c.raw(xml, cur)
							r = a.send(t, http.MethodPut, path, c.iid, scopePatWrite, body, ct, hdr)
						} else {
							x := cur
							if c.edit != nil {
								c.edit(x, a)
							}
							r = a.sendRes(t, http.MethodPut, path, c.iid, scopePatWrite, x, xml, hdr)
						}
						if c.want >= 400 {
							wantOutcome(t, r, c.want, c.code)
							return
						}
						if c.hdr["Prefer"] == "return=minimal" {
							if r.status != 200 || len(r.body) != 0 || r.header.Get("ETag") != `W/"2"` {
								t.Fatalf("return=minimal: %d %v %q", r.status, r.header, r.body)
							}
							return
						}
						v := wantAppointment(t, r, 200, slots, pid)
						if c.check != nil {
							c.check(t, a, v, cur, slots)
						}
						// A read returns what the update returned.
						rr := a.get(t, "Appointment/"+cur.ID, iidReadAppt, scopePatRead)
						if rr.status != 200 || string(rr.body) != string(r.body) {
							t.Errorf("read after update differs:\n%s\n%s", rr.body, r.body)
						}
					})
				}
			})
		})
	}
}

// readAppt reads a just-booked appointment back (as §7.2 says consumers should).
func readAppt(t *testing.T, a *apptEnv, id string) *fhir.Appointment {
	t.Helper()
	r := a.get(t, "Appointment/"+id, iidReadAppt, scopePatRead)
	if r.status != 200 {
		t.Fatalf("read %s: %d %s", id, r.status, r.body)
	}
	return decodeAppt(t, r.body)
}

// TestReadAppointment covers §7.1.
func TestReadAppointment(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			pid := a.patientID(t, "9658218881")
			slots := openSlot(t, a)
			booked := a.mustBook(t, newBooking(pid, slots...))
			t.Run("OK", func(t *testing.T) {
				v := wantAppointment(t, a.get(t, "Appointment/"+booked.ID, iidReadAppt, scopePatRead), 200, slots, pid)
				if str(v, "meta", "versionId") != "1" {
					t.Errorf("versionId %q", str(v, "meta", "versionId"))
				}
			})
			for _, id := range []string{"Invalid4321", "8888888888", "999999", "-1", "1.5"} {
				t.Run("ErrUnknown/"+id, func(t *testing.T) {
					wantOutcome(t, a.get(t, "Appointment/"+id, iidReadAppt, scopePatRead), 404, "NO_RECORD_FOUND")
				})
			}
			t.Run("ErrEmptyID", func(t *testing.T) {
				r := a.get(t, "Appointment/", iidReadAppt, scopePatRead)
				if r.status < 400 || r.status > 499 {
					t.Fatalf("status %d", r.status)
				}
				wantOutcome(t, r, r.status, "NO_RECORD_FOUND|BAD_REQUEST")
			})
			t.Run("ErrWriteScope", func(t *testing.T) {
				wantOutcome(t, a.get(t, "Appointment/"+booked.ID, iidReadAppt, scopePatWrite), 400, "BAD_REQUEST")
			})
			t.Run("ErrAnotherPracticesAppointment", func(t *testing.T) {
				// Booked at Northgate (B82005) for its own patient; not visible under A20047's root.
				var s slotInfo
				if err := a.st.DB().GetContext(t.Context(), &s, a.st.DB().Rebind(`SELECT s.id, s.start_at, s.end_at, s.schedule_id, sc.location_id,
					sc.practitioner_id, s.channel, sc.role, s.service_type, sc.service_category, p.name AS profile, p.id AS profile_id FROM slots s
					JOIN schedules sc ON sc.id = s.schedule_id JOIN access_profiles p ON p.id = s.access_profile_id
					WHERE s.practice_id = 11 AND s.status = 'free' AND p.name = 'open' AND s.start_at > ? ORDER BY s.start_at LIMIT 1`),
					time.Now().Add(3*time.Hour).Unix()); err != nil {
					t.Fatal(err)
				}
				r := a.requestAt(t, "B82005", asidNorthgate, http.MethodPost, "Appointment", iidBook, scopePatWrite)
				body := encodeBody(t, newBooking(101, s), false)
				r.Body, r.ContentLength = ioNopCloser(body), int64(len(body))
				r.Header.Set("Content-Type", mediaJSONCT)
				res := a.do(t, r)
				if res.status != 201 {
					t.Fatalf("book at Northgate: %d %s", res.status, res.body)
				}
				other := decodeAppt(t, res.body)
				wantOutcome(t, a.get(t, "Appointment/"+other.ID, iidReadAppt, scopePatRead), 404, "NO_RECORD_FOUND")
				cancelOK(other, a)
				wantOutcome(t, a.put(t, iidCancel, other, false, nil), 404, "NO_RECORD_FOUND")
			})
			t.Run("OK/TodayAfterItsTime", func(t *testing.T) {
				// Today's appointments count as future (§7 design decision).
				moveClock(t, a, slots[0].end().Add(time.Minute).Sub(time.Now()))
				if localDate(slots[0].start()) != localDate(slots[0].end().Add(time.Minute)) {
					t.Skip("the slot ends at midnight; the day changes")
				}
				wantAppointment(t, a.get(t, "Appointment/"+booked.ID, iidReadAppt, scopePatRead), 200, slots, pid)
			})
			t.Run("OK/XMLMatchesJSON", func(t *testing.T) {
				j := a.get(t, "Appointment/"+booked.ID, iidReadAppt, scopePatRead)
				r := a.request(t, http.MethodGet, "Appointment/"+booked.ID, iidReadAppt, scopePatRead)
				r.Header.Set("Accept", "application/fhir+xml")
				x := a.do(t, r)
				if x.status != 200 || !strings.HasPrefix(x.header.Get("Content-Type"), "application/fhir+xml") {
					t.Fatalf("XML read: %d %s", x.status, x.header.Get("Content-Type"))
				}
				res, err := fhir.DecodeXML(x.body, "Appointment")
				if err != nil {
					t.Fatalf("decode XML: %v\n%s", err, x.body)
				}
				if got := encodeBody(t, res, false); string(got) != string(j.body) {
					t.Errorf("XML and JSON reads differ:\n%s\n%s", got, j.body)
				}
			})
			t.Run("ErrPatientSensitive", func(t *testing.T) {
				// §7 IG: a patient S-flagged after booking is "not found" on read, amend and cancel.
				s := openSlot(t, a)
				p := a.patientID(t, "9658219004") // patient7
				b := a.mustBook(t, newBooking(p, s...))
				if _, err := a.st.DB().ExecContext(t.Context(), a.st.DB().Rebind(`UPDATE patients SET sensitive = TRUE WHERE id = ?`), p); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					a.st.DB().ExecContext(context.Background(), a.st.DB().Rebind(`UPDATE patients SET sensitive = FALSE WHERE id = ?`), p)
				})
				wantOutcome(t, a.get(t, "Appointment/"+b.ID, iidReadAppt, scopePatRead), 404, "PATIENT_NOT_FOUND")
				b.Comment = "changed"
				wantOutcome(t, a.put(t, iidAmend, b, false, nil), 404, "PATIENT_NOT_FOUND")
				cancelOK(b, a)
				b.Comment = ""
				wantOutcome(t, a.put(t, iidCancel, b, false, nil), 404, "PATIENT_NOT_FOUND")
				if st := a.slotStatus(t, s[0].ID); st != "busy" {
					t.Errorf("slot %s after a refused cancel", st)
				}
			})
			t.Run("ErrDataTooIncomplete", func(t *testing.T) {
				// §7: stored data that cannot make a valid GPConnect-Appointment-1 give
				// 500 INTERNAL_SERVER_ERROR, and fail a whole retrieve bundle.
				p := a.patientID(t, "9658219012") // patient8
				s := openSlot(t, a)
				b := a.mustBook(t, newBooking(p, s...))
				if _, err := a.st.DB().ExecContext(t.Context(), a.st.DB().Rebind(`UPDATE appointments SET location_id = 0 WHERE id = ?`), b.ID); err != nil {
					t.Fatal(err)
				}
				wantOutcome(t, a.get(t, "Appointment/"+b.ID, iidReadAppt, scopePatRead), 500, "INTERNAL_SERVER_ERROR")
				b.Comment = "changed"
				wantOutcome(t, a.put(t, iidAmend, b, false, nil), 500, "INTERNAL_SERVER_ERROR")
				day := localDate(s[0].start())
				r := a.get(t, fmt.Sprintf("Patient/%d/Appointment?start=ge%s&start=le%s", p, localDate(time.Now()), day), iidRetrieveAppt, scopePatRead)
				d := wantOutcome(t, r, 500, "INTERNAL_SERVER_ERROR")
				if strings.Contains(d, "location") || strings.Contains(d, "GPConnect-Appointment-1") {
					t.Errorf("500 diagnostics leak internals: %q", d)
				}
			})
			t.Run("ErrInThePast", func(t *testing.T) {
				// [REC] a past appointment is out of scope: 404 NO_RECORD_FOUND.
				moveClock(t, a, slots[0].start().Add(48*time.Hour).Sub(time.Now()))
				wantOutcome(t, a.get(t, "Appointment/"+booked.ID, iidReadAppt, scopePatRead), 404, "NO_RECORD_FOUND")
			})
		})
	}
}
