package store

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// refCache keeps, per practice, the access profiles slot searches apply and
// the schedules (with their locations and practitioners) they have shown,
// each tagged with the practice's generation of it (see migration 0005). A
// search reads the generations with its slots and uses only entries of those
// generations, so what it applies and shows is never older than what it
// read; anything an entry lacks is read from the database and added. On a
// 100-slot search the schedule query was a fifth of the handler's CPU on
// SQLite and a second round trip on lib/pq, and the profile query another
// statement on every engine.
//
// The first search of a practice at a generation reads all the practice's
// schedules that have not ended (see Store.loadPracticeRefs), not only the
// ones its slots need: with a random practice and day per search, one query
// per day not yet seen cost a second statement on cold schedule pages on
// about a third of the benchmark's first 12 s of searches, 0.6–0.8 ms each
// at one client on PostgreSQL.
//
// Entries also expire after refMaxAge, so a change made with the triggers
// switched off (pg_restore --disable-triggers, logical replication apply)
// still shows within that time.
//
// The cached values are shared between searches and must not be modified.
type refCache struct {
	mu        sync.RWMutex
	practices map[int64]*practiceRefs
	n         int // schedules held, across practices
	profiles  map[int64]practiceProfiles
	// limit replaces maxRefSchedules when set (tests).
	limit int
}

// refMaxAge is how long a cache entry is used at most.
const refMaxAge = time.Minute

// maxRefSchedules bounds the schedules held. With its location, practitioner
// and encoded JSON (see fhirmap's memo) a schedule takes about 1.7 KB, so the
// bound is about 170 MB at most; 100 practices with 20 clinicians and 6 weeks
// of sessions is 60,000. Past it, ended schedules are dropped, and then whole
// practices (see evict).
const maxRefSchedules = 100_000

func (c *refCache) max() int {
	if c.limit > 0 {
		return c.limit
	}
	return maxRefSchedules
}

// practiceProfiles is one practice's access profiles at one generation.
type practiceProfiles struct {
	gen int64
	at  time.Time
	m   map[int64]*scheduling.AccessProfile
}

// profilesAt returns the practice's cached access profiles at gen, or nil.
func (c *refCache) profilesAt(practiceID, gen int64) map[int64]*scheduling.AccessProfile {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if p, ok := c.profiles[practiceID]; ok && p.gen == gen && time.Since(p.at) < refMaxAge {
		return p.m
	}
	return nil
}

// addProfiles files profiles read after generation gen was read, unless a
// newer generation's are already held (and still fresh).
func (c *refCache) addProfiles(practiceID, gen int64, m map[int64]*scheduling.AccessProfile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.profiles == nil {
		c.profiles = map[int64]practiceProfiles{}
	}
	if p, ok := c.profiles[practiceID]; ok && p.gen > gen && time.Since(p.at) < refMaxAge {
		return
	}
	c.profiles[practiceID] = practiceProfiles{gen: gen, at: time.Now(), m: m}
}

// withBooked returns profiles with the live booked counters of the capped
// profiles listed in booked ("id:booked,id:booked"): the counters are not
// part of the cached rules, so that a booking need not invalidate them. The
// cached profiles are copied, not modified.
func withBooked(profiles map[int64]*scheduling.AccessProfile, booked string) (map[int64]*scheduling.AccessProfile, error) {
	if booked == "" {
		return profiles, nil
	}
	out := maps.Clone(profiles)
	for booked != "" {
		item, rest, _ := strings.Cut(booked, ",")
		ids, ns, ok := strings.Cut(item, ":")
		id, err1 := strconv.ParseInt(ids, 10, 64)
		n, err2 := strconv.Atoi(ns)
		if !ok || err1 != nil || err2 != nil {
			return nil, errPacked("booked counter", item)
		}
		if p := out[id]; p != nil {
			cp := *p
			cp.Booked = n
			out[id] = &cp
		}
		booked = rest
	}
	return out, nil
}

// practiceRefs is one practice's cached reference data at one generation.
type practiceRefs struct {
	gen           int64
	at            time.Time
	schedules     map[int64]*scheduling.Schedule
	practitioners map[int64]*scheduling.Practitioner
	locations     map[int64]*scheduling.Location
	// whole is set once the practice's live schedules were read at gen.
	whole bool
	// used is when a search last found the entry (unix nanoseconds).
	used atomic.Int64
}

