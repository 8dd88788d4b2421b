package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

type slotRow struct {
	ID              int64  `db:"id"`
	ScheduleID      int64  `db:"schedule_id"`
	PracticeID      int64  `db:"practice_id"`
	StartAt         int64  `db:"start_at"`
	EndAt           int64  `db:"end_at"`
	Status          string `db:"status"`
	Channel         string `db:"channel"`
	ServiceType     string `db:"service_type"`
	AccessProfileID int64  `db:"access_profile_id"`
	OwnBlock        bool   `db:"own_block"`
	OwnProfile      bool   `db:"own_profile"`
	Version         int64  `db:"version"`
}

const slotCols = `id, schedule_id, practice_id, start_at, end_at, status, channel, service_type, access_profile_id, own_block, own_profile, version`

func (r *slotRow) domain() scheduling.Slot {
	return scheduling.Slot{ID: r.ID, ScheduleID: r.ScheduleID, PracticeID: r.PracticeID, Start: time.Unix(r.StartAt, 0), End: time.Unix(r.EndAt, 0),
		Status: scheduling.SlotStatus(r.Status), DeliveryChannel: r.Channel, ServiceType: r.ServiceType, AccessProfileID: r.AccessProfileID,
		OwnBlock: r.OwnBlock, OwnProfile: r.OwnProfile, Version: r.Version}
}

type scheduleRow struct {
	ID              int64  `db:"id"`
	PracticeID      int64  `db:"practice_id"`
	LocationID      int64  `db:"location_id"`
	PractitionerID  int64  `db:"practitioner_id"`
	Role            string `db:"role"`
	ServiceCategory string `db:"service_category"`
	StartAt         int64  `db:"start_at"`
	EndAt           int64  `db:"end_at"`
	AccessProfileID int64  `db:"access_profile_id"`
	TemplateID      int64  `db:"template_id"`
	ServiceID       int64  `db:"healthcare_service_id"`
	Status          string `db:"status"`
	Version         int64  `db:"version"`
}

const scheduleCols = `id, practice_id, location_id, practitioner_id, role, service_category, start_at, end_at, access_profile_id, template_id,
	healthcare_service_id, status, version`

func (r *scheduleRow) domain() *scheduling.Schedule {
	return &scheduling.Schedule{ID: r.ID, PracticeID: r.PracticeID, LocationID: r.LocationID, PractitionerID: r.PractitionerID, Role: r.Role,
		ServiceCategory: r.ServiceCategory, Start: time.Unix(r.StartAt, 0), End: time.Unix(r.EndAt, 0), AccessProfileID: r.AccessProfileID,
		TemplateID: r.TemplateID, HealthcareServiceID: r.ServiceID, Status: r.Status, Version: r.Version}
}

// SearchFreeSlots finds the free slots that lie fully inside [Start, End], start
// after Now, and are offered to the consumer by their access profiles, ordered
// by start then id, with the schedules, practitioners and locations they need.
// A practice whose GP Connect or Appointment Management switch is off has none.
func (s *Store) SearchFreeSlots(ctx context.Context, q scheduling.SlotSearch) (*scheduling.SlotResult, error) {
	// A slot must start at or after Start: round a fractional-second Start up,
	// so a slot on the whole second before it is not included.
	from := q.Start.Unix()
	if q.Start.Nanosecond() != 0 {
		from++
	}
	if n := q.Now.Unix() + 1; n > from {
		from = n
	}
	// One statement: the range query, whose rows also carry the practice's
	// generations; profiles and schedules then come from the cache, and only
	// what it lacks at those generations costs another query.
	sc, err := s.freeSlotRows(ctx, q.PracticeID, from, q.End.Unix())
	if err != nil {
		sc.release()
		return nil, err
	}
	res := newSlotResult()
	if len(sc.rows) == 0 {
		sc.release()
		return res, nil
	}
	profiles, err := s.searchProfiles(ctx, q.PracticeID, sc.profilesGen)
	if err == nil {
		profiles, err = withBooked(profiles, sc.booked.v)
	}
	if err != nil {
		sc.release()
		return nil, err
	}
	res.Slots = offered(sc.rows, profiles, q)
	sc.release()
	if err := s.searchRefs(ctx, q.PracticeID, sc.refsGen, q.Now, res); err != nil {
		return nil, err
	}
	return res, nil
}

