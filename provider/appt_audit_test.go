package provider_test

// Acceptance tests for the findings of the Appointment audit (book, amend,
// cancel): If-Match (spec §2.1, §7.2, §7.3), the practitioner role of a
// booking (§6.4), a second cancel (§7.3), serviceType/serviceCategory on a
// cancel (§10.11), 0..1 extensions (§8.1), meta on the contained booking
// organisation (§8.1, FHIR dom-4) and the type of the cancellation reason
// (§8.2, §9.2).

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// bookAndRead books one open slot for patient3 and reads it back, as a
// consumer does before an amend or cancel (§7.2).
func bookAndRead(t *testing.T, a *apptEnv) (*fhir.Appointment, []slotInfo) {
	t.Helper()
	slots := openSlot(t, a)
	b := newBooking(a.patientID(t, "9658218881"), slots...)
	b.Comment = "Original comment"
	return readAppt(t, a, a.mustBook(t, b).ID), slots
}

// withoutReason drops the cancellation reason extension.
func withoutReason(x *fhir.Appointment) {
	var keep []fhir.Extension
	for _, e := range x.Extension {
		if e.URL != extCancelReason {
			keep = append(keep, e)
		}
	}
	x.Extension = keep
}

// cancelled is x as a cancel body with reason.
func cancelled(x *fhir.Appointment, reason string) *fhir.Appointment {
	c := *x
	c.Extension = append([]fhir.Extension{}, x.Extension...)
	withoutReason(&c)
	withReason(&c, reason)
	return &c
}

// TestUpdateIfMatch: §2.1 "present and not the current version → 409", and
// versions start at 1, so W/"0" never matches; "*" matches any current
// representation (RFC 9110 §13.1.1); an unknown appointment is 404 whatever
// the If-Match (§7.2: the appointment's existence comes first).
func TestUpdateIfMatch(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			t.Run("ErrAmendVersionZero", func(t *testing.T) {
				cur, _ := bookAndRead(t, a)
				x := *cur
				x.Description = "Amended under W/0"
				wantOutcome(t, a.put(t, iidAmend, &x, false, ifMatch("0")), 409, "FHIR_CONSTRAINT_VIOLATION")
				after := readAppt(t, a, cur.ID)
				if after.Meta.VersionID != "1" || after.Description != cur.Description {
					t.Errorf("after a refused amend: version %s description %q, want 1 and %q", after.Meta.VersionID, after.Description, cur.Description)
				}
			})
			t.Run("ErrCancelVersionZero", func(t *testing.T) {
				cur, slots := bookAndRead(t, a)
				wantOutcome(t, a.put(t, iidCancel, cancelled(cur, "W/0"), false, ifMatch("0")), 409, "FHIR_CONSTRAINT_VIOLATION")
				after := readAppt(t, a, cur.ID)
				if after.Meta.VersionID != "1" || after.Status != "booked" {
					t.Errorf("after a refused cancel: version %s status %s, want 1 and booked", after.Meta.VersionID, after.Status)
				}
				if st := a.slotStatus(t, slots[0].ID); st != "busy" {
					t.Errorf("slot %d is %q after a refused cancel", slots[0].ID, st)
				}
			})
			t.Run("ErrVersionZeroAfterAmend", func(t *testing.T) {
				cur, _ := bookAndRead(t, a)
				x := *cur
				x.Comment = "first"
				if r := a.put(t, iidAmend, &x, false, ifMatch("1")); r.status != 200 {
					t.Fatalf("amend: %d %s", r.status, r.body)
				}
				x.Comment = "second"
				wantOutcome(t, a.put(t, iidAmend, &x, false, ifMatch("0")), 409, "FHIR_CONSTRAINT_VIOLATION")
			})
			t.Run("OK/AmendStar", func(t *testing.T) {
				cur, _ := bookAndRead(t, a)
				x := *cur
				x.Description = "Amended under *"
				r := a.put(t, iidAmend, &x, false, map[string]string{"If-Match": "*"})
				v := wantJSON(t, r, 200)
				if str(v, "description") != "Amended under *" || str(v, "meta", "versionId") != "2" {
					t.Errorf("amend with If-Match *: description %q version %q", str(v, "description"), str(v, "meta", "versionId"))
				}
			})
			t.Run("OK/CancelStar", func(t *testing.T) {
				cur, slots := bookAndRead(t, a)
				r := a.put(t, iidCancel, cancelled(cur, "star"), false, map[string]string{"If-Match": "*"})
				v := wantJSON(t, r, 200)
				if str(v, "status") != "cancelled" || str(v, "meta", "versionId") != "2" {
					t.Errorf("cancel with If-Match *: status %q version %q", str(v, "status"), str(v, "meta", "versionId"))
				}
				if st := a.slotStatus(t, slots[0].ID); st != "free" {
					t.Errorf("slot %d is %q after the cancel", slots[0].ID, st)
				}
			})
			// RFC 9110 §13.1.1: If-Match is a list of tags; one naming the
			// current version is enough, and a header naming none matches nothing.
			t.Run("OK/AmendListNamingCurrent", func(t *testing.T) {
				cur, _ := bookAndRead(t, a)
				x := *cur
				x.Description = "Amended under a list"
				v := wantJSON(t, a.put(t, iidAmend, &x, false, map[string]string{"If-Match": `W/"7", W/"1"`}), 200)
				if str(v, "meta", "versionId") != "2" {
					t.Errorf("amend with a list naming the current version: version %q", str(v, "meta", "versionId"))
				}
			})
			// Tags compare as strings (RFC 9110 §8.8.3.2): W/"01" is not W/"1".
			for name, h := range map[string]string{"ListWithoutCurrent": `W/"7", W/"8"`, "Empty": "", "ListWithBadTag": `W/"1", soon`,
				"LeadingZero": `W/"01"`, "PlusSign": `W/"+1"`, "StarAndTag": `*, W/"1"`} {
				t.Run("ErrAmend"+name, func(t *testing.T) {
					cur, _ := bookAndRead(t, a)
					x := *cur
					x.Description = "Amended under " + name
					wantOutcome(t, a.put(t, iidAmend, &x, false, map[string]string{"If-Match": h}), 409, "FHIR_CONSTRAINT_VIOLATION")
					if after := readAppt(t, a, cur.ID); after.Meta.VersionID != "1" || after.Description != cur.Description {
						t.Errorf("after a refused amend: version %s description %q", after.Meta.VersionID, after.Description)
					}
				})
			}
			cur, _ := bookAndRead(t, a)
			for _, h := range []string{"invalidEtag", `W/"0"`, `W/"1"`, "*"} {
				t.Run("ErrUnknownAppointment/"+h, func(t *testing.T) {
					x := *cur
					x.ID = "999999"
					hdr := map[string]string{"If-Match": h}
					wantOutcome(t, a.sendRes(t, http.MethodPut, "Appointment/999999", iidAmend, scopePatWrite, &x, false, hdr), 404, "NO_RECORD_FOUND")
					wantOutcome(t, a.sendRes(t, http.MethodPut, "Appointment/999999", iidCancel, scopePatWrite, cancelled(&x, "gone"), false, hdr), 404, "NO_RECORD_FOUND")
				})
			}
		})
	}
}

