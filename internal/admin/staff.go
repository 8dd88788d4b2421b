package admin

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// A practice's clinicians (practitioners) and locations: what its templates
// and sessions name, and what the slot search and appointments show. They
// are added and corrected here, and never deleted: past sessions and
// appointments keep naming them.

// Practitioner is a clinician as the admin API shows it.
type Practitioner struct {
	ID int64 `json:"id"`
	// SDSUserID is the clinician's SDS user id (Practitioner.identifier, spec §8).
	SDSUserID      string   `json:"sds_user_id"`
	Family         string   `json:"family"`
	Given          []string `json:"given"`
	Prefix         []string `json:"prefix"`
	Gender         string   `json:"gender"`
	RoleProfileIDs []string `json:"role_profile_ids"`
	Version        int64    `json:"version"`
}

// PractitionerInput adds or corrects a clinician; nil fields are left as
// they are (on create sds_user_id and family are required).
type PractitionerInput struct {
	SDSUserID      *string   `json:"sds_user_id"`
	Family         *string   `json:"family"`
	Given          *[]string `json:"given"`
	Prefix         *[]string `json:"prefix"`
	Gender         *string   `json:"gender"`
	RoleProfileIDs *[]string `json:"role_profile_ids"`
	// Version, when set, must be the practitioner's current version (optimistic update).
	Version *int64 `json:"version"`
}

// Location is a practice site as the admin API shows it.
type Location struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// SiteCode is the ODS site code (Location.identifier), if any.
	SiteCode string             `json:"site_code"`
	Phone    string             `json:"phone"`
	Address  scheduling.Address `json:"address"`
	Version  int64              `json:"version"`
}

// LocationInput adds or corrects a location; nil fields are left as they
// are (on create name is required). An address given replaces the old one.
type LocationInput struct {
	Name     *string             `json:"name"`
	SiteCode *string             `json:"site_code"`
	Phone    *string             `json:"phone"`
	Address  *scheduling.Address `json:"address"`
	// Version, when set, must be the location's current version (optimistic update).
	Version *int64 `json:"version"`
}

var (
	// SDS user ids and role profile ids are letters and digits (the test
	// pack's are like G13579135 and PT1234).
	sdsRe   = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)
	phoneRe = regexp.MustCompile(`^\+?[0-9][0-9 ()-]{2,29}$`)
	genders = []string{"", "male", "female", "other", "unknown"}
)

// listProblems checks a list of names: at most n entries, none blank or longer than max.
func listProblems(what string, l []string, n, max int) []string {
	if len(l) > n {
		return []string{fmt.Sprintf("%s has %d entries; at most %d are allowed", what, len(l), n)}
	}
	fields := make([]textField, len(l))
	for i, v := range l {
		fields[i] = textField{what: fmt.Sprintf("%s[%d]", what, i), v: v, max: max, required: true}
	}
	return textProblems(fields...)
}

// trimAll trims each entry of a list.
func trimAll(l []string) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

// applyPractitioner applies the input to p and checks every rule.
func applyPractitioner(p *scheduling.Practitioner, in PractitionerInput) error {
	if in.SDSUserID != nil {
		p.SDSUserID = strings.TrimSpace(*in.SDSUserID)
	}
	if in.Family != nil {
		p.Family = strings.TrimSpace(*in.Family)
	}
	if in.Given != nil {
		p.Given = trimAll(*in.Given)
	}
	if in.Prefix != nil {
		p.Prefix = trimAll(*in.Prefix)
	}
	if in.Gender != nil {
		p.Gender = strings.ToLower(strings.TrimSpace(*in.Gender))
	}
	if in.RoleProfileIDs != nil {
		p.RoleProfileIDs = trimAll(*in.RoleProfileIDs)
	}
	probs := textProblems(textField{what: "family", v: p.Family, max: 100, required: true})
	switch {
	case p.SDSUserID == "":
		probs = append(probs, "sds_user_id is required: the clinician's SDS user id")
	case !sdsRe.MatchString(p.SDSUserID):
		probs = append(probs, fmt.Sprintf("sds_user_id %q: an SDS user id is 1 to 64 letters and digits", clip(p.SDSUserID, 40)))
	}
	probs = append(probs, listProblems("given", p.Given, 5, 100)...)
	probs = append(probs, listProblems("prefix", p.Prefix, 5, 40)...)
	if !slices.Contains(genders, p.Gender) {
		probs = append(probs, fmt.Sprintf("gender %q is not male, female, other or unknown", clip(p.Gender, 20)))
	}
	if len(p.RoleProfileIDs) > 20 {
		probs = append(probs, fmt.Sprintf("role_profile_ids has %d entries; at most 20 are allowed", len(p.RoleProfileIDs)))
	} else {
		for i, r := range p.RoleProfileIDs {
			switch {
			case !sdsRe.MatchString(r):
				probs = append(probs, fmt.Sprintf("role profile id %q: not 1 to 64 letters and digits", clip(r, 40)))
			case in.RoleProfileIDs != nil && slices.Contains(p.RoleProfileIDs[:i], r): // judged when given, not in a stored list
				probs = append(probs, fmt.Sprintf("role profile id %q is given twice", clip(r, 40)))
			}
		}
	}
	if len(probs) > 0 {
		return invalid("%s", strings.Join(probs, "; "))
	}
	return nil
}

