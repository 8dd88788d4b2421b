package store_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// perSession returns runs of k consecutive slots, one from each of n sessions.
func (f *profileFx) perSession(n, k int) [][]apptSlot {
	f.t.Helper()
	var out [][]apptSlot
	var cur []apptSlot
	var done int64 // the session of the last run
	for i, s := range f.slots {
		if s.ScheduleID == done {
			continue
		}
		if len(cur) > 0 && (s.ScheduleID != f.slots[i-1].ScheduleID || s.StartAt != f.slots[i-1].EndAt) {
			cur = nil
		}
		cur = append(cur, s.apptSlot)
		if len(cur) == k {
			out, cur, done = append(out, cur), nil, s.ScheduleID
			if len(out) == n {
				return out
			}
		}
	}
	f.t.Fatalf("no %d sessions with %d consecutive free slots", n, k)
	return nil
}

func (f *profileFx) sessionOf(s apptSlot) int64 {
	f.t.Helper()
	var id int64
	if err := f.st.DB().GetContext(f.ctx, &id, f.st.DB().Rebind(`SELECT schedule_id FROM slots WHERE id = ?`), s.ID); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *profileFx) profileOf(s apptSlot) int64 {
	f.t.Helper()
	var id int64
	if err := f.st.DB().GetContext(f.ctx, &id, f.st.DB().Rebind(`SELECT access_profile_id FROM slots WHERE id = ?`), s.ID); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// setSessionProfile changes a session's profile, as the admin's session profile does.
func (f *profileFx) setSessionProfile(sessionID, profileID int64) {
	f.t.Helper()
	if err := f.st.AdminChange(f.ctx, func(a *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		_, err := a.SetSessionProfile(sessionID, profileID)
		return nil, err
	}); err != nil {
		f.t.Fatal(err)
	}
}

// TestFreedSlotFollowsItsSession (black-box review): a booked slot keeps
// the profile it was booked under when its session moves to another
// profile; once its booking is cancelled it is on the session's profile
// like the session's other slots, so the session's cap covers it. Before,
// it stayed on the old profile, and could be booked under that profile
// after the new one's cap was full. A profile the practice gave the slot
// itself stays through a booking and its cancellation; a session profile
// change made while the slot was booked is the later decision, and the
// slot follows it once free, as it would have at once had it been free.
func TestFreedSlotFollowsItsSession(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newProfileFx(t, e, scheduling.AccessProfile{Name: "evening open", Bookable: true})
			p1 := f.base
			p2 := f.profile(scheduling.AccessProfile{Name: "cap one", Bookable: true, Cap: 1})
			own := f.profile(scheduling.AccessProfile{Name: "slot's own", Bookable: true})
			r := f.perSession(3, 3)
			s1, s2 := r[0][0], r[0][1]
			session := f.sessionOf(s1)

			a1 := f.mustBook("A11111", s1)
			f.setSessionProfile(session, p2)
			if got := f.profileOf(s1); got != p1 {
				t.Fatalf("booked slot on profile %d after the session change, want %d (the one it was booked under)", got, p1)
			}
			if got := f.profileOf(s2); got != p2 {
				t.Fatalf("free slot on profile %d, want the session's %d", got, p2)
			}
			f.cancel(a1)
			if got := f.profileOf(s1); got != p2 {
				t.Fatalf("slot freed by the cancel on profile %d, want its session's %d", got, p2)
			}
			f.mustBook("A11111", s2) // p2's one place
			_, err := f.book("A11111", s1)
			wantRefused(t, err, scheduling.ReasonCap)
			f.wantCounts(p2, 1)
			f.wantCounts(p1, 0)

			// A slot's own profile stays through a booking and its cancellation.
			kept := r[1][1]
			f.setProfile(own, kept)
			f.cancel(f.mustBook("A11111", kept))
			if got := f.profileOf(kept); got != own {
				t.Fatalf("a slot with its own profile is on %d after a cancel, want %d", got, own)
			}
			// A session change while such a slot is booked is the later
			// decision: the slot follows it once freed.
			later := r[2][1]
			f.setProfile(own, later)
			a := f.mustBook("A11111", later)
			f.setSessionProfile(f.sessionOf(later), p2)
			if got := f.profileOf(later); got != own {
				t.Fatalf("booked slot on %d, want %d", got, own)
			}
			f.cancel(a)
			if got := f.profileOf(later); got != p2 {
				t.Fatalf("slot freed after its session moved on profile %d, want the session's %d", got, p2)
			}
			// The session's other free slots moved at once, as before.
			if got := f.profileOf(r[2][0]); got != p2 {
				t.Fatalf("free slot on %d, want %d", got, p2)
			}
		})
	}
}

// TestFreedSlotOfBlockedSessionFollowsItsSession: a slot freed by a cancel
// while its session is blocked goes back to blocked (the block still holds)
// and on the session's profile too.
func TestFreedSlotOfBlockedSessionFollowsItsSession(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newProfileFx(t, e, scheduling.AccessProfile{Name: "evening open", Bookable: true})
			p2 := f.profile(scheduling.AccessProfile{Name: "other", Bookable: true})
			s := f.runs(1, 1)[0][0]
			a := f.mustBook("A11111", s)
			session := f.sessionOf(s)
			f.setSessionProfile(session, p2)
			if err := f.st.AdminChange(f.ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
				if _, err := tx.SetSessionSlots(session, scheduling.SlotFree, scheduling.SlotBlocked); err != nil {
					return nil, err
				}
				return nil, tx.SetSessionBlocked(session, true)
			}); err != nil {
				t.Fatal(err)
			}
			f.cancel(a)
			sl, err := f.st.SlotByID(f.ctx, 7, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if sl.Status != scheduling.SlotBlocked || sl.AccessProfileID != p2 {
				t.Fatalf("freed slot of a blocked session: %s on profile %d, want blocked on %d", sl.Status, sl.AccessProfileID, p2)
			}
		})
	}
}

