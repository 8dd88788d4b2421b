package demo

import (
	"fmt"
	"time"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// The identifiers of A20047 (organisation 7, locations 1/8/3, the three
// practitioners and patients 1-21) are the ones the provider test pack's
// CSV maps name; see spec/testpack-data.md. Everything else is invented.
// Phone numbers are in Ofcom's drama range (01632 960xxx).

// Practice ODS codes and ASIDs.
const (
	odsLegg      = "A20047" // Dr Legg's Surgery: the test pack's ORG1
	odsNorthgate = "B82005"
	odsCastle    = "C81001"
	odsWestbrook = "D81001" // GP Connect switched off
	odsGPC       = "GPC001"

	sdsGilbert = "G13579135"
	sdsParsons = "G11111116"
	sdsSlater  = "G22345655"
	sdsNurse   = "G22222226"
)

// Delivery channels, GP Connect organisation types and practitioner roles.
const (
	inPerson  = "In-person"
	telephone = "Telephone"
	video     = "Video"

	urgentCare = "urgent-care"
	gpPractice = "gp-practice"

	roleGP    = "R0260" // General Medical Practitioner
	roleNurse = "R0620" // Staff Nurse
	roleHCA   = "R1480" // Healthcare Assistant
)

// Access profile names (the natural key within a practice).
const (
	profOpen        = "open"
	profNotBookable = "not-bookable"
	profUrgentCare  = "urgent-care"
	profOwnPractice = "own-practice"
	profUCAndGP     = "urgent-care-and-practice"
	profEmbargoed   = "embargoed-same-day"
)

var (
	everyDay = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}
	weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
)

var organisations = []scheduling.Organisation{
	{ID: 1, ODS: odsGPC, Name: "GP Connect Demonstrator", Kind: scheduling.KindOther},
	{ID: 2, ODS: "R1A14", Name: "Test GP Care Trust", Kind: scheduling.KindOther},
	{ID: 3, ODS: "R1A17", Name: "Test GP Second Care Trust", Kind: scheduling.KindOther},
	{ID: 7, ODS: odsLegg, Name: "Dr Legg's Surgery", Kind: scheduling.KindPractice, ASID: "918999198993", Phone: "01632 960000",
		Address: scheduling.Address{Use: "work", Lines: []string{"14 Market Street"}, City: "Leeds", District: "West Yorkshire", PostalCode: "LS1 6DT"},
		// Service filtering on (1.2.8), with the two services the test pack's
		// HealthcareRead expects as HealthcareService/1 and /2.
		GPConnectEnabled: true, AppointmentsEnabled: true, ServiceFiltering: true},
	{ID: 11, ODS: odsNorthgate, Name: "Northgate Medical Centre", Kind: scheduling.KindPractice, ASID: "918999198994", Phone: "01632 960010",
		Address:          scheduling.Address{Use: "work", Lines: []string{"1 Northgate"}, City: "Wakefield", District: "West Yorkshire", PostalCode: "WF1 3AP"},
		GPConnectEnabled: true, AppointmentsEnabled: true},
	{ID: 12, ODS: odsCastle, Name: "Castle Hill Practice", Kind: scheduling.KindPractice, ASID: "918999198995", Phone: "01632 960020",
		Address:          scheduling.Address{Use: "work", Lines: []string{"3 Castlegate"}, City: "Huddersfield", District: "West Yorkshire", PostalCode: "HD1 2PL"},
		GPConnectEnabled: true, AppointmentsEnabled: true},
	// Both switches off: every GP Connect call to this practice is refused
	// (403 ACCESS_DENIED), which shows the enablement path.
	{ID: 13, ODS: odsWestbrook, Name: "Westbrook Surgery", Kind: scheduling.KindPractice, ASID: "918999198996", Phone: "01632 960030",
		Address: scheduling.Address{Use: "work", Lines: []string{"40 Westgate"}, City: "Bradford", District: "West Yorkshire", PostalCode: "BD1 2QR"}},
}

