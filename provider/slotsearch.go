package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/fhirmap"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func init() { handlers[gpconnect.SearchSlot] = (*Server).searchSlots }

// slotQuery is a parsed search-for-free-slots request.
type slotQuery struct {
	start, end  time.Time
	consumer    scheduling.Consumer
	includes    fhirmap.Includes
	serviceSent bool
	// serviceDOS is the DOS id of service.identifier; includeService is
	// whether the HealthcareService include was asked for. Both count only
	// when service filtering is on at the practice (spec §5.10).
	serviceDOS     string
	includeService bool
}

// parseDateParam parses a prefixed date or dateTime search value with the
// search's rules (scheduling.ParseSearchTime, which admin explain shares): a
// dateTime must carry the UK offset in force at that instant; Z is refused.
func parseDateParam(v, prefix string) (time.Time, bool, error) {
	if !strings.HasPrefix(v, prefix) {
		return time.Time{}, false, fail(gpconnect.InvalidParameter, "The value %q must use the %q prefix", clip(v, 40), prefix)
	}
	t, dateOnly, err := scheduling.ParseSearchTime(v[len(prefix):])
	if err != nil {
		return time.Time{}, false, fail(gpconnect.InvalidParameter, "%s", scheduling.ErrorMessage(err))
	}
	return t, dateOnly, nil
}

// parseSlotQuery applies the parameter rules and error table of spec §5.1–5.3.
func parseSlotQuery(q url.Values) (*slotQuery, error) {
	// A modifier on a parameter this search reads would change its meaning
	// (service.identifier:not, start:missing); ignoring it would quietly
	// answer another question, so it is refused (FHIR search: a server
	// rejects a modifier it does not support). Other parameters are ignored.
	for k := range q {
		if name, mod, ok := strings.Cut(k, ":"); ok && slices.Contains([]string{"start", "end", "status", "searchFilter", "service.identifier"}, name) {
			return nil, fail(gpconnect.InvalidParameter, "The :%s modifier is not supported on %s", clip(mod, 20), name)
		}
	}
	starts, ends := q["start"], q["end"]
	if len(starts) == 0 || len(ends) == 0 {
		return nil, fail(gpconnect.BadRequest, "Both start and end search parameters are required")
	}
	if len(q["status"]) == 0 {
		return nil, fail(gpconnect.BadRequest, "The status search parameter is required")
	}
	hasSchedule := false
	for _, v := range q["_include"] {
		// FHIR allows the target type after the parameter name.
		if v == "Slot:schedule" || v == "Slot:schedule:Schedule" {
			hasSchedule = true
		}
	}
	if !hasSchedule {
		return nil, fail(gpconnect.BadRequest, "_include=Slot:schedule is required")
	}
	if len(starts) > 1 || len(ends) > 1 {
		return nil, fail(gpconnect.BadRequest, "start and end may each be given only once")
	}
	if len(q["status"]) > 1 {
		return nil, fail(gpconnect.BadRequest, "status may be given only once")
	}
	// status is a token: "free", or with the code system spelt out.
	if st := q["status"]; len(st) != 1 || (st[0] != "free" && st[0] != "http://hl7.org/fhir/slotstatus|free") {
		return nil, fail(gpconnect.InvalidParameter, "Only status=free is supported")
	}
	sq := &slotQuery{}
	start, _, err := parseDateParam(starts[0], "ge")
	if err != nil {
		return nil, err
	}
	end, endDateOnly, err := parseDateParam(ends[0], "le")
	if err != nil {
		return nil, err
	}
	// le on a date covers that whole day; the 14-day limit compares the
	// values as sent (scheduling.SearchPeriod, shared with admin explain).
	from, to, err := scheduling.SearchPeriod(start, end, endDateOnly)
	if err != nil {
		return nil, fail(gpconnect.InvalidParameter, "%s", scheduling.ErrorMessage(err))
	}
	sq.start, sq.end = from, to
	for _, v := range q["_include:recurse"] {
		switch v {
		case "Schedule:actor:Practitioner":
			sq.includes.Practitioner = true
		case "Schedule:actor:Location":
			sq.includes.Location = true
		case "Schedule:actor:HealthcareService":
			sq.includeService = true
		case "Schedule:actor":
			// No target type: every kind of actor.
			sq.includes.Practitioner, sq.includes.Location, sq.includeService = true, true, true
		}
	}
	// searchFilter is 0..n (spec §5.1): a second, different value of one
	// system is kept as well, and a slot restricted on it is offered only
	// when every value is allowed (scheduling.Consumer).
	var orgTypes, odsCodes []string
	for _, v := range q["searchFilter"] {
		system, code, ok := strings.Cut(v, "|")
		if code = strings.TrimSpace(code); !ok || code == "" {
			continue
		}
		switch {
		case system == gpconnect.SystemODSOrganisation:
			if code = strings.ToUpper(code); !slices.Contains(odsCodes, code) { // as the consumer's ODS code is matched
				odsCodes = append(odsCodes, code)
			}
		case gpconnect.IsOrganisationTypeSystem(system):
			if !slices.Contains(orgTypes, code) {
				orgTypes = append(orgTypes, code)
			}
		}
	}
	sq.consumer = scheduling.NewConsumer(first(orgTypes), first(odsCodes))
	if len(orgTypes) > 1 {
		sq.consumer.MoreOrgTypes = orgTypes[1:]
	}
	if len(odsCodes) > 1 {
		sq.consumer.MoreODS = odsCodes[1:]
	}
	if vs := q["service.identifier"]; len(vs) > 0 {
		if len(vs) > 1 {
			return nil, fail(gpconnect.BadRequest, "service.identifier may be given only once")
		}
		system, val, ok := strings.Cut(vs[0], "|")
		if val = strings.TrimSpace(val); !ok || system != gpconnect.SystemDOSService || val == "" {
			return nil, fail(gpconnect.InvalidParameter, "service.identifier must be %s|{id}", gpconnect.SystemDOSService)
		}
		sq.serviceSent, sq.serviceDOS = true, val
	}
	return sq, nil
}