// searchRefs adds the schedules of res's slots, with their locations and
// practitioners, from the reference cache at generation gen. The first
// search of the practice at gen reads all its schedules that have not ended
// by now into the cache; any schedule still lacking is then read by id.
func (s *Store) searchRefs(ctx context.Context, practiceID, gen int64, now time.Time, res *scheduling.SlotResult) error {
	if len(res.Slots) == 0 {
		return nil
	}
	missing, whole := s.refs.fill(practiceID, gen, scheduleIDs(res.Slots), res)
	if len(missing) == 0 {
		return nil
	}
	if !whole {
		// A failed load is not the search's failure: the read by id below
		// still answers it, and reports its own error if the database is gone.
		if got, err := s.loadPracticeRefs(ctx, practiceID, gen, now); err == nil {
			if missing = refsOf(got).copyTo(missing, res); len(missing) == 0 {
				return nil
			}
		}
	}
	got := newSlotResult()
	if err := s.searchSchedules(ctx, missing, got); err != nil {
		return err
	}
	s.refs.add(practiceID, gen, got, false)
	refsOf(got).copyTo(missing, res)
	return nil
}

// maxPracticeLoad bounds the schedules one practice's load reads (the ones
// ending soonest); a search needing one beyond it reads that one by id. A
// practice with 50 clinicians running three sessions a day for six weeks
// has 4,500.
const maxPracticeLoad = 20_000

// practiceSchedulesQuery reads a practice's schedules that end after a time,
// soonest first (index schedules_practice_end). Its arguments are practice,
// time and limit.
const practiceSchedulesQuery = schedulesQuery + ` WHERE sc.practice_id = ? AND sc.end_at > ? ORDER BY sc.end_at LIMIT ?`

// loadPracticeRefs reads the practice's schedules that end after now, with
// their locations and practitioners, and files them in the cache as its
// whole set at generation gen. Searches that miss at once share one read,
// which runs to the end even if the search that started it gives up, so that
// the others and the cache still get it.
func (s *Store) loadPracticeRefs(ctx context.Context, practiceID, gen int64, now time.Time) (*scheduling.SlotResult, error) {
	key := strconv.FormatInt(practiceID, 10) + "@" + strconv.FormatInt(gen, 10)
	ch := s.refLoads.DoChan(key, func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refLoadTimeout)
		defer cancel()
		got := newSlotResult()
		if err := s.readSchedules(lctx, practiceSchedulesQuery, []any{practiceID, now.Unix(), maxPracticeLoad}, got); err != nil {
			return nil, err
		}
		s.refs.add(practiceID, gen, got, true)
		return got, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*scheduling.SlotResult), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refLoadTimeout bounds a practice's load once the search that started it
// has given up.
const refLoadTimeout = 10 * time.Second

// The slot search's queries scan their columns by hand (see readQuery): on a
// search of thousands of slots, sqlx's reflection and database/sql's boxing of
// every value were most of the search's allocations.

// freeSlotRows runs the search's range query. Practice and status are known
// from the WHERE clause, so they are not read back.
func (s *Store) freeSlotRows(ctx context.Context, practiceID, from, to int64) (*slotScanner, error) {
	sc := newSlotScanner(practiceID)
	if drv := s.r.DriverName(); drv != DriverPgx && (drv != DriverPQ || to-from <= pqPackedMaxSpan) {
		return sc, s.freeSlotRowsPacked(ctx, sc, practiceID, from, to)
	}
	err := s.readQuery(ctx, freeSlotsQuery, []any{practiceID, practiceID, practiceID, practiceID, from, to, to, practiceID}, sc.scan)
	return sc, err
}

// pqPackedMaxSpan is the longest search (in seconds) that lib/pq reads
// packed. Packing builds the whole value on the server before any of it is
// sent, while rows stream: the server formats and the client parses at the
// same time. On a 5,000-slot search (8 days) rows took 8–11 ms at one client
// against 15–19 ms packed, and served as many searches at 32 clients; on a
// 100-slot search packed served about 12% more searches at 32 clients. A
// day of one practice's slots is a few hundred.
const pqPackedMaxSpan = 24 * 60 * 60