// practice is everything a practice holds apart from its patients.
type practice struct {
	ods           string
	locations     []scheduling.Location
	practitioners []scheduling.Practitioner
	profiles      []scheduling.AccessProfile
	services      []scheduling.HealthcareService
	sessions      []session
}

// session is a weekly session pattern, made into one template per weekday.
type session struct {
	name        string // the template name is "<Mon> <name>"
	days        []time.Weekday
	start, end  string
	slotMinutes int
	location    int64
	sds         string // "" for a session with no named clinician
	role        string
	category    string
	serviceType string
	channels    []string
	profile     string
	service     string // DOS id of the linked service, "" for none
}

// site builds an active location. Status is spelt out: the store inserts ""
// as "active" but compares the raw value on the next save.
func site(id int64, name, code, line, city, postcode, phone string) scheduling.Location {
	return scheduling.Location{ID: id, Name: name, SiteCode: code, Phone: phone, Status: "active",
		Address: scheduling.Address{Use: "work", Lines: []string{name, line}, City: city, District: "West Yorkshire", PostalCode: postcode}}
}

// openProfiles are the profiles every demo practice has.
var openProfiles = []scheduling.AccessProfile{
	{Name: profOpen, Bookable: true},
	{Name: profNotBookable},
	{Name: profUrgentCare, Bookable: true, OrgTypes: []string{urgentCare}},
}

// DOS ids of the demo practice's healthcare services.
const (
	dosExtendedAccess = "2000041001"
	dosSameDay        = "2000041002"
)

// Schedule types (service category) and slot types (service type).
const (
	catGP     = "General GP Appointments"
	typeGP    = "General GP Appointment"
	catNurse  = "Practice Nurse Appointments"
	typeNurse = "Practice Nurse Appointment"
)

