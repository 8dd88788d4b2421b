package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// slotRaw runs the standard search with its query edited.
func slotRaw(ctx context.Context, e *env, opts ...consumer.Option) (*consumer.SlotResult, error) {
	return e.c.SearchSlots(ctx, e.stdQuery(), opts...)
}

// slotParams replaces the standard search's parameters by edited ones.
func slotParams(e *env, edit func(v url.Values)) consumer.Option {
	v := e.stdQuery().Values()
	edit(v)
	return consumer.WithRawQuery(v.Encode())
}

func slotRefused(status int, code gpconnect.SpineCode, edit func(e *env, v url.Values)) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		_, err := slotRaw(ctx, e, slotParams(e, func(v url.Values) { edit(e, v) }))
		return wantRefusal(err, status, code)
	}
}

func slotAccepted(what string, edit func(e *env, v url.Values)) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		_, err := slotRaw(ctx, e, slotParams(e, func(v url.Values) { edit(e, v) }))
		return wantOK(what+" must be accepted", err)
	}
}

// slotBundleShape applies §5.5/§5.6 to a search result made with every include.
func slotBundleShape(r *consumer.SlotResult, q consumer.SlotQuery) error {
	if r.Bundle.Type != "searchset" {
		return failf("Bundle.type %q, want searchset", r.Bundle.Type)
	}
	for _, en := range r.Bundle.Entry {
		if en.FullURL != "" {
			return failf("Bundle.entry.fullUrl is populated (providers SHOULD NOT; spec §5.5)")
		}
	}
	if len(r.Slots) == 0 {
		if len(r.Organizations) != 0 {
			return failf("an empty result must not include an Organization")
		}
		return nil
	}
	if len(r.Organizations) != 1 {
		return failf("%d Organizations in a non-empty result, want exactly 1", len(r.Organizations))
	}
	for _, s := range r.Slots {
		what := "Slot/" + s.ID
		if err := hasProfile(what, s.Meta, gpconnect.ProfileSlot); err != nil {
			return err
		}
		if s.Status != "free" {
			return failf("%s status %q, want free", what, s.Status)
		}
		if err := first(localTime(what+" start", s.Start), localTime(what+" end", s.End)); err != nil {
			return err
		}
		st, _ := time.Parse(time.RFC3339, s.Start)
		en, _ := time.Parse(time.RFC3339, s.End)
		if st.Before(q.Start) || en.After(q.End) {
			return failf("%s (%s-%s) is not fully inside the searched range", what, s.Start, s.End)
		}
		if !gpconnect.DeliveryChannel(consumer.ExtensionCode(s.Extension, gpconnect.ExtDeliveryChannel)).Valid() {
			return failf("%s lacks a valid DeliveryChannel-2 extension", what)
		}
		if len(s.ServiceType) == 0 || s.ServiceType[0].Text == "" {
			return failf("%s lacks serviceType[0].text (slot type)", what)
		}
		if len(s.Specialty) > 0 || s.ServiceCategory != nil || s.AppointmentType != nil {
			return failf("%s populates specialty, serviceCategory or appointmentType", what)
		}
		sc := r.Schedule(s)
		if sc == nil {
			return failf("%s: schedule %q is not in the Bundle (or not a relative Schedule reference)", what, s.Schedule.Reference)
		}
		if err := hasProfile("Schedule/"+sc.ID, sc.Meta, gpconnect.ProfileSchedule); err != nil {
			return err
		}
		if sc.ServiceCategory == nil || sc.ServiceCategory.Text == "" {
			return failf("Schedule/%s lacks serviceCategory.text (schedule type)", sc.ID)
		}
		if len(sc.Specialty) > 0 || len(sc.ServiceType) > 0 || sc.Active != nil {
			return failf("Schedule/%s populates specialty, serviceType or active", sc.ID)
		}
		roles := 0
		for _, x := range sc.Extension {
			if x.URL == gpconnect.ExtPractitionerRole {
				roles++
				if x.ValueCodeableConcept == nil || len(x.ValueCodeableConcept.Coding) == 0 || x.ValueCodeableConcept.Coding[0].System != gpconnect.SystemSDSJobRoleName {
					return failf("Schedule/%s practitionerRole coding must use system %s", sc.ID, gpconnect.SystemSDSJobRoleName)
				}
			}
		}
		if roles != 1 {
			return failf("Schedule/%s has %d PractitionerRole extensions, want 1", sc.ID, roles)
		}
		loc := r.Location(s)
		if loc == nil {
			return failf("Schedule/%s: Location actor %q missing from the Bundle", sc.ID, consumer.ActorRef(sc, "Location"))
		}
		if err := locationShape(loc); err != nil {
			return failf("Location/%s: %v", loc.ID, err)
		}
		if ref := consumer.ActorRef(sc, "Practitioner"); ref != "" && r.Practitioner(s) == nil {
			return failf("Schedule/%s: Practitioner actor %q missing from the Bundle", sc.ID, ref)
		}
		if sc.PlanningHorizon != nil {
			if err := localTime("Schedule/"+sc.ID+" planningHorizon.start", sc.PlanningHorizon.Start); err != nil {
				return err
			}
		}
	}
	return nil
}

