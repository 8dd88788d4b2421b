package fhirmap

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Appointment maps a stored appointment to GPConnect-Appointment-1, with the
// booking organisation contained exactly as the consumer sent it. With
// serviceFiltering (on at the practice, spec §5.10) an appointment booked on
// a session linked to a service has that service as a participant.
func Appointment(a *scheduling.Appointment, serviceFiltering bool) *fhir.Appointment {
	r := &fhir.Appointment{ResourceType: "Appointment", ID: id(a.ID), Meta: meta(a.Version, gpconnect.ProfileAppointment),
		Status: a.Status, Description: a.Description, Comment: a.Comment, Priority: a.Priority, MinutesDuration: a.MinutesDuration,
		Start: scheduling.FormatLocal(a.Start), End: scheduling.FormatLocal(a.End), Created: scheduling.FormatLocal(a.Created)}
	for _, i := range a.Identifiers {
		r.Identifier = append(r.Identifier, fhir.Identifier{System: i.System, Value: i.Value})
	}
	if org := bookingOrg(a.BookingOrg); org != nil {
		r.Contained = fhir.ResourceList{org}
		r.Extension = append(r.Extension, fhir.Extension{URL: gpconnect.ExtBookingOrganisation, ValueReference: &fhir.Reference{Reference: "#" + org.ID}})
	}
	if a.PractitionerRole != "" {
		r.Extension = append(r.Extension, fhir.Extension{URL: gpconnect.ExtPractitionerRole, ValueCodeableConcept: RoleConcept(a.PractitionerRole)})
	}
	if a.DeliveryChannel != "" {
		ch := a.DeliveryChannel
		r.Extension = append(r.Extension, fhir.Extension{URL: gpconnect.ExtDeliveryChannel, ValueCode: &ch})
	}
	if a.Status == scheduling.ApptCancelled && a.CancellationReason != "" {
		reason := a.CancellationReason
		r.Extension = append(r.Extension, fhir.Extension{URL: gpconnect.ExtCancellationReason, ValueString: &reason})
	}
	if a.ServiceCategory != "" {
		r.ServiceCategory = &fhir.CodeableConcept{Text: a.ServiceCategory}
	}
	if a.ServiceType != "" {
		r.ServiceType = []fhir.CodeableConcept{{Text: a.ServiceType}}
	}
	for _, sid := range a.SlotIDs {
		r.Slot = append(r.Slot, Ref("Slot", sid))
	}
	status := func(ref string) string {
		for _, p := range a.Participants {
			if p.Reference == ref && p.Status != "" {
				return p.Status
			}
		}
		return "accepted"
	}
	add := func(typ string, n int64) {
		ref := Ref(typ, n)
		r.Participant = append(r.Participant, fhir.AppointmentParticipant{Actor: &ref, Status: status(ref.Reference)})
	}
	add("Patient", a.PatientID)
	add("Location", a.LocationID)
	if a.PractitionerID != 0 {
		add("Practitioner", a.PractitionerID)
	}
	// Keep the HealthcareService last: the test pack's "participant actor
	// should contain a HealthcareService reference" step keeps only its
	// verdict on the last participant it looks at.
	if serviceFiltering && a.HealthcareServiceID != 0 {
		add("HealthcareService", a.HealthcareServiceID)
	}
	return r
}

func bookingOrg(b scheduling.BookingOrg) *fhir.Organization {
	if len(b.Raw) > 0 {
		var o fhir.Organization
		if err := json.Unmarshal(b.Raw, &o); err == nil {
			o.ResourceType = "Organization"
			if o.ID == "" {
				o.ID = "1"
			}
			// A contained resource must not carry meta.versionId or
			// meta.lastUpdated (FHIR dom-4). Bookings that sent them are now
			// refused, but organisations stored before that may hold them.
			o.Meta = containedMeta(o.Meta)
			return &o
		}
	}
	if b.ODS == "" && b.Name == "" {
		return nil
	}
	o := &fhir.Organization{ResourceType: "Organization", ID: "1", Meta: &fhir.Meta{Profile: []string{string(gpconnect.ProfileOrganization)}},
		Identifier: []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: b.ODS}}, Name: b.Name}
	return o
}

