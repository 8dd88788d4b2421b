package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// person is someone the PDS stand-in knows.
type person struct {
	NHS    string `db:"nhs_number"`
	Family string `db:"family"`
	Given  string `db:"given"`
	Gender string `db:"gender"`
	Birth  string `db:"birth_date"`
}

// unregistered returns people on PDS who are not registered at any demo
// practice (the test pack's RegisterPatients list), one per call.
type unregistered struct {
	people []person
	next   int
}

func newUnregistered(t testing.TB, a *apptEnv) *unregistered {
	t.Helper()
	var ps []person
	err := a.st.DB().SelectContext(context.Background(), &ps, `SELECT nhs_number, family, given, gender, birth_date FROM pds_people
		WHERE nhs_number NOT IN (SELECT nhs_number FROM patients) AND deceased = '' AND sensitive = FALSE AND superseded = FALSE AND invalid = FALSE
		ORDER BY nhs_number`)
	if err != nil || len(ps) < 40 {
		t.Fatalf("unregistered PDS people: %d, %v", len(ps), err)
	}
	for i := range ps {
		ps[i].Given = firstOfList(ps[i].Given)
	}
	return &unregistered{people: ps}
}

// firstOfList reads the first value of a stored list column (a JSON array).
func firstOfList(col string) string {
	var l []string
	if err := json.Unmarshal([]byte(col), &l); err != nil || len(l) == 0 {
		return col
	}
	return l[0]
}

func (u *unregistered) take(t testing.TB) person {
	if u.next >= len(u.people) {
		t.Fatal("out of unregistered people")
	}
	p := u.people[u.next]
	u.next++
	return p
}

// registerBody is the test pack's default register request (§12.4): NHS
// number, one official name, gender, birth date, a home address and phone,
// plus a temporary address and phone.
func registerBody(p person) *fhir.Parameters {
	pat := &fhir.Patient{ResourceType: "Patient", Meta: &fhir.Meta{Profile: []string{profPatient}},
		Identifier: []fhir.Identifier{{System: sysNHSNumber, Value: p.NHS}},
		Name:       []fhir.HumanName{{Use: "official", Family: p.Family, Given: []string{p.Given}, Prefix: []string{"Mx"}}},
		Gender:     p.Gender, BirthDate: p.Birth,
		Telecom: []fhir.ContactPoint{{System: "phone", Value: "01632 960100", Use: "home"}, {System: "phone", Value: "07700 900100", Use: "temp"},
			{System: "email", Value: "patient@example.org", Use: "home"}},
		Address: []fhir.Address{{Use: "home", Line: []string{"1 Test Street"}, City: "Leeds", PostalCode: "LS1 1AA"},
			{Use: "temp", Line: []string{"2 Holiday Road"}, City: "Whitby", PostalCode: "YO21 1AA"}},
	}
	return &fhir.Parameters{ResourceType: "Parameters", Parameter: []fhir.ParametersParameter{{Name: "registerPatient", Resource: pat}}}
}

func patientOf(b *fhir.Parameters) *fhir.Patient { return b.Parameter[0].Resource.(*fhir.Patient) }

type registerCase struct {
	name string
	// who picks the person (default: the next unregistered one).
	who   func(t *testing.T, a *apptEnv, u *unregistered) person
	edit  func(b *fhir.Parameters)
	setup func(t *testing.T, a *apptEnv, p person, xml bool)
	raw   func(xml bool) ([]byte, string)
	// extra adds a member (JSON) or element (XML) named so to the Patient.
	extra string
	scope string
	want  int
	code  string
	// diag, when set, must be in the error's diagnostics: the refusal is
	// the one the case is about, not another problem of the request.
	diag  string
	check func(t *testing.T, a *apptEnv, p person, pat obj)
}

