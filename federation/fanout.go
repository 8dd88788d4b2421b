package federation

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Directory is the part of the store a fan-out reads.
type Directory interface {
	// EndpointsByODS returns the entries known for the codes; unknown codes are absent.
	EndpointsByODS(ctx context.Context, ods []string) (map[string]*scheduling.Endpoint, error)
	// HubByName reads a hub and its members. Returns ENOTFOUND (kind "hub").
	HubByName(ctx context.Context, name string) (*scheduling.Hub, error)
}

// Config tunes a Hub. Zero values get the defaults in brackets.
type Config struct {
	// Concurrency bounds the calls in flight at once across all practices
	// of one fan-out or hub-wide appointment list (128).
	Concurrency int
	// MaxInFlight bounds the calls in flight at once across all the Hub's
	// fan-outs and appointment lists together (4 × Concurrency): without it,
	// ten searches at once over a 500-practice hub would open over a
	// thousand connections. A call that finds no room by the deadline is its
	// practice's timeout. Single-practice calls (book, amend, cancel, read,
	// register) are not counted.
	MaxInFlight int
	// PracticeTimeout bounds each call to one practice, retry included (1.5s).
	PracticeTimeout time.Duration
	// Deadline bounds a whole fan-out (2.5s, inside the spec's 3-second limit).
	Deadline time.Duration
	// RetryDelay is the pause before the one retry after a 502/503/504 (25ms, plus up to as much again at random).
	RetryDelay time.Duration
	// BookingTimeout bounds one book, amend or cancel, all its calls together (10s).
	BookingTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 128
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 4 * c.Concurrency
	}
	if c.PracticeTimeout <= 0 {
		c.PracticeTimeout = 1500 * time.Millisecond
	}
	if c.Deadline <= 0 {
		c.Deadline = 2500 * time.Millisecond
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 25 * time.Millisecond
	}
	if c.BookingTimeout <= 0 {
		c.BookingTimeout = 10 * time.Second
	}
	return c
}

// Hub runs fan-out searches and bookings for the hubs in a directory.
// It is safe for concurrent use; one Hub (and so one breaker and one
// connection pool) should serve a process.
type Hub struct {
	Dir     Directory
	Client  PracticeClient
	Breaker *Breaker
	Config  Config
	// Now is the clock (tests move it).
	Now func() time.Time

	inflightOnce sync.Once
	inflight     chan struct{}
}

// room waits for a place among the Hub's calls in flight (Config.MaxInFlight)
// and returns its release, or false once ctx is done first.
func (h *Hub) room(ctx context.Context) (func(), bool) {
	h.inflightOnce.Do(func() { h.inflight = make(chan struct{}, h.Config.withDefaults().MaxInFlight) })
	select {
	case h.inflight <- struct{}{}:
		return func() { <-h.inflight }, true
	case <-ctx.Done():
		return nil, false
	}
}

// noRoom is the failure of a practice whose call found no place among the
// Hub's calls in flight before the deadline.
func noRoom(ods string) *Failure {
	return &Failure{ODS: ods, Reason: ReasonTimeout, Detail: "not reached before the overall deadline: the hub's calls in flight were all taken"}
}

// Query is a hub-wide slot search. Start and End bound the slots (each slot
// lies fully inside); the other fields narrow the merged list.
type Query struct {
	Start, End time.Time
	// OrgType is sent to every practice as the organisation-type searchFilter
	// (the practice's access profiles decide); empty sends the hub's own type if configured.
	OrgType string
	// Channels keeps only slots with one of these delivery channels (e.g. "Telephone").
	Channels []string
	// Roles keeps only slots whose schedule's practitioner role code or display is one of these.
	Roles []string
	// Practices, when set, searches only these members.
	Practices []string
}

// PracticeOutcome is what happened at one member practice.
type PracticeOutcome struct {
	ODS   string
	Slots int
	// Dropped counts slots the practice sent that could not be offered: no
	// schedule or location in the Bundle, unreadable or inverted times, or
	// not free (the provider broke spec §5.5 or §5.6).
	Dropped int
	// Done is how long after the fan-out began this practice's last answer
	// arrived (0 if it was never called).
	Done time.Duration
	// Calls is how many HTTP calls were made (windows and retries).
	Calls int
	// Failure is set when the practice failed (Slots may still be > 0 when only some windows failed).
	Failure *Failure
}