func slotChecks() []check {
	g := "slots"
	return []check{
		{g, "search", func(ctx context.Context, e *env) error {
			q := e.stdQuery()
			var raw consumer.Response
			r, err := e.c.SearchSlots(ctx, q, consumer.Capture(&raw))
			if err != nil {
				return wantOK("standard slot search", err)
			}
			if len(r.Slots) == 0 {
				return failf("no free slots for %s (%s) from %s for %d days: the data map expects some", e.d.ConsumerODS, e.d.ConsumerOrgType, consumer.FormatDate(q.Start), e.d.SearchDays)
			}
			e.slots = r
			return first(slotBundleShape(r, q), noStore(raw.Header))
		}},
		{g, "without-search-filters", func(ctx context.Context, e *env) error {
			q := e.stdQuery()
			q.ODS, q.OrgType = "", ""
			r, err := e.c.SearchSlots(ctx, q)
			if err != nil {
				return wantOK("a search without searchFilter", err)
			}
			return slotBundleShape(r, q)
		}},
		{g, "empty-result", func(ctx context.Context, e *env) error {
			q := e.stdQuery()
			q.Start = consumer.LocalMidnight(e.now.AddDate(5, 0, 0))
			q.End = q.Start.Add(24 * time.Hour)
			r, err := e.c.SearchSlots(ctx, q)
			if err != nil {
				return wantOK("a search five years ahead", err)
			}
			if len(r.Slots) > 0 {
				return skipf("the provider has slots five years ahead")
			}
			return slotBundleShape(r, q)
		}},
		{g, "organization-without-include", func(ctx context.Context, e *env) error {
			// Known issue (§5.5): the practice Organization comes whenever a slot does, _include or not.
			q := e.stdQuery()
			q.Includes = consumer.Includes{}
			r, err := e.c.SearchSlots(ctx, q)
			if err != nil {
				return wantOK("a search with only _include=Slot:schedule", err)
			}
			if len(r.Slots) == 0 {
				return skipf("no slots found")
			}
			if len(r.Organizations) != 1 || len(r.Schedules) == 0 {
				return failf("%d Organizations and %d Schedules, want the practice Organization and the slots' Schedules", len(r.Organizations), len(r.Schedules))
			}
			return nil
		}},
		{g, "range-0-days", slotAccepted("a 0-day range", func(e *env, v url.Values) {
			v.Set("end", "le"+consumer.FormatLocal(e.tomorrow()))
		})},
		{g, "range-14-days", slotAccepted("a 14-day range", func(e *env, v url.Values) {
			v.Set("end", "le"+consumer.FormatLocal(e.tomorrow().AddDate(0, 0, 14)))
		})},
		{g, "range-15-days", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("end", "le"+consumer.FormatLocal(e.tomorrow().AddDate(0, 0, 15)))
		})},
		{g, "range-negative", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("end", "le"+consumer.FormatLocal(e.tomorrow().AddDate(0, 0, -1)))
		})},
		{g, "missing-start", slotRefused(400, gpconnect.BadRequest, func(e *env, v url.Values) { v.Del("start") })},
		{g, "missing-end", slotRefused(400, gpconnect.BadRequest, func(e *env, v url.Values) { v.Del("end") })},
		{g, "missing-status", slotRefused(400, gpconnect.BadRequest, func(e *env, v url.Values) { v.Del("status") })},
		{g, "status-busy", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) { v.Set("status", "busy") })},
		{g, "missing-include-schedule", slotRefused(400, gpconnect.BadRequest, func(e *env, v url.Values) { v.Del("_include") })},
		{g, "repeated-start", slotRefused(400, gpconnect.BadRequest, func(e *env, v url.Values) { v.Add("start", v.Get("start")) })},
		{g, "prefix-gt", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("start", "gt"+strings.TrimPrefix(v.Get("start"), "ge"))
		})},
		{g, "prefixes-swapped", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("start", "le"+strings.TrimPrefix(v.Get("start"), "ge"))
			v.Set("end", "ge"+strings.TrimPrefix(v.Get("end"), "le"))
		})},
		{g, "utc-z", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("start", "ge"+e.tomorrow().UTC().Format("2006-01-02T15:04:05Z"))
		})},
		{g, "no-offset", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("start", "ge"+e.tomorrow().Format("2006-01-02T15:04:05"))
		})},
		{g, "wrong-season-offset", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			y := e.now.Year() + 1
			v.Set("start", fmt.Sprintf("ge%d-01-15T09:00:00+01:00", y))
			v.Set("end", fmt.Sprintf("le%d-01-16T09:00:00+00:00", y))
		})},
		{g, "partial-date", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("start", "ge"+consumer.FormatDate(e.tomorrow())[:7])
		})},
		{g, "unknown-search-filter-ignored", slotAccepted("a searchFilter of an unknown system", func(e *env, v url.Values) {
			v.Add("searchFilter", "https://fhir.nhs.uk/Id/uec-disposition-code|Dx10")
		})},
		{g, "unknown-parameter-ignored", slotAccepted("an unknown search parameter", func(e *env, v url.Values) { v.Add("_sort", "start") })},
		{g, "service-identifier-wrong-system", slotRefused(422, gpconnect.InvalidParameter, func(e *env, v url.Values) {
			v.Set("service.identifier", "https://example.org/Id/service|123")
		})},
		{g, "service-filtering-status", func(ctx context.Context, e *env) error {
			q := e.stdQuery()
			q.ServiceID = "999999999999"
			r, err := e.c.SearchSlots(ctx, q)
			if ce := consumer.AsError(err); ce != nil {
				// Filtering ON: an unknown DOS id is 404 NO_RECORD_FOUND.
				return wantRefusal(err, 404, gpconnect.NoRecordFound)
			}
			if err != nil {
				return wantOK("a search with service.identifier", err)
			}
			switch r.FilteringStatus {
			case "organization-disabled", "supplier-disabled":
				return nil
			case "enabled":
				return failf("filtering is enabled but an unknown service.identifier was not refused with 404")
			}
			return failf("Bundle.meta lacks the ServiceFilteringStatus extension although service.identifier was sent")
		}},
		{g, "service-filter", func(ctx context.Context, e *env) error {
			// With filtering on and services listed, service.identifier keeps
			// only each service's sessions (spec §5.10).
			hs, rs, err := serviceSearches(ctx, e)
			if err != nil {
				return err
			}
			for i, h := range hs {
				r, want := rs[i], "HealthcareService/"+h.ID
				if r.FilteringStatus != "enabled" {
					return failf("services are listed but the search's ServiceFilteringStatus is %q, want enabled", r.FilteringStatus)
				}
				for _, sl := range r.Slots {
					sid, _ := consumer.RefID(sl.Schedule.Reference, "Schedule")
					sc := r.Schedules[sid]
					if sc == nil || consumer.ActorRef(sc, "HealthcareService") != want {
						return failf("Slot/%s is on a schedule not linked to %s", sl.ID, want)
					}
				}
				if len(r.Slots) > 0 && r.HealthcareServices[h.ID] == nil {
					return failf("%s was asked for with _include:recurse but is not in the Bundle", want)
				}
			}
			return nil
		}},
		{g, "xml-format", func(ctx context.Context, e *env) error {
			resp, err := e.raw(ctx, consumer.Request{Method: http.MethodGet, Path: "Slot", Query: e.stdQuery().Values(), Interaction: gpconnect.SearchSlot},
				consumer.WithQuery("_format", gpconnect.MediaXML))
			if err != nil {
				return wantOK("slot search in XML", err)
			}
			if resp.Status != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), gpconnect.MediaXML) || !strings.Contains(string(resp.Body), "<Bundle") {
				return failf("_format=xml answered %d %q, want an XML Bundle", resp.Status, resp.Header.Get("Content-Type"))
			}
			return nil
		}},
	}
}