// TestMigration0011MarksSlotsOwnProfiles: of the slots whose profile is not
// their session's before 0011, those the practice gave a profile of their
// own (slot.profile, after any session.profile change of their session) are
// marked as such; one left on its old profile by a session change made
// while it was booked is not, and follows its session once free; a slot
// whose difference no admin change explains (set some other way) keeps its
// profile.
func TestMigration0011MarksSlotsOwnProfiles(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			f := newProfileFx(t, e, scheduling.AccessProfile{Name: "evening open", Bookable: true})
			p2 := f.profile(scheduling.AccessProfile{Name: "other", Bookable: true})
			own := f.profile(scheduling.AccessProfile{Name: "slot's own", Bookable: true})
			r := f.runs(1, 4)[0]
			session := f.sessionOf(r[0])
			audit := func(action, target string) {
				t.Helper()
				if _, err := f.st.DB().ExecContext(f.ctx, f.st.DB().Rebind(`INSERT INTO admin_audit (at, practice_id, actor, action, target) VALUES (?, 7, 'cli:test', ?, ?)`),
					time.Now().Unix(), action, target); err != nil {
					t.Fatal(err)
				}
			}
			itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
			// r[0]: its own profile, set after the session's last change.
			// r[1]: left on the old profile by a session change while booked.
			// r[2]: its own profile, then the session changed while it was booked.
			// r[3]: a profile set by hand in SQL, no admin change behind it.
			f.setProfile(own, r[2])
			audit("slot.profile", "slot/"+itoa(r[2].ID))
			b1 := f.mustBook("A11111", r[1])
			b2 := f.mustBook("A11111", r[2])
			f.setSessionProfile(session, p2)
			audit("session.profile", "session/"+itoa(session))
			f.setProfile(own, r[0])
			audit("slot.profile", "slot/"+itoa(r[0].ID))
			if _, err := f.st.DB().ExecContext(f.ctx, f.st.DB().Rebind(`UPDATE slots SET access_profile_id = ? WHERE id = ?`), own, r[3].ID); err != nil {
				t.Fatal(err)
			}
			// As before 0011: nothing marks a slot's own profile.
			if _, err := f.st.DB().ExecContext(f.ctx, `UPDATE slots SET own_profile = FALSE`); err != nil {
				t.Fatal(err)
			}
			if n := migrationUpdates(t, f.st, e.Engine, "0011_slot_own_profile.sql"); n != 1 {
				t.Fatalf("ran %d updates, want 1", n)
			}
			f.cancel(b1)
			f.cancel(b2)
			for i, want := range []int64{own, p2, p2, own} {
				if got := f.profileOf(r[i]); got != want {
					t.Errorf("slot %d (r[%d]) on profile %d, want %d", r[i].ID, i, got, want)
				}
			}
		})
	}
}

// TestProfilesListBooked: a practice's profile listing says for every
// profile how many places its active bookings hold (slots not yet over),
// capped or not. The counter is kept only for capped profiles (an uncapped
// booking does not write its profile's row); before, an uncapped profile
// was listed with booked 0 whatever it held.
func TestProfilesListBooked(t *testing.T) {
	for _, e := range storetest.Engines(true) {
		t.Run(e.Name, func(t *testing.T) {
			f := newProfileFx(t, e, scheduling.AccessProfile{Name: "evening open", Bookable: true})
			open := f.profile(scheduling.AccessProfile{Name: "no cap", Bookable: true})
			capped := f.profile(scheduling.AccessProfile{Name: "cap five", Bookable: true, Cap: 5})
			r := f.runs(3, 2)
			f.setProfile(open, r[0][0], r[0][1], r[1][0])
			f.setProfile(capped, r[1][1], r[2][0])
			f.mustBook("A11111", r[0]...)
			mixed := f.mustBook("A11111", r[1]...)
			f.mustBook("A11111", r[2]...) // capped + the fixture's own open profile
			want := map[int64]int{open: 3, capped: 2, f.base: 1}
			check := func(when string) {
				t.Helper()
				ps, err := f.st.AccessProfiles(f.ctx, 7)
				if err != nil {
					t.Fatal(err)
				}
				for id, n := range want {
					if ps[id].Booked != n {
						t.Errorf("%s: listing says profile %q holds %d, want %d", when, ps[id].Name, ps[id].Booked, n)
					}
					var one *scheduling.AccessProfile
					if err := f.st.AdminChange(f.ctx, func(a *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
						var err error
						one, err = a.Profile(7, id)
						return nil, err
					}); err != nil {
						t.Fatal(err)
					}
					if one.Booked != n {
						t.Errorf("%s: profile %q read alone holds %d, want %d", when, one.Name, one.Booked, n)
					}
				}
			}
			check("booked")
			f.cancel(mixed)
			want[open], want[capped] = 2, 1
			check("after a cancel")
			// Once the slots are over they are no longer held (as a cap counts).
			f.st.Now = func() time.Time { return time.Unix(r[0][1].EndAt, 0) }
			want[open] = 0
			check("after the slots")
		})
	}
}