// applyLocation applies the input to l and checks every rule.
func applyLocation(l *scheduling.Location, in LocationInput) error {
	if in.Name != nil {
		l.Name = strings.TrimSpace(*in.Name)
	}
	if in.SiteCode != nil {
		l.SiteCode = strings.ToUpper(strings.TrimSpace(*in.SiteCode))
	}
	if in.Phone != nil {
		l.Phone = strings.TrimSpace(*in.Phone)
	}
	if in.Address != nil {
		a := *in.Address
		a.Lines = trimAll(a.Lines)
		a.Use, a.City, a.District, a.PostalCode, a.Country = strings.TrimSpace(a.Use), strings.TrimSpace(a.City),
			strings.TrimSpace(a.District), strings.ToUpper(strings.TrimSpace(a.PostalCode)), strings.TrimSpace(a.Country)
		a.End = "" // a temporary patient's; a site's address has none
		l.Address = a
	}
	a := l.Address
	probs := textProblems(textField{what: "name", v: l.Name, max: 100, required: true}, textField{what: "address.city", v: a.City, max: 100},
		textField{what: "address.district", v: a.District, max: 100}, textField{what: "address.country", v: a.Country, max: 100},
		textField{what: "address.postalCode", v: a.PostalCode, max: 10})
	probs = append(probs, listProblems("address.lines", a.Lines, 5, 100)...)
	if !slices.Contains([]string{"", "work", "temp", "old"}, a.Use) {
		probs = append(probs, fmt.Sprintf("address.use %q is not work, temp or old", clip(a.Use, 20)))
	}
	if l.SiteCode != "" && !odsRe.MatchString(l.SiteCode) { // a site code is written as an ODS code
		probs = append(probs, fmt.Sprintf("site_code %q: not an ODS site code (3 to 10 letters and digits)", clip(l.SiteCode, 20)))
	}
	if l.Phone != "" && !phoneRe.MatchString(l.Phone) {
		probs = append(probs, fmt.Sprintf("phone %q: not a telephone number (digits, spaces, brackets and dashes, an optional leading +)", clip(l.Phone, 40)))
	}
	if len(probs) > 0 {
		return invalid("%s", strings.Join(probs, "; "))
	}
	return nil
}

func toPractitioner(p *scheduling.Practitioner) Practitioner {
	return Practitioner{ID: p.ID, SDSUserID: p.SDSUserID, Family: p.Family, Given: nonNil(p.Given), Prefix: nonNil(p.Prefix),
		Gender: p.Gender, RoleProfileIDs: nonNil(p.RoleProfileIDs), Version: p.Version}
}

func toLocation(l *scheduling.Location) Location {
	return Location{ID: l.ID, Name: l.Name, SiteCode: l.SiteCode, Phone: l.Phone, Address: l.Address, Version: l.Version}
}

// Practitioners lists a practice's clinicians by id.
func (s *Service) Practitioners(ctx context.Context, a Actor, ods string) ([]Practitioner, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	ps, err := s.st.Practitioners(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Practitioner, len(ps))
	for i, p := range ps {
		out[i] = toPractitioner(p)
	}
	return out, nil
}

// Practitioner reads one clinician. Returns ENOTFOUND.
func (s *Service) Practitioner(ctx context.Context, a Actor, ods string, id int64) (Practitioner, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Practitioner{}, err
	}
	p, err := s.st.PractitionerByID(ctx, org.ID, id)
	if err != nil {
		return Practitioner{}, err
	}
	return toPractitioner(p), nil
}