// takeRole hands out a free slot of the profile whose schedule's role is not role.
func (a *apptEnv) takeRole(t *testing.T, profile, notRole string) slotInfo {
	t.Helper()
	var rows []slotInfo
	if err := a.st.DB().SelectContext(context.Background(), &rows, a.st.DB().Rebind(slotSelect+`p.name = ? AND sc.role <> ? AND sc.role <> ''
		ORDER BY s.start_at, s.id`), time.Now().Add(3*time.Hour).Unix(), profile, notRole); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range rows {
		if !a.used[r.ID] {
			a.used[r.ID] = true
			return r
		}
	}
	t.Fatalf("no free %q slot with a role other than %s", profile, notRole)
	return slotInfo{}
}

// TestBookRoleOfAnotherSchedule: the test pack's DefaultAppointmentBuilder
// sends the PractitionerRole extension R0260 whatever the first free slot's
// schedule, copies the slot's delivery channel, and expects 201. The booking
// is accepted and the appointment carries the schedule's role (§6.4: derived
// from the schedule); wantAppointment checks the role against the schedule.
func TestBookRoleOfAnotherSchedule(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			pid := a.patientID(t, "9658218865")
			formats(t, func(t *testing.T, xml bool) {
				s := a.takeRole(t, "open", "R0260")
				b := newBooking(pid, s)
				b.Extension = append(b.Extension,
					fhir.Extension{URL: extRole, ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: sysRoleName, Code: "R0260", Display: "General Medical Practitioner"}}}},
					fhir.Extension{URL: extChannel, ValueCode: ptr(s.Channel)})
				b.Participant = append(b.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: fmt.Sprintf("Practitioner/%d", s.PractitionerID)}, Status: "accepted"})
				r := a.book(t, b, xml, nil)
				wantAppointment(t, r, 201, []slotInfo{s}, pid)
				// The stored appointment can be amended and cancelled with what was returned.
				cur := readAppt(t, a, decodeAppt(t, r.body).ID)
				if r := a.put(t, iidCancel, cancelled(cur, "role check"), xml, ifMatch("1")); r.status != 200 {
					t.Errorf("cancel: %d %s", r.status, r.body)
				}
			})
		})
	}
}