// containedMeta is m without the elements FHIR dom-4 forbids on a contained
// resource (versionId, lastUpdated); nil when nothing is left.
func containedMeta(m *fhir.Meta) *fhir.Meta {
	if m == nil || m.VersionID == "" && m.LastUpdated == "" {
		return m
	}
	c := *m
	c.VersionID, c.LastUpdated = "", ""
	if len(c.Profile) == 0 && len(c.Security) == 0 && len(c.Tag) == 0 && len(c.Extension) == 0 {
		return nil
	}
	return &c
}

// checkContained reports contained resources that carry meta.versionId or
// meta.lastUpdated: FHIR dom-4 forbids both on a contained resource (spec
// §8.1), so the body is not a valid resource (422 INVALID_RESOURCE).
func checkContained(a *fhir.Appointment, p *problems) {
	for i, c := range a.Contained {
		var m *fhir.Meta
		if o, ok := c.(*fhir.Organization); ok {
			m = o.Meta
		}
		if m != nil && (m.VersionID != "" || m.LastUpdated != "") {
			p.add("contained[%d] (%s) must not carry meta.versionId or meta.lastUpdated: a contained resource has no version of its own (FHIR dom-4)",
				i, c.GetResourceType())
		}
	}
}

// singleExtensions are the GPConnect-Appointment-1 extensions whose
// cardinality is 0..1 (spec §8.1).
var singleExtensions = []struct{ url, name string }{
	{gpconnect.ExtBookingOrganisation, "bookingOrganisation"},
	{gpconnect.ExtPractitionerRole, "practitionerRole"},
	{gpconnect.ExtDeliveryChannel, "deliveryChannel"},
	{gpconnect.ExtCancellationReason, "appointmentCancellationReason"},
}

// checkExtensionCardinality reports a 0..1 extension sent more than once,
// rather than letting one of the values silently win.
func checkExtensionCardinality(exts []fhir.Extension, p *problems) {
	for _, x := range singleExtensions {
		n := 0
		for _, e := range exts {
			if e.URL == x.url {
				n++
			}
		}
		if n > 1 {
			p.add("the %s extension (%s) may be sent at most once (0..1) but was sent %d times", x.name, x.url, n)
		}
	}
}

// wrongValue reports, for an extension whose value[x] must be want, a value
// of another type (or nested extensions) as a profile violation. A missing
// value is left to the caller.
func wrongValue(e fhir.Extension, name, want string, p *problems) bool {
	got := e.ValueTypes()
	if len(e.Extension) > 0 {
		got = append(got, "extension")
	}
	for _, v := range got {
		if v != want {
			p.add("the %s extension must carry %s only, not %s", name, want, v)
			return true
		}
	}
	return false
}

// problems collects every issue found in a request body.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	// A few name what is wrong; thousands (a list of bad references) would
	// make an answer larger than the request.
	const show = 10
	if len(p) > show {
		return scheduling.Errorf(scheduling.EINVALID, "%s; and %d more problems", strings.Join(p[:show], "; "), len(p)-show)
	}
	return scheduling.Errorf(scheduling.EINVALID, "%s", strings.Join(p, "; "))
}

// refID parses a local relative reference "Type/id" to its numeric id.
func refID(ref *fhir.Reference, typ string) (int64, bool) {
	if ref == nil || !strings.HasPrefix(ref.Reference, typ+"/") {
		return 0, false
	}
	id := strings.TrimPrefix(ref.Reference, typ+"/")
	n, err := strconv.ParseInt(id, 10, 64)
	// Only the id as written here names the resource: "Slot/+389" and
	// "Slot/0388" are other ids (as they are in a URL), not Slot/389.
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == id
}

func hasProfile(m *fhir.Meta, p gpconnect.Profile) bool {
	if m == nil {
		return false
	}
	for _, x := range m.Profile {
		if x == string(p) {
			return true
		}
	}
	return false
}