// Result is a merged fan-out.
type Result struct {
	Hub   string
	Query Query
	// Slots are every practice's slots, by start time (then ODS, then id), each (ODS, id) once.
	Slots []Slot
	// Practices has one outcome per member searched, in member order.
	Practices []PracticeOutcome
	// Failures lists the failed practices, in member order.
	Failures []Failure
	// Elapsed is the wall time of the whole fan-out.
	Elapsed time.Duration
}

func (h *Hub) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// job is one window of one practice; first marks the practice's first
// window, whose outcome decides whether the others are asked.
type job struct {
	practice int
	win      Window
	first    bool
}

// practiceState collects one practice's windows as they finish.
type practiceState struct {
	ep    *scheduling.Endpoint
	mu    sync.Mutex
	slots []Slot
	fail  *Failure
	done  time.Duration
	calls int
	// dropped are the ids of slots dropped as unusable, each counted once
	// however many windows returned it; droppedNoID counts those without one.
	dropped     map[string]struct{}
	droppedNoID int
	pending     int
	// now is when the fan-out began: slots starting by then are left out.
	now time.Time
	// final is set once the last window is in and the slots are de-duplicated and filtered.
	final bool
	// asked is set when the breaker let the practice be searched; up and
	// down are what its windows' answers said of it, for the one verdict the
	// breaker gets per search (see breakerVerdict).
	asked, up, down bool
	// hung is set when a window ran out of the practice's own timeout.
	hung bool
}

// Search searches every member practice of the named hub. Returns ENOTFOUND
// (kind "hub") for an unknown hub and EPARAM for an empty range; every
// per-practice problem is reported in Result.Failures, never as an error.
func (h *Hub) Search(ctx context.Context, hubName string, q Query) (*Result, error) {
	hub, err := h.Dir.HubByName(ctx, hubName)
	if err != nil {
		return nil, err
	}
	members := hub.Members
	if len(q.Practices) > 0 {
		in := map[string]bool{}
		for _, m := range members {
			in[m] = true
		}
		members = nil
		for _, p := range q.Practices {
			if !in[p] {
				return nil, scheduling.NotFound("member", "%s is not a member of hub %q", p, hubName)
			}
			if !slices.Contains(members, p) {
				members = append(members, p)
			}
		}
	}
	return h.SearchPractices(ctx, hubName, members, q)
}

// MaxSearchDays is the longest range one hub search may cover (seven
// 14-day windows per practice).
const MaxSearchDays = 92

// Check reports what is wrong with the query (EPARAM, every problem at
// once): an empty or inverted range, one over MaxSearchDays, or an
// organisation type that is not a GPConnect-OrganisationType-1 code. The
// CLI and the HTTP search both get it from Search.
func (q Query) Check() error {
	var probs []string
	switch {
	case !q.End.Truncate(time.Second).After(q.Start.Truncate(time.Second)):
		// Whole seconds, as the windows go on the wire: 09:00:00.1 to
		// 09:00:00.5 is empty there, and every practice would be asked for nothing.
		probs = append(probs, "the search range is empty: end must be after start (to the second)")
	case q.End.After(scheduling.AddDaysLocal(q.Start, MaxSearchDays)): // UK days, as the windows count them
		probs = append(probs, fmt.Sprintf("the range may be at most %d days", MaxSearchDays))
	case q.Start.Year() < 2000 || q.End.Year() > 2999:
		// Before 1900 London's offset is local mean time (-00:01), which no
		// provider takes; no practice has slots there anyway.
		probs = append(probs, "the range must fall between the years 2000 and 2999")
	}
	if ot := q.OrgType; ot != "" && !gpconnect.OrganisationType(ot).Valid() {
		probs = append(probs, "org-type must be gp-practice or urgent-care")
	}
	// A typo in a filter would otherwise look exactly like "no capacity".
	for _, c := range q.Channels {
		if !slices.ContainsFunc([]gpconnect.DeliveryChannel{gpconnect.ChannelInPerson, gpconnect.ChannelTelephone, gpconnect.ChannelVideo},
			func(k gpconnect.DeliveryChannel) bool { return strings.EqualFold(string(k), c) }) {
			probs = append(probs, fmt.Sprintf("channel %q is not In-person, Telephone or Video", c))
		}
	}
	// Roles are not checked: other suppliers' schedules may carry SDS job
	// roles beyond GPConnect-PractitionerRole-1 (1.2.9 binds the full list).
	if len(probs) > 0 {
		return scheduling.Errorf(scheduling.EPARAM, "%s", strings.Join(probs, "; "))
	}
	return nil
}