// demoPerson is a demo patient as PDS knows them.
func demoPerson(nhs string) func(t *testing.T, a *apptEnv, u *unregistered) person {
	return func(t *testing.T, a *apptEnv, u *unregistered) person {
		var p person
		if err := a.st.DB().GetContext(context.Background(), &p, a.st.DB().Rebind(`SELECT nhs_number, family, given, gender, birth_date FROM patients
			WHERE nhs_number = ? LIMIT 1`), nhs); err != nil {
			t.Fatalf("patient %s: %v", nhs, err)
		}
		p.Given = firstOfList(p.Given)
		return p
	}
}

var registerCases = []registerCase{
	{name: "OK/NewTemporaryRegistration", want: 200, check: func(t *testing.T, a *apptEnv, p person, pat obj) {
		var temp bool
		for _, tc := range arr(pat, "telecom") {
			if str(tc, "use") == "temp" {
				temp = true
				if str(tc, "period", "end") == "" {
					t.Errorf("temporary telecom has no end date: %v", tc)
				}
			}
		}
		for _, ad := range arr(pat, "address") {
			if str(ad, "use") == "temp" && str(ad, "period", "end") == "" {
				t.Errorf("temporary address has no end date: %v", ad)
			}
		}
		if !temp {
			t.Errorf("temporary telecom not returned")
		}
	}},
	{name: "OK/GenderFilledFromPDS", edit: func(b *fhir.Parameters) { patientOf(b).Gender = "" }, want: 200,
		check: func(t *testing.T, a *apptEnv, p person, pat obj) {
			if str(pat, "gender") != p.Gender {
				t.Errorf("gender %q, want PDS's %q", str(pat, "gender"), p.Gender)
			}
		}},
	{name: "OK/MinimumData", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Telecom, pat.Address, pat.Gender, pat.Name[0].Prefix = nil, nil, "", nil
	}, want: 200},
	{name: "OK/VerifiedByTwoOfThreeDatePartsAndNames", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		d := mustDate(pat.BirthDate)
		pat.BirthDate = time.Date(d.Year(), d.Month(), d.Day()%28+1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
		pat.Name[0].Family = strings.ToUpper(pat.Name[0].Family[:3]) + "xyz"
		pat.Name[0].Given = []string{pat.Name[0].Given[0][:1] + "zzz"}
	}, want: 200},
	{name: "OK/ReactivatesInactiveRecord", who: demoPerson("9658219748"), want: 200}, // patient21
	// Registered at Northgate only: a temporary registration here lets A20047 book for them.
	{name: "OK/PatientOfAnotherPractice", who: demoPerson("9990000018"), want: 200},

	{name: "ErrSensitive", who: demoPerson("9658220142"), want: 400, code: "INVALID_PATIENT_DEMOGRAPHICS"},
	{name: "ErrDeceased", who: demoPerson("9658220290"), want: 400, code: "INVALID_PATIENT_DEMOGRAPHICS"},
	{name: "ErrSuperseded", who: demoPerson("9658220223"), want: 400, code: "INVALID_NHS_NUMBER"},
	{name: "ErrNotOnPDS", who: func(t *testing.T, a *apptEnv, u *unregistered) person {
		// RG15: patient14's NHS number with made-up demographics.
		return person{NHS: "9476718943", Family: "GPConnectFamilyName", Given: "GPConnectGivenName", Gender: "other", Birth: "2017-05-05"}
	}, want: 400, code: "INVALID_PATIENT_DEMOGRAPHICS"},
	{name: "ErrNotOnPDSAnywhere", who: func(t *testing.T, a *apptEnv, u *unregistered) person {
		return person{NHS: "9999999999", Family: "Nobody", Given: "Anne", Gender: "female", Birth: "1970-01-01"}
	}, want: 400, code: "INVALID_PATIENT_DEMOGRAPHICS"},
	{name: "ErrDemographicsDoNotMatchPDS", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.BirthDate = "1901-01-01"
		pat.Name[0].Family, pat.Name[0].Given = "Different", []string{"Person"}
	}, want: 400, code: "INVALID_PATIENT_DEMOGRAPHICS"},
	// PatientRegister.feature (github ref 111): a family name that does not
	// match PDS is 400 BAD_REQUEST, even with the exact date of birth.
	{name: "ErrFamilyNotMatchingPDS", edit: func(b *fhir.Parameters) {
		patientOf(b).Name[0].Family = "GPConnectFamilyName"
	}, want: 400, code: "BAD_REQUEST"},
	{name: "OK/FamilyCaseDiffersFromPDS", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Name[0].Family = strings.ToLower(pat.Name[0].Family)
	}, want: 200},
	{name: "ErrAlreadyRegistered", who: demoPerson("9658218865"), want: 409, code: "DUPLICATE_REJECTED"}, // patient1
	// PatientRegister.feature registers patient1 under the pack's made-up name
	// (GPConnectGivenName GPConnectFamilyName) and expects the duplicate.
	{name: "ErrAlreadyRegisteredUnderAnotherName", who: demoPerson("9658218865"), edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Name[0].Family, pat.Name[0].Given = "GPConnectFamilyName", []string{"GPConnectGivenName"}
	}, want: 409, code: "DUPLICATE_REJECTED"},
	{name: "ErrRegisteredTwice", setup: func(t *testing.T, a *apptEnv, p person, xml bool) {
		r := a.sendRes(t, http.MethodPost, "Patient/$gpc.registerpatient", iidRegister, scopePatWrite, registerBody(p), xml, nil)
		if r.status != 200 {
			t.Fatalf("first registration: %d %s", r.status, r.body)
		}
	}, want: 409, code: "DUPLICATE_REJECTED"},
	{name: "ErrNHSNumberCheckDigit", edit: func(b *fhir.Parameters) { patientOf(b).Identifier[0].Value = "9658218866" },
		want: 400, code: "INVALID_NHS_NUMBER"},
	{name: "ErrNHSNumberMissing", edit: func(b *fhir.Parameters) { patientOf(b).Identifier = nil }, want: 400, code: "INVALID_NHS_NUMBER"},
	{name: "ErrIdentifierWithoutSystem", edit: func(b *fhir.Parameters) { patientOf(b).Identifier[0].System = "" }, want: 400, code: "BAD_REQUEST"},
	{name: "ErrBirthDateMissing", edit: func(b *fhir.Parameters) { patientOf(b).BirthDate = "" }, want: 400, code: "BAD_REQUEST"},
	{name: "ErrFamilyMissing", edit: func(b *fhir.Parameters) { patientOf(b).Name[0].Family = "" }, want: 400, code: "BAD_REQUEST"},
	{name: "ErrNoOfficialName", edit: func(b *fhir.Parameters) { patientOf(b).Name[0].Use = "usual" }, want: 400, code: "BAD_REQUEST"},
	{name: "ErrTwoOfficialNames", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Name = append(pat.Name, pat.Name[0])
	}, want: 400, code: "BAD_REQUEST"},
	{name: "ErrDuplicateParameter", edit: func(b *fhir.Parameters) { b.Parameter = append(b.Parameter, b.Parameter[0]) },
		want: 400, code: "BAD_REQUEST"},
	{name: "ErrInvalidTelecom", edit: func(b *fhir.Parameters) {
		patientOf(b).Telecom = []fhir.ContactPoint{{System: "phone", Use: "home"}}
	}, want: 400, code: "BAD_REQUEST"},
	{name: "ErrNotAllowedElement/maritalStatus", edit: func(b *fhir.Parameters) {
		patientOf(b).MaritalStatus = &fhir.CodeableConcept{Text: "Married"}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrNotAllowedElement/managingOrganization", edit: func(b *fhir.Parameters) {
		patientOf(b).ManagingOrganization = &fhir.Reference{Reference: "Organization/7"}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrNotAllowedElement/active", edit: func(b *fhir.Parameters) { patientOf(b).Active = ptr(true) }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrNotAllowedElement/deceased", edit: func(b *fhir.Parameters) { patientOf(b).DeceasedBoolean = ptr(false) },
		want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrNotAllowedElement/extension", edit: func(b *fhir.Parameters) {
		patientOf(b).Extension = []fhir.Extension{{URL: extRegDetails}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrTwoHomeAddresses", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Address = append(pat.Address, pat.Address[0])
	}, want: 422, code: "INVALID_RESOURCE"},
	// Telecoms beyond one phone per use and one email are an "invalid
	// telecom": 400 BAD_REQUEST in the test pack (spec 12.4's note).
	{name: "ErrTwoHomePhones", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Telecom = append(pat.Telecom, fhir.ContactPoint{System: "phone", Value: "01632 960199", Use: "home"})
	}, want: 400, code: "BAD_REQUEST"},
	{name: "ErrTwoEmails", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Telecom = append(pat.Telecom, fhir.ContactPoint{System: "email", Value: "a@example.org", Use: "home"},
			fhir.ContactPoint{System: "email", Value: "other@example.org", Use: "work"})
	}, want: 400, code: "BAD_REQUEST"},
	{name: "ErrPhoneUseOld", edit: func(b *fhir.Parameters) {
		patientOf(b).Telecom = []fhir.ContactPoint{{System: "phone", Value: "01632 960199", Use: "old"}}
	}, want: 400, code: "BAD_REQUEST"},
	{name: "OK/EmailWithoutUseIsHome", edit: func(b *fhir.Parameters) {
		patientOf(b).Telecom = []fhir.ContactPoint{{System: "email", Value: "a@example.org"}}
	}, want: 200, check: func(t *testing.T, a *apptEnv, p person, pat obj) {
		for _, tc := range arr(pat, "telecom") {
			if str(tc, "system") == "email" && str(tc, "use") != "home" {
				t.Errorf("email returned with use %q, want home: %v", str(tc, "use"), tc)
			}
		}
	}},
	{name: "OK/EmailUseMobile", edit: func(b *fhir.Parameters) {
		patientOf(b).Telecom = []fhir.ContactPoint{{System: "email", Value: "a@example.org", Use: "mobile"}}
	}, want: 200},
	{name: "ErrEmailUseOld", edit: func(b *fhir.Parameters) {
		patientOf(b).Telecom = []fhir.ContactPoint{{System: "email", Value: "a@example.org", Use: "old"}}
	}, want: 400, code: "BAD_REQUEST", diag: "email address's use"},
	{name: "ErrEmailUseNotACode", edit: func(b *fhir.Parameters) {
		patientOf(b).Telecom = []fhir.ContactPoint{{System: "email", Value: "a@example.org", Use: "personal"}}
	}, want: 400, code: "BAD_REQUEST", diag: "email address's use"},
	{name: "ErrFaxTelecom", edit: func(b *fhir.Parameters) {
		patientOf(b).Telecom = []fhir.ContactPoint{{System: "fax", Value: "01632 960199", Use: "work"}}
	}, want: 400, code: "BAD_REQUEST"},
	{name: "ErrAddressUseWork", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		pat.Address = []fhir.Address{pat.Address[0]}
		pat.Address[0].Use = "work"
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrAddressesHomeAndOld", edit: func(b *fhir.Parameters) {
		pat := patientOf(b)
		old := pat.Address[0]
		old.Use = "old"
		pat.Address = []fhir.Address{pat.Address[0], old}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrNotAllowedElement/communication", edit: func(b *fhir.Parameters) {
		patientOf(b).Communication = []fhir.PatientCommunication{{Language: fhir.CodeableConcept{Text: "English"}}}
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrPatientExtraElement", extra: "madeUpElement", want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrTwoNHSCommunications", edit: func(b *fhir.Parameters) {
		c := fhir.Extension{URL: extNHSComm, Extension: []fhir.Extension{{URL: "language",
			ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-HumanLanguage-1", Code: "en"}}}}}}
		patientOf(b).Extension = []fhir.Extension{c, c}
	}, want: 422, code: "INVALID_RESOURCE"},
	// nhsCommunication (spec §12.4 SHOULD send it; §12.2 populate it): every
	// sub-extension sent is held and returned as sent, in the register
	// response and on read and search (checked by wantComm).
	commKept("OK/NHSCommunicationFull", fullComm()),
	commKept("OK/NHSCommunicationWithoutInterpreterRequired", commWithout(fullComm(), "interpreterRequired")),
	// PatientRegister.feature "Register patient with Address Telecom and
	// nhsCommunication": German, interpreter required; its
	// ValidateNhsCommunicationExtension needs the display back.
	commKept("OK/NHSCommunicationTestPack", commExt(commLanguage("de", "German"), commBool("interpreterRequired", true))),
	commKept("OK/NHSCommunicationLanguageOnly", commExt(commLanguage("cy", "Welsh"))),
	// modeOfCommunication is 0..* in Extension-CareConnect-GPC-NHSCommunication-1.
	commKept("OK/NHSCommunicationTwoModes", commExt(commLanguage("en", "English"),
		commConcept("modeOfCommunication", sysLangMode, "RSP", "Received spoken"),
		commConcept("modeOfCommunication", sysLangMode, "ESP", "Expressed spoken"))),
	// The profile's cardinalities and value types; another sub-extension is
	// refused like any element a registration may not carry.
	commRefused("ErrNHSCommunicationUnknownSubExtension",
		commExt(commLanguage("en", "English"), fhir.Extension{URL: "dialect", ValueString: ptr("Geordie")}),
		`no sub-extension "dialect"`),
	commRefused("ErrNHSCommunicationWithoutLanguage", commExt(commBool("interpreterRequired", true)),
		"needs a language sub-extension"),
	commRefused("ErrNHSCommunicationTwoLanguages", commExt(commLanguage("en", "English"), commLanguage("de", "German")),
		"nhsCommunication.language extension may be sent at most once"),
	commRefused("ErrNHSCommunicationLanguageAsString", commExt(fhir.Extension{URL: "language", ValueString: ptr("en")}),
		"nhsCommunication.language extension must carry valueCodeableConcept only, not valueString"),
	commRefused("ErrNHSCommunicationLanguageWithoutCode",
		commExt(fhir.Extension{URL: "language", ValueCodeableConcept: &fhir.CodeableConcept{Text: "English"}}),
		"nhsCommunication.language extension's valueCodeableConcept needs a coding with a code"),
	commRefused("ErrNHSCommunicationInterpreterRequiredAsString",
		commExt(commLanguage("en", "English"), fhir.Extension{URL: "interpreterRequired", ValueString: ptr("yes")}),
		"nhsCommunication.interpreterRequired extension must carry valueBoolean only, not valueString"),
	commRefused("ErrNHSCommunicationPreferredAsConcept",
		commExt(commLanguage("en", "English"), commConcept("preferred", sysLangMode, "RSP", "Received spoken")),
		"nhsCommunication.preferred extension must carry valueBoolean only, not valueCodeableConcept"),
	commRefused("ErrNHSCommunicationProficiencyAsBoolean",
		commExt(commLanguage("en", "English"), commBool("communicationProficiency", true)),
		"nhsCommunication.communicationProficiency extension must carry valueCodeableConcept only, not valueBoolean"),
	commRefused("ErrNHSCommunicationTwoInterpreterRequired",
		commExt(commLanguage("en", "English"), commBool("interpreterRequired", true), commBool("interpreterRequired", false)),
		"nhsCommunication.interpreterRequired extension may be sent at most once"),
	commRefused("ErrNHSCommunicationTwoPreferred",
		commExt(commLanguage("en", "English"), commBool("preferred", true), commBool("preferred", false)),
		"nhsCommunication.preferred extension may be sent at most once"),
	commRefused("ErrNHSCommunicationTwoProficiencies", commExt(commLanguage("en", "English"),
		commConcept("communicationProficiency", sysLangProficiency, "E", "Excellent"),
		commConcept("communicationProficiency", sysLangProficiency, "G", "Good")),
		"nhsCommunication.communicationProficiency extension may be sent at most once"),
	commRefused("ErrNHSCommunicationSubExtensionWithExtensions",
		commExt(commLanguage("en", "English"), fhir.Extension{URL: "preferred", Extension: []fhir.Extension{commBool("preferred", true)}}),
		"nhsCommunication.preferred extension must carry valueBoolean only, not extension"),
	commRefused("ErrNHSCommunicationWithValue", func() fhir.Extension {
		c := commExt(commLanguage("en", "English"))
		c.ValueString = ptr("English")
		return c
	}(), "has both a value and nested extensions"), // ext-1, refused by the decoder in JSON and XML alike
	{name: "ErrUnknownParameter", edit: func(b *fhir.Parameters) { b.Parameter[0].Name = "registerPerson" }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrParameterWithoutPatient", edit: func(b *fhir.Parameters) { b.Parameter[0].Resource = nil }, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrBodyIsPatient", raw: func(xml bool) ([]byte, string) {
		if xml {
			return []byte(`<Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>`), mediaXMLCT
		}
		return []byte(`{"resourceType":"Patient","gender":"male"}`), mediaJSONCT
	}, want: 422, code: "INVALID_RESOURCE"},
	{name: "ErrReadScope", scope: scopePatRead, want: 400, code: "BAD_REQUEST"},
}

func mustDate(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestRegisterPatient covers §12.4 with JSON and XML bodies on every engine;
// each registered patient is then found, read and booked for. Each format
// gets its own fresh store: the demo patients a case registers (an inactive
// record re-activated, a patient of another practice) are registered once
// per store, so the XML run must not find them already taken by the JSON run.
func TestRegisterPatient(t *testing.T) {
	for _, eng := range storetest.Engines(false) {
		t.Run(eng.Name, func(t *testing.T) {
			t.Parallel()
			formats(t, func(t *testing.T, xml bool) {
				t.Parallel()
				a := newApptEnv(t, eng)
				u := newUnregistered(t, a)
				for _, c := range registerCases {
					t.Run(c.name, func(t *testing.T) {
						var p person
						if c.who != nil {
							p = c.who(t, a, u)
						} else {
							p = u.take(t)
						}
						if c.setup != nil {
							c.setup(t, a, p, xml)
						}
						scope := scopePatWrite
						if c.scope != "" {
							scope = c.scope
						}
						var r *response
						if c.raw != nil {
							body, ct := c.raw(xml)
							r = a.send(t, http.MethodPost, "Patient/$gpc.registerpatient", iidRegister, scope, body, ct, nil)
						} else {
							b := registerBody(p)
							if c.edit != nil {
								c.edit(b)
							}
							if c.extra != "" {
								ct := mediaJSONCT
								if xml {
									ct = mediaXMLCT
								}
								body := encodeBody(t, b, xml)
								old, repl := `"resourceType":"Patient"`, `"resourceType":"Patient","`+c.extra+`":"x"`
								if xml {
									old, repl = `<Patient>`, `<Patient><`+c.extra+` value="x"/>`
								}
								if !bytes.Contains(body, []byte(old)) {
									t.Fatalf("no %s in %s", old, body)
								}
								body = bytes.Replace(body, []byte(old), []byte(repl), 1)
								r = a.send(t, http.MethodPost, "Patient/$gpc.registerpatient", iidRegister, scope, body, ct, nil)
							} else {
								r = a.sendRes(t, http.MethodPost, "Patient/$gpc.registerpatient", iidRegister, scope, b, xml, nil)
							}
						}
						if c.want >= 400 {
							if d := wantOutcome(t, r, c.want, c.code); !strings.Contains(d, c.diag) {
								t.Errorf("diagnostics %q, want them to contain %q", d, c.diag)
							}
							return
						}
						b := wantOK(t, r, "Bundle")
						if str(b, "type") != "searchset" {
							t.Errorf("Bundle.type = %q", str(b, "type"))
						}
						wantProfileOnly(t, b, profSearchset)
						es := entries(b)
						if len(es) != 1 || str(es[0], "resourceType") != "Patient" {
							t.Fatalf("want one Patient: %s", r.body)
						}
						pat := es[0]
						wantProfile(t, pat, profPatient)
						if str(pat, "identifier", 0, "system") != sysNHSNumber || str(pat, "identifier", 0, "value") != p.NHS {
							t.Errorf("identifier %v, want NHS number %s", at(pat, "identifier"), p.NHS)
						}
						official := 0
						for _, n := range arr(pat, "name") {
							if str(n, "use") == "official" {
								official++
							}
						}
						if official != 1 {
							t.Errorf("%d official names, want 1", official)
						}
						reg := extension(pat, extRegDetails)
						var regType bool
						for _, x := range arr(reg, "extension") {
							switch str(x, "url") {
							case "registrationType":
								regType = str(x, "valueCodeableConcept", "coding", 0, "code") != "" || str(x, "valueCodeableConcept", "text") != ""
							case "registrationStatus":
								t.Errorf("register response carries registrationStatus")
							}
						}
						if !regType {
							t.Errorf("registrationDetails.registrationType missing: %v", reg)
						}
						if c.check != nil {
							c.check(t, a, p, pat)
						}
						// The patient is now found by NHS number, and can be booked for.
						find := a.get(t, "Patient?identifier="+sysNHSNumber+"%7C"+p.NHS, iidFindPatient, scopePatRead)
						if fb := wantOK(t, find, "Bundle"); len(entries(fb)) != 1 || str(entries(fb)[0], "id") != str(pat, "id") {
							t.Errorf("find after register: %s", find.body)
						}
						var pid int64
						fmt.Sscan(str(pat, "id"), &pid)
						slots := openSlot(t, a)
						br := a.book(t, newBooking(pid, slots...), xml, nil)
						wantAppointment(t, br, 201, slots, pid)
					})
				}
			})
		})
	}
}

// wantProfileOnly checks meta.profile contains p (no versionId needed).
func wantProfileOnly(t *testing.T, res obj, p string) {
	t.Helper()
	for _, x := range arr(res, "meta", "profile") {
		if x == p {
			return
		}
	}
	t.Errorf("meta.profile = %v, want %s", at(res, "meta", "profile"), p)
}

// TestRegisterPreferMinimal: Prefer: return=minimal on a registration
// (spec §2.1: honoured on every POST) answers 200 with no body, and the
// patient is registered all the same.
func TestRegisterPreferMinimal(t *testing.T) {
	a := newApptEnv(t, storetest.Engines(false)[0])
	p := newUnregistered(t, a).take(t)
	r := a.sendRes(t, http.MethodPost, "Patient/$gpc.registerpatient", iidRegister, scopePatWrite, registerBody(p), false,
		map[string]string{"Prefer": "return=minimal"})
	if r.status != 200 || len(r.body) != 0 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, %d body bytes, Cache-Control %q; want 200, empty, no-store", r.status, len(r.body), r.header.Get("Cache-Control"))
	}
	found := a.send(t, http.MethodGet, "Patient?identifier="+url.QueryEscape(sysNHSNumber+"|"+p.NHS), iidFindPatient, scopePatRead, nil, "", nil)
	if found.status != 200 || !bytes.Contains(found.body, []byte(p.NHS)) {
		t.Fatalf("the patient was not registered: %d %s", found.status, found.body)
	}
}

// Code systems of the NHSCommunication sub-extensions, as the test pack sends them.
const (
	sysHumanLanguage   = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-HumanLanguage-1"
	sysLangMode        = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-LanguageAbilityMode-1"
	sysLangProficiency = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-LanguageAbilityProficiency-1"
)

func commExt(subs ...fhir.Extension) fhir.Extension {
	return fhir.Extension{URL: extNHSComm, Extension: subs}
}

func commConcept(url, system, code, display string) fhir.Extension {
	return fhir.Extension{URL: url, ValueCodeableConcept: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: system, Code: code, Display: display}}}}
}