// CreatePractitioner adds a clinician, who can then be named by templates
// and sessions. Errors: EINVALID, EDUPLICATE (the SDS user id is taken).
func (s *Service) CreatePractitioner(ctx context.Context, a Actor, ods string, in PractitionerInput) (Practitioner, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Practitioner{}, err
	}
	p := &scheduling.Practitioner{PracticeID: org.ID}
	if err := applyPractitioner(p, in); err != nil {
		return Practitioner{}, err
	}
	var out Practitioner
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		id, err := tx.InsertPractitioner(p)
		if err != nil {
			return nil, err
		}
		cur, err := tx.Practitioner(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toPractitioner(cur)
		return s.record(org, a, "practitioner.create", fmt.Sprintf("practitioner/%d", id), nil, out), nil
	})
	return out, err
}

// UpdatePractitioner corrects a clinician; their sessions, slots and
// appointments show the change at once, since they refer to them by id.
// Errors: ENOTFOUND, EINVALID, ESTALE, EDUPLICATE.
func (s *Service) UpdatePractitioner(ctx context.Context, a Actor, ods string, id int64, in PractitionerInput) (Practitioner, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Practitioner{}, err
	}
	var out Practitioner
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		cur, err := tx.Practitioner(org.ID, id)
		if err != nil {
			return nil, err
		}
		if in.Version != nil && *in.Version != cur.Version {
			return nil, scheduling.Errorf(scheduling.ESTALE, "practitioner %d is at version %d, not %d; read it again", id, cur.Version, *in.Version)
		}
		next := *cur
		if err := applyPractitioner(&next, in); err != nil {
			return nil, err
		}
		before := toPractitioner(cur)
		if jsonOrEmpty(toPractitioner(&next)) == jsonOrEmpty(before) {
			out = before
			return nil, nil
		}
		if err := tx.UpdatePractitioner(&next); err != nil {
			return nil, err
		}
		now, err := tx.Practitioner(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toPractitioner(now)
		return s.record(org, a, "practitioner.update", fmt.Sprintf("practitioner/%d", id), before, out), nil
	})
	return out, err
}

// Locations lists a practice's locations by id.
func (s *Service) Locations(ctx context.Context, a Actor, ods string) ([]Location, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return nil, err
	}
	ls, err := s.st.Locations(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Location, len(ls))
	for i, l := range ls {
		out[i] = toLocation(l)
	}
	return out, nil
}

// Location reads one location. Returns ENOTFOUND.
func (s *Service) Location(ctx context.Context, a Actor, ods string, id int64) (Location, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Location{}, err
	}
	l, err := s.st.LocationByID(ctx, org.ID, id)
	if err != nil {
		return Location{}, err
	}
	return toLocation(l), nil
}

// CreateLocation adds a site, which templates and sessions can then name. Errors: EINVALID.
func (s *Service) CreateLocation(ctx context.Context, a Actor, ods string, in LocationInput) (Location, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Location{}, err
	}
	l := &scheduling.Location{PracticeID: org.ID}
	if err := applyLocation(l, in); err != nil {
		return Location{}, err
	}
	var out Location
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		id, err := tx.InsertLocation(l)
		if err != nil {
			return nil, err
		}
		cur, err := tx.Location(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toLocation(cur)
		return s.record(org, a, "location.create", fmt.Sprintf("location/%d", id), nil, out), nil
	})
	return out, err
}

// UpdateLocation corrects a site's name, site code, phone or address; its
// sessions and appointments show the change at once. Errors: ENOTFOUND,
// EINVALID, ESTALE.
func (s *Service) UpdateLocation(ctx context.Context, a Actor, ods string, id int64, in LocationInput) (Location, error) {
	org, err := s.practice(ctx, a, ods)
	if err != nil {
		return Location{}, err
	}
	var out Location
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		cur, err := tx.Location(org.ID, id)
		if err != nil {
			return nil, err
		}
		if in.Version != nil && *in.Version != cur.Version {
			return nil, scheduling.Errorf(scheduling.ESTALE, "location %d is at version %d, not %d; read it again", id, cur.Version, *in.Version)
		}
		next := *cur
		if err := applyLocation(&next, in); err != nil {
			return nil, err
		}
		before := toLocation(cur)
		if jsonOrEmpty(toLocation(&next)) == jsonOrEmpty(before) {
			out = before
			return nil, nil
		}
		if err := tx.UpdateLocation(&next); err != nil {
			return nil, err
		}
		now, err := tx.Location(org.ID, id)
		if err != nil {
			return nil, err
		}
		out = toLocation(now)
		return s.record(org, a, "location.update", fmt.Sprintf("location/%d", id), before, out), nil
	})
	return out, err
}