// freeSlotsQuery is the search's range query on pgx, and on lib/pq for
// searches longer than pqPackedMaxSpan (SQLite and shorter lib/pq searches
// read it packed, see packed.go). start_at <= to follows from end_at <= to
// (a slot ends after it starts) and bounds the index range: without it the
// scan ran from the period's start to the practice's last slot, filtering on
// end_at. Every row also carries the generation columns. Its arguments are
// practice four times, from, to, to, practice.
const freeSlotsQuery = `SELECT id, schedule_id, start_at, end_at, channel, service_type, access_profile_id, version, ` + pgGenerationCols + `
		FROM slots WHERE ` + FreeSlotsWhere + ` ORDER BY start_at, id`

// FreeSlotsWhere is the slot search's range condition (exported so that the
// benchmark's floor query is the same text): a practice's free slots in a
// period, and none when the practice is switched off, since the provider's
// practice cache may be behind a switch made by another process (the CLI,
// another instance). The EXISTS does not depend on the row, so it runs once.
// Its arguments are practice, from, to, to, practice.
const FreeSlotsWhere = `practice_id = ? AND status = 'free' AND start_at >= ? AND start_at <= ? AND end_at <= ?
		AND EXISTS (` + practiceOnSQL + `)`

// practiceOnSQL selects a row when practice ? has GP Connect and Appointment
// Management switched on (scheduling.Organisation.AppointmentsOn in SQL).
const practiceOnSQL = `SELECT 1 FROM organisations WHERE id = ? AND gpc_enabled = TRUE AND appts_enabled = TRUE`

// generationCols are what the search reads beside its slots to use the
// cache (see migration 0005 and refCache): the practice's generation of its
// schedules and of its access profiles, each the sum of its own counter and
// the shared row 0's (each only grows, so the sum changes whenever either
// does), and then (bookedCol) the live booked counters of its capped
// profiles as "id:booked,…". The subqueries do not depend on the row, so
// they run once. Their arguments are practice three times.
const generationCols = `(SELECT CAST(COALESCE(SUM(refs), 0) AS BIGINT) FROM ref_generations WHERE practice_id IN (0, ?)),
		(SELECT CAST(COALESCE(SUM(profiles), 0) AS BIGINT) FROM ref_generations WHERE practice_id IN (0, ?)),`

// The generation columns in each engine's dialect.
const (
	pgGenerationCols     = generationCols + ` (SELECT COALESCE(string_agg(id || ':' || booked, ','), '') FROM access_profiles WHERE practice_id = ? AND cap > 0)`
	sqliteGenerationCols = generationCols + ` (SELECT COALESCE(group_concat(id || ':' || booked, ','), '') FROM access_profiles WHERE practice_id = ? AND cap > 0)`
)

// slotScanner collects freeSlotsQuery's rows.
type slotScanner struct {
	practiceID           int64
	rows                 []slotRow
	channel, serviceType *interned
	// refsGen and profilesGen are the generations the rows carry, booked
	// the capped profiles' counters (see generationCols).
	refsGen, profilesGen int64
	booked               sameText
}

func newSlotScanner(practiceID int64) *slotScanner {
	seen := map[string]string{}
	return &slotScanner{practiceID: practiceID, rows: (*slotRowPool.Get().(*[]slotRow))[:0],
		channel: &interned{seen: seen}, serviceType: &interned{seen: seen}}
}

// release returns the row buffer for reuse; the rows must no longer be used
// (offered copies what it keeps).
func (sc *slotScanner) release() {
	if cap(sc.rows) <= maxPooledSlotRows {
		rows := sc.rows[:0]
		slotRowPool.Put(&rows)
	}
	sc.rows = nil
}

// maxPooledSlotRows bounds the row buffers kept for reuse (a 5,000-slot
// search's is about half a megabyte).
const maxPooledSlotRows = 8192

// slotRowPool holds range-query row buffers: growing one to a search's size
// was a tenth of a 100-slot search's allocated bytes.
var slotRowPool = sync.Pool{New: func() any { rows := make([]slotRow, 0, 128); return &rows }}

