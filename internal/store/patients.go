package store

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

type patientRow struct {
	ID                  int64  `db:"id"`
	PracticeID          int64  `db:"practice_id"`
	NHSNumber           string `db:"nhs_number"`
	Family              string `db:"family"`
	Given               string `db:"given"`
	Prefix              string `db:"prefix"`
	Gender              string `db:"gender"`
	BirthDate           string `db:"birth_date"`
	Telecoms            string `db:"telecoms"`
	Addresses           string `db:"addresses"`
	Active              bool   `db:"active"`
	Sensitive           bool   `db:"sensitive"`
	Deceased            string `db:"deceased"`
	RegType             string `db:"reg_type"`
	RegStart            string `db:"reg_start"`
	RegEnd              string `db:"reg_end"`
	PreferredLocationID int64  `db:"preferred_location_id"`
	GPPractitionerID    int64  `db:"gp_practitioner_id"`
	Language            string `db:"language"`
	Interpreter         bool   `db:"interpreter"`
	Communication       string `db:"communication"`
	Version             int64  `db:"version"`
}

const patientCols = `id, practice_id, nhs_number, family, given, prefix, gender, birth_date, telecoms, addresses, active, sensitive,
	deceased, reg_type, reg_start, reg_end, preferred_location_id, gp_practitioner_id, language, interpreter, communication, version`

func (r patientRow) domain() *scheduling.Patient {
	p := &scheduling.Patient{ID: r.ID, PracticeID: r.PracticeID, NHSNumber: r.NHSNumber, Family: r.Family, Given: splitList(r.Given),
		Prefix: splitList(r.Prefix), Gender: r.Gender, BirthDate: r.BirthDate, Active: r.Active, Sensitive: r.Sensitive, Deceased: r.Deceased,
		RegistrationType: r.RegType, RegistrationStart: r.RegStart, RegistrationEnd: r.RegEnd, PreferredLocationID: r.PreferredLocationID,
		GPPractitionerID: r.GPPractitionerID, Version: r.Version}
	_ = json.Unmarshal([]byte(r.Telecoms), &p.Telecoms)
	_ = json.Unmarshal([]byte(r.Addresses), &p.Addresses)
	p.Communication = r.communication()
	return p
}

// communication reads the communication column. A row written without it
// (before migration 0009, or since by an older binary) has only a language
// code and the interpreter flag, and reads as it always did: the code in the
// HumanLanguage system, and interpreterRequired whether sent or not.
func (r patientRow) communication() *scheduling.Communication {
	if r.Communication != "" {
		var c scheduling.Communication
		if json.Unmarshal([]byte(r.Communication), &c) == nil {
			return &c
		}
		return nil
	}
	if r.Language == "" {
		return nil
	}
	interp := r.Interpreter
	return &scheduling.Communication{Language: scheduling.Concept{Coding: []scheduling.Coding{{System: gpconnect.SystemHumanLanguage, Code: r.Language}}},
		InterpreterRequired: &interp}
}

// legacyCommunication is what the language and interpreter columns hold for
// c, so that a binary that predates the communication column still reads
// the patient's language: the first language code, and interpreter true
// only when interpreterRequired was sent as true.
func legacyCommunication(c *scheduling.Communication) (language string, interpreter bool) {
	if c == nil {
		return "", false
	}
	for _, cd := range c.Language.Coding {
		if cd.Code != "" {
			language = cd.Code
			break
		}
	}
	return language, c.InterpreterRequired != nil && *c.InterpreterRequired
}

func communicationJSON(c *scheduling.Communication) string {
	if c == nil {
		return ""
	}
	return toJSON(c)
}

func patientArgs(p *scheduling.Patient) []any {
	language, interpreter := legacyCommunication(p.Communication)
	return []any{p.PracticeID, p.NHSNumber, p.Family, joinList(p.Given), joinList(p.Prefix), p.Gender, p.BirthDate,
		toJSON(nonNil(p.Telecoms)), toJSON(nonNil(p.Addresses)), p.Active, p.Sensitive, p.Deceased, p.RegistrationType, p.RegistrationStart,
		p.RegistrationEnd, p.PreferredLocationID, p.GPPractitionerID, language, interpreter, communicationJSON(p.Communication)}
}