var practices = []practice{
	{
		ods: odsLegg,
		locations: []scheduling.Location{
			site(1, "Building A", "Z26556", "14 Market Street", "Leeds", "LS1 6DT", "01632 960001"),
			site(8, "Building 8", "Z33432", "22 Kirkgate", "Leeds", "LS2 7DJ", "01632 960008"),
			site(3, "Building C", "Z33433", "5 Briggate", "Leeds", "LS1 6HD", "01632 960003"),
		},
		practitioners: []scheduling.Practitioner{
			{ID: 1, SDSUserID: sdsGilbert, Family: "Gilbert", Given: []string{"Nichole"}, Prefix: []string{"Miss"}, Gender: "female"},
			{ID: 2, SDSUserID: sdsSlater, RoleProfileIDs: []string{"PT1122", "PT1234"}, Family: "Slater", Given: []string{"Kibo"}, Prefix: []string{"Mr"}, Gender: "male"},
			{ID: 3, SDSUserID: sdsParsons, RoleProfileIDs: []string{"PT1234"}, Family: "Parsons", Given: []string{"Melissa"}, Prefix: []string{"Mrs"}, Gender: "female"},
			// The test pack's practitioner5 (one role profile id; unused by current scenarios).
			{ID: 4, SDSUserID: sdsNurse, RoleProfileIDs: []string{"PT3333"}, Family: "Ashworth", Given: []string{"Helen"}, Prefix: []string{"Ms"}, Gender: "female"},
		},
		// No caps, windows or embargoes on the profiles most sessions use, so a
		// full test-pack run (about 150 bookings) is never starved.
		profiles: append(append([]scheduling.AccessProfile{}, openProfiles...),
			scheduling.AccessProfile{Name: profOwnPractice, Bookable: true, ODSCodes: []string{odsLegg}},
			scheduling.AccessProfile{Name: profUCAndGP, Bookable: true, OrgTypes: []string{urgentCare, gpPractice},
				ODSCodes: []string{odsLegg, "B81016", "M85015", "RNR01"}},
			scheduling.AccessProfile{Name: profEmbargoed, Bookable: true, Embargo: 2 * time.Hour},
		),
		services: []scheduling.HealthcareService{
			// The test pack's 1.2.8 data: HEALTHCARE1 has no session linked
			// (a search naming it finds no Schedule), HEALTHCARE2 has some.
			{ID: 1, DOSID: dosExtendedAccess, Name: "Dr Legg's Surgery extended access"},
			{ID: 2, DOSID: dosSameDay, Name: "Dr Legg's Surgery same-day and urgent care"},
		},
		// Every day of the week, as the test pack may run at a weekend. Per day:
		// 105 slots, 101 offered to urgent care searching as A20047, 56 to anyone.
		sessions: []session{
			// The first 40 minutes are held back from GP Connect, as in the reference demonstrator.
			{name: "GP morning (held)", days: everyDay, start: "09:00", end: "09:40", slotMinutes: 10, location: 1, sds: sdsGilbert,
				role: roleGP, category: catGP, serviceType: typeGP, channels: []string{inPerson, telephone}, profile: profNotBookable},
			{name: "GP morning", days: everyDay, start: "09:40", end: "12:00", slotMinutes: 10, location: 1, sds: sdsGilbert,
				role: roleGP, category: catGP, serviceType: typeGP, channels: []string{inPerson, telephone}, profile: profOpen},
			// Linked to HEALTHCARE2 too, so that a consumer sending no
			// searchFilter (which sees only unrestricted slots) also meets a
			// schedule linked to a service.
			{name: "GP afternoon", days: everyDay, start: "14:00", end: "18:00", slotMinutes: 10, location: 1, sds: sdsGilbert,
				role: roleGP, category: catGP, serviceType: typeGP, channels: []string{inPerson, telephone}, profile: profOpen,
				service: dosSameDay},
			{name: "HCA morning", days: everyDay, start: "09:00", end: "12:00", slotMinutes: 10, location: 8, sds: sdsParsons,
				role: roleHCA, category: "Healthcare Assistant Appointments", serviceType: "Health Check", channels: []string{telephone, video}, profile: profOpen},
			{name: "HCA afternoon (urgent care)", days: everyDay, start: "14:00", end: "17:00", slotMinutes: 10, location: 8, sds: sdsParsons,
				role: roleHCA, category: "Urgent Care Appointments", serviceType: "Urgent Care Call-back", channels: []string{telephone, video}, profile: profUrgentCare,
				service: dosSameDay},
			{name: "Nurse morning (own practice)", days: everyDay, start: "09:00", end: "12:00", slotMinutes: 10, location: 3, sds: sdsNurse,
				role: roleNurse, category: catNurse, serviceType: typeNurse, channels: []string{inPerson}, profile: profOwnPractice},
			{name: "Telephone triage", days: everyDay, start: "08:00", end: "09:00", slotMinutes: 10, location: 1,
				role: roleGP, category: "Telephone Triage", serviceType: "GP Telephone Triage", channels: []string{telephone}, profile: profUCAndGP,
				service: dosSameDay},
			{name: "Same-day GP", days: everyDay, start: "12:00", end: "12:30", slotMinutes: 10, location: 3, sds: sdsSlater,
				role: roleGP, category: "Same-day GP Appointments", serviceType: "Same-day GP Appointment", channels: []string{inPerson}, profile: profEmbargoed},
		},
	},
	{
		ods: odsNorthgate,
		locations: []scheduling.Location{
			site(101, "Northgate Medical Centre", "Z41001", "1 Northgate", "Wakefield", "WF1 3AP", "01632 960011"),
			site(102, "Northgate Branch Surgery", "Z41002", "18 Westgate", "Wakefield", "WF1 1JY", "01632 960012"),
		},
		practitioners: []scheduling.Practitioner{
			{ID: 101, SDSUserID: "G31000011", RoleProfileIDs: []string{"PT5101"}, Family: "Okafor", Given: []string{"Adaeze"}, Prefix: []string{"Dr"}, Gender: "female"},
			{ID: 102, SDSUserID: "G31000029", RoleProfileIDs: []string{"PT5102"}, Family: "Fletcher", Given: []string{"Tom"}, Prefix: []string{"Mr"}, Gender: "male"},
		},
		profiles: openProfiles,
		sessions: []session{
			{name: "GP morning", days: weekdays, start: "08:30", end: "12:00", slotMinutes: 10, location: 101, sds: "G31000011",
				role: roleGP, category: catGP, serviceType: typeGP, channels: []string{inPerson, telephone}, profile: profOpen},
			{name: "GP afternoon (urgent care)", days: weekdays, start: "14:00", end: "16:00", slotMinutes: 15, location: 102, sds: "G31000011",
				role: roleGP, category: "Urgent Care Appointments", serviceType: typeGP, channels: []string{telephone, video}, profile: profUrgentCare},
			{name: "Nurse clinic", days: weekdays, start: "09:00", end: "11:00", slotMinutes: 15, location: 102, sds: "G31000029",
				role: roleNurse, category: catNurse, serviceType: typeNurse, channels: []string{inPerson}, profile: profOpen},
		},
	},
	{
		ods: odsCastle,
		locations: []scheduling.Location{
			site(111, "Castle Hill Practice", "Z42001", "3 Castlegate", "Huddersfield", "HD1 2PL", "01632 960021"),
			site(112, "Lindley Branch Surgery", "Z42002", "7 Lidget Street", "Huddersfield", "HD3 3JB", "01632 960022"),
		},
		practitioners: []scheduling.Practitioner{
			{ID: 111, SDSUserID: "G32000013", RoleProfileIDs: []string{"PT5201"}, Family: "Nair", Given: []string{"Priya"}, Prefix: []string{"Dr"}, Gender: "female"},
			{ID: 112, SDSUserID: "G32000021", RoleProfileIDs: []string{"PT5202"}, Family: "Hughes", Given: []string{"Owen"}, Prefix: []string{"Dr"}, Gender: "male"},
		},
		profiles: openProfiles,
		sessions: []session{
			{name: "GP morning", days: weekdays, start: "09:00", end: "12:00", slotMinutes: 10, location: 111, sds: "G32000013",
				role: roleGP, category: catGP, serviceType: typeGP, channels: []string{inPerson, video}, profile: profOpen},
			{name: "GP afternoon", days: weekdays, start: "13:30", end: "16:30", slotMinutes: 10, location: 112, sds: "G32000021",
				role: roleGP, category: catGP, serviceType: typeGP, channels: []string{inPerson, telephone}, profile: profOpen},
			{name: "Extended hours (urgent care)", days: []time.Weekday{time.Saturday}, start: "09:00", end: "11:00", slotMinutes: 15, location: 111,
				sds: "G32000021", role: roleGP, category: "Extended Access", serviceType: typeGP, channels: []string{telephone}, profile: profUrgentCare},
		},
	},
	{
		ods: odsWestbrook,
		locations: []scheduling.Location{
			site(121, "Westbrook Surgery", "Z43001", "40 Westgate", "Bradford", "BD1 2QR", "01632 960031"),
		},
		practitioners: []scheduling.Practitioner{
			{ID: 121, SDSUserID: "G33000018", RoleProfileIDs: []string{"PT5301"}, Family: "Kowalski", Given: []string{"Marta"}, Prefix: []string{"Dr"}, Gender: "female"},
		},
		profiles: openProfiles,
		sessions: []session{
			{name: "GP morning", days: weekdays, start: "09:00", end: "12:00", slotMinutes: 10, location: 121, sds: "G33000018",
				role: roleGP, category: catGP, serviceType: typeGP, channels: []string{inPerson, telephone}, profile: profOpen},
		},
	},
}