// BookRequest turns a POSTed Appointment into a booking request, reporting
// every problem of spec §6.2 at once as one EINVALID error.
func BookRequest(a *fhir.Appointment, practiceID int64, now time.Time) (*scheduling.BookRequest, error) {
	var p problems
	r := &scheduling.BookRequest{PracticeID: practiceID, Now: now, Description: a.Description, Comment: a.Comment,
		MinutesDuration: a.MinutesDuration, Priority: a.Priority, StartText: a.Start, EndText: a.End}
	if a.ID != "" {
		p.add("Appointment.id must not be sent on create")
	}
	if !hasProfile(a.Meta, gpconnect.ProfileAppointment) {
		p.add("meta.profile must contain %s", gpconnect.ProfileAppointment)
	}
	if a.Status != "booked" {
		p.add("status must be booked")
	}
	checkForbidden(a, &p)
	checkText(a, &p)
	if a.Priority != nil && *a.Priority < 0 {
		p.add("priority must be an unsignedInt (0 or more)")
	}
	if a.Start == "" || a.End == "" {
		p.add("start and end are required")
	} else {
		var err1, err2 error
		r.Start, err1 = time.Parse(scheduling.LocalLayout, a.Start)
		r.End, err2 = time.Parse(scheduling.LocalLayout, a.End)
		if err1 != nil || err2 != nil {
			p.add("start and end must be dateTimes with a numeric offset")
		}
	}
	if a.Created == "" {
		p.add("created is required")
	} else if t, err := parseDateTime(a.Created); err != nil || !strings.Contains(a.Created, "T") {
		p.add("created must be a dateTime with a time and offset")
	} else {
		r.Created = t
	}
	if len(a.Slot) == 0 {
		p.add("at least one slot is required")
	}
	slots := a.Slot
	if len(slots) > scheduling.MaxBookingSlots {
		// Refused before the references are read one by one, which would
		// add a problem for each of them.
		p.add("an appointment holds at most %d slots (consecutive slots of one session); %d were sent", scheduling.MaxBookingSlots, len(slots))
		slots = nil
	}
	seen := map[int64]bool{}
	for _, s := range slots {
		n, ok := refID(&s, "Slot")
		if !ok {
			p.add("slot reference %q is not a local Slot reference", clip(s.Reference))
			continue
		}
		if seen[n] {
			p.add("slot %d is listed twice", n)
		}
		seen[n] = true
		r.SlotIDs = append(r.SlotIDs, n)
	}
	for _, i := range a.Identifier {
		if i.System == "" || i.Value == "" {
			p.add("identifier needs system and value")
		}
		r.Identifiers = append(r.Identifiers, scheduling.Identifier{System: i.System, Value: i.Value})
	}
	participants(a, r, &p)
	checkExtensionCardinality(a.Extension, &p)
	checkContained(a, &p)
	bookingOrgFrom(a, r, &p)
	for _, e := range a.Extension {
		switch e.URL {
		case gpconnect.ExtDeliveryChannel:
			if wrongValue(e, "delivery channel", "valueCode", &p) {
				break
			}
			if e.ValueCode == nil || *e.ValueCode == "" {
				p.add("the delivery channel extension needs valueCode")
			} else {
				r.DeliveryChannel = *e.ValueCode
			}
		case gpconnect.ExtPractitionerRole:
			// A role other than the schedule's is accepted: the appointment
			// carries the schedule's role whatever was sent (spec §6.4: derived
			// from the schedule), as the test pack's booking builder always sends
			// R0260. A code outside GPConnect-PractitionerRole-1 is still refused.
			if wrongValue(e, "practitioner role", "valueCodeableConcept", &p) {
				break
			}
			if e.ValueCodeableConcept == nil || len(e.ValueCodeableConcept.Coding) == 0 {
				p.add("the practitioner role extension needs a coding")
			} else if code := e.ValueCodeableConcept.Coding[0].Code; !gpconnect.PractitionerRole(code).Valid() {
				p.add("the practitioner role %q is not in the GPConnect-PractitionerRole-1 value set", clip(code))
			} else {
				r.PractitionerRole = code
			}
		case gpconnect.ExtCancellationReason:
			p.add("the cancellation reason extension must not be sent when booking")
		}
	}
	return r, p.err()
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func parseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad dateTime %q", s)
}

func checkForbidden(a *fhir.Appointment, p *problems) {
	if len(a.Specialty) > 0 {
		p.add("specialty must not be sent")
	}
	if a.AppointmentType != nil {
		p.add("appointmentType must not be sent")
	}
	if len(a.Reason) > 0 {
		p.add("reason must not be sent")
	}
	if len(a.Indication) > 0 || len(a.SupportingInformation) > 0 || len(a.IncomingReferral) > 0 || len(a.RequestedPeriod) > 0 {
		p.add("indication, supportingInformation, incomingReferral and requestedPeriod must not be sent")
	}
	// GPConnect-Appointment-1 prohibits them (0..0); they would not be kept.
	for i, id := range a.Identifier {
		if id.Use != "" || id.Type != nil || id.Period != nil || id.Assigner != nil {
			p.add("identifier[%d] may carry only system and value: use, type, period and assigner must not be sent", i)
		}
	}
}

