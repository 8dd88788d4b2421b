// Package bench is the machinery of `slotbridge bench`: a generator of large
// practice data written through the store in bulk, a load generator
// (closed-loop clients and an open-loop ramp) with HDR-style latency
// histograms, the search and booking benchmarks with their floors, and one
// result table (text or JSON) for every benchmark.
package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// DataConfig is the size of a generated data set.
type DataConfig struct {
	// Tag tells data sets of different sizes apart in one database ("F" full, "Q" quick).
	Tag string
	// Practices, Clinicians per practice, Weeks of sessions and Patients per practice.
	Practices, Clinicians, Weeks, Patients int
}

// FullData is issue 3's size: 100 practices, 20 clinicians each, 6 weeks of
// 10-minute slots (08:00–13:30 on weekdays): 1,980,000 slots.
var FullData = DataConfig{Tag: "F", Practices: 100, Clinicians: 20, Weeks: 6, Patients: 50}

// QuickData is the smoke-run size: the same shape on 4 practices and 3 weeks.
var QuickData = DataConfig{Tag: "Q", Practices: 4, Clinicians: 20, Weeks: 3, Patients: 20}

// The shape of every generated clinician's day.
const (
	dayStartHour, dayStartMin = 8, 0
	dayEndHour, dayEndMin     = 13, 30
	slotMinutes               = 10
	slotsPerDay               = ((dayEndHour*60 + dayEndMin) - (dayStartHour*60 + dayStartMin)) / slotMinutes
)

// Practice is one generated practice.
type Practice struct {
	ID         int64
	ODS, ASID  string
	LocationID int64
	Patients   []int64
}

// Dataset is generated data ready to be searched and booked.
type Dataset struct {
	Config    DataConfig
	Practices []Practice
	// Days are the weekdays (local midnight) that have sessions.
	Days []time.Time
}

// FutureDays are the session days after today (searches and bookings use those).
func (d *Dataset) FutureDays(now time.Time) []time.Time {
	today := scheduling.LocalMidnight(now)
	var out []time.Time
	for _, day := range d.Days {
		if day.After(today) {
			out = append(out, day)
		}
	}
	return out
}

func (c DataConfig) ods(i int) string { return fmt.Sprintf("BN%s%03d", c.Tag, i) }

func (c DataConfig) markerName() string {
	return fmt.Sprintf("Slotbridge bench data %s: %d practices x %d clinicians x %d weeks, %d patients", c.Tag, c.Practices, c.Clinicians, c.Weeks, c.Patients)
}

// Generate makes (or finds, when an earlier run made it) the data set in
// the store: practices with one site, one open access profile, clinicians and
// patients, and a session of 10-minute slots for each clinician on each
// weekday from tomorrow for cfg.Weeks weeks, written with bulk inserts in one
// transaction per practice. A marker organisation is written last, so an
// interrupted run is finished on the next one. Progress goes to log.
func Generate(ctx context.Context, st *store.Store, cfg DataConfig, now time.Time, log io.Writer) (*Dataset, error) {
	marker := cfg.ods(0)
	ds := &Dataset{Config: cfg}
	if org, err := st.OrganisationByODS(ctx, marker); err == nil {
		first, err := time.ParseInLocation("2006-01-02", org.Phone, scheduling.London)
		if err != nil || org.Name != cfg.markerName() {
			return nil, fmt.Errorf("bench: the database holds bench data %q of another shape (%q); use a fresh database", marker, org.Name)
		}
		ds.Days = weekdays(first, cfg.Weeks)
		for i := 1; i <= cfg.Practices; i++ {
			p, err := loadPractice(ctx, st, cfg.ods(i))
			if err != nil {
				return nil, err
			}
			ds.Practices = append(ds.Practices, p)
		}
		fmt.Fprintf(log, "bench data %s found (generated from %s)\n", cfg.Tag, org.Phone)
		return ds, nil
	} else if scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
		return nil, err
	}
	first := scheduling.AddDaysLocal(scheduling.LocalMidnight(now), 1)
	ds.Days = weekdays(first, cfg.Weeks)
	t0 := time.Now()
	slots := 0
	for i := 1; i <= cfg.Practices; i++ {
		p, n, err := genPractice(ctx, st, cfg, i, ds.Days)
		if err != nil {
			return nil, fmt.Errorf("bench: practice %d: %w", i, err)
		}
		slots += n
		ds.Practices = append(ds.Practices, p)
		if i%10 == 0 || i == cfg.Practices {
			fmt.Fprintf(log, "generated %d/%d practices, %d slots, %s\n", i, cfg.Practices, slots, time.Since(t0).Round(time.Millisecond))
		}
	}
	// The marker keeps the first day in its phone field: reused data keeps its dates.
	if _, err := st.SaveOrganisation(ctx, &scheduling.Organisation{ODS: marker, Name: cfg.markerName(), Kind: scheduling.KindOther,
		Phone: scheduling.FormatDate(first)}); err != nil {
		return nil, err
	}
	// Settle PostgreSQL's new rows now, so that autovacuum does not do it
	// (taking a core) during the first measured run, and index-only scans
	// need not visit the heap to check visibility.
	if st.Engine() == store.EnginePostgres {
		fmt.Fprintf(log, "vacuum analyze\n")
		if _, err := st.DB().ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
			return nil, fmt.Errorf("bench: vacuum: %w", err)
		}
	}
	return ds, nil
}