// patientRow is a demo patient, with what PDS says about them.
type patientRow struct {
	id                     int64
	ods                    string // "" means A20047 with its defaults (see leggPatients)
	nhs                    string
	given, family, prefix  string
	gender, birth          string
	street, city, district string
	postcode, phone        string
	regStart               string
	location               int64
	gp                     string // SDS user id of the usual GP
	sensitive, superseded  bool
	deceased               string
	inactive               bool // registration no longer active
	notOnPDS               bool // held here but absent from the PDS stand-in
}

// leggPatients fills in the A20047 defaults: Leeds address, home phone,
// registration from 1962-07-13 at Building A with Dr Gilbert.
func leggPatients(rows []patientRow) []patientRow {
	for i := range rows {
		p := &rows[i]
		if p.ods != "" {
			continue
		}
		p.ods, p.city, p.district = odsLegg, "Leeds", "West Yorkshire"
		p.phone = fmt.Sprintf("01632 960%03d", 100+p.id)
		p.regStart, p.location, p.gp = "1962-07-13", 1, sdsGilbert
	}
	return rows
}

var patients = append(leggPatients([]patientRow{
	// The test pack's random booking pool: patients 1-8, 13, 16, 17.
	{id: 1, nhs: "9658218865", given: "Garth", family: "WRIGHT", prefix: "Mr", gender: "male", birth: "1933-11-14", street: "12 Cookridge Street", postcode: "LS2 3AG"},
	{id: 2, nhs: "9658218873", given: "Mike", family: "MEAKIN", prefix: "Mr", gender: "male", birth: "1927-06-19", street: "4 Albion Place", postcode: "LS1 6JL"},
	{id: 3, nhs: "9658218881", given: "Kevin", family: "LEACH", prefix: "Mr", gender: "male", birth: "1921-08-08", street: "27 Park Lane", postcode: "LS3 1EP"},
	{id: 4, nhs: "9658218903", given: "Arnold", family: "OLLEY", prefix: "Mr", gender: "male", birth: "1939-07-21", street: "9 Chapel Hill", postcode: "LS6 3HB"},
	{id: 5, nhs: "9658218989", given: "Mina", family: "LEECH", prefix: "Mrs", gender: "female", birth: "1918-09-19", street: "31 Otley Road", postcode: "LS6 2AA"},
	{id: 6, nhs: "9658218997", given: "Lauren", family: "CORR", prefix: "Mrs", gender: "female", birth: "1944-12-28", street: "2 Woodhouse Square", postcode: "LS3 1AD"},
	{id: 7, nhs: "9658219004", given: "Cassie", family: "BRAY", prefix: "Mrs", gender: "female", birth: "1939-06-09", street: "15 Kirkstall Lane", postcode: "LS5 3BE"},
	{id: 8, nhs: "9658219012", given: "Kim", family: "GRIGG", prefix: "Mrs", gender: "female", birth: "1925-10-05", street: "6 Roundhay Road", postcode: "LS7 1AB"},
	// Sensitive: Find a patient returns nothing; registering gives INVALID_PATIENT_DEMOGRAPHICS.
	{id: 9, nhs: "9658220142", given: "Emilie", family: "KEWN", prefix: "Miss", gender: "female", birth: "1999-10-03", street: "8 Harehills Lane", postcode: "LS8 4HS", sensitive: true},
	{id: 10, nhs: "9658220150", given: "Amanda", family: "CURRIE", prefix: "Mrs", gender: "female", birth: "1964-02-13", street: "20 Street Lane", postcode: "LS8 2ET", sensitive: true},
	// Superseded NHS number on PDS: registering gives INVALID_NHS_NUMBER.
	{id: 11, nhs: "9658220223", given: "Dilys", family: "TABRON", prefix: "Mrs", gender: "female", birth: "1969-11-27", street: "3 Headingley Lane", postcode: "LS6 1BL", superseded: true},
	// The test pack's "merged patient record", used by no in-scope scenario.
	// It is the surviving record of the merge, so PDS holds it as a normal,
	// current number; only patient 11's number is marked superseded.
	{id: 12, nhs: "9658220215", given: "Emilia", family: "CRAGG", prefix: "Mrs", gender: "female", birth: "1968-02-05", street: "44 Wetherby Road", postcode: "LS8 2JU"},
	// "Patient in transit" in the test pack; an ordinary active registration here.
	{id: 13, nhs: "9658219691", given: "Anne", family: "RUMBLE", prefix: "Miss", gender: "female", birth: "1987-05-13", street: "11 Tong Road", postcode: "LS12 1LZ"},
	// Opted out of data sharing ("no consent"): still found and read in full.
	{id: 15, nhs: "9658220169", given: "Loren", family: "HUSON", prefix: "Mrs", gender: "female", birth: "1958-12-08", street: "5 Stonegate Road", postcode: "LS6 4HZ"},
	{id: 16, nhs: "9658219705", given: "Zelma", family: "DIMECK", prefix: "Miss", gender: "female", birth: "1989-07-21", street: "23 Dewsbury Road", postcode: "LS11 5DD"},
	{id: 17, nhs: "9658219713", given: "Dee", family: "REAY", prefix: "Miss", gender: "female", birth: "1995-07-04", street: "17 Beeston Road", postcode: "LS11 6AD"},
	// Deceased: Find a patient returns nothing; registering gives INVALID_PATIENT_DEMOGRAPHICS.
	{id: 18, nhs: "9658220290", given: "Dan", family: "BISSET", prefix: "Mr", gender: "male", birth: "1969-11-23", street: "7 York Road", postcode: "LS9 8AA", deceased: "2005-01-13"},
	// The test pack's patientNoAppointments: active, and never booked by this data.
	{id: 20, nhs: "9658219721", given: "Muriel", family: "MAY", prefix: "Mrs", gender: "female", birth: "1980-06-30", street: "30 Selby Road", postcode: "LS9 0EW"},
	// Registration no longer active: Find a patient returns nothing.
	{id: 21, nhs: "9658219748", given: "Lynda", family: "ORME", prefix: "Mrs", gender: "female", birth: "1979-10-06", street: "19 Moor Road", postcode: "LS10 2DB", inactive: true},
}),
	// Patient 14 is in this system but not on PDS, so registering that number
	// anywhere gives INVALID_PATIENT_DEMOGRAPHICS. As in the reference
	// demonstrator its record is held by GPC001, not A20047, so no duplicate
	// registration at A20047 can mask the PDS failure.
	patientRow{id: 14, ods: odsGPC, nhs: "9476718943", given: "Georgina", family: "HOPLEY", prefix: "Mrs", gender: "female", birth: "1927-05-15",
		street: "2 Trevelyan Square", city: "Leeds", district: "West Yorkshire", postcode: "LS1 6AE", phone: "01632 960114", regStart: "1935-11-05", notOnPDS: true},
	// Patients of the federation practices (test-range NHS numbers 999...).
	patientRow{id: 101, ods: odsNorthgate, nhs: "9990000018", given: "Alan", family: "PRIESTLEY", prefix: "Mr", gender: "male", birth: "1956-04-02",
		street: "12 Thornes Lane", city: "Wakefield", district: "West Yorkshire", postcode: "WF2 7RE", phone: "01632 960201", regStart: "1990-01-15", location: 101, gp: "G31000011"},
	patientRow{id: 102, ods: odsNorthgate, nhs: "9990000026", given: "Joan", family: "PRIESTLEY", prefix: "Mrs", gender: "female", birth: "1958-09-17",
		street: "12 Thornes Lane", city: "Wakefield", district: "West Yorkshire", postcode: "WF2 7RE", phone: "01632 960201", regStart: "1990-01-15", location: 101, gp: "G31000011"},
	patientRow{id: 111, ods: odsCastle, nhs: "9990000034", given: "Sanjay", family: "MISTRY", prefix: "Mr", gender: "male", birth: "1982-03-25",
		street: "5 Halifax Road", city: "Huddersfield", district: "West Yorkshire", postcode: "HD3 3AB", phone: "01632 960211", regStart: "2008-06-01", location: 111, gp: "G32000013"},
	patientRow{id: 112, ods: odsCastle, nhs: "9990000042", given: "Ruth", family: "BARRACLOUGH", prefix: "Ms", gender: "female", birth: "1991-12-09",
		street: "28 New Hey Road", city: "Huddersfield", district: "West Yorkshire", postcode: "HD3 4AL", phone: "01632 960212", regStart: "2015-02-20", location: 112, gp: "G32000021"},
	patientRow{id: 121, ods: odsWestbrook, nhs: "9990000050", given: "Imran", family: "HUSSAIN", prefix: "Mr", gender: "male", birth: "1975-07-30",
		street: "9 Manningham Lane", city: "Bradford", district: "West Yorkshire", postcode: "BD1 3BN", phone: "01632 960221", regStart: "1999-10-04", location: 121, gp: "G33000018"},
)
