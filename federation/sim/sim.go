package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/provider"
)

// Config says what to simulate. Zero values get the defaults in brackets.
type Config struct {
	// Practices is how many practices to run (3).
	Practices int
	// Faults applies to every practice.
	Faults Faults
	// MinSlots and MaxSlots bound each practice's slots per day (20, 100).
	MinSlots, MaxSlots int
	// Days is how many days of sessions, from today (7).
	Days int
	// Seed makes the practices and faults repeatable.
	Seed uint64
	// Addr is the listen address ("127.0.0.1:0").
	Addr string
	// Store, when set, holds the practices (they are added to it); else a private in-memory SQLite is used.
	Store *store.Store
	// Log receives the providers' logs (discarded when nil).
	Log *slog.Logger
	// CacheSearches replays each practice's first good slot-search answer
	// for the same query (for benchmarks of the hub; see Injector.CacheSearches).
	CacheSearches bool
}

// Sim is a running simulated federation.
type Sim struct {
	// URL is the base URL of the one listener ("http://127.0.0.1:port").
	URL string
	// Endpoints is the directory of the simulated practices.
	Endpoints []scheduling.Endpoint
	// Patients are NHS numbers on the simulated PDS, registered nowhere: booking registers them.
	Patients []Person
	// Injector applies the faults; tests change them per practice.
	Injector *Injector
	// Store holds the practices (tests inspect it).
	Store *store.Store

	srv    *http.Server
	prov   *provider.Server
	ownsDB bool
}

// Person is someone on the simulated PDS.
type Person struct {
	NHSNumber, Family, Given, Gender, BirthDate string
}

// ODS returns the ODS code of the i-th simulated practice (from 0).
func ODS(i int) string { return fmt.Sprintf("Y%05d", i+1) }

// ASID returns the provider ASID of the i-th simulated practice.
func ASID(i int) string { return fmt.Sprintf("9280%08d", i+1) }