func (e *practiceRefs) fresh() bool { return time.Since(e.at) < refMaxAge }

// refsOf views a query's result as practiceRefs, to copy from it.
func refsOf(got *scheduling.SlotResult) *practiceRefs {
	return &practiceRefs{schedules: got.Schedules, practitioners: got.Practitioners, locations: got.Locations}
}

// fill copies the cached schedules of ids (and their locations and
// practitioners) into res and returns the ids it does not hold at gen, and
// whether the practice's live schedules were read whole at gen.
func (c *refCache) fill(practiceID, gen int64, ids []int64, res *scheduling.SlotResult) (missing []int64, whole bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e := c.practices[practiceID]
	if e == nil || e.gen != gen || !e.fresh() {
		return ids, false
	}
	e.used.Store(time.Now().UnixNano())
	return e.copyTo(ids, res), e.whole
}

// copyTo copies the schedules of ids it holds, with their locations and
// practitioners, into res, and returns the ids it does not hold.
func (e *practiceRefs) copyTo(ids []int64, res *scheduling.SlotResult) (missing []int64) {
	for _, id := range ids {
		sc := e.schedules[id]
		if sc == nil {
			missing = append(missing, id)
			continue
		}
		res.Schedules[id] = sc
		if l := e.locations[sc.LocationID]; l != nil {
			res.Locations[l.ID] = l
		}
		if sc.PractitionerID != 0 {
			if p := e.practitioners[sc.PractitionerID]; p != nil {
				res.Practitioners[p.ID] = p
			}
		}
	}
	return missing
}

// add files schedules read after generation gen was read; whole says they
// are all the practice's live schedules. An entry of another generation, or a
// stale one, is replaced; when the entry is newer (and fresh), the rows may
// predate it and are not kept.
func (c *refCache) add(practiceID, gen int64, got *scheduling.SlotResult, whole bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.practices == nil {
		c.practices = map[int64]*practiceRefs{}
	}
	e := c.practices[practiceID]
	if e != nil && e.gen > gen && e.fresh() {
		return
	}
	if e == nil || e.gen != gen || !e.fresh() {
		if e != nil {
			c.n -= len(e.schedules)
		}
		e = &practiceRefs{gen: gen, at: time.Now(), schedules: map[int64]*scheduling.Schedule{},
			practitioners: map[int64]*scheduling.Practitioner{}, locations: map[int64]*scheduling.Location{}}
		e.used.Store(time.Now().UnixNano())
		c.practices[practiceID] = e
	}
	if c.n+len(got.Schedules) > c.max() {
		c.evict(practiceID, len(got.Schedules))
	}
	e.whole = e.whole || whole
	for id, sc := range got.Schedules {
		if e.schedules[id] == nil {
			c.n++
		}
		e.schedules[id] = sc
	}
	for id, l := range got.Locations {
		e.locations[id] = l
	}
	for id, p := range got.Practitioners {
		e.practitioners[id] = p
	}
}

// evict makes room for need more schedules beside practice keep's: it drops
// the schedules that have ended, then whole practices, stale entries first
// and then those searched least recently, down to nine tenths of the bound,
// so that the next few loads do not come straight back here. Each practice
// holds all its live schedules, so evicting by practice keeps the practices
// searched most and costs an evicted one a single read when it returns.
func (c *refCache) evict(keep int64, need int) {
	c.dropEnded(time.Now())
	target := c.max()*9/10 - need
	if c.n <= target {
		return
	}
	type candidate struct {
		id    int64
		stale bool
		used  int64
	}
	cands := make([]candidate, 0, len(c.practices))
	for id, e := range c.practices {
		if id != keep {
			cands = append(cands, candidate{id, !e.fresh(), e.used.Load()})
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.stale != b.stale {
			if a.stale {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.used, b.used)
	})
	for _, cd := range cands {
		if c.n <= target {
			break
		}
		c.n -= len(c.practices[cd.id].schedules)
		delete(c.practices, cd.id)
	}
}

// dropEnded removes the schedules that ended before now: no search can show
// them again.
func (c *refCache) dropEnded(now time.Time) {
	for _, e := range c.practices {
		for id, sc := range e.schedules {
			if sc.End.Before(now) {
				delete(e.schedules, id)
				c.n--
			}
		}
	}
}
