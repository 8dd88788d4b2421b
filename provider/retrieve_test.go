package provider_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestRetrieveAppointments covers §7.4: the date rules, the errors, and that
// every appointment of the patient in the inclusive range comes back,
// cancelled ones included.
func TestRetrieveAppointments(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			pid := a.patientID(t, "9658218989") // patient5
			// Three appointments on three different days: the second is cancelled.
			var ids, days []string
			for i, after := range []time.Duration{3 * time.Hour, 50 * time.Hour, 98 * time.Hour} {
				s := a.take(t, "open", 1, after, false)
				b := a.mustBook(t, newBooking(pid, s...))
				if i == 1 {
					cancelOK(b, a)
					if r := a.put(t, iidCancel, b, false, nil); r.status != 200 {
						t.Fatalf("cancel: %d %s", r.status, r.body)
					}
				}
				ids = append(ids, b.ID)
				days = append(days, localDate(s[0].start()))
			}
			// Another patient's appointment must never show up.
			a.mustBook(t, newBooking(a.patientID(t, "9658218997"), a.take(t, "open", 1, 3*time.Hour, false)...))
			today := localDate(time.Now())
			inDays := func(n int) string { return localDate(scheduling.AddDaysLocal(scheduling.LocalMidnight(time.Now()), n)) }
			retrieve := func(t *testing.T, patient string, query string) *response {
				return a.get(t, "Patient/"+patient+"/Appointment?"+query, iidRetrieveAppt, scopePatRead)
			}
			me := fmt.Sprint(pid)
			wantIDs := func(t *testing.T, r *response, want ...string) {
				t.Helper()
				b := wantOK(t, r, "Bundle")
				if str(b, "type") != "searchset" {
					t.Errorf("Bundle.type %q", str(b, "type"))
				}
				if _, ok := b["entry"]; !ok && len(want) == 0 {
					t.Errorf(`empty result has no "entry": [] (§7.4)`)
				}
				var got []string
				for _, e := range entries(b) {
					got = append(got, str(e, "id"))
					if str(e, "resourceType") != "Appointment" || str(at(e, "contained", 0), "resourceType") != "Organization" {
						t.Errorf("entry %s lacks the contained booking organisation", str(e, "id"))
					}
					wantProfile(t, e, profAppointment)
					if str(e, "serviceType", 0, "text") == "" || at(e, "reason") != nil || at(e, "specialty") != nil {
						t.Errorf("entry %s breaks the §7 population rules", str(e, "id"))
					}
				}
				slices.Sort(got)
				w := slices.Clone(want)
				slices.Sort(w)
				if !slices.Equal(got, w) {
					t.Errorf("appointments %v, want %v", got, w)
				}
			}
			t.Run("OK/AllStatusesInRange", func(t *testing.T) {
				r := retrieve(t, me, "start=ge"+today+"&start=le"+inDays(14))
				wantIDs(t, r, ids...)
				if !strings.Contains(string(r.body), `"status":"cancelled"`) {
					t.Errorf("the cancelled appointment is missing")
				}
			})
			t.Run("OK/BoundsInclusive", func(t *testing.T) {
				wantIDs(t, retrieve(t, me, "start=ge"+days[1]+"&start=le"+days[1]), ids[1])
				wantIDs(t, retrieve(t, me, "start=ge"+days[0]+"&start=le"+days[1]), ids[0], ids[1])
			})
			t.Run("OK/ParametersInEitherOrder", func(t *testing.T) {
				wantIDs(t, retrieve(t, me, "start=le"+days[2]+"&start=ge"+days[2]), ids[2])
			})
			t.Run("OK/UnknownParameterIgnored", func(t *testing.T) {
				wantIDs(t, retrieve(t, me, "start=ge"+today+"&start=le"+inDays(14)+"&_sort=date"), ids...)
			})
			t.Run("OK/Empty", func(t *testing.T) {
				wantIDs(t, retrieve(t, fmt.Sprint(a.patientID(t, "9658219721")), "start=ge"+today+"&start=le"+inDays(1)))
			})
			t.Run("OK/NoMaximumRange", func(t *testing.T) {
				wantIDs(t, retrieve(t, me, "start=ge"+today+"&start=le"+inDays(400)), ids...)
			})
			t.Run("OK/TodayAfterItsTime", func(t *testing.T) {
				// Move to one minute after the first appointment ends, same day.
				s := mustTime(readAppt(t, a, ids[0]).End).Add(time.Minute)
				if localDate(s) != days[0] {
					t.Skip("the first appointment ends at midnight")
				}
				moveClock(t, a, s.Sub(time.Now()))
				wantIDs(t, retrieve(t, me, "start=ge"+days[0]+"&start=le"+days[0]), ids[0])
			})
			bad := []struct{ name, query string }{
				{"OneStart", "start=ge" + today},
				{"NoStart", "_sort=date"},
				{"ThreeStarts", "start=ge" + today + "&start=le" + inDays(3) + "&start=le" + inDays(4)},
				{"TwoGe", "start=ge" + today + "&start=ge" + inDays(3)},
				{"TwoLe", "start=le" + today + "&start=le" + inDays(3)},
				{"PrefixGt", "start=gt" + today + "&start=le" + inDays(3)},
				{"PrefixLt", "start=ge" + today + "&start=lt" + inDays(3)},
				{"PrefixEq", "start=eq" + today + "&start=le" + inDays(3)},
				{"NoPrefix", "start=" + today + "&start=le" + inDays(3)},
				{"TimeComponent", "start=ge" + today + "T00:00:00%2B00:00&start=le" + inDays(3)},
				{"YearMonth", "start=ge" + today[:7] + "&start=le" + inDays(40)[:7]},
				{"YearOnly", "start=ge" + today[:4] + "&start=le" + inDays(400)[:4]},
				{"Malformed", "start=ge2026-13-45&start=le" + inDays(3)},
				{"Garbage", "start=gehello&start=le" + inDays(3)},
				{"UpperBeforeLower", "start=ge" + inDays(5) + "&start=le" + inDays(2)},
				{"LowerInThePast", "start=ge" + inDays(-1) + "&start=le" + inDays(3)},
				{"WholeRangeInThePast", "start=ge" + inDays(-10) + "&start=le" + inDays(-3)},
			}
			for _, c := range bad {
				t.Run("ErrInvalidParameter/"+c.name, func(t *testing.T) {
					d := wantOutcome(t, retrieve(t, me, c.query), 422, "INVALID_PARAMETER")
					if strings.Contains(c.name, "Past") && !strings.Contains(strings.ToLower(d), "past") {
						t.Errorf("diagnostics %q do not say the range is in the past (§7.4)", d)
					}
				})
			}
			for _, p := range []string{"null", "dd", "999999", "101", fmt.Sprint(a.patientID(t, "9658220142"))} { // 101 is Northgate's; the last is S-flagged patient9
				t.Run("ErrPatientNotFound/"+p, func(t *testing.T) {
					wantOutcome(t, retrieve(t, p, "start=ge"+today+"&start=le"+inDays(3)), 404, "PATIENT_NOT_FOUND")
				})
				// Parameters are checked before the patient is looked up
				// (§3.5 step 9), whatever the id looks like.
				t.Run("ErrInvalidParameterBeforePatient/"+p, func(t *testing.T) {
					wantOutcome(t, retrieve(t, p, "start=gt"+today+"&start=le"+inDays(3)), 422, "INVALID_PARAMETER")
				})
			}
			t.Run("ErrWriteScope", func(t *testing.T) {
				r := a.get(t, "Patient/"+me+"/Appointment?start=ge"+today+"&start=le"+inDays(3), iidRetrieveAppt, scopePatWrite)
				wantOutcome(t, r, 400, "BAD_REQUEST")
			})
			t.Run("ErrWrongInteraction", func(t *testing.T) {
				r := a.get(t, "Patient/"+me+"/Appointment?start=ge"+today+"&start=le"+inDays(3), iidReadAppt, scopePatRead)
				wantOutcome(t, r, 400, "BAD_REQUEST")
			})
			t.Run("ErrPost", func(t *testing.T) {
				r := a.send(t, http.MethodPost, "Patient/"+me+"/Appointment", iidRetrieveAppt, scopePatRead, []byte(`{}`), mediaJSONCT, nil)
				if r.status < 400 {
					t.Fatalf("POST to the retrieve path: %d", r.status)
				}
			})
		})
	}
}