// Start creates the practices and serves them until Close.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	if cfg.Practices <= 0 {
		cfg.Practices = 3
	}
	if cfg.MinSlots <= 0 {
		cfg.MinSlots = 20
	}
	if cfg.MaxSlots < cfg.MinSlots {
		cfg.MaxSlots = max(100, cfg.MinSlots)
	}
	if cfg.Days <= 0 {
		cfg.Days = 7
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Sim{Store: cfg.Store}
	if s.Store == nil {
		st, err := store.Open(ctx, store.Config{Path: ":memory:"})
		if err != nil {
			return nil, err
		}
		s.Store, s.ownsDB = st, true
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		s.closeStore()
		return nil, err
	}
	s.URL = "http://" + ln.Addr().String()
	rng := rand.New(rand.NewPCG(cfg.Seed, 17))
	now := time.Now()
	for i := range cfg.Practices {
		n := cfg.MinSlots + rng.IntN(cfg.MaxSlots-cfg.MinSlots+1)
		if err := addPractice(ctx, s.Store, i, n); err != nil {
			ln.Close()
			s.closeStore()
			return nil, err
		}
		s.Endpoints = append(s.Endpoints, scheduling.Endpoint{ODS: ODS(i), Name: practiceName(i), ASID: ASID(i), Enabled: true,
			ServiceRoot: s.URL + "/" + ODS(i) + "/STU3/1/gpconnect", Interactions: interactions()})
	}
	if _, err := s.Store.Materialise(ctx, 0, scheduling.LocalMidnight(now), scheduling.AddDaysLocal(scheduling.LocalMidnight(now), cfg.Days)); err != nil {
		ln.Close()
		s.closeStore()
		return nil, fmt.Errorf("sim: materialise: %w", err)
	}
	s.Patients = people(5)
	var pds []scheduling.PDSPerson
	for _, p := range s.Patients {
		pds = append(pds, scheduling.PDSPerson{NHSNumber: p.NHSNumber, Family: p.Family, Given: []string{p.Given}, Gender: p.Gender, BirthDate: p.BirthDate})
	}
	if err := s.Store.SavePDSPeople(ctx, pds); err != nil {
		ln.Close()
		s.closeStore()
		return nil, err
	}
	s.prov = provider.New(s.Store, &auth.Verifier{}, log, provider.Config{})
	s.Injector = NewInjector(s.prov.Handler(), cfg.Faults, cfg.Seed+1)
	if cfg.CacheSearches {
		s.Injector.CacheSearches()
	}
	s.srv = &http.Server{Handler: s.Injector, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops serving, releases hanging requests and closes a private store.
func (s *Sim) Close() error {
	s.Injector.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.srv.Close()
	s.prov.Close()
	s.closeStore()
	return err
}

func (s *Sim) closeStore() {
	if s.ownsDB {
		s.Store.Close()
	}
}

// Directory returns the simulated directory, with one hub of every practice.
func (s *Sim) Directory(hub string) federation.DirectoryFile {
	var f federation.DirectoryFile
	var members []string
	for _, e := range s.Endpoints {
		t := e.Enabled
		f.Endpoints = append(f.Endpoints, federation.DirectoryEntry{ODS: e.ODS, Name: e.Name, ServiceRoot: e.ServiceRoot, ASID: e.ASID, Interactions: e.Interactions, Enabled: &t})
		members = append(members, e.ODS)
	}
	if hub != "" {
		f.Hubs = []federation.DirectoryHub{{Name: hub, Members: members}}
	}
	return f
}

// WriteDirectory writes the directory file for `slotbridge directory import`.
func (s *Sim) WriteDirectory(path, hub string) error {
	b, err := json.MarshalIndent(s.Directory(hub), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func interactions() []string {
	var out []string
	for _, in := range gpconnect.Interactions {
		out = append(out, string(in.ID))
	}
	return out
}

var towns = []string{"Leeds", "Wakefield", "Bradford", "Halifax", "Huddersfield", "Dewsbury", "Keighley", "Otley", "Ilkley", "Pudsey"}

func practiceName(i int) string {
	return fmt.Sprintf("%s Sim Practice %d", towns[i%len(towns)], i+1)
}

// addPractice saves one practice: a site, a GP, an open bookable profile
// and a daily session of n five-minute slots from 08:00.
func addPractice(ctx context.Context, st *store.Store, i, n int) error {
	ods := ODS(i)
	town := towns[i%len(towns)]
	org := &scheduling.Organisation{ODS: ods, Name: practiceName(i), Kind: scheduling.KindPractice, ASID: ASID(i), Phone: "01632 960999",
		Address:          scheduling.Address{Use: "work", Lines: []string{fmt.Sprintf("%d High Street", i+1)}, City: town, PostalCode: "LS1 1AA"},
		GPConnectEnabled: true, AppointmentsEnabled: true}
	orgID, err := st.SaveOrganisation(ctx, org)
	if err != nil {
		return fmt.Errorf("sim: practice %s: %w", ods, err)
	}
	locID, err := st.SaveLocation(ctx, &scheduling.Location{PracticeID: orgID, Name: practiceName(i) + " Surgery", SiteCode: fmt.Sprintf("Z9%04d", i+1),
		Status: "active", Phone: "01632 960998", Address: scheduling.Address{Use: "work", Lines: []string{fmt.Sprintf("%d High Street", i+1)}, City: town, PostalCode: "LS1 1AA"}})
	if err != nil {
		return fmt.Errorf("sim: location %s: %w", ods, err)
	}
	gpID, err := st.SavePractitioner(ctx, &scheduling.Practitioner{PracticeID: orgID, SDSUserID: fmt.Sprintf("G9%07d", i+1), Family: "Sim" + fmt.Sprint(i+1),
		Given: []string{"Alex"}, Prefix: []string{"Dr"}, Gender: "unknown"})
	if err != nil {
		return fmt.Errorf("sim: practitioner %s: %w", ods, err)
	}
	profID, err := st.SaveAccessProfile(ctx, &scheduling.AccessProfile{PracticeID: orgID, Name: "open", Bookable: true})
	if err != nil {
		return fmt.Errorf("sim: profile %s: %w", ods, err)
	}
	mins := 8*60 + n*5
	end := fmt.Sprintf("%02d:%02d", mins/60, mins%60)
	for d := time.Sunday; d <= time.Saturday; d++ {
		t := &scheduling.SessionTemplate{PracticeID: orgID, Name: d.String()[:3] + " GP clinic", Weekday: d, StartLocal: "08:00", EndLocal: end, SlotMinutes: 5,
			LocationID: locID, PractitionerID: gpID, Role: "R0260", ServiceCategory: "General GP Appointments", ServiceType: "General GP Appointment",
			Channels: []string{"In-person", "Telephone", "Video"}, AccessProfileID: profID, Active: true}
		if _, err := st.SaveSessionTemplate(ctx, t); err != nil {
			return fmt.Errorf("sim: session %s: %w", ods, err)
		}
	}
	return nil
}

// people makes n PDS people with valid NHS numbers (9990000xxx range, as test data uses).
func people(n int) []Person {
	given := []string{"Sam", "Jo", "Ali", "Kim", "Lee", "Max", "Ray"}
	var out []Person
	for base := 999000000; len(out) < n; base++ {
		nhs := withCheckDigit(base)
		if nhs == "" {
			continue
		}
		k := len(out)
		out = append(out, Person{NHSNumber: nhs, Family: "Simpatient", Given: given[k%len(given)], Gender: []string{"female", "male"}[k%2],
			BirthDate: fmt.Sprintf("19%02d-0%d-1%d", 60+k, 1+k%9, k%10)})
	}
	return out
}

// withCheckDigit appends the Modulus 11 check digit to nine digits, or "" when none exists.
func withCheckDigit(nine int) string {
	s := fmt.Sprintf("%09d", nine)
	sum := 0
	for i := range 9 {
		sum += int(s[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	if c == 11 {
		c = 0
	}
	if c == 10 {
		return ""
	}
	return s + fmt.Sprint(c)
}