// PracticeInput adds a practice (an operator's act: a practice admin token
// cannot, since it belongs to one practice).
type PracticeInput struct {
	ODS     string             `json:"ods"`
	Name    string             `json:"name"`
	ASID    string             `json:"asid"`
	Phone   string             `json:"phone"`
	Address scheduling.Address `json:"address"`
}

// asidRe is a Spine ASID: 12 digits as issued (the test pack's are 918999198993 and the like).
var asidRe = regexp.MustCompile(`^[0-9]{12}$`)

// CreatePractice adds a practice with GP Connect and Appointment Management
// switched off: its admins add locations, clinicians, profiles and
// templates, and enable it when it is ready. Errors: EFORBIDDEN (a practice's
// token), EINVALID, EDUPLICATE (the ODS code exists).
func (s *Service) CreatePractice(ctx context.Context, a Actor, in PracticeInput) (Practice, error) {
	if a.PracticeID != 0 {
		return Practice{}, scheduling.Errorf(scheduling.EFORBIDDEN, "a practice's admin token cannot add practices")
	}
	o := &scheduling.Organisation{ODS: strings.ToUpper(strings.TrimSpace(in.ODS)), Name: strings.TrimSpace(in.Name),
		ASID: strings.TrimSpace(in.ASID), Phone: strings.TrimSpace(in.Phone), Kind: scheduling.KindPractice}
	var probs []string
	if !odsRe.MatchString(o.ODS) {
		probs = append(probs, fmt.Sprintf("ODS code %q: not valid (3 to 10 letters and digits)", clip(o.ODS, 20)))
	}
	switch {
	case o.ASID == "":
		probs = append(probs, "asid is required: the practice's Spine ASID, which consumers send as Ssp-To")
	case !asidRe.MatchString(o.ASID):
		probs = append(probs, fmt.Sprintf("asid %q: a Spine ASID is 12 digits", clip(o.ASID, 20)))
	}
	// Name, phone and address are checked as a location's are.
	site := &scheduling.Location{Name: o.Name}
	if err := applyLocation(site, LocationInput{Address: &in.Address, Phone: &o.Phone}); err != nil {
		probs = append(probs, scheduling.ErrorMessage(err))
	}
	if len(probs) > 0 {
		return Practice{}, invalid("%s", strings.Join(probs, "; "))
	}
	o.Address = site.Address
	// One ASID, one practice: consumers address a practice by it (Ssp-To),
	// and a typo copying another's would send its traffic here.
	orgs, err := s.st.Organisations(ctx)
	if err != nil {
		return Practice{}, err
	}
	for _, other := range orgs {
		if other.ASID == o.ASID && other.ODS != o.ODS {
			return Practice{}, scheduling.Errorf(scheduling.EDUPLICATE, "ASID %s is %s's already", o.ASID, other.ODS)
		}
	}
	var out Practice
	err = s.st.AdminChange(ctx, func(tx *store.AdminTx) (*scheduling.AdminAuditRecord, error) {
		if _, err := tx.InsertPractice(o); err != nil {
			return nil, err
		}
		cur, err := tx.Organisation(o.ODS)
		if err != nil {
			return nil, err
		}
		out = toPractice(cur, s.Supplier)
		return s.record(cur, a, "practice.create", "practice/"+cur.ODS, nil, out), nil
	})
	return out, err
}

// Practices lists every practice (an operator's view). Errors: EFORBIDDEN (a practice's token).
func (s *Service) Practices(ctx context.Context, a Actor) ([]Practice, error) {
	if a.PracticeID != 0 {
		return nil, scheduling.Errorf(scheduling.EFORBIDDEN, "a practice's admin token cannot list other practices")
	}
	orgs, err := s.st.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	out := []Practice{}
	for _, o := range orgs {
		if o.IsPractice() {
			out = append(out, toPractice(o, s.Supplier))
		}
	}
	return out, nil
}

// ImportPDS loads people into the local PDS stand-in, which patient
// registration (spec §12.4) checks demographics against, replacing those
// with the same NHS number; it returns how many. An operator's act, for a
// deployment without a connection to the real PDS. Errors: EFORBIDDEN (a
// practice's token).
func (s *Service) ImportPDS(ctx context.Context, a Actor, people []scheduling.PDSPerson) (int, error) {
	if a.PracticeID != 0 {
		return 0, scheduling.Errorf(scheduling.EFORBIDDEN, "a practice's admin token cannot load PDS records")
	}
	if err := s.st.SavePDSPeople(ctx, people); err != nil {
		return 0, err
	}
	return len(people), nil
}
