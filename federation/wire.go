package federation

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// wireResource is the union of the few elements of Slot, Schedule, Location,
// Practitioner, Organization and HealthcareService that a slot search needs.
// Decoding into it instead of the full STU3 types keeps the fan-out's hot
// path small and cheap: one pass, no per-type allocation.
type wireResource struct {
	ResourceType    string          `json:"resourceType"`
	ID              string          `json:"id"`
	Status          string          `json:"status"`
	Start           string          `json:"start"`
	End             string          `json:"end"`
	Schedule        wireRef         `json:"schedule"`
	ServiceType     []wireText      `json:"serviceType"`
	ServiceCategory *wireText       `json:"serviceCategory"`
	Extension       []wireExtension `json:"extension"`
	Actor           []wireRef       `json:"actor"`
	Name            json.RawMessage `json:"name"`
	Gender          string          `json:"gender"`
	Address         json.RawMessage `json:"address"`
	Identifier      []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
}

type wireRef struct {
	Reference string `json:"reference"`
}

type wireText struct {
	Text string `json:"text"`
}

type wireExtension struct {
	URL                  string `json:"url"`
	ValueCode            string `json:"valueCode"`
	ValueCodeableConcept *struct {
		Coding []struct {
			Code    string `json:"code"`
			Display string `json:"display"`
		} `json:"coding"`
	} `json:"valueCodeableConcept"`
}

type wireAddress struct {
	Line       []string `json:"line"`
	City       string   `json:"city"`
	PostalCode string   `json:"postalCode"`
}

type wireName struct {
	Family string   `json:"family"`
	Given  []string `json:"given"`
	Prefix []string `json:"prefix"`
}

type wireBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Entry        []struct {
		Resource *wireResource `json:"resource"`
	} `json:"entry"`
}

// errNotBundle marks a 200 answer that is not a searchset Bundle.
var errNotBundle = errors.New("the response is not a searchset Bundle")

// decodeSlots reads a slot searchset Bundle into Slots, resolving each
// slot's schedule, location, practitioner and service by resourceType/id.
// Slots that cannot be offered (see offerable, or whose schedule is missing
// from the bundle) are dropped; their ids are returned for the caller to
// report (a slot on a window boundary comes back from two windows).
func decodeSlots(ods string, body []byte) ([]Slot, []string, error) {
	var b wireBundle
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errNotBundle, err)
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" {
		return nil, nil, errNotBundle
	}
	byRef := make(map[string]*wireResource, 8)
	var slots []*wireResource
	for _, e := range b.Entry {
		r := e.Resource
		if r == nil {
			continue
		}
		if r.ResourceType == "Slot" {
			slots = append(slots, r)
			continue
		}
		byRef[r.ResourceType+"/"+r.ID] = r
	}
	var orgs []orgName
	for k, r := range byRef {
		if strings.HasPrefix(k, "Organization/") {
			o := orgName{name: nameText(r.Name)}
			for _, id := range r.Identifier {
				if gpconnect.IsODSOrganisationSystem(id.System) {
					o.ods = append(o.ods, id.Value)
				}
			}
			orgs = append(orgs, o)
		}
	}
	practiceName := pickPracticeName(ods, orgs)
	fl := newFlattener(ods, len(slots))
	var dropped []string
	for _, r := range slots {
		sch := byRef[r.Schedule.Reference]
		if sch == nil || sch.ResourceType != "Schedule" {
			dropped = append(dropped, r.ID)
			continue
		}
		var channel, slotType string
		if len(r.ServiceType) > 0 {
			slotType = r.ServiceType[0].Text
		}
		for _, x := range r.Extension {
			if x.URL == gpconnect.ExtDeliveryChannel || (x.URL == gpconnect.ExtDeliveryChannelOld && channel == "") {
				channel = x.ValueCode
			}
		}
		if !fl.add(sch.ID, func() *SlotSchedule { return wireSchedule(sch, byRef, practiceName) },
			r.ID, r.Status, r.Start, r.End, channel, slotType) {
			dropped = append(dropped, r.ID)
		}
	}
	return fl.sorted(), dropped, nil
}

// orgName is an Organization of a slot Bundle: its name and ODS codes.
type orgName struct {
	name string
	ods  []string
}

// pickPracticeName is the practice's own name among its Bundle's
// Organizations: the one carrying its ODS code, else the only one when that
// names no ODS code at all, else none. Taking the first one met (map order)
// labelled a practice's slots with whatever other organisation it sent.
func pickPracticeName(ods string, orgs []orgName) string {
	for _, o := range orgs {
		for _, code := range o.ods {
			if strings.EqualFold(strings.TrimSpace(code), ods) {
				return o.name
			}
		}
	}
	if len(orgs) == 1 && len(orgs[0].ods) == 0 {
		return orgs[0].name
	}
	return ""
}