func commLanguage(code, display string) fhir.Extension {
	return commConcept("language", sysHumanLanguage, code, display)
}

func commBool(url string, v bool) fhir.Extension { return fhir.Extension{URL: url, ValueBoolean: &v} }

// fullComm carries every sub-extension of Extension-CareConnect-GPC-NHSCommunication-1,
// the interpreterRequired first so that the check does not lean on the order sent.
func fullComm() fhir.Extension {
	return commExt(commBool("interpreterRequired", false), commLanguage("en", "English"), commBool("preferred", true),
		commConcept("modeOfCommunication", sysLangMode, "RSP", "Received spoken"),
		commConcept("communicationProficiency", sysLangProficiency, "E", "Excellent"))
}

// commKept is a registration sending c, which must come back as sent.
func commKept(name string, c fhir.Extension) registerCase {
	return registerCase{name: name, edit: withComm(c), want: 200, check: wantComm(c)}
}

// commRefused is a registration sending c, refused with 422
// INVALID_RESOURCE naming the problem (diag).
func commRefused(name string, c fhir.Extension, diag string) registerCase {
	return registerCase{name: name, edit: withComm(c), want: 422, code: "INVALID_RESOURCE", diag: diag}
}

// commWithout is c without its sub-extensions named url.
func commWithout(c fhir.Extension, url string) fhir.Extension {
	var keep []fhir.Extension
	for _, s := range c.Extension {
		if s.URL != url {
			keep = append(keep, s)
		}
	}
	c.Extension = keep
	return c
}