var patientInsertCols = []string{"practice_id", "nhs_number", "family", "given", "prefix", "gender", "birth_date", "telecoms", "addresses",
	"active", "sensitive", "deceased", "reg_type", "reg_start", "reg_end", "preferred_location_id", "gp_practitioner_id", "language", "interpreter",
	"communication"}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// PatientByID reads a patient of a practice. Returns ENOTFOUND (kind "patient").
func (s *Store) PatientByID(ctx context.Context, practiceID, id int64) (*scheduling.Patient, error) {
	var r patientRow
	err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+patientCols+` FROM patients WHERE id = ? AND practice_id = ?`), id, practiceID)
	if err != nil {
		return nil, notFound(err, "patient", "no patient with id %d", id)
	}
	return r.domain(), nil
}

// PatientByNHSNumber reads a practice's record for an NHS number. Returns ENOTFOUND (kind "patient").
func (s *Store) PatientByNHSNumber(ctx context.Context, practiceID int64, nhs string) (*scheduling.Patient, error) {
	var r patientRow
	err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT `+patientCols+` FROM patients WHERE practice_id = ? AND nhs_number = ?`), practiceID, nhs)
	if err != nil {
		return nil, notFound(err, "patient", "no patient with that NHS number")
	}
	return r.domain(), nil
}

// SavePatient inserts a patient, or replaces the practice's record for the same NHS number.
func (s *Store) SavePatient(ctx context.Context, p *scheduling.Patient) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur patientRow
		err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT `+patientCols+` FROM patients WHERE practice_id = ? AND nhs_number = ?`), p.PracticeID, p.NHSNumber)
		if err == nil {
			id = cur.ID
			next := *p
			next.ID, next.Version = cur.ID, cur.Version
			if sameJSON(patientArgs(cur.domain()), patientArgs(&next)) {
				return nil
			}
			return updatePatient(ctx, tx, &next)
		}
		if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
			return err
		}
		id, err = insertReturningID(ctx, tx, "patients", p.ID, patientInsertCols, patientArgs(p)...)
		return err
	})
	return id, err
}

func sameJSON(a, b any) bool { return toJSON(a) == toJSON(b) }