// SearchPractices is Search over an explicit list of practices.
func (h *Hub) SearchPractices(ctx context.Context, hubName string, members []string, q Query) (*Result, error) {
	cfg := h.Config.withDefaults()
	if err := q.Check(); err != nil {
		return nil, err
	}
	wins := SplitWindows(q.Start, q.End)
	// The directory is local and read under the caller's context; the
	// deadline bounds the calls to practices, which is what can hang.
	eps, err := h.Dir.EndpointsByODS(ctx, members)
	if err != nil {
		return nil, fmt.Errorf("federation: directory: %w", err)
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Deadline)
	defer cancel()
	states := make([]*practiceState, len(members))
	// Each practice's first window goes out before any practice's second:
	// a practice's other windows follow once its first is in, and not at
	// all when the first ran out of the practice's timeout. Queued
	// practice by practice instead, the windows of hung practices ahead in
	// the member list held every worker for a whole practice timeout each,
	// and the practices behind them were never reached before the overall
	// deadline.
	var first []job
	for i, ods := range members {
		st := &practiceState{ep: eps[ods], now: h.now()}
		states[i] = st
		switch {
		case st.ep == nil:
			st.fail = &Failure{ODS: ods, Reason: ReasonUnknown, Detail: "not in the endpoint directory"}
		case !st.ep.Enabled:
			st.fail = &Failure{ODS: ods, Reason: ReasonDisabled, Detail: "switched off in the endpoint directory"}
		default:
			if miss := unsupported(st.ep, gpconnect.SearchSlot); miss != "" {
				st.fail = &Failure{ODS: ods, Reason: ReasonDisabled, Detail: miss}
				continue
			}
			// The breaker is asked once per practice, not per window: a
			// half-open practice's probe is the whole search, all windows.
			if !h.Breaker.Allow(ods) {
				st.fail = &Failure{ODS: ods, Reason: ReasonCircuitOpen, Detail: "skipped after repeated failures; it will be probed again"}
				continue
			}
			st.asked = true
			st.pending = len(wins)
			first = append(first, job{practice: i, win: wins[0], first: true})
		}
	}

	// Room for every window, so that a worker queueing a practice's other
	// windows never waits; past the overall deadline runJob ends a window
	// at once as a timeout, so the queue drains.
	work := make(chan job, len(first)*len(wins))
	var outstanding, wg sync.WaitGroup
	outstanding.Add(len(first))
	for _, j := range first {
		work <- j
	}
	for range min(cfg.Concurrency, len(first)*len(wins)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				st := states[j.practice]
				h.runJob(ctx, cfg, st, j.win, q, began)
				if j.first && len(wins) > 1 {
					if st.foundHung() {
						st.skip(len(wins)-1, q)
					} else {
						// Added before this job's Done, so the count never
						// reaches zero while windows are still to come.
						outstanding.Add(len(wins) - 1)
						for _, w := range wins[1:] {
							work <- job{practice: j.practice, win: w}
						}
					}
				}
				outstanding.Done()
			}
		}()
	}
	outstanding.Wait()
	close(work)
	wg.Wait()
	for _, st := range states {
		if st.asked {
			h.breakerVerdict(st)
		}
	}

	res := &Result{Hub: hubName, Query: q, Practices: make([]PracticeOutcome, len(members))}
	lists := make([][]Slot, 0, len(members))
	for i, st := range states {
		slots := st.slots
		if !st.final {
			slots = filterSlots(dedupe(slots), q, st.now)
		}
		res.Practices[i] = PracticeOutcome{ODS: members[i], Slots: len(slots), Dropped: len(st.dropped) + st.droppedNoID, Done: st.done, Calls: st.calls, Failure: st.fail}
		if st.fail != nil {
			res.Failures = append(res.Failures, *st.fail)
		}
		if len(slots) > 0 {
			lists = append(lists, slots)
		}
	}
	res.Slots = mergeSlots(lists)
	res.Elapsed = time.Since(began)
	return res, nil
}