// apptShape applies §6.4/§7 to a returned Appointment.
func apptShape(a *fhir.Appointment) error {
	if a.ID == "" {
		return failf("Appointment has no id")
	}
	if err := hasProfile("Appointment", a.Meta, gpconnect.ProfileAppointment); err != nil {
		return err
	}
	if err := first(localTime("start", a.Start), localTime("end", a.End), localTime("created", a.Created)); err != nil {
		return err
	}
	switch {
	case a.Description == "":
		return failf("Appointment has no description")
	case len(a.ServiceType) == 0 || a.ServiceType[0].Text == "":
		return failf("Appointment lacks serviceType[0].text (slot type)")
	case len(a.Reason) > 0 || len(a.Specialty) > 0:
		return failf("Appointment populates reason or specialty (SHALL NOT)")
	case len(a.Slot) == 0:
		return failf("Appointment has no slot")
	}
	for _, s := range a.Slot {
		if _, ok := consumer.RefID(s.Reference, "Slot"); !ok {
			return failf("slot reference %q is not a relative Slot reference", s.Reference)
		}
	}
	if !gpconnect.DeliveryChannel(consumer.ExtensionCode(a.Extension, gpconnect.ExtDeliveryChannel)).Valid() {
		return failf("Appointment lacks a valid DeliveryChannel-2 extension")
	}
	role := false
	var bookingRef string
	for _, x := range a.Extension {
		switch x.URL {
		case gpconnect.ExtPractitionerRole:
			role = true
		case gpconnect.ExtBookingOrganisation:
			if x.ValueReference != nil {
				bookingRef = x.ValueReference.Reference
			}
		}
	}
	if !role {
		return failf("Appointment lacks the PractitionerRole extension")
	}
	if !strings.HasPrefix(bookingRef, "#") {
		return failf("Appointment lacks a BookingOrganisation extension referencing a contained resource")
	}
	if bookingOrg(a) == nil {
		return failf("BookingOrganisation %s does not resolve to a contained Organization", bookingRef)
	}
	kinds := map[string]bool{}
	for _, p := range a.Participant {
		if p.Actor == nil || p.Status == "" {
			return failf("every participant needs actor and status")
		}
		t, _, _ := strings.Cut(p.Actor.Reference, "/")
		if _, ok := consumer.RefID(p.Actor.Reference, t); !ok {
			return failf("participant reference %q is not relative", p.Actor.Reference)
		}
		kinds[t] = true
	}
	if !kinds["Patient"] || !kinds["Location"] {
		return failf("participants must include the Patient and the Location")
	}
	return nil
}

// bookingOrg resolves the BookingOrganisation extension to the contained Organization.
func bookingOrg(a *fhir.Appointment) *fhir.Organization {
	var ref string
	for _, x := range a.Extension {
		if x.URL == gpconnect.ExtBookingOrganisation && x.ValueReference != nil {
			ref = strings.TrimPrefix(x.ValueReference.Reference, "#")
		}
	}
	for _, c := range a.Contained {
		if o, ok := c.(*fhir.Organization); ok && o.ID == ref {
			return o
		}
	}
	return nil
}

// sameBookingOrg checks that the stored booking organisation is what was sent (MustSupport: store and return).
func sameBookingOrg(got, sent *fhir.Appointment) error {
	g, s := bookingOrg(got), bookingOrg(sent)
	if g == nil || s == nil {
		return failf("booking organisation missing")
	}
	if g.Name != s.Name || len(g.Identifier) == 0 || g.Identifier[0].Value != s.Identifier[0].Value {
		return failf("booking organisation returned as %q %v, sent %q %v", g.Name, g.Identifier, s.Name, s.Identifier)
	}
	return nil
}

