// Package demo holds the demonstration data embedded in the binary and
// loaded by `slotbridge serve --demo`: the practices, sites, clinicians,
// patients, PDS stand-in records, access profiles and weekly sessions that
// the GP Connect provider test pack expects (spec/testpack-data.md), plus a
// few more practices for federation work.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// DefaultHorizon is how far ahead of now Load creates sessions when given no horizon.
const DefaultHorizon = 28 * 24 * time.Hour

// Saver is the part of the store that Load writes through. Every Save is an
// upsert by natural key and returns the row's id.
type Saver interface {
	// SaveOrganisation upserts an organisation by ODS code.
	SaveOrganisation(ctx context.Context, o *scheduling.Organisation) (int64, error)
	// OrganisationByODS finds an organisation by ODS code. Returns ENOTFOUND.
	OrganisationByODS(ctx context.Context, ods string) (*scheduling.Organisation, error)
	// OrganisationByID finds an organisation by id. Returns ENOTFOUND.
	OrganisationByID(ctx context.Context, id int64) (*scheduling.Organisation, error)
	// SaveLocation upserts a location by id.
	SaveLocation(ctx context.Context, l *scheduling.Location) (int64, error)
	// SavePractitioner upserts a practitioner by practice and SDS user id.
	SavePractitioner(ctx context.Context, p *scheduling.Practitioner) (int64, error)
	// SavePatient upserts a patient by practice and NHS number.
	SavePatient(ctx context.Context, p *scheduling.Patient) (int64, error)
	// SavePDSPeople loads the PDS stand-in's records, replacing those with the same NHS number.
	SavePDSPeople(ctx context.Context, people []scheduling.PDSPerson) error
	// SaveAccessProfile upserts an access profile by practice and name.
	SaveAccessProfile(ctx context.Context, p *scheduling.AccessProfile) (int64, error)
	// SaveSessionTemplate upserts a session template by practice and name.
	SaveSessionTemplate(ctx context.Context, t *scheduling.SessionTemplate) (int64, error)
	// SessionTemplates lists a practice's templates, ended ones included.
	SessionTemplates(ctx context.Context, practiceID int64) ([]*scheduling.SessionTemplate, error)
	// SaveHealthcareService inserts a service, leaving one that exists as its practice's admins left it.
	SaveHealthcareService(ctx context.Context, h *scheduling.HealthcareService) (int64, error)
	// Materialise creates the sessions and slots of a practice's templates between from and to; it returns how many sessions it made.
	Materialise(ctx context.Context, practiceID int64, from, to time.Time) (int, error)
}