func checkText(a *fhir.Appointment, p *problems) {
	if strings.TrimSpace(a.Description) == "" {
		p.add("description is required")
	}
	for _, m := range scheduling.TextProblems(a.Description, a.Comment) {
		p.add("%s", m)
	}
}

func participants(a *fhir.Appointment, r *scheduling.BookRequest, p *problems) {
	if len(a.Participant) == 0 {
		p.add("participants are required")
		return
	}
	seen := map[string]bool{}
	for i, pt := range a.Participant {
		switch pt.Status {
		case "":
			p.add("participant[%d].status is required", i)
		case "accepted", "declined", "tentative", "needs-action": // STU3 participationstatus
		default:
			p.add("participant[%d].status %q is not a participation status", i, clip(pt.Status))
		}
		if pt.Actor == nil || pt.Actor.Reference == "" {
			p.add("participant[%d].actor is required", i)
			continue
		}
		ref := pt.Actor.Reference
		typ, _, _ := strings.Cut(ref, "/")
		// One of each: a second Patient, Location, Practitioner or service
		// would be dropped or would overwrite the first.
		if seen[typ] {
			p.add("participant[%d] is a second %s participant", i, clip(typ))
			continue
		}
		seen[typ] = true
		var n int64
		var ok bool
		switch typ {
		case "Patient":
			n, ok = refID(pt.Actor, "Patient")
			r.PatientID = n
		case "Location":
			n, ok = refID(pt.Actor, "Location")
			r.LocationID = n
		case "Practitioner":
			n, ok = refID(pt.Actor, "Practitioner")
			r.PractitionerID = n
		case "HealthcareService":
			n, ok = refID(pt.Actor, "HealthcareService")
			r.HealthcareServiceID = n
		default:
			p.add("participant[%d].actor %q is not a local Patient, Location, Practitioner or HealthcareService reference", i, clip(ref))
			continue
		}
		if !ok {
			p.add("participant[%d].actor %q is not a valid local reference", i, clip(ref))
			continue
		}
		r.Participants = append(r.Participants, scheduling.Participant{Reference: ref, Status: pt.Status})
	}
	if r.PatientID == 0 {
		p.add("a Patient participant is required")
	}
	if r.LocationID == 0 {
		p.add("a Location participant is required")
	}
}

func bookingOrgFrom(a *fhir.Appointment, r *scheduling.BookRequest, p *problems) {
	var ref string
	n := 0
	for _, e := range a.Extension {
		if e.URL == gpconnect.ExtBookingOrganisation {
			n++
			if e.ValueReference != nil {
				ref = e.ValueReference.Reference
			}
		}
	}
	if n == 0 {
		p.add("the booking organisation extension is required")
		return
	}
	if n > 1 {
		return // reported by checkExtensionCardinality
	}
	if !strings.HasPrefix(ref, "#") || len(ref) < 2 {
		p.add("the booking organisation extension must reference a contained Organization (#id)")
		return
	}
	var org *fhir.Organization
	for _, c := range a.Contained {
		if o, ok := c.(*fhir.Organization); ok && o.ID == ref[1:] {
			org = o
		}
	}
	if org == nil {
		p.add("the booking organisation %s is not a contained Organization", ref)
		return
	}
	if len(a.Contained) > 1 {
		p.add("only the booking organisation may be contained (%d resources sent)", len(a.Contained))
	}
	// Spaces only are no value: a booker with a blank name, phone or ODS
	// code would be stored and shown as if it had one.
	if strings.TrimSpace(org.Name) == "" {
		p.add("the booking organisation needs a name")
	}
	phone := false
	for _, t := range org.Telecom {
		if t.System == "phone" && strings.TrimSpace(t.Value) != "" {
			phone = true
		}
	}
	if !phone {
		p.add("the booking organisation needs a phone telecom")
	}
	// The booker is one organisation (spec §6.2): a second, different ODS
	// code or type would make the access rules depend on which one is read.
	for _, i := range org.Identifier {
		if gpconnect.IsODSOrganisationSystem(i.System) {
			if strings.TrimSpace(i.Value) == "" {
				p.add("the booking organisation's ODS code is blank")
				continue
			}
			if r.BookingOrg.ODS != "" && !strings.EqualFold(strings.TrimSpace(r.BookingOrg.ODS), strings.TrimSpace(i.Value)) {
				p.add("the booking organisation has two ODS codes (%q and %q); send the one it has", clip(r.BookingOrg.ODS), clip(i.Value))
				continue
			}
			if r.BookingOrg.ODS == "" {
				r.BookingOrg.ODS = i.Value
			}
		}
	}
	if r.BookingOrg.ODS == "" {
		p.add("the booking organisation needs an identifier with system %s", gpconnect.SystemODSOrganisation)
	}
	for _, t := range org.Type {
		for _, c := range t.Coding {
			if !gpconnect.IsOrganisationTypeSystem(c.System) {
				continue
			}
			if !gpconnect.OrganisationType(c.Code).Valid() {
				p.add("the booking organisation's type %q is not in GPConnect-OrganisationType-1 (gp-practice, urgent-care)", clip(c.Code))
			}
			if r.BookingOrg.Type != "" && r.BookingOrg.Type != c.Code {
				p.add("the booking organisation has two types (%q and %q); send the one it has", clip(r.BookingOrg.Type), clip(c.Code))
				continue
			}
			r.BookingOrg.Type = c.Code
		}
	}
	r.BookingOrg.Name = org.Name
	raw, err := json.Marshal(org)
	if err == nil {
		r.BookingOrg.Raw = raw
	}
}