// runJob searches one window of one practice, with the breaker, the
// per-practice deadline and one retry on a gateway error.
func (h *Hub) runJob(ctx context.Context, cfg Config, st *practiceState, w Window, q Query, began time.Time) {
	ods := st.ep.ODS
	multi := len(SplitWindows(q.Start, q.End)) > 1
	finish := func(slots []Slot, dropped []string, f *Failure, calls int) {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.calls += calls
		for _, id := range dropped {
			if id == "" {
				st.droppedNoID++
				continue
			}
			if st.dropped == nil {
				st.dropped = map[string]struct{}{}
			}
			st.dropped[id] = struct{}{}
		}
		st.slots = append(st.slots, slots...)
		if f != nil {
			st.addFailure(f, w, multi)
		}
		st.done = max(st.done, time.Since(began))
		// Finish the practice's list here, while others are still in flight,
		// so that only the k-way merge is left after the slowest answer.
		if st.pending--; st.pending == 0 {
			st.slots = filterSlots(dedupe(st.slots), q, st.now)
			st.final = true
		}
	}
	if ctx.Err() != nil {
		finish(nil, nil, &Failure{ODS: ods, Reason: ReasonTimeout, Detail: "not reached before the overall deadline"}, 0)
		return
	}
	release, ok := h.room(ctx)
	if !ok {
		// No verdict on the practice: it was never asked.
		finish(nil, nil, noRoom(ods), 0)
		return
	}
	defer release()
	pctx, cancel := context.WithTimeout(ctx, cfg.PracticeTimeout)
	defer cancel()
	req := SlotRequest{Start: w.Start, End: w.End, OrgType: q.OrgType}
	calls := 1
	slots, dropped, err := h.Client.SearchSlots(pctx, st.ep, req)
	if err != nil && Classify(err).Retryable() {
		d := cfg.RetryDelay + rand.N(cfg.RetryDelay+1)
		t := time.NewTimer(d)
		select {
		case <-t.C:
			calls++
			slots, dropped, err = h.Client.SearchSlots(pctx, st.ep, req)
		case <-pctx.Done():
		}
		t.Stop()
	}
	if err == nil {
		st.noteHealth(true, false)
		finish(slots, dropped, nil, calls)
		return
	}
	f := failureOf(ods, err)
	switch {
	case f.Reason == ReasonTimeout && ctx.Err() != nil:
		// The overall deadline (or the caller) cut the call short: no verdict on the practice.
	case f.Reason == ReasonTimeout:
		st.noteHung()
	case f.Reason == ReasonProviderError:
		st.noteHealth(false, true)
	case f.Reason == ReasonSSP || f.Reason == ReasonNotSent:
		// The proxy refused the hub itself, or the hub's client refused to
		// send: nothing is known of the practice.
	default:
		// A Spine error is a definite answer: the practice is up.
		st.noteHealth(true, false)
	}
	finish(nil, nil, &f, calls)
}

// foundHung reports whether a window of the practice ran out of its own
// timeout and none has answered: its other windows would each hold a
// worker for as long again. (A practice that answers with an error, however
// fast, costs nothing to ask again, and its other windows may still answer.)
func (st *practiceState) foundHung() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.hung && !st.up
}

// skip counts n windows of a hung practice as done without calling it
// again, and says so in its failure.
func (st *practiceState) skip(n int, q Query) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.fail != nil {
		st.fail.Detail += fmt.Sprintf("; its other %d window(s) were not searched", n)
	}
	if st.pending -= n; st.pending == 0 {
		st.slots = filterSlots(dedupe(st.slots), q, st.now)
		st.final = true
	}
}

// noteHung records a window that ran out of the practice's own timeout:
// down, and hung (see foundHung).
func (st *practiceState) noteHung() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.down, st.hung = true, true
}

// noteHealth records what one window's answer said of the practice.
func (st *practiceState) noteHealth(up, down bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.up = st.up || up
	st.down = st.down || down
}

