package fhirmap

import (
	"strconv"
	"sync"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Slot maps a slot to GPConnect-Slot-1.
func Slot(s *scheduling.Slot) *fhir.Slot {
	ch := s.DeliveryChannel
	r := &fhir.Slot{ResourceType: "Slot", ID: id(s.ID), Meta: meta(s.Version, gpconnect.ProfileSlot),
		Schedule: Ref("Schedule", s.ScheduleID), Status: string(s.Status),
		Start: scheduling.FormatLocal(s.Start), End: scheduling.FormatLocal(s.End)}
	if ch != "" {
		r.Extension = []fhir.Extension{{URL: gpconnect.ExtDeliveryChannel, ValueCode: &ch}}
	}
	if s.ServiceType != "" {
		r.ServiceType = []fhir.CodeableConcept{{Text: s.ServiceType}}
	}
	return r
}

// RoleConcept is the practitioner-role CodeableConcept for an SDS job role code.
func RoleConcept(code string) *fhir.CodeableConcept {
	return &fhir.CodeableConcept{Coding: []fhir.Coding{{System: gpconnect.SystemSDSJobRoleName, Code: code,
		Display: gpconnect.PractitionerRole(code).Display()}}}
}

// Schedule maps a schedule to GPConnect-Schedule-1.
func Schedule(s *scheduling.Schedule) *fhir.Schedule {
	r := &fhir.Schedule{ResourceType: "Schedule", ID: id(s.ID), Meta: meta(s.Version, gpconnect.ProfileSchedule),
		Actor:           []fhir.Reference{Ref("Location", s.LocationID)},
		PlanningHorizon: &fhir.Period{Start: scheduling.FormatLocal(s.Start), End: scheduling.FormatLocal(s.End)}}
	if s.Role != "" {
		r.Extension = []fhir.Extension{{URL: gpconnect.ExtPractitionerRole, ValueCodeableConcept: RoleConcept(s.Role)}}
	}
	if s.ServiceCategory != "" {
		r.ServiceCategory = &fhir.CodeableConcept{Text: s.ServiceCategory}
	}
	if s.PractitionerID != 0 {
		r.Actor = append(r.Actor, Ref("Practitioner", s.PractitionerID))
	}
	return r
}

// ScheduleWithService is Schedule for a practice with service filtering on
// (spec §5.10): a schedule linked to a service also references it.
func ScheduleWithService(s *scheduling.Schedule) *fhir.Schedule {
	r := Schedule(s)
	if s.HealthcareServiceID != 0 {
		r.Actor = append(r.Actor, Ref("HealthcareService", s.HealthcareServiceID))
	}
	return r
}

// Includes says which related resources a slot Bundle carries.
type Includes struct {
	Practitioner bool
	Location     bool
	// ServiceFiltering is set when service filtering is on at the practice:
	// Schedules then reference their service, and with HealthcareService
	// (the _include) the Bundle carries those of Services they reference.
	ServiceFiltering  bool
	HealthcareService bool
	Services          map[int64]*scheduling.HealthcareService
}

// SlotBundle builds the search-for-free-slots searchset: slots in result
// order, then each schedule, practitioner and location once (in order of first
// use), then the practice Organization, which is always present when a slot is.
func SlotBundle(res *scheduling.SlotResult, practice *scheduling.Organisation, inc Includes) *fhir.Bundle {
	return slotBundle(res, practice, inc, nil)
}

// SlotBundlePooled is SlotBundle for a caller that encodes the Bundle at
// once. Its Slot structs come from a pool: release gives them back, after
// which neither the Bundle nor anything taken from it may be used. Its
// schedules, practitioners and locations are *fhir.Encoded values made once
// per domain value, so res's must be shared values that never change (as the
// store's cached ones are).
func SlotBundlePooled(res *scheduling.SlotResult, practice *scheduling.Organisation, inc Includes) (b *fhir.Bundle, release func()) {
	p := slotArrPool.Get().(*[]fhir.Slot)
	b = slotBundle(res, practice, inc, p)
	return b, func() {
		if cap(*p) <= maxPooledSlots {
			slotArrPool.Put(p)
		}
	}
}

// maxPooledSlots bounds the Slot arrays kept for reuse.
const maxPooledSlots = 8192

// slotArrPool holds the Slot arrays of encoded Bundles: a 100-slot search's
// array was a fifth of its allocated bytes.
var slotArrPool = sync.Pool{New: func() any { return new([]fhir.Slot) }}

// slotBundle builds the Bundle, taking its Slot array from *arr when arr is
// not nil (and leaving there the array it used).
func slotBundle(res *scheduling.SlotResult, practice *scheduling.Organisation, inc Includes, arr *[]fhir.Slot) *fhir.Bundle {
	b := fhir.NewSearchset()
	if len(res.Slots) == 0 {
		return b
	}
	b.Entry = make([]fhir.BundleEntry, 0, len(res.Slots)+8)
	var schedOrder []int64
	seen := map[int64]bool{}
	sm := newSlotMapper(res.Slots, arr)
	for i := range res.Slots {
		sl := &res.Slots[i]
		b.Entry = append(b.Entry, fhir.BundleEntry{Resource: sm.slot(i, sl)})
		if !seen[sl.ScheduleID] {
			seen[sl.ScheduleID] = true
			schedOrder = append(schedOrder, sl.ScheduleID)
		}
	}
	var pracOrder, locOrder, svcOrder []int64
	seenP, seenL, seenS := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	for _, sid := range schedOrder {
		sc := res.Schedules[sid]
		if sc == nil {
			continue
		}
		if inc.ServiceFiltering {
			b.Entry = append(b.Entry, fhir.BundleEntry{Resource: mapShared(arr != nil, &encodedSchedulesSvc, sc, ScheduleWithService)})
			if sc.HealthcareServiceID != 0 && !seenS[sc.HealthcareServiceID] {
				seenS[sc.HealthcareServiceID] = true
				svcOrder = append(svcOrder, sc.HealthcareServiceID)
			}
		} else {
			b.Entry = append(b.Entry, fhir.BundleEntry{Resource: mapShared(arr != nil, &encodedSchedules, sc, Schedule)})
		}
		if sc.PractitionerID != 0 && !seenP[sc.PractitionerID] {
			seenP[sc.PractitionerID] = true
			pracOrder = append(pracOrder, sc.PractitionerID)
		}
		if !seenL[sc.LocationID] {
			seenL[sc.LocationID] = true
			locOrder = append(locOrder, sc.LocationID)
		}
	}
	if inc.Practitioner {
		for _, pid := range pracOrder {
			if p := res.Practitioners[pid]; p != nil {
				b.Entry = append(b.Entry, fhir.BundleEntry{Resource: mapShared(arr != nil, &encodedPractitioners, p, Practitioner)})
			}
		}
	}
	if inc.Location {
		for _, lid := range locOrder {
			if l := res.Locations[lid]; l != nil {
				b.Entry = append(b.Entry, fhir.BundleEntry{Resource: mapShared(arr != nil, &encodedLocations, l, Location)})
			}
		}
	}
	if inc.HealthcareService {
		for _, hid := range svcOrder {
			if h := inc.Services[hid]; h != nil {
				b.Entry = append(b.Entry, fhir.BundleEntry{Resource: HealthcareService(h)})
			}
		}
	}
	b.Entry = append(b.Entry, fhir.BundleEntry{Resource: Organization(practice)})
	return b
}

// mapShared maps v, through the memo when the Bundle is a pooled one.
func mapShared[T any, R fhir.Resource](memo bool, c *encodedMemo[T], v *T, mapf func(*T) R) fhir.Resource {
	if !memo {
		return mapf(v)
	}
	return c.get(v, func(v *T) fhir.Resource { return mapf(v) })
}

// slotMapper maps the many Slots of one Bundle with few allocations: the
// Slot structs come from one array; every slot's id, start and end text is
// written into one buffer that becomes one string, which the fields are
// slices of; and the parts that repeat across slots (meta, schedule
// reference, delivery channel extension, service type) are made once per
// distinct value and shared. The result is the same as Slot's; the shared
// parts must not be changed once the Bundle is built.
type slotMapper struct {
	arr   []fhir.Slot
	text  string
	ends  []int // ends[3i..3i+2]: where slot i's id, start and end end in text
	metas map[int64]*fhir.Meta
	refs  map[int64]fhir.Reference
	exts  map[string][]fhir.Extension
	types map[string][]fhir.CodeableConcept
}

func newSlotMapper(slots []scheduling.Slot, arr *[]fhir.Slot) *slotMapper {
	var a []fhir.Slot
	switch {
	case arr == nil:
		a = make([]fhir.Slot, len(slots))
	case cap(*arr) >= len(slots):
		// slot overwrites every element it hands out.
		a = (*arr)[:len(slots)]
	default:
		a = make([]fhir.Slot, len(slots))
		*arr = a
	}
	m := &slotMapper{arr: a, ends: make([]int, 0, 3*len(slots)), metas: map[int64]*fhir.Meta{},
		refs: map[int64]fhir.Reference{}, exts: map[string][]fhir.Extension{}, types: map[string][]fhir.CodeableConcept{}}
	buf := make([]byte, 0, len(slots)*(2*len(scheduling.LocalLayout)+8))
	for i := range slots {
		buf = strconv.AppendInt(buf, slots[i].ID, 10)
		m.ends = append(m.ends, len(buf))
		buf = appendLocal(buf, slots[i].Start)
		m.ends = append(m.ends, len(buf))
		buf = appendLocal(buf, slots[i].End)
		m.ends = append(m.ends, len(buf))
	}
	m.text = string(buf)
	return m
}

// slot maps the i-th slot the mapper was made with.
func (m *slotMapper) slot(i int, s *scheduling.Slot) *fhir.Slot {
	r := &m.arr[i]
	from := 0
	if i > 0 {
		from = m.ends[3*i-1]
	}
	e := m.ends[3*i : 3*i+3]
	mt, ok := m.metas[s.Version]
	if !ok {
		mt = meta(s.Version, gpconnect.ProfileSlot)
		m.metas[s.Version] = mt
	}
	ref, ok := m.refs[s.ScheduleID]
	if !ok {
		ref = Ref("Schedule", s.ScheduleID)
		m.refs[s.ScheduleID] = ref
	}
	*r = fhir.Slot{ResourceType: "Slot", ID: m.text[from:e[0]], Meta: mt, Schedule: ref, Status: string(s.Status),
		Start: m.text[e[0]:e[1]], End: m.text[e[1]:e[2]]}
	if ch := s.DeliveryChannel; ch != "" {
		ext, ok := m.exts[ch]
		if !ok {
			ext = []fhir.Extension{{URL: gpconnect.ExtDeliveryChannel, ValueCode: &ch}}
			m.exts[ch] = ext
		}
		r.Extension = ext
	}
	if st := s.ServiceType; st != "" {
		cc, ok := m.types[st]
		if !ok {
			cc = []fhir.CodeableConcept{{Text: st}}
			m.types[st] = cc
		}
		r.ServiceType = cc
	}
	return r
}

// formatLocal is scheduling.FormatLocal by way of appendLocal.
func formatLocal(t time.Time) string { return string(appendLocal(nil, t)) }

// appendLocal appends scheduling.FormatLocal(t), written out by hand for the
// years 1000–9999 instead of Format's layout walk (a slot search formats two
// times per slot).
func appendLocal(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return dst
	}
	l := t.In(scheduling.London)
	y, mo, d := l.Date()
	if y < 1000 || y > 9999 {
		return append(dst, scheduling.FormatLocal(t)...)
	}
	h, mi, sec := l.Clock()
	_, off := l.Zone()
	var b [25]byte
	put := func(i, v int) { b[i], b[i+1] = byte('0'+v/10), byte('0'+v%10) }
	put(0, y/100)
	put(2, y%100)
	b[4] = '-'
	put(5, int(mo))
	b[7] = '-'
	put(8, d)
	b[10] = 'T'
	put(11, h)
	b[13] = ':'
	put(14, mi)
	b[16] = ':'
	put(17, sec)
	b[19] = '+'
	if off < 0 {
		b[19], off = '-', -off
	}
	put(20, off/3600)
	b[22] = ':'
	put(23, off/60%60)
	return append(dst, b[:]...)
}