// Editable are the elements an amend or cancel may differ in; everything else
// must equal the stored appointment.
type Editable struct {
	Description, Comment string
	Status               string
	CancelReason         *string
	CancelURLs           []string // extension URLs that are neither known nor allowed
}

// CompareForUpdate checks a PUT body against the stored appointment: only the
// fields an amend (or cancel) may change may differ. serviceType and
// serviceCategory are ignored on both (spec §7.2, §10.11: the provider
// re-populates them from its own data), and optional elements the consumer
// left out (practitioner participant, minutesDuration, extensions) are allowed.
func CompareForUpdate(sent *fhir.Appointment, stored *scheduling.Appointment) (Editable, error) {
	var p problems
	var ed Editable
	// The stored service participant is accepted back whatever the switch
	// is now: the consumer may send what it was shown before a change.
	cur := Appointment(stored, true)
	switch {
	case sent.ID == "":
		p.add("id is required: send the appointment as read, with its id")
	case sent.ID != cur.ID:
		p.add("the id in the body does not match the URL")
	}
	if !hasProfile(sent.Meta, gpconnect.ProfileAppointment) {
		p.add("meta.profile must contain %s", gpconnect.ProfileAppointment)
	}
	checkForbidden(sent, &p)
	checkExtensionCardinality(sent.Extension, &p)
	checkContained(sent, &p)
	if sent.Start != cur.Start || sent.End != cur.End {
		p.add("start and end cannot be changed")
	}
	if sent.MinutesDuration != nil && (cur.MinutesDuration == nil || *sent.MinutesDuration != *cur.MinutesDuration) &&
		*sent.MinutesDuration != int(stored.End.Sub(stored.Start).Minutes()) {
		p.add("minutesDuration cannot be changed")
	}
	if !sameRefs(sent.Slot, cur.Slot) {
		p.add("slots cannot be changed")
	}
	if sent.Priority != nil && (cur.Priority == nil || *sent.Priority != *cur.Priority) {
		p.add("priority cannot be changed")
	}
	if !sameIdentifiers(sent.Identifier, cur.Identifier) {
		p.add("identifiers cannot be changed")
	}
	// Participants: every one sent must be a stored one (same actor), Patient and Location present.
	stStatus := map[string]string{}
	for _, pt := range cur.Participant {
		stStatus[pt.Actor.Reference] = pt.Status
	}
	hasPat, hasLoc := false, false
	seen := map[string]bool{}
	for i, pt := range sent.Participant {
		st, ok := "", false
		if pt.Actor != nil {
			st, ok = stStatus[pt.Actor.Reference]
		}
		if !ok {
			p.add("participant[%d] cannot be added or changed", i)
			continue
		}
		// A participant sent twice is one added, as a booking with it
		// would be refused: it is not quietly folded into the stored one.
		if seen[pt.Actor.Reference] {
			p.add("participant[%d] repeats %s; each participant is sent once", i, clip(pt.Actor.Reference))
			continue
		}
		seen[pt.Actor.Reference] = true
		if pt.Status == "" {
			p.add("participant[%d].status is required", i)
		} else if pt.Status != st {
			p.add("participant[%d].status cannot be changed", i)
		}
		hasPat = hasPat || strings.HasPrefix(pt.Actor.Reference, "Patient/")
		hasLoc = hasLoc || strings.HasPrefix(pt.Actor.Reference, "Location/")
	}
	if !hasPat || !hasLoc {
		p.add("the Patient and Location participants must be kept")
	}
	if sent.Created != "" && sent.Created != cur.Created {
		if t, err := parseDateTime(sent.Created); err != nil || !t.Equal(stored.Created) {
			p.add("created cannot be changed")
		}
	}
	bookingSeen := false
	for _, e := range sent.Extension {
		switch e.URL {
		case gpconnect.ExtBookingOrganisation:
			bookingSeen = true
			if !sameBookingOrg(sent, e.ValueReference, stored.BookingOrg) {
				p.add("the booking organisation cannot be changed")
			}
		case gpconnect.ExtDeliveryChannel:
			if e.ValueCode == nil || *e.ValueCode != stored.DeliveryChannel {
				p.add("the delivery channel cannot be changed")
			}
		case gpconnect.ExtPractitionerRole:
			if e.ValueCodeableConcept == nil || len(e.ValueCodeableConcept.Coding) == 0 || e.ValueCodeableConcept.Coding[0].Code != stored.PractitionerRole {
				p.add("the practitioner role cannot be changed")
			}
		case gpconnect.ExtCancellationReason:
			// value[x] is valueString (spec §8.2): another type is a profile
			// violation (INVALID_RESOURCE). No value, or "", is an empty reason,
			// which the cancel answers with INVALID_PARAMETER (§7.3).
			wrongValue(e, "cancellation reason", "valueString", &p)
			v := ""
			if e.ValueString != nil {
				v = *e.ValueString
			}
			ed.CancelReason = &v
		default:
			ed.CancelURLs = append(ed.CancelURLs, e.URL)
		}
	}
	if !bookingSeen && stored.BookingOrg.ODS != "" {
		p.add("the booking organisation extension must be kept")
	}
	ed.Description, ed.Comment, ed.Status = sent.Description, sent.Comment, sent.Status
	return ed, p.err()
}