// TestSecondCancel: a cancel of an already cancelled appointment is not
// covered by the spec (§7.3), which the reference provider answers with the
// appointment unchanged. Its body gets every check a first cancel gets
// (§7.3: only status and the reason may differ, the reason is required and
// not empty), with the same errors; a valid one gets 200 with the stored
// appointment: no new version, the first reason kept, no slot touched.
func TestSecondCancel(t *testing.T) {
	rows := []struct {
		name string
		edit func(x *fhir.Appointment)
		hdr  map[string]string
		want int
		code string
	}{
		{name: "OK/Identical", edit: func(x *fhir.Appointment) {}, want: 200},
		{name: "OK/AnotherReasonKeepsTheFirst", edit: func(x *fhir.Appointment) {
			withoutReason(x)
			withReason(x, "a different reason")
		}, want: 200},
		{name: "OK/ServiceTypeChangedIgnored", edit: func(x *fhir.Appointment) { x.ServiceType = []fhir.CodeableConcept{{Text: "changed"}} }, want: 200},
		{name: "ErrDescriptionChanged", edit: func(x *fhir.Appointment) { x.Description = "changed" }, want: 422, code: "INVALID_RESOURCE"},
		{name: "ErrCommentChanged", edit: func(x *fhir.Appointment) { x.Comment = "changed" }, want: 422, code: "INVALID_RESOURCE"},
		{name: "ErrParticipantAdded", edit: func(x *fhir.Appointment) {
			x.Participant = append(x.Participant, fhir.AppointmentParticipant{Actor: &fhir.Reference{Reference: otherRef(x, "Practitioner", 3, 1)}, Status: "accepted"})
		}, want: 422, code: "INVALID_RESOURCE"},
		{name: "ErrReasonMissing", edit: withoutReason, want: 422, code: "INVALID_RESOURCE"},
		{name: "ErrReasonEmpty", edit: func(x *fhir.Appointment) {
			withoutReason(x)
			withReason(x, "")
		}, want: 422, code: "INVALID_PARAMETER"},
		{name: "ErrStatusBooked", edit: func(x *fhir.Appointment) { x.Status = "booked" }, want: 422, code: "INVALID_RESOURCE"},
		{name: "ErrStaleIfMatch", edit: func(x *fhir.Appointment) {}, hdr: ifMatch("1"), want: 409, code: "FHIR_CONSTRAINT_VIOLATION"},
		{name: "ErrIfMatchVersionZero", edit: func(x *fhir.Appointment) {}, hdr: ifMatch("0"), want: 409, code: "FHIR_CONSTRAINT_VIOLATION"},
	}
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			formats(t, func(t *testing.T, xml bool) {
				for _, c := range rows {
					t.Run(c.name, func(t *testing.T) {
						cur, slots := bookAndRead(t, a)
						if r := a.put(t, iidCancel, cancelled(cur, "first reason"), false, ifMatch("1")); r.status != 200 {
							t.Fatalf("first cancel: %d %s", r.status, r.body)
						}
						// Someone books the freed slot: a second cancel must leave it alone.
						a.mustBook(t, newBooking(a.patientID(t, "9658218873"), slots...))
						x := readAppt(t, a, cur.ID)
						c.edit(x)
						hdr := c.hdr
						if hdr == nil {
							hdr = ifMatch("2")
						}
						r := a.put(t, iidCancel, x, xml, hdr)
						if c.want >= 400 {
							wantOutcome(t, r, c.want, c.code)
						} else {
							v := wantAppointment(t, r, 200, slots, a.patientID(t, "9658218881"))
							if str(v, "status") != "cancelled" || str(v, "meta", "versionId") != "2" ||
								str(extension(v, extCancelReason), "valueString") != "first reason" {
								t.Errorf("second cancel: status %q version %q reason %q, want cancelled, 2 and the first reason", str(v, "status"),
									str(v, "meta", "versionId"), str(extension(v, extCancelReason), "valueString"))
							}
						}
						after := readAppt(t, a, cur.ID)
						if after.Meta.VersionID != "2" || after.Description != cur.Description || after.Comment != cur.Comment {
							t.Errorf("stored appointment changed: version %s description %q comment %q", after.Meta.VersionID, after.Description, after.Comment)
						}
						if st := a.slotStatus(t, slots[0].ID); st != "busy" {
							t.Errorf("slot %d, booked again after the first cancel, is %q after the second cancel", slots[0].ID, st)
						}
					})
				}
			})
		})
	}
}

