package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestBookAdjacentSlotsOfTwoProfiles (black-box review): two consecutive
// slots of one session, one channel and one slot type, the first on the
// open profile and the second given a profile of its own for ODS X11111.
// X11111 finds both in its search and books them in one appointment (spec
// §6.3 sets four conditions, none about profiles); A20047, which the
// search does not show the second slot, cannot book the pair. Before, the
// pair was 422 "the slots have different access profiles" for everyone.
func TestBookAdjacentSlotsOfTwoProfiles(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			a := newApptEnv(t, eng)
			ctx := context.Background()
			pid := a.patientID(t, "9658218865")
			s := a.take(t, "own-practice", 2, 3*time.Hour, true)
			only, err := a.st.SaveAccessProfile(ctx, &scheduling.AccessProfile{PracticeID: leggID, Name: "X11111 only", Bookable: true, ODSCodes: []string{"X11111"}})
			if err != nil {
				t.Fatal(err)
			}
			var open int64
			if err := a.st.DB().GetContext(ctx, &open, a.st.DB().Rebind(`SELECT id FROM access_profiles WHERE practice_id = ? AND name = 'open'`), leggID); err != nil {
				t.Fatal(err)
			}
			if err := a.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
				for i, p := range []int64{open, only} {
					if ok, err := tx.SetSlotProfile(s[i].ID, p); err != nil || !ok {
						return nil, fmt.Errorf("slot %d: %v %v", s[i].ID, ok, err)
					}
				}
				return nil, nil
			}); err != nil {
				t.Fatal(err)
			}

			search := func(ods string) []string {
				t.Helper()
				q := url.Values{"start": {"ge" + gpcTime(s[0].start())}, "end": {"le" + gpcTime(s[1].end())}, "status": {"free"},
					"_include": {"Slot:schedule"}, "searchFilter": {sysODSOrg + "|" + ods, sysOrgType + "|urgent-care"}}
				var ids []string
				for _, r := range entries(wantOK(t, a.searchSlots(t, q), "Bundle")) {
					if str(r, "resourceType") == "Slot" {
						ids = append(ids, str(r, "id"))
					}
				}
				return ids
			}
			want := []string{itoa(int(s[0].ID)), itoa(int(s[1].ID))}
			if got := search("X11111"); !slices.Contains(got, want[0]) || !slices.Contains(got, want[1]) {
				t.Fatalf("X11111's search shows %v, not both of %v", got, want)
			}
			if got := search(odsLegg); slices.Contains(got, want[1]) {
				t.Fatalf("A20047's search shows the X11111 slot: %v", got)
			}

			b := newBooking(pid, s...)
			wantOutcome(t, a.book(t, b, false, nil), 422, "INVALID_RESOURCE") // as A20047
			bookingOrg(b).Identifier[0].Value = "X11111"
			r := a.book(t, b, false, nil)
			if r.status != http.StatusCreated {
				t.Fatalf("book both as X11111: %d %s", r.status, r.body)
			}
			wantAppointment(t, r, http.StatusCreated, s, pid)
			for _, sl := range s {
				if st := a.slotStatus(t, sl.ID); st != "busy" {
					t.Errorf("slot %d is %q", sl.ID, st)
				}
			}
		})
	}
}