// weekdays lists the Monday–Friday local midnights in [first, first+weeks).
func weekdays(first time.Time, weeks int) []time.Time {
	var out []time.Time
	for d := 0; d < weeks*7; d++ {
		day := scheduling.AddDaysLocal(first, d)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			out = append(out, day)
		}
	}
	return out
}

func loadPractice(ctx context.Context, st *store.Store, ods string) (Practice, error) {
	org, err := st.OrganisationByODS(ctx, ods)
	if err != nil {
		return Practice{}, fmt.Errorf("bench: practice %s: %w", ods, err)
	}
	p := Practice{ID: org.ID, ODS: org.ODS, ASID: org.ASID}
	locs, err := st.Locations(ctx, org.ID)
	if err != nil {
		return Practice{}, err
	}
	if len(locs) == 0 {
		return Practice{}, fmt.Errorf("bench: practice %s has no location", ods)
	}
	p.LocationID = locs[0].ID
	if err := st.DB().SelectContext(ctx, &p.Patients, st.DB().Rebind(`SELECT id FROM patients WHERE practice_id = ? ORDER BY id`), org.ID); err != nil {
		return Practice{}, err
	}
	return p, nil
}

func genPractice(ctx context.Context, st *store.Store, cfg DataConfig, i int, days []time.Time) (Practice, int, error) {
	ods := cfg.ods(i)
	id, err := st.SaveOrganisation(ctx, &scheduling.Organisation{ODS: ods, Name: "Bench Practice " + ods, Kind: scheduling.KindPractice,
		ASID: fmt.Sprintf("91999%07d", i), Phone: "01632 960000", GPConnectEnabled: true, AppointmentsEnabled: true,
		Address: scheduling.Address{Use: "work", Lines: []string{strconv.Itoa(i) + " Bench Street"}, City: "Leeds", PostalCode: "LS1 4AP"}})
	if err != nil {
		return Practice{}, 0, err
	}
	var nsched int
	if err := st.DB().GetContext(ctx, &nsched, st.DB().Rebind(`SELECT COUNT(*) FROM schedules WHERE practice_id = ?`), id); err != nil {
		return Practice{}, 0, err
	}
	if nsched > 0 {
		// Finished by an earlier, interrupted run.
		p, err := loadPractice(ctx, st, ods)
		return p, 0, err
	}
	p := Practice{ID: id, ODS: ods}
	locs, err := st.Locations(ctx, id)
	if err != nil {
		return p, 0, err
	}
	if len(locs) > 0 {
		p.LocationID = locs[0].ID
	} else if p.LocationID, err = st.SaveLocation(ctx, &scheduling.Location{PracticeID: id, Name: ods + " Surgery", SiteCode: ods,
		Address: scheduling.Address{Use: "work", Lines: []string{"1 Bench Street"}, City: "Leeds", PostalCode: "LS1 4AP"}}); err != nil {
		return p, 0, err
	}
	profile, err := st.SaveAccessProfile(ctx, &scheduling.AccessProfile{PracticeID: id, Name: "Open to all", Bookable: true})
	if err != nil {
		return p, 0, err
	}
	gps := make([]int64, cfg.Clinicians)
	for c := range gps {
		gps[c], err = st.SavePractitioner(ctx, &scheduling.Practitioner{PracticeID: id, SDSUserID: fmt.Sprintf("B%03d%04d", i, c),
			RoleProfileIDs: []string{fmt.Sprintf("9%03d%04d", i, c)}, Family: "Clinician" + strconv.Itoa(c), Given: []string{"Bench"},
			Prefix: []string{"Dr"}, Gender: []string{"female", "male"}[c%2]})
		if err != nil {
			return p, 0, err
		}
	}
	for k, nhs := range nhsNumbers(i*10000, cfg.Patients) {
		pid, err := st.SavePatient(ctx, &scheduling.Patient{PracticeID: id, NHSNumber: nhs, Family: "Patient" + strconv.Itoa(k),
			Given: []string{"Bench"}, Gender: "unknown", BirthDate: "1980-01-01", Active: true, RegistrationType: scheduling.RegRegular,
			RegistrationStart: "2020-01-01"})
		if err != nil {
			return p, 0, err
		}
		p.Patients = append(p.Patients, pid)
	}
	channels := []string{"In-person", "Telephone"}
	sessions := make([]scheduling.Session, 0, len(days)*len(gps))
	n := 0
	for _, day := range days {
		start, end := scheduling.AtLocal(day, dayStartHour, dayStartMin), scheduling.AtLocal(day, dayEndHour, dayEndMin)
		for _, gp := range gps {
			ses := scheduling.Session{Schedule: scheduling.Schedule{PracticeID: id, LocationID: p.LocationID, PractitionerID: gp, Role: "R0260",
				ServiceCategory: "GP Appointments", Start: start, End: end, AccessProfileID: profile, Status: "active"}}
			ses.Slots = make([]scheduling.Slot, 0, slotsPerDay)
			for k, at := 0, start; at.Before(end); k, at = k+1, at.Add(slotMinutes*time.Minute) {
				ses.Slots = append(ses.Slots, scheduling.Slot{PracticeID: id, Start: at, End: at.Add(slotMinutes * time.Minute), Status: scheduling.SlotFree,
					DeliveryChannel: channels[k%2], ServiceType: "Routine GP appointment", AccessProfileID: profile})
			}
			n += len(ses.Slots)
			sessions = append(sessions, ses)
		}
	}
	if err := st.InsertSessions(ctx, sessions); err != nil {
		return p, 0, err
	}
	org, err := st.OrganisationByID(ctx, id)
	if err != nil {
		return p, 0, err
	}
	p.ASID = org.ASID
	return p, n, nil
}

// nhsNumbers makes n valid (Modulus 11) NHS numbers from base on, in the
// 999 range that is never issued to real people.
func nhsNumbers(base, n int) []string {
	var out []string
	for k := base; len(out) < n; k++ {
		s := fmt.Sprintf("999%06d", k%1000000)
		sum := 0
		for i := 0; i < 9; i++ {
			sum += int(s[i]-'0') * (10 - i)
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check == 10 {
			continue
		}
		out = append(out, s+strconv.Itoa(check))
	}
	return out
}

// span names a data set's size for the report.
func (d *Dataset) span() string {
	return strings.TrimSpace(fmt.Sprintf("%d practices x %d clinicians x %d weekdays = %d slots", len(d.Practices), d.Config.Clinicians,
		len(d.Days), len(d.Practices)*d.Config.Clinicians*len(d.Days)*slotsPerDay))
}

// Describe names a data set's size for a report.
func Describe(d *Dataset) string { return d.span() }

// PoolSize is how many free slots the booking benchmark sets aside: enough
// for every booking of a run at well over the goal rates.
func PoolSize(quick bool) int {
	if quick {
		return 30000
	}
	return 250000
}