// toMap and fromMap let checks break a resource in ways the structs cannot express.
func toMap(r any) map[string]any {
	b, _ := json.Marshal(r)
	m := map[string]any{}
	json.Unmarshal(b, &m)
	return m
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// badBooking books an edited copy of a valid booking and expects a refusal
// (422 INVALID_RESOURCE unless codes say otherwise). The same slot serves
// every bad booking; if one is wrongly accepted, the next check uses a new slot.
func badBooking(edit func(m map[string]any), codes ...gpconnect.SpineCode) func(context.Context, *env) error {
	if len(codes) == 0 {
		codes = []gpconnect.SpineCode{gpconnect.InvalidResource}
	}
	return func(ctx context.Context, e *env) error {
		base, ok := e.fixtureAppt["bad-booking"]
		if !ok {
			a, _, err := e.newBooking(ctx, 1, "Conformance invalid booking")
			if err != nil {
				return err
			}
			base, e.fixtureAppt["bad-booking"] = a, a
		}
		m := toMap(base)
		edit(m)
		_, err := e.book(ctx, base, consumer.WithBody(mustJSON(m)))
		if err == nil {
			delete(e.fixtureAppt, "bad-booking")
		}
		return wantRefusal(err, 422, codes...)
	}
}

func participants(m map[string]any) []any { p, _ := m["participant"].([]any); return p }

func bookChecks() []check {
	g := "book"
	return []check{
		{g, "book", func(ctx context.Context, e *env) error {
			a, _, err := e.newBooking(ctx, 1, "Conformance booking")
			if err != nil {
				return err
			}
			var raw consumer.Response
			r, err := e.book(ctx, a, consumer.Capture(&raw))
			if err != nil {
				return wantOK("book", err)
			}
			e.fixtureAppt["booked-request"] = a
			e.fixtures["book"] = r
			// The consumer takes a 200 as a booking made; a provider must answer 201 (spec §6).
			if r.Status != 201 {
				return failf("booking answered %d, want 201 Created", r.Status)
			}
			if r.Appointment == nil {
				return failf("201 without a body although return=minimal was not asked for")
			}
			v := r.Appointment.Meta
			switch {
			case v == nil || r.ETag != `W/"`+v.VersionID+`"`:
				return failf("ETag %q does not match meta.versionId", r.ETag)
			case !strings.HasSuffix(r.Location, "/Appointment/"+r.Appointment.ID+"/_history/"+v.VersionID):
				return failf("Location %q, want [base]/Appointment/%s/_history/%s", r.Location, r.Appointment.ID, v.VersionID)
			case r.Appointment.Status != "booked":
				return failf("status %q, want booked", r.Appointment.Status)
			case r.Appointment.Start != a.Start || r.Appointment.End != a.End || r.Appointment.Description != a.Description || r.Appointment.Comment != a.Comment:
				return failf("the stored appointment differs from what was booked (start, end, description or comment)")
			}
			return first(apptShape(r.Appointment), sameBookingOrg(r.Appointment, a), noStore(raw.Header))
		}},
		{g, "via-service", func(ctx context.Context, e *env) error {
			// The 1.2.8 test pack's HEALTHCARE2 booking: the first slot of a
			// search naming a listed service's DOS id, booked with Patient and
			// Location participants only, answers the service as a participant
			// (§7: SHALL when the schedule is linked and filtering is on).
			hs, rs, err := serviceSearches(ctx, e)
			if err != nil {
				return err
			}
			for i, h := range hs {
				r := rs[i]
				pick := e.unusedSlot(r)
				if pick == nil {
					continue
				}
				a, err := e.bookingFor(ctx, r, []*fhir.Slot{pick}, "Conformance booking through a DOS service")
				if err != nil {
					return err
				}
				kept := a.Participant[:0]
				for _, p := range a.Participant {
					if ref := p.Actor.Reference; strings.HasPrefix(ref, "Patient/") || strings.HasPrefix(ref, "Location/") {
						kept = append(kept, p)
					}
				}
				a.Participant = kept
				res, err := e.book(ctx, a)
				if err != nil {
					return wantOK("book a slot found through HealthcareService/"+h.ID, err)
				}
				if res.Appointment == nil {
					return failf("201 without a body although return=minimal was not asked for")
				}
				want := "HealthcareService/" + h.ID
				for _, p := range res.Appointment.Participant {
					if p.Actor != nil && p.Actor.Reference == want {
						return nil
					}
				}
				return failf("the booking of a slot found through %s answers no %s participant", want, want)
			}
			return skipf("no listed service has a free slot in the search window")
		}},
		{g, "booked-slot-not-offered", func(ctx context.Context, e *env) error {
			a, ok := e.fixtureAppt["booked-request"]
			if !ok {
				return skipf("book/book did not book")
			}
			r, err := e.c.SearchSlots(ctx, e.stdQuery())
			if err != nil {
				return wantOK("slot search", err)
			}
			for _, s := range r.Slots {
				if "Slot/"+s.ID == a.Slot[0].Reference {
					return failf("%s is still offered as free after it was booked", a.Slot[0].Reference)
				}
			}
			return nil
		}},
		{g, "double-booking", func(ctx context.Context, e *env) error {
			a, ok := e.fixtureAppt["booked-request"]
			if !ok {
				return skipf("book/book did not book")
			}
			m := toMap(a)
			m["contained"].([]any)[0].(map[string]any)["identifier"] = []any{map[string]any{"system": gpconnect.SystemODSOrganisation, "value": "B81016"}}
			m["contained"].([]any)[0].(map[string]any)["name"] = "Another booking organisation"
			_, err := e.book(ctx, a, consumer.WithBody(mustJSON(m)))
			return wantRefusal(err, 409, gpconnect.DuplicateRejected)
		}},
		{g, "two-adjacent-slots", func(ctx context.Context, e *env) error {
			a, slots, err := e.newBooking(ctx, 2, "Conformance two-slot booking")
			if err != nil {
				return err
			}
			r, err := e.book(ctx, a)
			if err != nil {
				return wantOK("book two adjacent slots", err)
			}
			if r.Appointment == nil || len(r.Appointment.Slot) != 2 || r.Appointment.Start != slots[0].Start || r.Appointment.End != slots[1].End {
				return failf("a two-slot booking must return both slots, the first start and the last end")
			}
			return apptShape(r.Appointment)
		}},
		{g, "prefer-minimal", func(ctx context.Context, e *env) error {
			a, _, err := e.newBooking(ctx, 1, "Conformance minimal booking")
			if err != nil {
				return err
			}
			var raw consumer.Response
			r, err := e.book(ctx, a, consumer.WithPrefer("return=minimal"), consumer.Capture(&raw))
			if err != nil {
				return wantOK("book with Prefer: return=minimal", err)
			}
			if len(strings.TrimSpace(string(raw.Body))) != 0 || r.Status != 201 {
				return failf("Prefer: return=minimal gave %d with a %d-byte body, want 201 and an empty body", r.Status, len(raw.Body))
			}
			return nil
		}},
		{g, "xml-body", func(ctx context.Context, e *env) error {
			a, _, err := e.newBooking(ctx, 1, "Conformance XML booking")
			if err != nil {
				return err
			}
			body, err := fhir.MarshalXML(a)
			if err != nil {
				return skipf("encoding the booking as XML: %v", err)
			}
			r, err := e.book(ctx, a, consumer.WithBody(body), consumer.WithHeader("Content-Type", gpconnect.MediaXML+";charset=utf-8"))
			if err != nil {
				return wantOK("a booking sent as XML (JSON asked for in Accept)", err)
			}
			if r.Appointment == nil || r.Appointment.Description != a.Description {
				return failf("the XML booking did not come back as the same appointment in JSON")
			}
			return nil
		}},
		{g, "service-type-ignored", func(ctx context.Context, e *env) error {
			r, slots, err := e.freeSlotsWithResult(ctx)
			if err != nil {
				return err
			}
			a, err := e.bookingFor(ctx, r, slots, "Conformance serviceType echo")
			if err != nil {
				return err
			}
			a.ServiceType = []fhir.CodeableConcept{{Text: "Consumer-supplied slot type"}}
			a.ServiceCategory = &fhir.CodeableConcept{Text: "Consumer-supplied schedule type"}
			res, err := e.book(ctx, a)
			if err != nil {
				return wantOK("a booking echoing serviceType/serviceCategory (ignored by providers, spec §6.2)", err)
			}
			want := slots[0].ServiceType[0].Text
			if res.Appointment == nil || len(res.Appointment.ServiceType) == 0 || res.Appointment.ServiceType[0].Text != want {
				return failf("serviceType must come from the slot (%q), not from the consumer", want)
			}
			return nil
		}},
		{g, "org-type-valueset-system", func(ctx context.Context, e *env) error {
			// The NHS test pack codes the booking organisation's type with the
			// ValueSet URL; a provider must read it as the CodeSystem's.
			r, slots, err := e.freeSlotsWithResult(ctx)
			if err != nil {
				return err
			}
			a, err := e.bookingFor(ctx, r, slots, "Conformance org type ValueSet")
			if err != nil {
				return err
			}
			org, ok := a.Contained[0].(*fhir.Organization)
			if !ok || len(org.Type) == 0 || len(org.Type[0].Coding) == 0 {
				return skipf("the booking organisation carries no type (no org type in the data map's search)")
			}
			org.Type[0].Coding[0].System = "https://fhir.nhs.uk/STU3/ValueSet/GPConnect-OrganisationType-1"
			if _, err := e.book(ctx, a); err != nil {
				return wantOK("a booking whose organisation type is coded with the ValueSet URL (as the test pack sends it)", err)
			}
			return nil
		}},
		{g, "extra-field", badBooking(func(m map[string]any) { m["invalidField"] = "Assurance Testing" })},
		{g, "participant-status-unknown", badBooking(func(m map[string]any) {
			participants(m)[0].(map[string]any)["status"] = "maybe"
		})},
		{g, "created-date-only", badBooking(func(m map[string]any) {
			if c, ok := m["created"].(string); ok && len(c) >= 10 {
				m["created"] = c[:10]
			}
		})},
		{g, "unknown-slot", badBooking(func(m map[string]any) { m["slot"] = []any{map[string]any{"reference": "Slot/999999999"}} },
			gpconnect.InvalidResource, gpconnect.ReferenceNotFound)},
		{g, "malformed-slot-reference", badBooking(func(m map[string]any) { m["slot"] = []any{map[string]any{"reference": "Slot/hello"}} },
			gpconnect.InvalidResource, gpconnect.ReferenceNotFound)},
		{g, "not-an-appointment", func(ctx context.Context, e *env) error {
			a, _, err := e.newBooking(ctx, 1, "Conformance wrong type")
			if err != nil {
				return err
			}
			_, err = e.book(ctx, a, consumer.WithBody([]byte(`{"resourceType":"Bundle","type":"collection","entry":[]}`)))
			return wantRefusal(err, 422, gpconnect.InvalidResource)
		}},
		{g, "unparseable-body", func(ctx context.Context, e *env) error {
			a, _, err := e.newBooking(ctx, 1, "Conformance garbage")
			if err != nil {
				return err
			}
			_, err = e.book(ctx, a, consumer.WithBody([]byte(`{"resourceType":"Appointment",`)))
			return wantRefusal(err, 422, gpconnect.InvalidResource)
		}},
		{g, "missing-description", badBooking(func(m map[string]any) { delete(m, "description") })},
		{g, "description-over-100", badBooking(func(m map[string]any) { m["description"] = strings.Repeat("d", 101) })},
		{g, "comment-over-500", badBooking(func(m map[string]any) { m["comment"] = strings.Repeat("c", 501) })},
		{g, "reason-present", badBooking(func(m map[string]any) {
			m["reason"] = []any{map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "1234"}}}}
		})},
		{g, "specialty-present", badBooking(func(m map[string]any) { m["specialty"] = []any{map[string]any{"text": "Cardiology"}} })},
		{g, "cancellation-reason-on-book", badBooking(func(m map[string]any) {
			m["extension"] = append(m["extension"].([]any), map[string]any{"url": gpconnect.ExtCancellationReason, "valueString": "no"})
		})},
		{g, "missing-status", badBooking(func(m map[string]any) { delete(m, "status") })},
		{g, "status-not-booked", badBooking(func(m map[string]any) { m["status"] = "pending" })},
		{g, "start-not-slot-start", badBooking(func(m map[string]any) {
			t, _ := time.Parse(time.RFC3339, m["start"].(string))
			m["start"] = consumer.FormatLocal(t.Add(-5 * time.Minute))
		})},
		{g, "missing-slot", badBooking(func(m map[string]any) { delete(m, "slot") })},
		{g, "no-patient-participant", badBooking(func(m map[string]any) {
			var keep []any
			for _, p := range participants(m) {
				if ref, _ := p.(map[string]any)["actor"].(map[string]any)["reference"].(string); !strings.HasPrefix(ref, "Patient/") {
					keep = append(keep, p)
				}
			}
			m["participant"] = keep
		})},
		{g, "participant-without-status", badBooking(func(m map[string]any) {
			for _, p := range participants(m) {
				delete(p.(map[string]any), "status")
			}
		})},
		{g, "absolute-reference", badBooking(func(m map[string]any) {
			for _, p := range participants(m) {
				act := p.(map[string]any)["actor"].(map[string]any)
				if ref, _ := act["reference"].(string); strings.HasPrefix(ref, "Patient/") {
					act["reference"] = "https://provider.example/A20047/STU3/1/gpconnect/" + ref
				}
			}
		})},
		{g, "booking-org-without-name", badBooking(func(m map[string]any) { delete(m["contained"].([]any)[0].(map[string]any), "name") })},
		{g, "booking-org-without-telecom", badBooking(func(m map[string]any) { delete(m["contained"].([]any)[0].(map[string]any), "telecom") })},
		// The control: the unedited body the bad bookings started from is
		// accepted, so each refusal above was for the one change it made.
		{g, "invalid-bookings-control", func(ctx context.Context, e *env) error {
			base, ok := e.fixtureAppt["bad-booking"]
			if !ok {
				return skipf("no invalid booking was tried")
			}
			_, err := e.book(ctx, base)
			return wantOK("the unedited booking behind the invalid-booking checks", err)
		}},
	}
}

