package provider_test

// Search for free slots (spec §5): the error table of §5.3, the matching
// rules of §5.4 against the demo data, and the Bundle rules of §5.5/5.6.

import (
	"bytes"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// searchSlots runs a slot search with q (encoded with url.Values.Encode, so
// the offset '+' becomes %2B as §5.1 requires).
func (e *env) searchSlots(t testing.TB, q url.Values) *response {
	t.Helper()
	return e.get(t, "Slot?"+q.Encode(), iidSlots, scopeOrgRead)
}

// wrongSeasonOffset is the UK offset NOT in force at t.
func wrongSeasonOffset(t time.Time) string {
	if _, off := t.In(scheduling.London).Zone(); off == 0 {
		return "+01:00"
	}
	return "+00:00"
}

func testSlotSearchErrors(t *testing.T, e *env) {
	tomorrow := localDay(e.now, 1)
	tomorrowStr := gpcTime(tomorrow)
	endStr := gpcTime(scheduling.AddDaysLocal(tomorrow, 7))
	noOffset := tomorrow.In(scheduling.London).Format("2006-01-02T15:04:05")
	date := tomorrow.In(scheduling.London).Format("2006-01-02")
	set := func(k string, vs ...string) func(url.Values) { return func(q url.Values) { q[k] = vs } }
	del := func(ks ...string) func(url.Values) {
		return func(q url.Values) {
			for _, k := range ks {
				delete(q, k)
			}
		}
	}
	rows := []struct {
		name   string
		mutate func(url.Values)
		status int
		code   string
	}{
		{"start missing", del("start"), 400, "BAD_REQUEST"},
		{"end missing", del("end"), 400, "BAD_REQUEST"},
		{"start and end missing", del("start", "end"), 400, "BAD_REQUEST"},
		{"status missing", del("status"), 400, "BAD_REQUEST"},
		{"_include missing", del("_include"), 400, "BAD_REQUEST"},
		{"_include other than Slot:schedule", set("_include", "Schedule:actor:Location"), 400, "BAD_REQUEST"},
		{"_include wrong case", set("_include", "slot:schedule"), 400, "BAD_REQUEST"},
		{"status busy", set("status", "busy"), 422, "INVALID_PARAMETER"},
		{"status empty", set("status", ""), 422, "INVALID_PARAMETER"},
		{"start empty", set("start", ""), 422, "INVALID_PARAMETER"},
		{"end empty", set("end", ""), 422, "INVALID_PARAMETER"},
		{"start prefix only", set("start", "ge"), 422, "INVALID_PARAMETER"},
		{"start not a date", set("start", "getomorrow"), 422, "INVALID_PARAMETER"},
		{"start impossible date", set("start", "ge2031-02-30"), 422, "INVALID_PARAMETER"},
		{"start hour 24", set("start", "ge"+date+"T24:00:00+00:00"), 422, "INVALID_PARAMETER"},
		{"start prefix lt", set("start", "lt"+tomorrowStr), 422, "INVALID_PARAMETER"},
		{"start prefix gt", set("start", "gt"+tomorrowStr), 422, "INVALID_PARAMETER"},
		{"start prefix eq", set("start", "eq"+tomorrowStr), 422, "INVALID_PARAMETER"},
		{"start prefix ne", set("start", "ne"+tomorrowStr), 422, "INVALID_PARAMETER"},
		{"start no prefix", set("start", tomorrowStr), 422, "INVALID_PARAMETER"},
		{"start prefix upper case", set("start", "GE"+tomorrowStr), 422, "INVALID_PARAMETER"},
		{"end prefix lt", set("end", "lt"+endStr), 422, "INVALID_PARAMETER"},
		{"end prefix gt", set("end", "gt"+endStr), 422, "INVALID_PARAMETER"},
		{"end prefix eq", set("end", "eq"+endStr), 422, "INVALID_PARAMETER"},
		{"start/end prefixes swapped", func(q url.Values) {
			q["start"], q["end"] = []string{"le" + tomorrowStr}, []string{"ge" + endStr}
		}, 422, "INVALID_PARAMETER"},
		{"start le", set("start", "le"+tomorrowStr), 422, "INVALID_PARAMETER"},
		{"end ge", set("end", "ge"+endStr), 422, "INVALID_PARAMETER"},
		{"partial date YYYY", set("start", "ge"+date[:4]), 422, "INVALID_PARAMETER"},
		{"partial date YYYY-MM", set("start", "ge"+date[:7]), 422, "INVALID_PARAMETER"},
		{"partial end date YYYY-MM", set("end", "le"+date[:7]), 422, "INVALID_PARAMETER"},
		{"Z offset", set("start", "ge"+noOffset+"Z"), 422, "INVALID_PARAMETER"},
		{"no offset", set("start", "ge"+noOffset), 422, "INVALID_PARAMETER"},
		{"no seconds", set("start", "ge"+noOffset[:16]+tomorrowStr[19:]), 422, "INVALID_PARAMETER"},
		{"wrong-season offset", set("start", "ge"+noOffset+wrongSeasonOffset(tomorrow)), 422, "INVALID_PARAMETER"},
		{"foreign offset -05:00", set("start", "ge"+noOffset+"-05:00"), 422, "INVALID_PARAMETER"},
		{"negative zero offset -00:00", set("start", "ge"+noOffset+"-00:00"), 422, "INVALID_PARAMETER"},
		{"Z offset on end", set("end", "le"+strings.TrimSuffix(endStr, endStr[19:])+"Z"), 422, "INVALID_PARAMETER"},
		{"range 15 days", set("end", "le"+gpcTime(scheduling.AddDaysLocal(tomorrow, 15))), 422, "INVALID_PARAMETER"},
		{"range 31 days", set("end", "le"+gpcTime(scheduling.AddDaysLocal(tomorrow, 31))), 422, "INVALID_PARAMETER"},
		{"range 14 days and 1 second", set("end", "le"+gpcTime(scheduling.AddDaysLocal(tomorrow, 14).Add(time.Second))), 422, "INVALID_PARAMETER"},
		{"range -1 day", set("end", "le"+gpcTime(scheduling.AddDaysLocal(tomorrow, -1))), 422, "INVALID_PARAMETER"},
		{"range -1 second", set("end", "le"+gpcTime(tomorrow.Add(-time.Second))), 422, "INVALID_PARAMETER"},
		{"range 15 days, dates only", func(q url.Values) {
			q["start"] = []string{"ge" + date}
			q["end"] = []string{"le" + scheduling.AddDaysLocal(tomorrow, 15).Format("2006-01-02")}
		}, 422, "INVALID_PARAMETER"},
		{"start repeated", set("start", "ge"+tomorrowStr, "ge"+tomorrowStr), 400, "BAD_REQUEST"},
		{"end repeated", set("end", "le"+endStr, "le"+endStr), 400, "BAD_REQUEST"},
		{"status repeated", set("status", "free", "free"), 400, "BAD_REQUEST"},
		{"service.identifier wrong system", set("service.identifier", "https://fhir.nhs.uk/Id/ods-organization-code|1000000123"), 422, "INVALID_PARAMETER"},
		{"service.identifier no system", set("service.identifier", "1000000123"), 422, "INVALID_PARAMETER"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			q := slotQuery(e.now, 7)
			row.mutate(q)
			wantOutcome(t, e.searchSlots(t, q), row.status, row.code)
		})
	}
	// A raw '+' in the query is a space (§5.1): the offset is then invalid.
	t.Run("unencoded + in offset", func(t *testing.T) {
		q := slotQuery(e.now, 7)
		delete(q, "start")
		raw := q.Encode() + "&start=ge" + tomorrowStr
		if !strings.Contains(tomorrowStr, "+") {
			t.Fatalf("no + in %s", tomorrowStr)
		}
		wantOutcome(t, e.get(t, "Slot?"+raw, iidSlots, scopeOrgRead), 422, "INVALID_PARAMETER")
	})
}