// TestUpdateBodyChecks: 0..1 extensions sent twice (§8.1), meta.versionId or
// meta.lastUpdated on the contained booking organisation (§8.1, FHIR dom-4)
// and a cancellation reason that is not a valueString (§8.2) are profile
// violations: 422 INVALID_RESOURCE (§6.4, §9.2), on book, amend and cancel.
func TestUpdateBodyChecks(t *testing.T) {
	twice := func(url string) func(x *fhir.Appointment) {
		return func(x *fhir.Appointment) {
			for _, e := range x.Extension {
				if e.URL == url {
					x.Extension = append(x.Extension, e)
					return
				}
			}
			panic("no extension " + url)
		}
	}
	orgMeta := func(m fhir.Meta) func(x *fhir.Appointment) {
		return func(x *fhir.Appointment) {
			m.Profile = []string{profOrg}
			bookingOrg(x).Meta = &m
		}
	}
	amend := func(f func(x *fhir.Appointment)) func(x *fhir.Appointment) {
		return func(x *fhir.Appointment) { x.Description = "Amended"; f(x) }
	}
	cancel := func(f func(x *fhir.Appointment)) func(x *fhir.Appointment) {
		return func(x *fhir.Appointment) { withReason(x, "why"); f(x) }
	}
	rows := []struct {
		name string
		iid  string
		edit func(x *fhir.Appointment)
		want int
		code string
		diag string
	}{
		{"Amend/ErrDeliveryChannelTwice", iidAmend, amend(twice(extChannel)), 422, "INVALID_RESOURCE", "at most once"},
		{"Amend/ErrPractitionerRoleTwice", iidAmend, amend(twice(extRole)), 422, "INVALID_RESOURCE", "at most once"},
		{"Amend/ErrBookingOrganisationTwice", iidAmend, amend(twice(extBookingOrg)), 422, "INVALID_RESOURCE", "at most once"},
		{"Cancel/ErrReasonTwice", iidCancel, cancel(twice(extCancelReason)), 422, "INVALID_RESOURCE", "at most once"},
		{"Cancel/ErrTwoDifferentReasons", iidCancel, cancel(func(x *fhir.Appointment) {
			x.Extension = append(x.Extension, fhir.Extension{URL: extCancelReason, ValueString: ptr("b")})
		}), 422, "INVALID_RESOURCE", "at most once"},
		{"Amend/ErrContainedVersionId", iidAmend, amend(orgMeta(fhir.Meta{VersionID: "1"})), 422, "INVALID_RESOURCE", "meta.versionId"},
		{"Cancel/ErrContainedVersionId", iidCancel, cancel(orgMeta(fhir.Meta{VersionID: "1"})), 422, "INVALID_RESOURCE", "meta.versionId"},
		{"Cancel/ErrContainedLastUpdated", iidCancel, cancel(orgMeta(fhir.Meta{LastUpdated: "2026-12-06T20:05:11+00:00"})), 422, "INVALID_RESOURCE", "meta.lastUpdated"},
		{"Cancel/ErrReasonAsValueCode", iidCancel, func(x *fhir.Appointment) {
			x.Status = "cancelled"
			x.Extension = append(x.Extension, fhir.Extension{URL: extCancelReason, ValueCode: ptr("no-longer-required")})
		}, 422, "INVALID_RESOURCE", "valueString"},
		{"Cancel/ErrReasonEmptyString", iidCancel, func(x *fhir.Appointment) { withReason(x, "") }, 422, "INVALID_PARAMETER", ""},
	}
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			formats(t, func(t *testing.T, xml bool) {
				for _, c := range rows {
					t.Run(c.name, func(t *testing.T) {
						cur, slots := bookAndRead(t, a)
						c.edit(cur)
						d := wantOutcome(t, a.put(t, c.iid, cur, xml, ifMatch("1")), c.want, c.code)
						if !strings.Contains(d, c.diag) {
							t.Errorf("diagnostics %q do not mention %q", d, c.diag)
						}
						after := readAppt(t, a, cur.ID)
						if after.Meta.VersionID != "1" || after.Status != "booked" {
							t.Errorf("after a refused update: version %s status %s", after.Meta.VersionID, after.Status)
						}
						if st := a.slotStatus(t, slots[0].ID); st != "busy" {
							t.Errorf("slot %d is %q after a refused update", slots[0].ID, st)
						}
					})
				}
			})
		})
	}
}