func readChecks() []check {
	g := "read"
	return []check{
		{g, "read", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "book")
			if err != nil {
				return err
			}
			var raw consumer.Response
			r, err := e.c.ReadAppointment(ctx, b.Appointment.ID, consumer.Capture(&raw))
			if err != nil {
				return wantOK("read appointment", err)
			}
			if r.ETag != `W/"`+r.Appointment.Meta.VersionID+`"` {
				return failf("ETag %q does not match meta.versionId %q", r.ETag, r.Appointment.Meta.VersionID)
			}
			if r.Appointment.Start != b.Appointment.Start || r.Appointment.Description != b.Appointment.Description {
				return failf("read differs from the booking")
			}
			return first(apptShape(r.Appointment), sameBookingOrg(r.Appointment, b.Appointment), noStore(raw.Header),
				contentLocation(raw.Header, "Appointment", r.Appointment.ID, r.Appointment.Meta.VersionID))
		}},
		{g, "unknown-id", func(ctx context.Context, e *env) error {
			_, err := e.c.ReadAppointment(ctx, "Invalid4321")
			return wantRefusal(err, 404, gpconnect.NoRecordFound, gpconnect.ReferenceNotFound)
		}},
		{g, "other-requesting-organisation", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "book")
			if err != nil {
				return err
			}
			_, err = e.c.ReadAppointment(ctx, b.Appointment.ID, editResource("requesting_organization", func(r map[string]any) {
				r["identifier"] = []any{map[string]any{"system": gpconnect.SystemODSOrganisation, "value": "X12345"}}
			}))
			return wantOK("a read by an organisation other than the booker", err)
		}},
		{g, "write-scope", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "book")
			if err != nil {
				return err
			}
			_, err = e.c.ReadAppointment(ctx, b.Appointment.ID, consumer.WithScope(gpconnect.ScopePatientWrite))
			return wantRefusal(err, 400, gpconnect.BadRequest)
		}},
	}
}