func testSlotSearchAccepted(t *testing.T, e *env) {
	tomorrow := localDay(e.now, 1)
	date := func(n int) string { return scheduling.AddDaysLocal(tomorrow, n).Format("2006-01-02") }
	rows := []struct {
		name   string
		mutate func(url.Values)
	}{
		{"range 0 days", func(q url.Values) { q["end"] = []string{"le" + gpcTime(tomorrow)} }},
		{"range 8 days", func(q url.Values) { q["end"] = []string{"le" + gpcTime(scheduling.AddDaysLocal(tomorrow, 8))} }},
		{"range 14 days", func(q url.Values) { q["end"] = []string{"le" + gpcTime(scheduling.AddDaysLocal(tomorrow, 14))} }},
		{"dates only, 14 days", func(q url.Values) { q["start"], q["end"] = []string{"ge" + date(0)}, []string{"le" + date(14)} }},
		{"dates only, same day", func(q url.Values) { q["start"], q["end"] = []string{"ge" + date(0)}, []string{"le" + date(0)} }},
		{"dateTime start, date end on the same day", func(q url.Values) {
			q["start"], q["end"] = []string{"ge" + gpcTime(scheduling.AtLocal(tomorrow, 10, 0))}, []string{"le" + date(0)}
		}},
		{"unknown searchFilter system ignored", func(q url.Values) {
			q["searchFilter"] = append(q["searchFilter"], "https://fhir.nhs.uk/STU3/CodeSystem/UEC-Disposition-1|Dx10")
		}},
		{"unknown extra parameter ignored", func(q url.Values) { q["foo"] = []string{"bar"} }},
		{"no searchFilter", func(q url.Values) { delete(q, "searchFilter") }},
		{"no _include:recurse", func(q url.Values) { delete(q, "_include:recurse") }},
		{"HealthcareService include", func(q url.Values) {
			q["_include:recurse"] = append(q["_include:recurse"], "Schedule:actor:HealthcareService")
		}},
		{"searching in the past", func(q url.Values) {
			q["start"], q["end"] = []string{"ge" + date(-30)}, []string{"le" + date(-20)}
		}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			q := slotQuery(e.now, 7)
			row.mutate(q)
			b := wantOK(t, e.searchSlots(t, q), "Bundle")
			checkSlotBundle(t, b, q)
		})
	}
	t.Run("service.identifier with filtering on", func(t *testing.T) {
		// A20047 has filtering on; HealthcareService/2 (DOS 2000041002) is
		// linked to its GP afternoon, HCA afternoon and telephone triage sessions.
		plain := wantOK(t, e.searchSlots(t, slotQuery(e.now, 3)), "Bundle")
		q := slotQuery(e.now, 3)
		q["service.identifier"] = []string{sysDOS + "|2000041002"}
		q["_include:recurse"] = append(q["_include:recurse"], "Schedule:actor:HealthcareService")
		b := wantOK(t, e.searchSlots(t, q), "Bundle")
		checkSlotBundle(t, b, q)
		x := extension(at(b, "meta"), extFilteringStatus)
		if x == nil {
			t.Fatalf("Bundle.meta has no ServiceFilteringStatus extension: %v", at(b, "meta"))
		}
		if st := str(x, "valueCode"); st != "enabled" {
			t.Errorf("ServiceFilteringStatus = %q, want enabled", st)
		}
		if extension(b, extFilteringStatus) != nil {
			t.Errorf("ServiceFilteringStatus is a root extension; it belongs in Bundle.meta")
		}
		got, all := slotIDs(b), slotIDs(plain)
		if len(got) == 0 || len(got) >= len(all) {
			t.Errorf("%d slots with the service filter, %d without: want some, and fewer", len(got), len(all))
		}
		if ids := idsOf(b, "HealthcareService"); !slices.Equal(ids, []string{"2"}) {
			t.Errorf("HealthcareService entries %v, want [2]", ids)
		}
		for _, r := range entries(b) {
			if str(r, "resourceType") != "Schedule" {
				continue
			}
			var refs []string
			for _, a := range arr(r, "actor") {
				refs = append(refs, str(a, "reference"))
			}
			if !slices.Contains(refs, "HealthcareService/2") {
				t.Errorf("Schedule/%s (actors %v) is not linked to the service searched for", str(r, "id"), refs)
			}
		}
	})
	t.Run("service.identifier of a service with no session", func(t *testing.T) {
		// The test pack's 1.2.8 data: HEALTHCARE1 (HealthcareService/1, DOS
		// 2000041001) is linked to no schedule, so a search naming it finds none.
		q := slotQuery(e.now, 3)
		q["service.identifier"] = []string{sysDOS + "|2000041001"}
		b := wantOK(t, e.searchSlots(t, q), "Bundle")
		if n := len(entries(b)); n != 0 {
			t.Errorf("%d entries, want none", n)
		}
		if st := str(extension(at(b, "meta"), extFilteringStatus), "valueCode"); st != "enabled" {
			t.Errorf("ServiceFilteringStatus %q, want enabled", st)
		}
	})
	t.Run("service.identifier with a blank DOS id", func(t *testing.T) {
		q := slotQuery(e.now, 3)
		q["service.identifier"] = []string{sysDOS + "| "}
		wantOutcome(t, e.searchSlots(t, q), 422, "INVALID_PARAMETER")
	})
	t.Run("service.identifier unknown while filtering is on", func(t *testing.T) {
		q := slotQuery(e.now, 3)
		q["service.identifier"] = []string{sysDOS + "|1000000123"}
		wantOutcome(t, e.searchSlots(t, q), 404, "NO_RECORD_FOUND")
	})
	t.Run("no ServiceFilteringStatus without service.identifier", func(t *testing.T) {
		b := wantOK(t, e.searchSlots(t, slotQuery(e.now, 3)), "Bundle")
		if extension(at(b, "meta"), extFilteringStatus) != nil {
			t.Errorf("Bundle.meta carries ServiceFilteringStatus though no service.identifier was sent")
		}
	})
}