// TestBookBodyChecks: the book side of TestUpdateBodyChecks.
func TestBookBodyChecks(t *testing.T) {
	rows := []struct {
		name string
		edit func(b *fhir.Appointment, s slotInfo)
		diag string
	}{
		{"ErrDeliveryChannelTwice", func(b *fhir.Appointment, s slotInfo) {
			// The audit's request: Video, then the slot's channel; the last one used to win.
			b.Extension = append(b.Extension, fhir.Extension{URL: extChannel, ValueCode: ptr("Video")}, fhir.Extension{URL: extChannel, ValueCode: ptr(s.Channel)})
		}, "deliveryChannel extension"},
		{"ErrDeliveryChannelTwiceSame", func(b *fhir.Appointment, s slotInfo) {
			b.Extension = append(b.Extension, fhir.Extension{URL: extChannel, ValueCode: ptr(s.Channel)}, fhir.Extension{URL: extChannel, ValueCode: ptr(s.Channel)})
		}, "at most once"},
		{"ErrPractitionerRoleTwice", func(b *fhir.Appointment, s slotInfo) {
			role := fhir.Extension{URL: extRole, ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: sysRoleName, Code: s.Role}}}}
			b.Extension = append(b.Extension, role, role)
		}, "practitionerRole extension"},
		{"ErrBookingOrganisationTwice", func(b *fhir.Appointment, s slotInfo) {
			b.Extension = append(b.Extension, b.Extension[0])
		}, "bookingOrganisation extension"},
		{"ErrContainedVersionId", func(b *fhir.Appointment, s slotInfo) {
			bookingOrg(b).Meta = &fhir.Meta{VersionID: "1", Profile: []string{profOrg}}
		}, "meta.versionId"},
		{"ErrContainedLastUpdated", func(b *fhir.Appointment, s slotInfo) {
			bookingOrg(b).Meta = &fhir.Meta{LastUpdated: "2026-12-06T20:05:11+00:00", Profile: []string{profOrg}}
		}, "meta.lastUpdated"},
	}
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			pid := a.patientID(t, "9658218865")
			formats(t, func(t *testing.T, xml bool) {
				for _, c := range rows {
					t.Run(c.name, func(t *testing.T) {
						s := openSlot(t, a)
						b := newBooking(pid, s...)
						c.edit(b, s[0])
						d := wantOutcome(t, a.book(t, b, xml, nil), 422, "INVALID_RESOURCE")
						if !strings.Contains(d, c.diag) {
							t.Errorf("diagnostics %q do not mention %q", d, c.diag)
						}
						if st := a.slotStatus(t, s[0].ID); st != "free" {
							t.Errorf("slot %d is %q after a refused booking", s[0].ID, st)
						}
					})
				}
			})
		})
	}
}

// TestStoredContainedMetaDropped: a booking organisation stored with
// meta.versionId before such bookings were refused is returned without it
// (a contained resource has none, FHIR dom-4), and what is returned can be
// amended.
func TestStoredContainedMetaDropped(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			cur, _ := bookAndRead(t, a)
			raw := `{"resourceType":"Organization","id":"1","meta":{"versionId":"1","lastUpdated":"2026-12-06T20:05:11+00:00","profile":["` + profOrg +
				`"]},"identifier":[{"system":"` + sysODSOrg + `","value":"` + odsLegg + `"}],"name":"Test Suite Validator","telecom":[{"system":"phone","value":"01823938938"}]}`
			if _, err := a.st.DB().ExecContext(t.Context(), a.st.DB().Rebind(`UPDATE appointments SET booking_raw = ? WHERE id = ?`), raw, cur.ID); err != nil {
				t.Fatal(err)
			}
			r := a.get(t, "Appointment/"+cur.ID, iidReadAppt, scopePatRead)
			v := wantJSON(t, r, 200)
			org := at(v, "contained", 0)
			if at(org, "meta", "versionId") != nil || at(org, "meta", "lastUpdated") != nil {
				t.Errorf("contained organisation returned with meta %v", at(org, "meta"))
			}
			if str(org, "meta", "profile", 0) != profOrg {
				t.Errorf("contained organisation lost its profile: %v", at(org, "meta"))
			}
			x := decodeAppt(t, r.body)
			x.Description = "Amended after a read"
			if r := a.put(t, iidAmend, x, false, ifMatch("1")); r.status != 200 {
				t.Errorf("amend of the read appointment: %d %s", r.status, r.body)
			}
		})
	}
}