// breakerVerdict gives the breaker one verdict for the practice's search,
// however many windows it took: any answer shows the practice is up; else
// any failure counts once; a search that learnt nothing (cut short, no room,
// refused by the proxy) only ends a probe.
func (h *Hub) breakerVerdict(st *practiceState) {
	st.mu.Lock()
	up, down := st.up, st.down
	st.mu.Unlock()
	switch {
	case up:
		h.Breaker.Success(st.ep.ODS)
	case down:
		h.Breaker.Failure(st.ep.ODS)
	default:
		h.Breaker.Release(st.ep.ODS)
	}
}

// failureOf classifies an error from a PracticeClient.
func failureOf(ods string, err error) Failure {
	ce := Classify(err)
	return Failure{ODS: ods, Reason: ce.Reason, Status: ce.Status, Detail: ce.Detail}
}

// addFailure records the failure of window w (named when the search has
// several). The practice's first failure is its Failure; every later one
// is added to its Detail with its window, so that each range the practice
// left unsearched is named and none passes for "no capacity".
func (st *practiceState) addFailure(f *Failure, w Window, multi bool) {
	where := ""
	if multi {
		where = fmt.Sprintf("window %s to %s", scheduling.FormatDate(w.Start), scheduling.FormatDate(w.End))
	}
	if st.fail == nil {
		if where != "" {
			f.Detail += " (" + where + ")"
		}
		st.fail = f
		return
	}
	what := string(f.Reason)
	if f.Status != 0 {
		what += fmt.Sprintf(" (HTTP %d)", f.Status)
	}
	if f.Detail != "" {
		what += ": " + f.Detail
	}
	if where == "" {
		where = "another call" // a search of one window makes one call; kept readable all the same
	}
	st.fail.Detail += fmt.Sprintf("; %s failed too, %s", where, what)
}

// dedupe sorts one practice's slots and drops repeats of a slot id (the
// same slot can come back from two windows that share a boundary).
func dedupe(s []Slot) []Slot {
	if len(s) < 2 {
		return s
	}
	sortSlots(s)
	seen := make(map[string]struct{}, len(s))
	out := s[:0]
	for _, x := range s {
		if _, dup := seen[x.ID]; dup {
			continue
		}
		seen[x.ID] = struct{}{}
		out = append(out, x)
	}
	return out
}

// filterSlots keeps the slots inside the range with a wanted channel and
// role that have not started by now: a search may reach into the past
// (spec §5.2), but a slot that has started cannot be booked (§6.1).
func filterSlots(s []Slot, q Query, now time.Time) []Slot {
	out := s[:0]
	for _, x := range s {
		if x.Start.Before(q.Start) || x.End.After(q.End) || !x.Start.After(now) {
			continue
		}
		if len(q.Channels) > 0 && !containsFold(q.Channels, x.DeliveryChannel) {
			continue
		}
		if len(q.Roles) > 0 && !containsFold(q.Roles, x.RoleCode) && !containsFold(q.Roles, x.RoleDisplay) {
			continue
		}
		out = append(out, x)
	}
	return out
}

func containsFold(list []string, s string) bool {
	if s == "" {
		return false
	}
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}

// mergeSlots k-way merges lists that are each sorted by slotLess. Slots of
// different practices never collide, since (ODS, id) is the identity and
// each list is one practice already de-duplicated.
func mergeSlots(lists [][]Slot) []Slot {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	out := make([]Slot, 0, total)
	hp := make(slotHeap, 0, len(lists))
	for _, l := range lists {
		if len(l) > 0 {
			hp = append(hp, l)
		}
	}
	heap.Init(&hp)
	for hp.Len() > 0 {
		l := hp[0]
		out = append(out, l[0])
		if len(l) == 1 {
			heap.Pop(&hp)
			continue
		}
		hp[0] = l[1:]
		heap.Fix(&hp, 0)
	}
	return out
}

// slotHeap is a min-heap of sorted lists keyed by each list's head.
type slotHeap [][]Slot

func (h slotHeap) Len() int           { return len(h) }
func (h slotHeap) Less(i, j int) bool { return slotLess(&h[i][0], &h[j][0]) }
func (h slotHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *slotHeap) Push(x any)        { *h = append(*h, x.([]Slot)) }
func (h *slotHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