// Load saves the demo data through s and then creates every session from
// local midnight today to now+horizon (DefaultHorizon when horizon <= 0).
// Every save is an upsert by natural key, so running Load again changes nothing.
// A practice's switches, services, access profiles and weekly templates are
// seeded once and then belong to its admins: a later Load leaves them as the
// admins left them (a restart with --demo must not undo an admin's change).
func Load(ctx context.Context, s Saver, now time.Time, horizon time.Duration) error {
	if horizon <= 0 {
		horizon = DefaultHorizon
	}
	if err := checkNHSNumbers(); err != nil {
		return err
	}
	orgIDs := map[string]int64{}
	for i := range organisations {
		o := organisations[i]
		// The enablement switches belong to the practice admin once the
		// practice exists: a restart with --demo must not undo a disable.
		cur, err := s.OrganisationByODS(ctx, o.ODS)
		if err == nil {
			o.GPConnectEnabled, o.AppointmentsEnabled, o.ServiceFiltering = cur.GPConnectEnabled, cur.AppointmentsEnabled, cur.ServiceFiltering
		} else if scheduling.ErrorCode(err) != scheduling.ENOTFOUND {
			return fmt.Errorf("demo: organisation %s: %w", o.ODS, err)
		}
		if cur == nil {
			// The demo keeps the test pack's ids; a database where practices
			// were added first has given them to others.
			if other, err := s.OrganisationByID(ctx, o.ID); err == nil {
				return fmt.Errorf("demo: organisation %s needs its id %d, which %s holds here: the demo data keeps the test pack's fixed ids, so load it into a database of its own (a new --data directory or PostgreSQL database), or into one before adding practices", o.ODS, o.ID, other.ODS)
			}
		}
		id, err := s.SaveOrganisation(ctx, &o)
		if err != nil {
			return fmt.Errorf("demo: organisation %s: %w", o.ODS, err)
		}
		orgIDs[o.ODS] = id
	}
	gpIDs := map[string]int64{} // "ODS/SDS" -> practitioner id
	for _, p := range practices {
		if err := loadPractice(ctx, s, orgIDs[p.ods], p, gpIDs); err != nil {
			return fmt.Errorf("demo: practice %s: %w", p.ods, err)
		}
	}
	for _, p := range patients {
		pt := p.patient(orgIDs, gpIDs)
		if _, err := s.SavePatient(ctx, &pt); err != nil {
			return fmt.Errorf("demo: patient %s: %w", p.nhs, err)
		}
	}
	people, err := pdsPeople()
	if err != nil {
		return err
	}
	if err := s.SavePDSPeople(ctx, people); err != nil {
		return fmt.Errorf("demo: PDS people: %w", err)
	}
	if _, err := s.Materialise(ctx, 0, scheduling.LocalMidnight(now), now.Add(horizon)); err != nil {
		return fmt.Errorf("demo: materialise: %w", err)
	}
	return nil
}

func loadPractice(ctx context.Context, s Saver, orgID int64, p practice, gpIDs map[string]int64) error {
	for _, l := range p.locations {
		l.PracticeID = orgID
		if _, err := s.SaveLocation(ctx, &l); err != nil {
			return fmt.Errorf("location %d: %w", l.ID, err)
		}
	}
	for _, pr := range p.practitioners {
		pr.PracticeID = orgID
		id, err := s.SavePractitioner(ctx, &pr)
		if err != nil {
			return fmt.Errorf("practitioner %s: %w", pr.SDSUserID, err)
		}
		gpIDs[p.ods+"/"+pr.SDSUserID] = id
	}
	templates, err := s.SessionTemplates(ctx, orgID)
	if err != nil {
		return fmt.Errorf("session templates: %w", err)
	}
	serviceIDs := map[string]int64{}
	for _, h := range p.services {
		h.PracticeID = orgID
		id, err := s.SaveHealthcareService(ctx, &h)
		if err != nil {
			return fmt.Errorf("healthcare service %s: %w", h.DOSID, err)
		}
		serviceIDs[h.DOSID] = id
	}
	// A practice holds templates (ended ones stay) only once it has been
	// seeded; from then on its profiles and weekly pattern are its admins'.
	// Upserting them by name again would undo an admin's edits, revive an
	// ended template, and re-add a renamed one beside its new name (the
	// clinician then twice in one session).
	if len(templates) > 0 {
		return nil
	}
	profileIDs := map[string]int64{}
	for _, ap := range p.profiles {
		ap.PracticeID = orgID
		id, err := s.SaveAccessProfile(ctx, &ap)
		if err != nil {
			return fmt.Errorf("access profile %q: %w", ap.Name, err)
		}
		profileIDs[ap.Name] = id
	}
	for _, ses := range p.sessions {
		for _, day := range ses.days {
			t, err := ses.template(orgID, day, profileIDs, gpIDs, p.ods)
			if err != nil {
				return err
			}
			if ses.service != "" {
				if t.HealthcareServiceID = serviceIDs[ses.service]; t.HealthcareServiceID == 0 {
					return fmt.Errorf("session template %q: unknown service %s", t.Name, ses.service)
				}
			}
			if _, err := s.SaveSessionTemplate(ctx, t); err != nil {
				return fmt.Errorf("session template %q: %w", t.Name, err)
			}
		}
	}
	return nil
}