// editedUpdate PUTs an edited copy of the current appointment with the given interaction.
func editedUpdate(ctx context.Context, e *env, purpose string, iid gpconnect.InteractionID, edit func(m map[string]any)) error {
	b, err := e.appointment(ctx, purpose)
	if err != nil {
		return err
	}
	cur, err := e.current(ctx, b.Appointment.ID)
	if err != nil {
		return err
	}
	m := toMap(cur)
	edit(m)
	_, err = e.c.Amend(ctx, cur, consumer.WithInteraction(iid), consumer.WithBody(mustJSON(m)))
	return err
}

func amendRefused(edit func(m map[string]any), status int, codes ...gpconnect.SpineCode) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		return wantRefusal(editedUpdate(ctx, e, "amend", gpconnect.UpdateAppointment, edit), status, codes...)
	}
}

func amendChecks() []check {
	g := "amend"
	return []check{
		{g, "amend", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "amend")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			ed := *cur
			ed.Description, ed.Comment = "Conformance amended description", "Conformance amended comment"
			r, err := e.c.Amend(ctx, &ed)
			if err != nil {
				return wantOK("amend", err)
			}
			switch {
			case r.Appointment == nil:
				return failf("amend returned no body")
			case r.Appointment.Meta == nil || r.Appointment.Meta.VersionID == cur.Meta.VersionID:
				return failf("meta.versionId did not change on amend")
			case r.ETag != `W/"`+r.Appointment.Meta.VersionID+`"`:
				return failf("ETag %q does not match meta.versionId", r.ETag)
			case r.Appointment.Description != ed.Description || r.Appointment.Comment != ed.Comment:
				return failf("amended description/comment not returned")
			case r.Appointment.Start != cur.Start || r.Appointment.Status != "booked":
				return failf("amend changed start or status")
			}
			return apptShape(r.Appointment)
		}},
		{g, "stale-if-match", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "amend")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			ed := *cur
			ed.Comment = "Conformance stale check " + time.Now().Format("150405.000")
			if _, err := e.c.Amend(ctx, &ed); err != nil {
				return fixture("an amend before the stale one", err)
			}
			ed.Comment += " again"
			_, err = e.c.Amend(ctx, &ed) // still carries the old versionId
			return wantRefusal(err, 409, gpconnect.ConstraintViolation)
		}},
		{g, "without-if-match", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "amend")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			ed := *cur
			ed.Comment = "Conformance amend without If-Match"
			_, err = e.c.Amend(ctx, &ed, consumer.WithIfMatch(""))
			return wantOK("an amend without If-Match (optional for providers, spec §2.1)", err)
		}},
		{g, "service-type-ignored", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "amend")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			if len(cur.ServiceType) == 0 {
				return skipf("the appointment has no serviceType")
			}
			want := cur.ServiceType[0].Text
			ed := *cur
			ed.ServiceType = []fhir.CodeableConcept{{Text: "Consumer-supplied slot type"}}
			ed.Comment = "Conformance serviceType echo"
			r, err := e.c.Amend(ctx, &ed)
			if err != nil {
				return wantOK("an amend with a changed serviceType (ignored and re-populated, spec §7.2)", err)
			}
			if r.Appointment == nil || len(r.Appointment.ServiceType) == 0 || r.Appointment.ServiceType[0].Text != want {
				return failf("serviceType must stay %q", want)
			}
			return nil
		}},
		{g, "change-start", amendRefused(func(m map[string]any) {
			t, _ := time.Parse(time.RFC3339, m["start"].(string))
			m["start"] = consumer.FormatLocal(t.Add(-10 * time.Minute))
		}, 422, gpconnect.InvalidResource)},
		{g, "change-status", amendRefused(func(m map[string]any) { m["status"] = "arrived" }, 422, gpconnect.InvalidResource)},
		{g, "cancellation-reason", amendRefused(func(m map[string]any) {
			m["extension"] = append(m["extension"].([]any), map[string]any{"url": gpconnect.ExtCancellationReason, "valueString": "no"})
		}, 422, gpconnect.InvalidResource)},
		{g, "description-over-100", amendRefused(func(m map[string]any) { m["description"] = strings.Repeat("d", 101) }, 422, gpconnect.InvalidResource)},
		{g, "absolute-reference", amendRefused(func(m map[string]any) {
			for _, p := range participants(m) {
				act := p.(map[string]any)["actor"].(map[string]any)
				if ref, _ := act["reference"].(string); strings.HasPrefix(ref, "Location/") {
					act["reference"] = "https://provider.example/A20047/STU3/1/gpconnect/" + ref
				}
			}
		}, 422, gpconnect.InvalidResource)},
		{g, "not-an-appointment", amendRefused(func(m map[string]any) {
			for k := range m {
				delete(m, k)
			}
			m["resourceType"], m["type"] = "Bundle", "collection"
		}, 422, gpconnect.InvalidResource)},
		{g, "unknown-id", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "amend")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			ed := *cur
			ed.ID = "999999999"
			_, err = e.c.Amend(ctx, &ed, consumer.WithIfMatch(""))
			return wantRefusal(err, 404, gpconnect.NoRecordFound, gpconnect.ReferenceNotFound)
		}},
	}
}