func updatePatient(ctx context.Context, tx *sqlx.Tx, p *scheduling.Patient) error {
	args := append(patientArgs(p), p.ID)
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE patients SET practice_id = ?, nhs_number = ?, family = ?, given = ?, prefix = ?, gender = ?,
		birth_date = ?, telecoms = ?, addresses = ?, active = ?, sensitive = ?, deceased = ?, reg_type = ?, reg_start = ?, reg_end = ?,
		preferred_location_id = ?, gp_practitioner_id = ?, language = ?, interpreter = ?, communication = ?, version = version + 1 WHERE id = ?`), args...)
	return err
}

// RegisterTemporary creates a temporary registration, or re-activates an
// inactive record as temporary, in one transaction; audit, when not nil, is
// inserted in that transaction (see audited). Returns EDUPLICATE when the
// patient is already active at the practice, EDEMOGRAPHICS when deceased.
func (s *Store) RegisterTemporary(ctx context.Context, p *scheduling.Patient, audit *scheduling.AuditRecord) (*scheduling.Patient, error) {
	var out *scheduling.Patient
	err := s.inTx(ctx, audited(ctx, audit, func() string { return patientRef(out) }, func(tx *sqlx.Tx) error {
		var cur patientRow
		q := `SELECT ` + patientCols + ` FROM patients WHERE practice_id = ? AND nhs_number = ?`
		if tx.DriverName() != "sqlite" {
			q += ` FOR UPDATE`
		}
		err := tx.GetContext(ctx, &cur, tx.Rebind(q), p.PracticeID, p.NHSNumber)
		switch {
		case err == nil && cur.Deceased != "":
			return scheduling.Errorf(scheduling.EDEMOGRAPHICS, "the patient is recorded as deceased")
		case err == nil && cur.Active:
			return scheduling.Errorf(scheduling.EDUPLICATE, "the patient is already registered at this practice")
		case err == nil:
			next := reactivated(cur.domain(), p)
			if err := updatePatient(ctx, tx, next); err != nil {
				return err
			}
		default:
			if scheduling.ErrorCode(notFound(err, "", "")) != scheduling.ENOTFOUND {
				return err
			}
			next := *p
			next.Active = true
			next.RegistrationType = scheduling.RegTemporary
			id, err := insertReturningID(ctx, tx, "patients", 0, patientInsertCols, patientArgs(&next)...)
			if isUniqueViolation(err) {
				return scheduling.Errorf(scheduling.EDUPLICATE, "the patient is already registered at this practice")
			}
			if err != nil {
				return err
			}
			cur.ID = id
		}
		var r patientRow
		if err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+patientCols+` FROM patients WHERE id = ?`), cur.ID); err != nil {
			return err
		}
		out = r.domain()
		return nil
	}))
	return out, err
}

// reactivated is an inactive record made an active temporary registration
// by reg: what the consumer sent replaces what was held, and what it left
// out (telecoms, addresses, prefix, communication) is kept, as are the
// practice's own links (preferred branch, usual GP) that a consumer cannot
// send; a re-registration must not wipe what the practice knew.
func reactivated(cur, reg *scheduling.Patient) *scheduling.Patient {
	next := *cur
	next.Family, next.Given = reg.Family, reg.Given
	if len(reg.Prefix) > 0 {
		next.Prefix = reg.Prefix
	}
	if reg.Gender != "" {
		next.Gender = reg.Gender
	}
	if reg.BirthDate != "" {
		next.BirthDate = reg.BirthDate
	}
	if len(reg.Telecoms) > 0 {
		next.Telecoms = reg.Telecoms
	}
	if len(reg.Addresses) > 0 {
		next.Addresses = reg.Addresses
	}
	if reg.Communication != nil {
		// The extension sent replaces the one held whole: a sub-extension
		// it leaves out is not kept from an earlier registration.
		next.Communication = reg.Communication
	}
	next.Active = true
	next.RegistrationType = scheduling.RegTemporary
	next.RegistrationStart, next.RegistrationEnd = reg.RegistrationStart, reg.RegistrationEnd
	return &next
}

// patientRef names a patient in the audit trail ("Patient/7").
func patientRef(p *scheduling.Patient) string {
	if p == nil {
		return ""
	}
	return "Patient/" + strconv.FormatInt(p.ID, 10)
}

type pdsRow struct {
	NHSNumber  string `db:"nhs_number"`
	Family     string `db:"family"`
	Given      string `db:"given"`
	Gender     string `db:"gender"`
	BirthDate  string `db:"birth_date"`
	Deceased   string `db:"deceased"`
	Sensitive  bool   `db:"sensitive"`
	Superseded bool   `db:"superseded"`
	Invalid    bool   `db:"invalid"`
}

// PDSLookup returns what the local PDS stand-in holds for an NHS number. Returns ENOTFOUND (kind "pds").
func (s *Store) PDSLookup(ctx context.Context, nhs string) (*scheduling.PDSPerson, error) {
	var r pdsRow
	err := s.r.GetContext(ctx, &r, s.r.Rebind(`SELECT nhs_number, family, given, gender, birth_date, deceased, sensitive, superseded, invalid FROM pds_people WHERE nhs_number = ?`), nhs)
	if err != nil {
		return nil, notFound(err, "pds", "NHS number not on PDS")
	}
	return &scheduling.PDSPerson{NHSNumber: r.NHSNumber, Family: r.Family, Given: splitList(r.Given), Gender: r.Gender, BirthDate: r.BirthDate,
		Deceased: r.Deceased, Sensitive: r.Sensitive, Superseded: r.Superseded, Invalid: r.Invalid}, nil
}

// SavePDSPeople loads PDS stand-in records, replacing any with the same NHS number.
func (s *Store) SavePDSPeople(ctx context.Context, people []scheduling.PDSPerson) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		del := tx.Rebind(`DELETE FROM pds_people WHERE nhs_number = ?`)
		ins := tx.Rebind(`INSERT INTO pds_people (nhs_number, family, given, gender, birth_date, deceased, sensitive, superseded, invalid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		for _, p := range people {
			if _, err := tx.ExecContext(ctx, del, p.NHSNumber); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, ins, p.NHSNumber, p.Family, joinList(p.Given), p.Gender, p.BirthDate, p.Deceased, p.Sensitive, p.Superseded, p.Invalid); err != nil {
				return err
			}
		}
		return nil
	})
}