func (s *Server) searchSlots(rq *request) error {
	sq, err := parseSlotQuery(rq.query())
	if err != nil {
		return err
	}
	ctx := rq.c.Request.Context()
	filtering := s.filtering(rq.practice)
	on := filtering == scheduling.FilteringEnabled
	var service *scheduling.HealthcareService
	if on && sq.serviceSent {
		if service, err = s.store.HealthcareServiceByDOS(ctx, rq.practice.ID, sq.serviceDOS); err != nil {
			if scheduling.ErrorCode(err) == scheduling.ENOTFOUND {
				return fail(gpconnect.NoRecordFound, "No healthcare service with DOS id %q at this practice", clip(sq.serviceDOS, 64))
			}
			return err
		}
	}
	res, err := s.store.SearchFreeSlots(ctx, scheduling.SlotSearch{PracticeID: rq.practice.ID,
		Start: sq.start, End: sq.end, Consumer: sq.consumer, Now: s.now()})
	if err != nil {
		return err
	}
	if service != nil {
		res.OnlyService(service.ID)
	}
	inc := sq.includes
	if on {
		inc.ServiceFiltering = true
		if sq.includeService && linksService(res) {
			if inc.Services, err = s.servicesByID(ctx, rq.practice.ID); err != nil {
				return err
			}
			inc.HealthcareService = true
		}
	}
	if len(res.Slots) == 0 {
		// The search shows nothing of a practice switched off, which the
		// practice cache may not know yet (switched by another process): say
		// so, rather than answer an empty Bundle.
		if org, err := s.store.OrganisationByODS(ctx, rq.ods); err == nil && !org.AppointmentsOn() {
			s.forgetPractice(rq.ods)
			return fail(gpconnect.AccessDenied, "GP Connect appointment management is not enabled at this practice")
		}
	}
	// The Bundle is encoded and written before this returns, so its Slots
	// can go back to the pool.
	b, release := fhirmap.SlotBundlePooled(res, rq.practice, inc)
	defer release()
	if sq.serviceSent {
		st := string(filtering)
		b.Meta = &fhir.Meta{Extension: []fhir.Extension{{URL: gpconnect.ExtServiceFilteringState, ValueCode: &st}}}
	}
	if len(res.Slots) > 0 {
		rq.resourceIDs = append(rq.resourceIDs, "Slot*"+itoa(len(res.Slots)))
	}
	s.writeSearchset(rq, b)
	return nil
}

// writeSearchset sends a 200 searchset. JSON goes through fhir.MarshalJSON,
// whose hand-written Slot path writes encoding/json's bytes several times
// faster on the thousands of Slots a wide search returns.
func (s *Server) writeSearchset(rq *request, b *fhir.Bundle) {
	if rq.fmt != formatJSON {
		s.write(rq, http.StatusOK, b)
		return
	}
	buf := bodyPool.Get().(*[]byte)
	body, err := fhir.AppendJSON((*buf)[:0], b)
	if err != nil {
		bodyPool.Put(buf)
		s.writeError(rq, fmt.Errorf("encode Bundle: %w", err))
		return
	}
	rq.status, rq.written = http.StatusOK, true
	writeBody(rq.c.Writer, rq.c.Request, http.StatusOK, rq.fmt.contentType(), body)
	// writeBody has copied the body out; keep the buffer unless it grew huge.
	if cap(body) <= maxPooledBody {
		*buf = body
		bodyPool.Put(buf)
	}
}

// maxPooledBody is the largest search body buffer kept for reuse (a
// 5,000-slot Bundle is about 2.5 MB).
const maxPooledBody = 4 << 20

// bodyPool holds search body buffers, so a large Bundle's megabytes are not
// allocated and cleared on every request.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func itoa(n int) string { return strconv.Itoa(n) }

// linksService reports whether any of res's slots is on a schedule linked to a service.
func linksService(res *scheduling.SlotResult) bool {
	for _, sl := range res.Slots {
		if sc := res.Schedules[sl.ScheduleID]; sc != nil && sc.HealthcareServiceID != 0 {
			return true
		}
	}
	return false
}

// servicesByID reads a practice's services, keyed by id.
func (s *Server) servicesByID(ctx context.Context, practiceID int64) (map[int64]*scheduling.HealthcareService, error) {
	l, err := s.store.HealthcareServices(ctx, practiceID)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]*scheduling.HealthcareService, len(l))
	for i := range l {
		m[l[i].ID] = &l[i]
	}
	return m, nil
}

func first(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