func cancelRefused(edit func(m map[string]any), status int, codes ...gpconnect.SpineCode) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		return wantRefusal(editedUpdate(ctx, e, "cancel-errors", gpconnect.CancelAppointment, edit), status, codes...)
	}
}

// withCancel turns an appointment map into a valid cancel, then applies edit.
func withCancel(edit func(m map[string]any)) func(m map[string]any) {
	return func(m map[string]any) {
		m["status"] = "cancelled"
		m["extension"] = append(m["extension"].([]any), map[string]any{"url": gpconnect.ExtCancellationReason, "valueString": "Conformance"})
		edit(m)
	}
}

func cancelChecks() []check {
	g := "cancel"
	return []check{
		{g, "cancel", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "cancel")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			r, err := e.c.Cancel(ctx, cur, "Conformance suite cancellation")
			if err != nil {
				return wantOK("cancel", err)
			}
			switch {
			case r.Appointment == nil:
				return failf("cancel returned no body")
			case r.Appointment.Status != "cancelled":
				return failf("status %q, want cancelled", r.Appointment.Status)
			case r.Appointment.Meta == nil || r.Appointment.Meta.VersionID == cur.Meta.VersionID:
				return failf("meta.versionId did not change on cancel")
			case r.ETag != `W/"`+r.Appointment.Meta.VersionID+`"`:
				return failf("ETag %q does not match meta.versionId", r.ETag)
			}
			for _, x := range r.Appointment.Extension {
				if x.URL == gpconnect.ExtCancellationReason && x.ValueString != nil && *x.ValueString != "" {
					return first(apptShape(r.Appointment), sameBookingOrg(r.Appointment, cur))
				}
			}
			return failf("the cancelled appointment lacks the cancellation reason")
		}},
		{g, "slot-released", func(ctx context.Context, e *env) error {
			b, ok := e.fixtures["cancel"]
			if !ok {
				return skipf("cancel/cancel did not run")
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil || cur.Status != "cancelled" {
				return skipf("the appointment of cancel/cancel is not cancelled")
			}
			r, err := e.c.SearchSlots(ctx, e.stdQuery())
			if err != nil {
				return wantOK("slot search", err)
			}
			for _, s := range r.Slots {
				if "Slot/"+s.ID == cur.Slot[0].Reference {
					return nil
				}
			}
			return failf("%s was not offered again after its appointment was cancelled", cur.Slot[0].Reference)
		}},
		{g, "amend-cancelled", func(ctx context.Context, e *env) error {
			b, ok := e.fixtures["cancel"]
			if !ok {
				return skipf("cancel/cancel did not run")
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil || cur.Status != "cancelled" {
				return skipf("the appointment of cancel/cancel is not cancelled")
			}
			m := toMap(cur)
			m["status"] = "booked"
			var exts []any
			for _, x := range m["extension"].([]any) {
				if x.(map[string]any)["url"] != gpconnect.ExtCancellationReason {
					exts = append(exts, x)
				}
			}
			m["extension"], m["description"] = exts, "Conformance amend of a cancelled appointment"
			_, err = e.c.Amend(ctx, cur, consumer.WithBody(mustJSON(m)))
			return wantRefusal(err, 422, gpconnect.InvalidResource)
		}},
		{g, "stale-if-match", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "cancel-errors")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			ed := *cur
			ed.Comment = "Conformance version bump " + time.Now().Format("150405.000")
			if _, err := e.c.Amend(ctx, &ed); err != nil {
				return fixture("an amend before the stale cancel", err)
			}
			_, err = e.c.Cancel(ctx, cur, "Conformance stale cancel") // cur carries the old version
			return wantRefusal(err, 409, gpconnect.ConstraintViolation)
		}},
		{g, "change-description", cancelRefused(withCancel(func(m map[string]any) { m["description"] = "Changed while cancelling" }), 422, gpconnect.InvalidResource)},
		{g, "missing-reason", cancelRefused(func(m map[string]any) { m["status"] = "cancelled" }, 422, gpconnect.InvalidResource)},
		{g, "empty-reason", cancelRefused(func(m map[string]any) {
			m["status"] = "cancelled"
			m["extension"] = append(m["extension"].([]any), map[string]any{"url": gpconnect.ExtCancellationReason, "valueString": ""})
		}, 422, gpconnect.InvalidParameter)},
		{g, "wrong-extension-url", cancelRefused(func(m map[string]any) {
			m["status"] = "cancelled"
			m["extension"] = append(m["extension"].([]any), map[string]any{"url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-Cancellation-Reason-9", "valueString": "x"})
		}, 422, gpconnect.InvalidResource)},
		{g, "status-not-cancelled", cancelRefused(withCancel(func(m map[string]any) { m["status"] = "booked" }), 422, gpconnect.InvalidResource)},
		// The control: a plain cancel of the appointment the refused cancels used succeeds.
		{g, "invalid-cancels-control", func(ctx context.Context, e *env) error {
			return wantOK("a valid cancel after the refused ones", editedUpdate(ctx, e, "cancel-errors", gpconnect.CancelAppointment, withCancel(func(map[string]any) {})))
		}},
	}
}