// flattener builds one practice's Slots from either decoding of its
// searchset (wire.go's for the fan-out, the typed one for booking): what a
// schedule's slots share is resolved once and held once, repeated texts
// are interned, and a slot that cannot be offered is refused.
type flattener struct {
	ods    string
	out    []Slot
	shared map[string]*SlotSchedule
	intern map[string]string
}

func newFlattener(ods string, n int) *flattener {
	return &flattener{ods: ods, out: make([]Slot, 0, n), shared: map[string]*SlotSchedule{}, intern: map[string]string{}}
}

func (f *flattener) in(s string) string {
	if v, ok := f.intern[s]; ok {
		return v
	}
	f.intern[s] = s
	return s
}

// add appends the slot of schedule scheduleID (resolved by resolve on its
// first slot) and reports whether it could be offered.
func (f *flattener) add(scheduleID string, resolve func() *SlotSchedule, id, status, start, end, channel, slotType string) bool {
	si := f.shared[scheduleID]
	if si == nil {
		si = resolve()
		f.shared[scheduleID] = si
	}
	st, en, ok := offerable(id, status, start, end, si)
	if ok {
		f.out = append(f.out, Slot{ODS: f.ods, ID: id, Start: st, End: en, DeliveryChannel: f.in(channel), SlotType: f.in(slotType), SlotSchedule: si})
	}
	return ok
}

// sorted is the slots by start, then id.
func (f *flattener) sorted() []Slot {
	sortSlots(f.out)
	return f.out
}

// wireSchedule resolves what a schedule's slots share.
func wireSchedule(sch *wireResource, byRef map[string]*wireResource, practiceName string) *SlotSchedule {
	si := &SlotSchedule{ScheduleID: sch.ID, PracticeName: practiceName}
	if sch.ServiceCategory != nil {
		si.ScheduleType = sch.ServiceCategory.Text
	}
	for _, x := range sch.Extension {
		if x.URL == gpconnect.ExtPractitionerRole && x.ValueCodeableConcept != nil && len(x.ValueCodeableConcept.Coding) > 0 {
			si.RoleCode = x.ValueCodeableConcept.Coding[0].Code
			si.RoleDisplay = x.ValueCodeableConcept.Coding[0].Display
		}
	}
	for _, a := range sch.Actor {
		typ, id, _ := strings.Cut(a.Reference, "/")
		res := byRef[a.Reference]
		switch typ {
		case "Location":
			si.LocationID = id
			if res != nil {
				si.LocationName = nameText(res.Name)
				si.LocationAddress = wireAddressText(res.Address)
			}
		case "Practitioner":
			si.PractitionerID = id
			if res != nil {
				si.PractitionerName = nameText(res.Name)
				si.PractitionerSex = res.Gender
			}
		case "HealthcareService":
			si.ServiceID = id
			if res != nil {
				si.ServiceName = nameText(res.Name)
				for _, i := range res.Identifier {
					if i.System == gpconnect.SystemDOSService {
						si.ServiceDOSID = i.Value
					}
				}
			}
		}
	}
	return si
}

// nameText renders a name element: a string (Location, Organization,
// HealthcareService) or a HumanName list (Practitioner).
func nameText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var names []wireName
	if json.Unmarshal(raw, &names) != nil || len(names) == 0 {
		return ""
	}
	n := names[0]
	parts := append(append(append([]string{}, n.Prefix...), n.Given...), n.Family)
	return strings.TrimSpace(strings.Join(parts, " "))
}

// wireAddressText renders a Location address (one object) or the first of a list.
func wireAddressText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var a wireAddress
	if json.Unmarshal(raw, &a) != nil {
		var l []wireAddress
		if json.Unmarshal(raw, &l) != nil || len(l) == 0 {
			return ""
		}
		a = l[0]
	}
	parts := append(append([]string{}, a.Line...), a.City, a.PostalCode)
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ", ")
}

// offerable parses a slot's times and reports whether the hub can offer it
// for booking: an id, status free (1..1, spec §5.6), times with an offset
// and the end after the start, and a schedule with a Location actor (a
// booking must name the location, §6.2). Anything else is the provider's
// mistake, dropped rather than shown as a slot that cannot be booked.
func offerable(id, status, startText, endText string, si *SlotSchedule) (start, end time.Time, ok bool) {
	start, err1 := time.Parse(scheduling.LocalLayout, startText)
	end, err2 := time.Parse(scheduling.LocalLayout, endText)
	ok = err1 == nil && err2 == nil && end.After(start) && id != "" && status == "free" && si.LocationID != ""
	return start, end, ok
}