// template builds the weekly template of a session pattern for one weekday.
func (ses session) template(orgID int64, day time.Weekday, profileIDs, gpIDs map[string]int64, ods string) (*scheduling.SessionTemplate, error) {
	name := day.String()[:3] + " " + ses.name
	profile, ok := profileIDs[ses.profile]
	if !ok {
		return nil, fmt.Errorf("session template %q: unknown access profile %q", name, ses.profile)
	}
	var gp int64
	if ses.sds != "" {
		if gp, ok = gpIDs[ods+"/"+ses.sds]; !ok {
			return nil, fmt.Errorf("session template %q: unknown practitioner %s", name, ses.sds)
		}
	}
	return &scheduling.SessionTemplate{PracticeID: orgID, Name: name, Weekday: day, StartLocal: ses.start, EndLocal: ses.end,
		SlotMinutes: ses.slotMinutes, LocationID: ses.location, PractitionerID: gp, Role: ses.role, ServiceCategory: ses.category,
		ServiceType: ses.serviceType, Channels: ses.channels, AccessProfileID: profile, Active: true}, nil
}

// patient builds the stored record of a demo patient.
func (p patientRow) patient(orgIDs, gpIDs map[string]int64) scheduling.Patient {
	var prefix []string
	if p.prefix != "" {
		prefix = []string{p.prefix}
	}
	return scheduling.Patient{ID: p.id, PracticeID: orgIDs[p.ods], NHSNumber: p.nhs, Family: p.family, Given: []string{p.given},
		Prefix: prefix, Gender: p.gender, BirthDate: p.birth,
		Telecoms:  []scheduling.Telecom{{System: "phone", Value: p.phone, Use: "home"}},
		Addresses: []scheduling.Address{{Use: "home", Lines: []string{p.street}, City: p.city, District: p.district, PostalCode: p.postcode}},
		Active:    !p.inactive, Sensitive: p.sensitive, Deceased: p.deceased, RegistrationType: scheduling.RegRegular,
		RegistrationStart: p.regStart, PreferredLocationID: p.location, GPPractitionerID: gpIDs[p.ods+"/"+p.gp]}
}

//go:embed register_patients.csv
var registerPatientsCSV []byte

// registerPeople parses the test pack's RegisterPatients list: people on PDS
// who are not registered anywhere here, for the suite to register.
func registerPeople() ([]scheduling.PDSPerson, error) {
	people, err := scheduling.ReadPDSCSV(bytes.NewReader(registerPatientsCSV))
	if err != nil {
		return nil, fmt.Errorf("demo: register_patients.csv: %w", err)
	}
	return people, nil
}

// pdsPeople is everything the PDS stand-in holds: the demo patients (but not
// those marked notOnPDS) and the RegisterPatients list.
func pdsPeople() ([]scheduling.PDSPerson, error) {
	out, err := registerPeople()
	if err != nil {
		return nil, err
	}
	for _, p := range patients {
		if p.notOnPDS {
			continue
		}
		out = append(out, scheduling.PDSPerson{NHSNumber: p.nhs, Family: p.family, Given: []string{p.given}, Gender: p.gender,
			BirthDate: p.birth, Deceased: p.deceased, Sensitive: p.sensitive, Superseded: p.superseded})
	}
	return out, nil
}

// checkNHSNumbers refuses data with an NHS number that fails the Modulus 11 check.
func checkNHSNumbers() error {
	people, err := registerPeople()
	if err != nil {
		return err
	}
	for _, p := range people {
		if !scheduling.ValidNHSNumber(p.NHSNumber) {
			return fmt.Errorf("demo: register list NHS number %q is not valid", p.NHSNumber)
		}
	}
	for _, p := range patients {
		if !scheduling.ValidNHSNumber(p.nhs) {
			return fmt.Errorf("demo: patient NHS number %q is not valid", p.nhs)
		}
	}
	return nil
}