func retrieveRaw(ctx context.Context, e *env, q string) error {
	pid, err := e.patient(ctx)
	if err != nil {
		return err
	}
	_, err = e.c.RetrieveAppointments(ctx, pid, e.today(), e.today(), consumer.WithRawQuery(q))
	return err
}

func retrieveRefused(q func(e *env) string) func(context.Context, *env) error {
	return func(ctx context.Context, e *env) error {
		err := retrieveRaw(ctx, e, q(e))
		if isSkip(err) {
			return err
		}
		return wantRefusal(err, 422, gpconnect.InvalidParameter)
	}
}

func day(e *env, n int) string {
	return consumer.FormatDate(consumer.LocalMidnight(e.today()).Add(time.Duration(n)*24*time.Hour + 2*time.Hour))
}

func retrieveChecks() []check {
	g := "retrieve"
	return []check{
		{g, "retrieve", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "retrieve")
			if err != nil {
				return err
			}
			pid, _ := e.patient(ctx)
			list, err := e.c.RetrieveAppointments(ctx, pid, e.today(), e.today().AddDate(0, 0, e.d.SearchDays+2))
			if err != nil {
				return wantOK("retrieve", err)
			}
			found := false
			for _, a := range list {
				if err := apptShape(a); err != nil {
					return failf("Appointment/%s: %v", a.ID, err)
				}
				found = found || a.ID == b.Appointment.ID
			}
			if !found {
				return failf("Appointment/%s is not in the patient's appointments", b.Appointment.ID)
			}
			return nil
		}},
		{g, "includes-cancelled", func(ctx context.Context, e *env) error {
			b, err := e.appointment(ctx, "retrieve-cancelled")
			if err != nil {
				return err
			}
			cur, err := e.current(ctx, b.Appointment.ID)
			if err != nil {
				return err
			}
			if _, err := e.c.Cancel(ctx, cur, "Conformance retrieve of a cancelled appointment"); err != nil {
				return fixture("cancelling", err)
			}
			pid, _ := e.patient(ctx)
			list, err := e.c.RetrieveAppointments(ctx, pid, e.today(), e.today().AddDate(0, 0, e.d.SearchDays+2))
			if err != nil {
				return wantOK("retrieve", err)
			}
			for _, a := range list {
				if a.ID == cur.ID {
					if a.Status != "cancelled" {
						return failf("Appointment/%s has status %q, want cancelled", a.ID, a.Status)
					}
					return nil
				}
			}
			return failf("the cancelled Appointment/%s is missing (Retrieve includes cancelled appointments)", cur.ID)
		}},
		{g, "no-appointments", func(ctx context.Context, e *env) error {
			ps, err := e.c.FindPatient(ctx, e.d.Patients.NoAppointments)
			if err != nil || len(ps) != 1 {
				return fixture("find the patient with no appointments", err)
			}
			list, err := e.c.RetrieveAppointments(ctx, ps[0].ID, e.today(), e.today().AddDate(0, 0, 1))
			if err != nil {
				return wantOK("retrieve", err)
			}
			if len(list) != 0 {
				return failf("%d appointments, want none", len(list))
			}
			return nil
		}},
		{g, "single-start", retrieveRefused(func(e *env) string { return "start=ge" + day(e, 0) })},
		{g, "past-range", retrieveRefused(func(e *env) string { return "start=ge" + day(e, -3) + "&start=le" + day(e, 2) })},
		{g, "time-component", retrieveRefused(func(e *env) string {
			return url.Values{"start": {"ge" + consumer.FormatLocal(e.tomorrow()), "le" + day(e, 5)}}.Encode()
		})},
		{g, "partial-date", retrieveRefused(func(e *env) string { return "start=ge" + day(e, 1)[:7] + "&start=le" + day(e, 5) })},
		{g, "upper-before-lower", retrieveRefused(func(e *env) string { return "start=ge" + day(e, 5) + "&start=le" + day(e, 1) })},
		{g, "prefix-gt", retrieveRefused(func(e *env) string { return "start=gt" + day(e, 1) + "&start=le" + day(e, 5) })},
		{g, "long-range-accepted", func(ctx context.Context, e *env) error {
			pid, err := e.patient(ctx)
			if err != nil {
				return err
			}
			_, err = e.c.RetrieveAppointments(ctx, pid, e.today(), e.today().AddDate(0, 0, 90))
			return wantOK("a 90-day range (1.2.8 sets no maximum)", err)
		}},
		{g, "unknown-patient", func(ctx context.Context, e *env) error {
			_, err := e.c.RetrieveAppointments(ctx, "dd", e.today(), e.today().AddDate(0, 0, 1))
			return wantRefusal(err, 404, gpconnect.PatientNotFound, gpconnect.NoRecordFound)
		}},
		{g, "unknown-parameter-ignored", func(ctx context.Context, e *env) error {
			err := retrieveRaw(ctx, e, "start=ge"+day(e, 0)+"&start=le"+day(e, 3)+"&_sort=date")
			if isSkip(err) {
				return err
			}
			return wantOK("an unknown parameter (_sort) must be ignored", err)
		}},
	}
}

// serviceSearches lists the practice's healthcare services and searches the
// standard window naming each one's DOS id (results in the same order). A
// practice that lists none is a skip: filtering is off there, or no service
// is set up.
func serviceSearches(ctx context.Context, e *env) ([]*fhir.HealthcareService, []*consumer.SlotResult, error) {
	hs, err := e.c.FindHealthcareService(ctx, "")
	if err != nil {
		return nil, nil, wantOK("find healthcare services", err)
	}
	if len(hs) == 0 {
		return nil, nil, skipf("the practice lists no healthcare service (service filtering off, or none set up)")
	}
	rs := make([]*consumer.SlotResult, len(hs))
	for i, h := range hs {
		q := e.stdQuery()
		q.ServiceID = dosID(h)
		if rs[i], err = e.c.SearchSlots(ctx, q); err != nil {
			return nil, nil, wantOK("a search for the slots of HealthcareService/"+h.ID, err)
		}
	}
	return hs, rs, nil
}