func (sc *slotScanner) scan(rs rowScanner) error {
	sc.rows = append(sc.rows, slotRow{PracticeID: sc.practiceID, Status: string(scheduling.SlotFree)})
	r := &sc.rows[len(sc.rows)-1]
	sc.channel.dst, sc.serviceType.dst = &r.Channel, &r.ServiceType
	return rs.Scan(&r.ID, &r.ScheduleID, &r.StartAt, &r.EndAt, sc.channel, sc.serviceType, &r.AccessProfileID, &r.Version, &sc.refsGen, &sc.profilesGen, &sc.booked)
}

// newSlotResult is an empty search result with its maps made.
func newSlotResult() *scheduling.SlotResult {
	return &scheduling.SlotResult{Schedules: map[int64]*scheduling.Schedule{}, Practitioners: map[int64]*scheduling.Practitioner{}, Locations: map[int64]*scheduling.Location{}}
}

// offered turns candidate rows into the slots the access profiles offer. It
// is scheduling.Offered's filter (scheduling.Why, the one rule) without the
// intermediate candidate slice and the output's repeated growth: the rows
// bound the result's size, so it is allocated once.
func offered(rows []slotRow, profiles map[int64]*scheduling.AccessProfile, q scheduling.SlotSearch) []scheduling.Slot {
	out := make([]scheduling.Slot, 0, len(rows))
	for i := range rows {
		sl := rows[i].domain()
		if scheduling.Why(sl, profiles, q.Consumer, q.Now) == scheduling.ReasonNone {
			out = append(out, sl)
		}
	}
	return out
}

// scheduleIDs lists the slots' schedules once each, in order of first use.
func scheduleIDs(slots []scheduling.Slot) []int64 {
	ids := make([]int64, 0, 8)
	seen := map[int64]bool{}
	for _, sl := range slots {
		if !seen[sl.ScheduleID] {
			seen[sl.ScheduleID] = true
			ids = append(ids, sl.ScheduleID)
		}
	}
	return ids
}

// interned scans a text column into *dst, sharing one string per distinct
// value: thousands of slots have a handful of channels and slot types. On
// pgx, ScanBytes sees the driver's buffer, so a value seen before costs no
// allocation at all.
type interned struct {
	dst  *string
	seen map[string]string
}

// intern returns the shared copy of v (v may be a slice of a larger string,
// which the shared copy does not keep alive).
func (in *interned) intern(v string) string {
	if x, ok := in.seen[v]; ok {
		return x
	}
	x := strings.Clone(v)
	in.seen[x] = x
	return x
}

// sameText scans a text column that holds the same value on every row (an
// uncorrelated subquery's): the first row's value is kept, and later rows
// cost no allocation.
type sameText struct {
	v   string
	set bool
}

// ScanBytes implements pgx's pgtype.BytesScanner.
func (t *sameText) ScanBytes(v []byte) error {
	if !t.set {
		t.v, t.set = string(v), true
	}
	return nil
}

// Scan implements sql.Scanner (SQLite, lib/pq).
func (t *sameText) Scan(src any) error {
	if t.set {
		return nil
	}
	switch v := src.(type) {
	case string:
		t.v = v
	case []byte:
		t.v = string(v)
	case nil:
		t.v = ""
	default:
		return fmt.Errorf("store: cannot scan %T into a string", src)
	}
	t.set = true
	return nil
}

// ScanBytes implements pgx's pgtype.BytesScanner.
func (in *interned) ScanBytes(v []byte) error {
	if x, ok := in.seen[string(v)]; ok {
		*in.dst = x
		return nil
	}
	x := string(v)
	in.seen[x] = x
	*in.dst = x
	return nil
}

// Scan implements sql.Scanner (SQLite, lib/pq).
func (in *interned) Scan(src any) error {
	switch v := src.(type) {
	case string:
		if x, ok := in.seen[v]; ok {
			v = x
		} else {
			in.seen[v] = v
		}
		*in.dst = v
		return nil
	case []byte:
		return in.ScanBytes(v)
	case nil:
		*in.dst = ""
		return nil
	}
	return fmt.Errorf("store: cannot scan %T into a string", src)
}