func slotIDs(b obj) []string {
	var ids []string
	for _, r := range entries(b) {
		if str(r, "resourceType") == "Slot" {
			ids = append(ids, str(r, "id"))
		}
	}
	sort.Strings(ids)
	return ids
}

// parseGPC parses a GP Connect dateTime and checks its offset is the UK one.
func parseGPC(t testing.TB, what, s string) time.Time {
	t.Helper()
	tm, err := time.Parse("2006-01-02T15:04:05-07:00", s)
	if err != nil {
		t.Errorf("%s %q is not YYYY-MM-DDThh:mm:ss+hh:mm: %v", what, s, err)
		return tm
	}
	if _, off := tm.Zone(); true {
		_, want := tm.In(scheduling.London).Zone()
		if off != want {
			t.Errorf("%s %q does not carry the UK offset in force", what, s)
		}
	}
	return tm
}

// queryBounds reads the effective [start, end] of a (valid) slot query:
// a date-only end covers its whole day.
func queryBounds(t testing.TB, q url.Values) (time.Time, time.Time) {
	t.Helper()
	parse := func(v string, endOfDay bool) time.Time {
		v = v[2:]
		if len(v) == 10 {
			d, err := time.ParseInLocation("2006-01-02", v, scheduling.London)
			if err != nil {
				t.Fatal(err)
			}
			if endOfDay {
				return scheduling.AddDaysLocal(d, 1)
			}
			return d
		}
		tm, err := time.Parse("2006-01-02T15:04:05-07:00", v)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	return parse(q["start"][0], false), parse(q["end"][0], true)
}

// checkSlotBundle applies the §5.5/§5.6 Bundle rules to a search response.
func checkSlotBundle(t *testing.T, b obj, q url.Values) {
	t.Helper()
	if str(b, "type") != "searchset" {
		t.Errorf("Bundle.type = %q, want searchset", str(b, "type"))
	}
	if _, ok := at(b, "entry").([]any); !ok {
		t.Errorf("Bundle.entry is %v, want an array (empty searchset is entry: [])", at(b, "entry"))
	}
	start, end := queryBounds(t, q)
	incs := q["_include:recurse"]
	byRef := map[string]obj{}
	counts := map[string]int{}
	for _, e := range arr(b, "entry") {
		if at(e, "fullUrl") != nil {
			t.Errorf("entry has fullUrl %v; providers SHOULD NOT populate it", at(e, "fullUrl"))
		}
		r, _ := at(e, "resource").(map[string]any)
		key := str(r, "resourceType") + "/" + str(r, "id")
		if byRef[key] != nil {
			t.Errorf("resource %s appears more than once", key)
		}
		byRef[key] = r
		counts[str(r, "resourceType")]++
	}
	switch {
	case counts["Slot"] == 0 && len(byRef) != 0:
		t.Errorf("no slots but %d other resources: %v", len(byRef), counts)
	case counts["Slot"] > 0 && counts["Organization"] != 1:
		t.Errorf("%d Organizations with %d slots, want exactly 1", counts["Organization"], counts["Slot"])
	}
	if !slices.Contains(incs, "Schedule:actor:HealthcareService") && counts["HealthcareService"] != 0 {
		t.Errorf("HealthcareService included without _include:recurse=Schedule:actor:HealthcareService")
	}
	if !slices.Contains(incs, "Schedule:actor:Practitioner") && counts["Practitioner"] != 0 {
		t.Errorf("Practitioner included without _include:recurse=Schedule:actor:Practitioner")
	}
	if !slices.Contains(incs, "Schedule:actor:Location") && counts["Location"] != 0 {
		t.Errorf("Location included without _include:recurse=Schedule:actor:Location")
	}
	used := map[string]bool{}
	for key, r := range byRef {
		switch str(r, "resourceType") {
		case "Slot":
			wantProfile(t, r, profSlot)
			if str(r, "status") != "free" {
				t.Errorf("%s status %q", key, str(r, "status"))
			}
			x := extension(r, extDeliveryChannel)
			if x == nil || !slices.Contains([]string{"In-person", "Telephone", "Video"}, str(x, "valueCode")) {
				t.Errorf("%s DeliveryChannel-2 extension = %v", key, x)
			}
			if str(r, "serviceType", 0, "text") == "" {
				t.Errorf("%s has no serviceType[0].text (slot type)", key)
			}
			for _, k := range []string{"serviceCategory", "appointmentType", "specialty", "comment"} {
				if at(r, k) != nil {
					t.Errorf("%s has %s", key, k)
				}
			}
			sref := str(r, "schedule", "reference")
			if byRef[sref] == nil || !strings.HasPrefix(sref, "Schedule/") {
				t.Errorf("%s schedule %q is not in the Bundle", key, sref)
			}
			used[sref] = true
			s, en := parseGPC(t, key+" start", str(r, "start")), parseGPC(t, key+" end", str(r, "end"))
			if s.Before(start) || en.After(end) {
				t.Errorf("%s [%s, %s] is not fully inside the search [%s, %s]", key, str(r, "start"), str(r, "end"), gpcTime(start), gpcTime(end))
			}
		case "Schedule":
			wantProfile(t, r, profSchedule)
			var locs, pracs, svcs int
			for _, a := range arr(r, "actor") {
				ref := str(a, "reference")
				switch {
				case strings.HasPrefix(ref, "Location/"):
					locs++
					if slices.Contains(incs, "Schedule:actor:Location") && byRef[ref] == nil {
						t.Errorf("%s actor %s is not in the Bundle", key, ref)
					}
				case strings.HasPrefix(ref, "Practitioner/"):
					pracs++
					if slices.Contains(incs, "Schedule:actor:Practitioner") && byRef[ref] == nil {
						t.Errorf("%s actor %s is not in the Bundle", key, ref)
					}
				case strings.HasPrefix(ref, "HealthcareService/"):
					// 1.2.8: only with service filtering on at the practice, which the
					// tests of service filtering check; here: included when asked for.
					svcs++
					if slices.Contains(incs, "Schedule:actor:HealthcareService") && byRef[ref] == nil {
						t.Errorf("%s actor %s is not in the Bundle", key, ref)
					}
				default:
					t.Errorf("%s has actor %q", key, ref)
				}
				used[ref] = true
			}
			if locs != 1 || pracs > 1 || svcs > 1 {
				t.Errorf("%s has %d Location, %d Practitioner and %d HealthcareService actors, want 1 and at most 1 of each other", key, locs, pracs, svcs)
			}
			var roles int
			for _, x := range arr(r, "extension") {
				switch str(x, "url") {
				case extPractRole:
					roles++
				case "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-1":
					t.Errorf("%s carries the old DeliveryChannel-1 extension", key)
				}
			}
			if roles != 1 {
				t.Errorf("%s has %d PractitionerRole-1 extensions, want 1", key, roles)
			}
			if n := len(arr(r, "identifier")); n > 1 {
				t.Errorf("%s has %d identifiers", key, n)
			}
			x := extension(r, extPractRole)
			if c := at(x, "valueCodeableConcept", "coding", 0); x == nil || str(c, "system") != sysSDSJobRole || str(c, "code") == "" || str(c, "display") == "" {
				t.Errorf("%s PractitionerRole-1 extension = %v", key, x)
			}
			if str(r, "serviceCategory", "text") == "" {
				t.Errorf("%s has no serviceCategory.text (schedule type)", key)
			}
			for _, k := range []string{"active", "serviceType", "specialty"} {
				if at(r, k) != nil {
					t.Errorf("%s has %s", key, k)
				}
			}
			if ph := at(r, "planningHorizon"); ph != nil {
				parseGPC(t, key+" planningHorizon.start", str(ph, "start"))
				if str(ph, "end") != "" {
					parseGPC(t, key+" planningHorizon.end", str(ph, "end"))
				}
			}
		case "Practitioner":
			wantProfile(t, r, profPractitioner)
		case "Location":
			checkLocation(t, nil, r)
			mo := str(r, "managingOrganization", "reference")
			if byRef[mo] == nil {
				t.Errorf("%s managingOrganization %s is not in the Bundle", key, mo)
			}
			used[mo] = true
		case "Organization":
			checkOrganization(t, r)
		case "HealthcareService":
			checkHealthcareService(t, r)
		default:
			t.Errorf("unexpected %s in the Bundle", key)
		}
	}
	// Only resources linked to returned slots are included.
	for key := range byRef {
		switch {
		case strings.HasPrefix(key, "Slot/"), strings.HasPrefix(key, "Organization/"):
		case !used[key]:
			t.Errorf("%s is not referenced by any returned slot", key)
		}
	}
}

// categories is the set of Schedule.serviceCategory.text of the slots returned.
func categories(b obj) []string {
	sched := map[string]string{}
	for _, r := range entries(b) {
		if str(r, "resourceType") == "Schedule" {
			sched["Schedule/"+str(r, "id")] = str(r, "serviceCategory", "text")
		}
	}
	seen := map[string]bool{}
	for _, r := range entries(b) {
		if str(r, "resourceType") == "Slot" {
			seen[sched[str(r, "schedule", "reference")]] = true
		}
	}
	var out []string
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Schedule types of the A20047 demo sessions (internal/demo) and the access
// profile each is under.
const (
	catGP        = "General GP Appointments"           // unrestricted
	catHCA       = "Healthcare Assistant Appointments" // unrestricted
	catSameDay   = "Same-day GP Appointments"          // unrestricted, 2 h embargo
	catUrgent    = "Urgent Care Appointments"          // org type urgent-care
	catNurse     = "Practice Nurse Appointments"       // ODS A20047
	catTelephone = "Telephone Triage"                  // types urgent-care/gp-practice AND ODS A20047/B81016/M85015/RNR01
)

func testSlotSearchMatching(t *testing.T, e *env) {
	unrestricted := []string{catGP, catHCA, catSameDay}
	with := func(extra ...string) []string {
		out := append(append([]string{}, unrestricted...), extra...)
		sort.Strings(out)
		return out
	}
	odsF := func(c string) string { return sysODSOrg + "|" + c }
	typeF := func(c string) string { return sysOrgType + "|" + c }
	rows := []struct {
		name    string
		filters []string
		want    []string
	}{
		// §5.4 table, row "none": only unrestricted slots (gpconnect-demonstrator#160).
		{"no filter", nil, with()},
		{"org type urgent-care only", []string{typeF("urgent-care")}, with(catUrgent)},
		{"org type gp-practice only", []string{typeF("gp-practice")}, with()},
		{"org type oncology only", []string{typeF("oncology")}, with()},
		{"ODS A20047 only", []string{odsF(odsLegg)}, with(catNurse)},
		{"ODS B81016 only", []string{odsF("B81016")}, with()},
		{"urgent-care + A20047", []string{odsF(odsLegg), typeF("urgent-care")}, with(catUrgent, catNurse, catTelephone)},
		{"gp-practice + B81016", []string{odsF("B81016"), typeF("gp-practice")}, with(catTelephone)},
		{"urgent-care + RNR01", []string{odsF("RNR01"), typeF("urgent-care")}, with(catUrgent, catTelephone)},
		{"oncology + A20047", []string{odsF(odsLegg), typeF("oncology")}, with(catNurse)},
		{"oncology + X12345", []string{odsF("X12345"), typeF("oncology")}, with()},
		{"unknown system only", []string{"https://example.org/other|A20047"}, with()},
		// ODS codes are issued in capitals; explain and booking read them so too.
		{"urgent-care + a20047 in lower case", []string{odsF("a20047"), typeF("urgent-care")}, with(catUrgent, catNurse, catTelephone)},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			q := slotQuery(e.now, 3)
			q["searchFilter"] = row.filters
			if row.filters == nil {
				delete(q, "searchFilter")
			}
			b := wantOK(t, e.searchSlots(t, q), "Bundle")
			checkSlotBundle(t, b, q)
			if got := categories(b); !slices.Equal(got, row.want) {
				t.Errorf("schedule types = %v, want %v", got, row.want)
			}
		})
	}
	t.Run("held-back slots are never offered", func(t *testing.T) {
		b := wantOK(t, e.searchSlots(t, slotQuery(e.now, 3)), "Bundle")
		sched := map[string]string{}
		for _, r := range entries(b) {
			if str(r, "resourceType") == "Schedule" {
				sched["Schedule/"+str(r, "id")] = str(r, "serviceCategory", "text")
			}
		}
		checked := 0
		defer func() {
			if checked == 0 {
				t.Errorf("no GP slots in the bundle, so nothing was checked")
			}
		}()
		for _, r := range entries(b) {
			if str(r, "resourceType") != "Slot" || sched[str(r, "schedule", "reference")] != catGP {
				continue
			}
			checked++
			st := parseGPC(t, "start", str(r, "start")).In(scheduling.London)
			if st.Hour() == 9 && st.Minute() < 40 {
				t.Errorf("not-bookable GP slot %s offered", str(r, "start"))
			}
		}
	})
	t.Run("slots straddling the bounds are not returned", func(t *testing.T) {
		q := slotQuery(e.now, 0)
		tomorrow := localDay(e.now, 1)
		q["start"] = []string{"ge" + gpcTime(scheduling.AtLocal(tomorrow, 9, 45))}
		q["end"] = []string{"le" + gpcTime(scheduling.AtLocal(tomorrow, 10, 55))}
		b := wantOK(t, e.searchSlots(t, q), "Bundle")
		checkSlotBundle(t, b, q) // every slot fully inside
		var n int
		for _, r := range entries(b) {
			if str(r, "resourceType") == "Slot" {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no slot fully inside 09:45-10:55")
		}
	})
	t.Run("date-only end covers the whole day", func(t *testing.T) {
		q := slotQuery(e.now, 0)
		day := localDay(e.now, 1).Format("2006-01-02")
		q["start"], q["end"] = []string{"ge" + day}, []string{"le" + day}
		b := wantOK(t, e.searchSlots(t, q), "Bundle")
		var latest time.Time
		for _, r := range entries(b) {
			if str(r, "resourceType") == "Slot" {
				if en := parseGPC(t, "end", str(r, "end")); en.After(latest) {
					latest = en
				}
			}
		}
		if h := latest.In(scheduling.London).Hour(); h < 17 {
			t.Errorf("latest slot ends %s; le<date> should cover the afternoon sessions", gpcTime(latest))
		}
	})
	t.Run("no slots: empty searchset without Organization", func(t *testing.T) {
		q := slotQuery(e.now, 0)
		tomorrow := localDay(e.now, 1)
		q["start"] = []string{"ge" + gpcTime(tomorrow)}
		q["end"] = []string{"le" + gpcTime(scheduling.AtLocal(tomorrow, 7, 0))}
		res := e.searchSlots(t, q)
		b := wantOK(t, res, "Bundle")
		checkSlotBundle(t, b, q)
		if n := len(arr(b, "entry")); n != 0 {
			t.Errorf("%d entries, want none", n)
		}
	})
	t.Run("without recurse includes: Slot, Schedule, Organization only", func(t *testing.T) {
		q := slotQuery(e.now, 2)
		delete(q, "_include:recurse")
		b := wantOK(t, e.searchSlots(t, q), "Bundle")
		checkSlotBundle(t, b, q)
		if len(entries(b)) == 0 {
			t.Fatal("empty bundle: nothing to check")
		}
		for _, r := range entries(b) {
			if rt := str(r, "resourceType"); rt != "Slot" && rt != "Schedule" && rt != "Organization" {
				t.Errorf("%s included without its _include:recurse", rt)
			}
		}
	})
	t.Run("included resources are as their reads", func(t *testing.T) {
		// §5.5: Practitioner, Location and Organization are populated
		// exactly as in their Read interactions.
		b := wantOK(t, e.searchSlots(t, slotQuery(e.now, 2)), "Bundle")
		iids := map[string]string{"Practitioner": iidReadPrac, "Location": iidReadLocation, "Organization": iidReadOrg}
		seen := map[string]bool{}
		for _, r := range entries(b) {
			rt := str(r, "resourceType")
			iid, ok := iids[rt]
			if !ok {
				continue
			}
			seen[rt] = true
			ref := rt + "/" + str(r, "id")
			read := wantOK(t, e.get(t, ref, iid, scopeOrgRead), rt)
			if !reflect.DeepEqual(read, r) {
				t.Errorf("%s in the Bundle differs from its read:\nbundle %v\nread   %v", ref, r, read)
			}
		}
		if len(seen) != 3 {
			t.Errorf("included types %v, want Practitioner, Location and Organization", seen)
		}
	})
	t.Run("identical searches give identical bodies", func(t *testing.T) {
		q := slotQuery(e.now, 14)
		a := e.searchSlots(t, q)
		b := e.searchSlots(t, q)
		wantOK(t, a, "Bundle")
		if !bytes.Equal(a.body, b.body) {
			t.Errorf("two identical searches gave different bodies (%d and %d bytes)", len(a.body), len(b.body))
		}
	})
	t.Run("full two weeks", func(t *testing.T) {
		q := slotQuery(e.now, 14)
		b := wantOK(t, e.searchSlots(t, q), "Bundle")
		checkSlotBundle(t, b, q)
		if n := len(slotIDs(b)); n < 150 {
			t.Errorf("%d slots for A20047/urgent-care in two weeks; the test pack needs >= 150", n)
		}
	})
}

// TestSlotSearchAcrossClockChange pins the data and provider clock before
// the October and March clock changes and searches across them, so the
// wall-clock 14-day rule (gpconnect-provider-testing#313) and the offsets of
// slots on either side are checked end to end. The real clock never reaches
// these dates within the demo horizon, hence the pinned clock.
func TestSlotSearchAcrossClockChange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		clock time.Time // data loaded for, and provider clock at
		from  time.Time // local midnight the search starts
	}{
		// BST ends 01:00 UTC Sunday 31 October 2027.
		{"October", time.Date(2027, 10, 22, 12, 0, 0, 0, scheduling.London), time.Date(2027, 10, 24, 0, 0, 0, 0, scheduling.London)},
		// BST starts 01:00 UTC Sunday 28 March 2027.
		{"March", time.Date(2027, 3, 19, 12, 0, 0, 0, scheduling.London), time.Date(2027, 3, 21, 0, 0, 0, 0, scheduling.London)},
	}
	for _, eng := range storetest.Engines(false) {
		for _, c := range cases {
			t.Run(eng.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, eng, c.clock)
				q := slotQuery(c.clock, 0)
				end := scheduling.AddDaysLocal(c.from, 14)
				q["start"], q["end"] = []string{"ge" + gpcTime(c.from)}, []string{"le" + gpcTime(end)}
				if got := end.Sub(c.from); got == 14*24*time.Hour {
					t.Fatalf("test dates do not span a clock change")
				}
				b := wantOK(t, e.searchSlots(t, q), "Bundle")
				checkSlotBundle(t, b, q)
				offsets := map[string]bool{}
				for _, r := range entries(b) {
					if str(r, "resourceType") == "Slot" {
						s := str(r, "start")
						offsets[s[len(s)-6:]] = true
					}
				}
				if !offsets["+00:00"] || !offsets["+01:00"] {
					t.Errorf("slot offsets %v; want both +00:00 and +01:00 across the change", offsets)
				}
				// One second more is over the limit, whatever the clock change.
				q["end"] = []string{"le" + gpcTime(end.Add(time.Second))}
				wantOutcome(t, e.searchSlots(t, q), 422, "INVALID_PARAMETER")
			})
		}
	}
}