func withComm(c fhir.Extension) func(b *fhir.Parameters) {
	return func(b *fhir.Parameters) { patientOf(b).Extension = []fhir.Extension{c} }
}

// commByURL groups an NHSCommunication extension's sub-extensions by url,
// keeping the order of those sharing one; it fails on members besides url
// and extension.
func commByURL(t *testing.T, x any) map[string][]any {
	t.Helper()
	for k := range x.(map[string]any) {
		if k != "url" && k != "extension" {
			t.Errorf("nhsCommunication has %q: %v", k, x)
		}
	}
	out := map[string][]any{}
	for _, s := range arr(x, "extension") {
		out[str(s, "url")] = append(out[str(s, "url")], s)
	}
	return out
}

// wantComm checks that the registered patient carries want as its one
// nhsCommunication extension (sub-extensions in any order, each exactly as
// sent) in the register response, and then on read and on search.
func wantComm(want fhir.Extension) func(t *testing.T, a *apptEnv, p person, pat obj) {
	return func(t *testing.T, a *apptEnv, p person, pat obj) {
		t.Helper()
		raw, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var w obj
		if err := json.Unmarshal(raw, &w); err != nil {
			t.Fatal(err)
		}
		wantSubs := commByURL(t, w)
		check := func(where string, res obj) {
			t.Helper()
			n := 0
			for _, x := range arr(res, "extension") {
				if str(x, "url") == extNHSComm {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%s: %d nhsCommunication extensions, want 1: %v", where, n, at(res, "extension"))
			}
			if got := commByURL(t, extension(res, extNHSComm)); !reflect.DeepEqual(got, wantSubs) {
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(wantSubs)
				t.Errorf("%s: nhsCommunication sub-extensions\n got %s\nwant %s", where, gj, wj)
			}
		}
		check("register response", pat)
		check("read", wantOK(t, a.get(t, "Patient/"+str(pat, "id"), iidReadPatient, scopePatRead), "Patient"))
		found := wantOK(t, a.get(t, "Patient?identifier="+sysNHSNumber+"%7C"+p.NHS, iidFindPatient, scopePatRead), "Bundle")
		if es := entries(found); len(es) != 1 {
			t.Fatalf("search: %d entries, want 1", len(es))
		} else {
			check("search", es[0])
		}
	}
}