// searchProfiles returns a practice's access profiles, keyed by id, at
// generation gen: from the cache, or read and cached.
func (s *Store) searchProfiles(ctx context.Context, practiceID, gen int64) (map[int64]*scheduling.AccessProfile, error) {
	if m := s.refs.profilesAt(practiceID, gen); m != nil {
		return m, nil
	}
	out := map[int64]*scheduling.AccessProfile{}
	if err := s.readQuery(ctx, profilesQuery, []any{practiceID}, profileScanner(out)); err != nil {
		return nil, err
	}
	s.refs.addProfiles(practiceID, gen, out)
	return out, nil
}

const profilesQuery = `SELECT ` + profileCols + ` FROM access_profiles WHERE practice_id = ?`

// profileScanner files profilesQuery's rows in out.
func profileScanner(out map[int64]*scheduling.AccessProfile) func(rowScanner) error {
	return func(rs rowScanner) error {
		var r profileRow
		if err := rs.Scan(&r.ID, &r.PracticeID, &r.Name, &r.Bookable, &r.OrgTypes, &r.ODSCodes, &r.Cap, &r.Booked, &r.WindowSecs, &r.EmbargoSecs,
			&r.ReleaseTime, &r.ReleaseDays, &r.Version); err != nil {
			return err
		}
		out[r.ID] = r.domain()
		return nil
	}
}

// searchSchedules reads the schedules with their locations and practitioners
// in one query, and files them in res. A schedule's location and practitioner
// come back on every one of its rows, so text columns are interned and each
// location and practitioner is decoded once.
func (s *Store) searchSchedules(ctx context.Context, ids []int64, res *scheduling.SlotResult) error {
	// The ids travel as one list value, so the statement's text (and the
	// statement each connection prepares) is the same for any number of ids.
	var q string
	var list any
	switch {
	case s.engine == EngineSQLite:
		q = schedulesQuery + ` WHERE sc.id IN (SELECT value FROM json_each(?))`
		list = string(appendIDs(append(make([]byte, 0, 8*len(ids)), '['), ids, ']'))
	case s.r.DriverName() == DriverPgx:
		q, list = schedulesQuery+` WHERE sc.id = ANY(?)`, ids
	default:
		// A string, not the []byte: lib/pq's binary_parameters would send
		// bytes in binary format, which the BIGINT[] cast cannot read.
		q = schedulesQuery + ` WHERE sc.id = ANY(CAST(? AS BIGINT[]))`
		list = string(appendIDs(append(make([]byte, 0, 8*len(ids)), '{'), ids, '}'))
	}
	return s.readSchedules(ctx, q, []any{list}, res)
}

// readSchedules runs a schedulesQuery and files its rows in res.
func (s *Store) readSchedules(ctx context.Context, query string, args []any, res *scheduling.SlotResult) error {
	dest, file := scheduleScanner(res)
	return s.readQuery(ctx, query, args, func(rs rowScanner) error {
		if err := rs.Scan(dest...); err != nil {
			return err
		}
		file()
		return nil
	})
}

// appendIDs appends ids separated by commas, then end.
func appendIDs(dst []byte, ids []int64, end byte) []byte {
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, id, 10)
	}
	return append(dst, end)
}

// schedulesQuery reads schedules with their locations and practitioners; a
// WHERE clause on sc follows.
const schedulesQuery = `SELECT sc.id, sc.practice_id, sc.location_id, sc.practitioner_id, sc.role, sc.service_category, sc.start_at, sc.end_at,
		sc.access_profile_id, sc.template_id, sc.healthcare_service_id, sc.status, sc.version,
		COALESCE(l.id, 0), COALESCE(l.practice_id, 0), COALESCE(l.name, ''), COALESCE(l.site_code, ''), COALESCE(l.phone, ''),
		COALESCE(l.address, ''), COALESCE(l.status, ''), COALESCE(l.version, 0),
		COALESCE(p.id, 0), COALESCE(p.practice_id, 0), COALESCE(p.sds_user_id, ''), COALESCE(p.role_profile_ids, ''), COALESCE(p.family, ''),
		COALESCE(p.given, ''), COALESCE(p.prefix, ''), COALESCE(p.gender, ''), COALESCE(p.version, 0)
		FROM schedules sc
		LEFT JOIN locations l ON l.id = sc.location_id
		LEFT JOIN practitioners p ON p.id = sc.practitioner_id AND sc.practitioner_id <> 0`