// sameIdentifiers reports whether two identifier lists hold the same system|value pairs.
func sameIdentifiers(a, b []fhir.Identifier) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[[2]string]int{}
	for _, i := range b {
		set[[2]string{i.System, i.Value}]++
	}
	for _, i := range a {
		k := [2]string{i.System, i.Value}
		if set[k] == 0 {
			return false
		}
		set[k]--
	}
	return true
}

// sameBookingOrg reports whether the contained Organization the extension
// points at is the stored booking organisation. The local id may differ.
func sameBookingOrg(sent *fhir.Appointment, ref *fhir.Reference, stored scheduling.BookingOrg) bool {
	want := bookingOrg(stored)
	if want == nil {
		return false
	}
	if ref == nil || !strings.HasPrefix(ref.Reference, "#") {
		return false
	}
	var got *fhir.Organization
	for _, c := range sent.Contained {
		if o, ok := c.(*fhir.Organization); ok && o.ID == ref.Reference[1:] {
			got = o
		}
	}
	if got == nil {
		return false
	}
	a, b := *got, *want
	a.ID, b.ID = "", ""
	return sameJSON(&a, &b)
}

func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func sameRefs(a, b []fhir.Reference) bool {
	if len(a) != len(b) {
		return false
	}
	set := map[string]bool{}
	for _, r := range b {
		set[r.Reference] = true
	}
	for _, r := range a {
		if !set[r.Reference] {
			return false
		}
	}
	return true
}

// CheckAmendText applies the description/comment limits to an amend.
func CheckAmendText(ed Editable) error {
	var p problems
	checkText(&fhir.Appointment{Description: ed.Description, Comment: ed.Comment}, &p)
	return p.err()
}