// scheduleScanner returns the scan destinations of a schedulesQuery row and
// a func that files the row just scanned in res. Text columns are interned
// and each location and practitioner is decoded once.
func scheduleScanner(res *scheduling.SlotResult) ([]any, func()) {
	var sc scheduleRow
	var l locRow
	var p pracRow
	seen := map[string]string{}
	text := func(dst *string) *interned { return &interned{dst: dst, seen: seen} }
	dest := []any{&sc.ID, &sc.PracticeID, &sc.LocationID, &sc.PractitionerID, text(&sc.Role), text(&sc.ServiceCategory), &sc.StartAt, &sc.EndAt,
		&sc.AccessProfileID, &sc.TemplateID, &sc.ServiceID, text(&sc.Status), &sc.Version,
		&l.ID, &l.PracticeID, text(&l.Name), text(&l.SiteCode), text(&l.Phone), text(&l.Address), text(&l.Status), &l.Version,
		&p.ID, &p.PracticeID, text(&p.SDSUserID), text(&p.RoleProfileIDs), text(&p.Family), text(&p.Given), text(&p.Prefix), text(&p.Gender), &p.Version}
	return dest, func() {
		res.Schedules[sc.ID] = sc.domain()
		if l.ID != 0 && res.Locations[l.ID] == nil {
			res.Locations[l.ID] = decoded(&decodedLocations, l, locRow.domain)
		}
		if p.ID != 0 && res.Practitioners[p.ID] == nil {
			res.Practitioners[p.ID] = decoded(&decodedPractitioners, p, pracRow.domain)
		}
	}
}

// A search decodes the same few practitioners and locations again and again,
// and their text columns hold JSON lists and addresses (a tenth of a 100-slot
// search's CPU went on json.Unmarshal). decoded memoises the decoding as a
// pure function of the whole row: the row is still read on every search, so
// an admin change is seen by the next search, and a changed row is a new key.
// The values are shared between searches and must not be modified (the FHIR
// mapping only reads them).
var (
	decodedLocations     decodeCache[locRow, scheduling.Location]
	decodedPractitioners decodeCache[pracRow, scheduling.Practitioner]
)

// decodeCache maps a row to its decoded value; it is cleared when it holds
// maxDecoded rows, so rows that changed are not kept for ever.
type decodeCache[K comparable, V any] struct {
	m sync.Map // K -> *V
	n atomic.Int64
}

const maxDecoded = 4096

func decoded[K comparable, V any](c *decodeCache[K, V], row K, decode func(K) *V) *V {
	if v, ok := c.m.Load(row); ok {
		return v.(*V)
	}
	v := decode(row)
	if c.n.Add(1) > maxDecoded {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(row, v)
	return v
}

// prepared returns the read pool's prepared statement for query, preparing
// it once: modernc's SQLite driver compiles every query it is given afresh,
// which was a tenth of a small search. The set of queries is small and fixed.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// rowScanner is what readQuery's callback reads a row with.
type rowScanner interface {
	Scan(dest ...any) error
}

// readQuery runs a read query (written with ?) on the read pool and calls
// each for every row. On pgx it uses the pgx connection directly: its Scan
// writes into the destinations without boxing every value into an interface
// first, and its statement cache prepares each query once per connection.
func (s *Store) readQuery(ctx context.Context, query string, args []any, each func(rowScanner) error) error {
	query = s.r.Rebind(query)
	if s.r.DriverName() == DriverPgx {
		conn, err := s.r.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		return conn.Raw(func(dc any) error {
			pc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("store: pgx connection is a %T", dc)
			}
			rows, err := pc.Conn().Query(ctx, query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := each(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		})
	}
	st, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// SchedulesByIDs reads several schedules at once, keyed by id.
func (s *Store) SchedulesByIDs(ctx context.Context, ids []int64) (map[int64]*scheduling.Schedule, error) {
	out := map[int64]*scheduling.Schedule{}
	if len(ids) == 0 {
		return out, nil
	}
	q, args, err := sqlx.In(`SELECT `+scheduleCols+` FROM schedules WHERE id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	var rows []scheduleRow
	if err := s.r.SelectContext(ctx, &rows, s.r.Rebind(q), args...); err != nil {
		return nil, err
	}
	for i := range rows {
		out[rows[i].ID] = rows[i].domain()
	}
	return out, nil
}
