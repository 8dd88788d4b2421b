package provider_test

// Foundations interactions (spec §12): capability statement, find/read
// patient, organisation, practitioner, location and healthcare service,
// against the test-pack data of spec/testpack-data.md.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/provider"
)

const (
	profPatient      = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Patient-1"
	profOrganization = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1"
	profPractitioner = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Practitioner-1"
	profLocation     = "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Location-1"
	profSlot         = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Slot-1"
	profSchedule     = "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Schedule-1"

	extNHSVerification = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-NHSNumberVerificationStatus-1"
	sysNHSVerification = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-NHSNumberVerificationStatus-1"
	extRegistration    = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-RegistrationDetails-1"
	extFilteringStatus = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-ServiceFilteringStatus-1"
	extDeliveryChannel = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-DeliveryChannel-2"
	extPractRole       = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-PractitionerRole-1"
	sysSDSJobRole      = "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1"
)

func identifierQuery(system, value string) string {
	return "identifier=" + url.QueryEscape(system+"|"+value)
}

func testCapabilityStatement(t *testing.T, e *env) {
	cs := wantOK(t, e.get(t, "metadata", iidMetadata, scopeOrgRead), "CapabilityStatement")
	if v := str(cs, "version"); v != "1.2.8" {
		t.Errorf("version = %q, want 1.2.8", v)
	}
	if v := str(cs, "fhirVersion"); v != "3.0.1" {
		t.Errorf("fhirVersion = %q, want 3.0.1", v)
	}
	if v := str(cs, "acceptUnknown"); v != "both" {
		t.Errorf("acceptUnknown = %q, want both", v)
	}
	formats := strSlice(arr(cs, "format"))
	for _, f := range []string{"application/fhir+json", "application/fhir+xml"} {
		if !slices.Contains(formats, f) {
			t.Errorf("format %v lacks %s", formats, f)
		}
	}
	for _, k := range []string{"name", "version", "releaseDate"} {
		if str(cs, "software", k) == "" {
			t.Errorf("software.%s is empty", k)
		}
	}
	if x := extension(cs, extFilteringStatus); x == nil || !slices.Contains([]string{"enabled", "organization-disabled", "supplier-disabled"}, str(x, "valueCode")) {
		t.Errorf("ServiceFilteringStatus root extension = %v", x)
	}
	// The 1.2.8 Foundations template carries it on rest[0]; it must agree with the root's.
	if x, root := extension(at(cs, "rest", 0), extFilteringStatus), extension(cs, extFilteringStatus); x == nil || str(x, "valueCode") != str(root, "valueCode") {
		t.Errorf("ServiceFilteringStatus rest[0] extension = %v, want the root's %v", x, root)
	}
	var profiles []string
	for _, p := range arr(cs, "profile") {
		profiles = append(profiles, str(p, "reference"))
	}
	for _, p := range []string{"https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1", profSlot, profSchedule,
		profPatient, profPractitioner, profOrganization, profLocation,
		"https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1",
		// §12.1: the template's Access Record Structured profiles, which the test pack checks here too.
		"https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-AllergyIntolerance-1",
		"https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-List-1",
		"https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-StructuredRecord-Bundle-1"} {
		if !slices.Contains(profiles, p) {
			t.Errorf("profile list lacks %s", p)
		}
	}
	var opOK, structuredOK bool
	for _, op := range arr(cs, "rest", 0, "operation") {
		if str(op, "name") == "gpc.registerpatient" &&
			str(op, "definition", "reference") == "https://fhir.nhs.uk/STU3/OperationDefinition/GPConnect-RegisterPatient-Operation-1" {
			opOK = true
		}
		// The 1.2.8 template's versioned URL: the test pack compares it as an exact string.
		if str(op, "name") == "gpc.getstructuredrecord" &&
			str(op, "definition", "reference") == "https://fhir.nhs.uk/STU3/OperationDefinition/GPConnect-GetStructuredRecord-Operation-1/_history/1.12" {
			structuredOK = true
		}
	}
	if !opOK || !structuredOK {
		t.Errorf("no gpc.registerpatient or gpc.getstructuredrecord operation: %v", at(cs, "rest", 0, "operation"))
	}
	var slot any
	for _, r := range arr(cs, "rest", 0, "resource") {
		if str(r, "type") == "Slot" {
			slot = r
		}
	}
	if slot == nil {
		t.Fatalf("no Slot resource in rest")
	}
	incs := strSlice(arr(slot, "searchInclude"))
	for _, inc := range []string{"Location:managingOrganization", "Slot:schedule", "Schedule:actor:Location", "Schedule:actor:Practitioner"} {
		if !slices.Contains(incs, inc) {
			t.Errorf("Slot searchInclude %v lacks %s", incs, inc)
		}
	}
	var params []string
	for _, p := range arr(slot, "searchParam") {
		params = append(params, str(p, "name"))
	}
	for _, p := range []string{"start", "end", "status", "searchFilter", "service.identifier"} {
		if !slices.Contains(params, p) {
			t.Errorf("Slot searchParam %v lacks %s", params, p)
		}
	}
}

// patientClass is one test-pack patient and what Find a patient must return.
type patientClass struct {
	name    string
	nhs     string
	entries int
}

var patientClasses = []patientClass{
	{"patient1 active", "9658218865", 1},
	{"patient2 active", "9658218873", 1},
	{"patient3 active", "9658218881", 1},
	{"patient4 active", "9658218903", 1},
	{"patient5 active", "9658218989", 1},
	{"patient6 active", "9658218997", 1},
	{"patient7 active", "9658219004", 1},
	{"patient8 active", "9658219012", 1},
	{"patient13 in transit (active)", "9658219691", 1},
	{"patient16 active", "9658219705", 1},
	{"patient17 active", "9658219713", 1},
	{"patientNoAppointments active", "9658219721", 1},
	{"patient15 no consent", "9658220169", 1},
	{"patient9 sensitive", "9658220142", 0},
	{"patient10 sensitive", "9658220150", 0},
	{"patient18 deceased", "9658220290", 0},
	{"patient21 inactive", "9658219748", 0},
	{"patientNotInSystem", "9999999999", 0},
	{"patient14 registered at another practice", "9476718943", 0},
	{"patient of the Northgate practice", "9990000018", 0},
}

func testFindPatient(t *testing.T, e *env) {
	errRows := []struct {
		name, query string
		status      int
		code        string
	}{
		{"invalid NHS number check digit", identifierQuery(sysNHSNumber, "9658218866"), 400, "INVALID_NHS_NUMBER"},
		{"NHS number too short", identifierQuery(sysNHSNumber, "965821886"), 400, "INVALID_NHS_NUMBER"},
		{"NHS number not digits", identifierQuery(sysNHSNumber, "96582188AB"), 400, "INVALID_NHS_NUMBER"},
		{"wrong identifier system", identifierQuery("https://fhir.nhs.uk/Id/sds-user-id", "9658218865"), 400, "INVALID_IDENTIFIER_SYSTEM"},
		{"legacy NHS number system", identifierQuery("http://fhir.nhs.net/Id/nhs-number", "9658218865"), 400, "INVALID_IDENTIFIER_SYSTEM"},
		{"duplicate identifier", identifierQuery(sysNHSNumber, "9658218865") + "&" + identifierQuery(sysNHSNumber, "9658218873"), 400, "BAD_REQUEST"},
		{"wrong-case Identifier", "Identifier=" + url.QueryEscape(sysNHSNumber+"|9658218865"), 400, "BAD_REQUEST"},
		{"identifier missing", "", 400, "BAD_REQUEST"},
		{"identifier missing, other parameter", "name=WRIGHT", 400, "BAD_REQUEST"},
		{"identifier only with a modifier", "identifier:exact=" + url.QueryEscape(sysNHSNumber+"|9658218865"), 400, "BAD_REQUEST"},
		{"empty system", "identifier=" + url.QueryEscape("|9658218865"), 422, "INVALID_PARAMETER"},
		{"empty value", "identifier=" + url.QueryEscape(sysNHSNumber+"|"), 422, "INVALID_PARAMETER"},
		{"empty system and value", "identifier=" + url.QueryEscape("|"), 422, "INVALID_PARAMETER"},
	}
	for _, pc := range patientClasses {
		t.Run(pc.name, func(t *testing.T) {
			b := wantOK(t, e.get(t, "Patient?"+identifierQuery(sysNHSNumber, pc.nhs), iidFindPatient, scopePatRead), "Bundle")
			if str(b, "type") != "searchset" {
				t.Errorf("Bundle.type = %q, want searchset", str(b, "type"))
			}
			es := entries(b)
			if len(es) != pc.entries {
				t.Fatalf("%d entries, want %d", len(es), pc.entries)
			}
			for _, p := range es {
				checkPatient(t, e, p, pc.nhs)
			}
		})
	}
	for _, row := range errRows {
		t.Run(row.name, func(t *testing.T) {
			diag := wantOutcome(t, e.get(t, "Patient?"+row.query, iidFindPatient, scopePatRead), row.status, row.code)
			// A modifier alone is named, not answered as if nothing were sent.
			if strings.HasPrefix(row.query, "identifier:") && !strings.Contains(diag, `"identifier:exact" are not supported`) {
				t.Errorf("diagnostics %q do not name the unsupported modifier", diag)
			}
		})
	}
}

// checkPatient applies the CareConnect-GPC-Patient-1 population rules of §12.2.
func checkPatient(t *testing.T, e *env, p obj, nhs string) {
	t.Helper()
	if str(p, "resourceType") != "Patient" {
		t.Fatalf("entry is %s, want Patient", str(p, "resourceType"))
	}
	wantProfile(t, p, profPatient)
	ids := arr(p, "identifier")
	if len(ids) != 1 || str(ids[0], "system") != sysNHSNumber || str(ids[0], "value") != nhs {
		t.Errorf("identifier = %v, want one NHS number %s", ids, nhs)
	}
	if len(ids) > 0 {
		x := extension(ids[0], extNHSVerification)
		if x == nil {
			t.Errorf("NHS number identifier has no verification status extension")
		} else if c := at(x, "valueCodeableConcept", "coding", 0); str(c, "system") != sysNHSVerification || str(c, "code") == "" {
			t.Errorf("verification status coding = %v", c)
		}
	}
	var official int
	for _, n := range arr(p, "name") {
		if str(n, "use") == "official" {
			official++
		}
		if str(n, "use") == "" || str(n, "family") == "" {
			t.Errorf("name %v lacks use or family", n)
		}
	}
	if official != 1 {
		t.Errorf("%d official names, want exactly 1", official)
	}
	var regs int
	for _, x := range arr(p, "extension") {
		if str(x, "url") == extRegistration {
			regs++
			subs := map[string]int{}
			for _, sub := range arr(x, "extension") {
				subs[str(sub, "url")]++
				if str(sub, "url") == "registrationStatus" {
					t.Errorf("RegistrationDetails has registrationStatus")
				}
				if str(sub, "url") != "preferredBranchSurgery" {
					continue
				}
				// The preferred branch must be a readable Location.
				if ref := str(sub, "valueReference", "reference"); !strings.HasPrefix(ref, "Location/") {
					t.Errorf("preferredBranchSurgery = %v", sub)
				} else {
					wantOK(t, e.get(t, ref, iidReadLocation, scopeOrgRead), "Location")
				}
			}
			for _, k := range []string{"registrationPeriod", "registrationType", "preferredBranchSurgery"} {
				if subs[k] > 1 {
					t.Errorf("RegistrationDetails has %d %s", subs[k], k)
				}
			}
		}
	}
	if regs != 1 {
		t.Errorf("%d RegistrationDetails extensions, want 1", regs)
	}
	if mo := str(p, "managingOrganization", "reference"); !strings.HasPrefix(mo, "Organization/") {
		t.Errorf("managingOrganization = %q", mo)
	} else {
		org := wantOK(t, e.get(t, mo, iidReadOrg, scopeOrgRead), "Organization")
		if id := str(org, "identifier", 0, "value"); id != odsLegg {
			t.Errorf("managingOrganization is %s, want the practice addressed (%s)", id, odsLegg)
		}
	}
	if gps := arr(p, "generalPractitioner"); len(gps) > 1 {
		t.Errorf("%d generalPractitioner references, want at most 1", len(gps))
	} else if len(gps) == 1 {
		ref := str(gps[0], "reference")
		if !strings.HasPrefix(ref, "Practitioner/") {
			t.Errorf("generalPractitioner = %q", ref)
		} else {
			wantOK(t, e.get(t, ref, iidReadPrac, scopeOrgRead), "Practitioner")
		}
	}
	for _, tc := range arr(p, "telecom") {
		if str(tc, "system") == "" || str(tc, "value") == "" || str(tc, "use") == "" {
			t.Errorf("telecom %v lacks system, value or use", tc)
		}
	}
	for _, a := range arr(p, "address") {
		if str(a, "use") == "" || str(a, "text") != "" {
			t.Errorf("address %v: use is required and text is not used", a)
		}
	}
	for _, k := range []string{"maritalStatus", "multipleBirthBoolean", "multipleBirthInteger", "photo", "link", "animal"} {
		if at(p, k) != nil {
			t.Errorf("Patient has %s, which SHALL NOT be populated", k)
		}
	}
	for _, x := range arr(p, "extension") {
		for _, bad := range []string{"EthnicCategory", "ReligiousAffiliation", "CadavericDonor", "ResidentialStatus", "TreatmentCategory", "birthPlace"} {
			if strings.Contains(str(x, "url"), bad) {
				t.Errorf("Patient has extension %s, which SHALL NOT be populated", str(x, "url"))
			}
		}
	}
	// The demo data hold no patient's communication needs, so none is
	// shown: not an empty extension, nor an interpreterRequired false.
	if c := extension(p, extNHSComm); c != nil {
		t.Errorf("demo patient has an nhsCommunication extension: %v", c)
	}
}

func testReadPatient(t *testing.T, e *env) {
	for _, pc := range patientClasses {
		if pc.entries != 1 {
			continue
		}
		t.Run(pc.name, func(t *testing.T) {
			b := wantOK(t, e.get(t, "Patient?"+identifierQuery(sysNHSNumber, pc.nhs), iidFindPatient, scopePatRead), "Bundle")
			id := str(entries(b)[0], "id")
			res := e.get(t, "Patient/"+id, iidReadPatient, scopePatRead)
			p := wantOK(t, res, "Patient")
			wantETag(t, res, p)
			if str(p, "id") != id {
				t.Errorf("id = %q, want %q", str(p, "id"), id)
			}
			checkPatient(t, e, p, pc.nhs)
		})
	}
	notFound := []struct{ name, id string }{
		{"unknown id", "999999"},
		{"non-numeric id", "abc"},
		{"zero", "0"},
		{"sensitive patient 9", "9"},
		{"patient 14 of another practice", "14"},
		{"patient of a federation practice", "101"},
	}
	for _, c := range notFound {
		t.Run(c.name, func(t *testing.T) {
			wantOutcome(t, e.get(t, "Patient/"+c.id, iidReadPatient, scopePatRead), 404, "PATIENT_NOT_FOUND")
		})
	}
}

func checkOrganization(t *testing.T, o obj) {
	t.Helper()
	wantProfile(t, o, profOrganization)
	ids := arr(o, "identifier")
	if len(ids) != 1 || str(ids[0], "system") != sysODSOrg || str(ids[0], "value") != odsLegg {
		t.Errorf("identifier = %v, want one ODS code %s", ids, odsLegg)
	}
	if str(o, "name") == "" {
		t.Errorf("Organization has no name")
	}
	for _, k := range []string{"contact", "endpoint"} {
		if at(o, k) != nil {
			t.Errorf("Organization has %s, which SHALL NOT be populated", k)
		}
	}
	for _, tc := range arr(o, "telecom") {
		if str(tc, "system") == "" || str(tc, "value") == "" {
			t.Errorf("telecom %v lacks system or value", tc)
		}
	}
}

func testOrganisation(t *testing.T, e *env) {
	var orgID string
	t.Run("find A20047", func(t *testing.T) {
		b := wantOK(t, e.get(t, "Organization?"+identifierQuery(sysODSOrg, odsLegg), iidFindOrg, scopeOrgRead), "Bundle")
		es := entries(b)
		if len(es) != 1 {
			t.Fatalf("%d entries, want 1", len(es))
		}
		checkOrganization(t, es[0])
		orgID = str(es[0], "id")
		// The test pack's OrganizationSearch asserts Bundle.entry.fullUrl
		// is present (OrganizationSteps "the Organization Full Url should
		// be valid"), though spec 1.2.3 says not to populate it elsewhere.
		if got, want := str(b, "entry", 0, "fullUrl"), e.srv.URL+"/"+odsLegg+"/STU3/1/gpconnect/Organization/"+orgID; got != want {
			t.Errorf("entry fullUrl = %q, want %q", got, want)
		}
	})
	t.Run("fullUrl on the configured public URL", func(t *testing.T) {
		// Behind a proxy the Host seen is the proxy's: the public URL wins.
		pe := withConfig(t, e, provider.Config{PublicURL: "https://gpc.example.nhs.uk"})
		b := wantOK(t, pe.get(t, "Organization?"+identifierQuery(sysODSOrg, odsLegg), iidFindOrg, scopeOrgRead), "Bundle")
		if got, want := str(b, "entry", 0, "fullUrl"), "https://gpc.example.nhs.uk/"+odsLegg+"/STU3/1/gpconnect/Organization/"+orgID; got != want {
			t.Errorf("entry fullUrl = %q, want %q", got, want)
		}
	})
	t.Run("find unknown ODS INVOC1", func(t *testing.T) {
		b := wantOK(t, e.get(t, "Organization?"+identifierQuery(sysODSOrg, "INVOC1"), iidFindOrg, scopeOrgRead), "Bundle")
		if n := len(entries(b)); n != 0 {
			t.Errorf("%d entries, want 0", n)
		}
	})
	errRows := []struct {
		name, query string
		status      int
		code        string
	}{
		{"wrong system", identifierQuery(sysNHSNumber, odsLegg), 400, "INVALID_IDENTIFIER_SYSTEM"},
		{"empty value", "identifier=" + url.QueryEscape(sysODSOrg+"|"), 422, "INVALID_PARAMETER"},
		{"empty system", "identifier=" + url.QueryEscape("|"+odsLegg), 422, "INVALID_PARAMETER"},
		{"duplicate identifier", identifierQuery(sysODSOrg, odsLegg) + "&" + identifierQuery(sysODSOrg, odsLegg), 400, "BAD_REQUEST"},
		{"wrong-case Identifier", "Identifier=" + url.QueryEscape(sysODSOrg+"|"+odsLegg), 400, "BAD_REQUEST"},
		{"identifier missing", "", 400, "BAD_REQUEST"},
		// OrganizationSearch.feature: a parameter other than identifier is refused.
		{"unknown parameter before identifier", "incorrectParameter=x&" + identifierQuery(sysODSOrg, odsLegg), 400, "BAD_REQUEST"},
		{"unknown parameter after identifier", identifierQuery(sysODSOrg, odsLegg) + "&invalidParameter=x", 400, "BAD_REQUEST"},
	}
	for _, row := range errRows {
		t.Run(row.name, func(t *testing.T) {
			wantOutcome(t, e.get(t, "Organization?"+row.query, iidFindOrg, scopeOrgRead), row.status, row.code)
		})
	}
	t.Run("_count and _sort accepted", func(t *testing.T) {
		b := wantOK(t, e.get(t, "Organization?"+identifierQuery(sysODSOrg, odsLegg)+"&_count=1&_sort=name", iidFindOrg, scopeOrgRead), "Bundle")
		if n := len(entries(b)); n != 1 {
			t.Errorf("%d entries, want 1", n)
		}
	})
	t.Run("read A20047", func(t *testing.T) {
		if orgID == "" {
			t.Fatal("the Organization search above found no id for A20047")
		}
		res := e.get(t, "Organization/"+orgID, iidReadOrg, scopeOrgRead)
		o := wantOK(t, res, "Organization")
		wantETag(t, res, o)
		checkOrganization(t, o)
	})
	for _, id := range []string{"999999", "abc"} {
		t.Run("read unknown "+id, func(t *testing.T) {
			wantOutcome(t, e.get(t, "Organization/"+id, iidReadOrg, scopeOrgRead), 404, "ORGANISATION_NOT_FOUND")
		})
	}
}

func checkPractitioner(t *testing.T, p obj, sds string, roles int) {
	t.Helper()
	wantProfile(t, p, profPractitioner)
	var users, roleIDs int
	for _, id := range arr(p, "identifier") {
		switch str(id, "system") {
		case sysSDSUser:
			users++
			if str(id, "value") != sds {
				t.Errorf("sds-user-id = %q, want %s", str(id, "value"), sds)
			}
		case sysSDSRole:
			roleIDs++
		case "https://fhir.nhs.uk/Id/gmp-number":
		default:
			t.Errorf("unexpected identifier system %q", str(id, "system"))
		}
	}
	if users != 1 {
		t.Errorf("%d sds-user-id identifiers, want 1", users)
	}
	if roleIDs != roles {
		t.Errorf("%d sds-role-profile-id identifiers, want %d", roleIDs, roles)
	}
	if n := arr(p, "name"); len(n) != 1 || str(n[0], "family") == "" {
		t.Errorf("name = %v, want exactly one with a family name", n)
	}
	for _, k := range []string{"telecom", "address", "birthDate", "photo", "qualification"} {
		if at(p, k) != nil {
			t.Errorf("Practitioner has %s, which SHALL NOT be populated", k)
		}
	}
}

func testPractitioner(t *testing.T, e *env) {
	pracs := []struct {
		name, sds string
		roles     int
	}{
		{"practitioner1", "G13579135", 0},
		{"practitioner2", "G11111116", 1},
		{"practitioner3", "G22345655", 2},
	}
	for _, pr := range pracs {
		t.Run(pr.name, func(t *testing.T) {
			b := wantOK(t, e.get(t, "Practitioner?"+identifierQuery(sysSDSUser, pr.sds), iidFindPrac, scopeOrgRead), "Bundle")
			es := entries(b)
			if len(es) != 1 {
				t.Fatalf("%d entries, want 1", len(es))
			}
			checkPractitioner(t, es[0], pr.sds, pr.roles)
			res := e.get(t, "Practitioner/"+str(es[0], "id"), iidReadPrac, scopeOrgRead)
			p := wantOK(t, res, "Practitioner")
			wantETag(t, res, p)
			checkPractitioner(t, p, pr.sds, pr.roles)
		})
	}
	t.Run("_count and _sort are ignored", func(t *testing.T) {
		q := identifierQuery(sysSDSUser, "G13579135") + "&_sort=practitioner.coding&_count=1"
		b := wantOK(t, e.get(t, "Practitioner?"+q, iidFindPrac, scopeOrgRead), "Bundle")
		if n := len(entries(b)); n != 1 {
			t.Errorf("%d entries, want 1", n)
		}
	})
	t.Run("unknownSDSUserID", func(t *testing.T) {
		b := wantOK(t, e.get(t, "Practitioner?"+identifierQuery(sysSDSUser, "unknownSDSUserID"), iidFindPrac, scopeOrgRead), "Bundle")
		if n := len(entries(b)); n != 0 {
			t.Errorf("%d entries, want 0", n)
		}
	})
	errRows := []struct {
		name, query string
		status      int
		code        string
	}{
		{"two identifiers", identifierQuery(sysSDSUser, "G13579135") + "&" + identifierQuery(sysSDSUser, "G11111116"), 400, "BAD_REQUEST"},
		{"wrong-case Identifier", "Identifier=" + url.QueryEscape(sysSDSUser+"|G13579135"), 400, "BAD_REQUEST"},
		{"identifier missing", "", 400, "BAD_REQUEST"},
		{"empty value", "identifier=" + url.QueryEscape(sysSDSUser+"|"), 422, "INVALID_PARAMETER"},
		{"empty system", "identifier=" + url.QueryEscape("|G13579135"), 422, "INVALID_PARAMETER"},
	}
	for _, row := range errRows {
		t.Run(row.name, func(t *testing.T) {
			wantOutcome(t, e.get(t, "Practitioner?"+row.query, iidFindPrac, scopeOrgRead), row.status, row.code)
		})
	}
	for _, id := range []string{"999999", "abc", "101"} {
		t.Run("read unknown "+id, func(t *testing.T) {
			wantOutcome(t, e.get(t, "Practitioner/"+id, iidReadPrac, scopeOrgRead), 404, "PRACTITIONER_NOT_FOUND")
		})
	}
}

func testReadLocation(t *testing.T, e *env) {
	sites := []struct{ name, id, site string }{
		{"SIT1", "1", "Z26556"},
		{"SIT2", "8", "Z33432"},
		{"SIT3", "3", "Z33433"},
	}
	for _, s := range sites {
		t.Run(s.name, func(t *testing.T) {
			res := e.get(t, "Location/"+s.id, iidReadLocation, scopeOrgRead)
			l := wantOK(t, res, "Location")
			wantETag(t, res, l)
			checkLocation(t, e, l)
			var siteCodes []string
			for _, id := range arr(l, "identifier") {
				if str(id, "system") == sysODSSite {
					siteCodes = append(siteCodes, str(id, "value"))
				}
			}
			if len(siteCodes) != 1 || siteCodes[0] != s.site {
				t.Errorf("ods-site-code identifiers = %v, want [%s]", siteCodes, s.site)
			}
		})
	}
	for _, id := range []string{"999999", "abc", "101"} {
		t.Run("read unknown "+id, func(t *testing.T) {
			wantOutcome(t, e.get(t, "Location/"+id, iidReadLocation, scopeOrgRead), 404, "NO_RECORD_FOUND")
		})
	}
}

// checkLocation applies CareConnect-GPC-Location-1 as §12.5 and the test
// pack describe it; the managing organisation must be readable.
func checkLocation(t *testing.T, e *env, l obj) {
	t.Helper()
	wantProfile(t, l, profLocation)
	if str(l, "name") == "" {
		t.Errorf("Location has no name")
	}
	if _, ok := at(l, "address").(map[string]any); !ok {
		t.Errorf("Location.address = %v, want one Address object", at(l, "address"))
	}
	if at(l, "endpoint") != nil {
		t.Errorf("Location has endpoint, which SHALL NOT be populated")
	}
	mo := str(l, "managingOrganization", "reference")
	if !strings.HasPrefix(mo, "Organization/") {
		t.Fatalf("managingOrganization = %q", mo)
	}
	if e != nil {
		org := wantOK(t, e.get(t, mo, iidReadOrg, scopeOrgRead), "Organization")
		if str(org, "identifier", 0, "value") != odsLegg {
			t.Errorf("managingOrganization %s is not %s", mo, odsLegg)
		}
	}
}

func testHealthcareService(t *testing.T, e *env) {
	// A20047 has service filtering on, with HealthcareService/1 and /2 (the
	// test pack's HEALTHCARE1 and HEALTHCARE2, HealthcareLogicalIdentifierMap.csv).
	all := wantOK(t, e.get(t, "HealthcareService", iidFindHCS, scopeOrgRead), "Bundle")
	if got := idsOf(all, "HealthcareService"); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("find all: HealthcareService ids %v, want [1 2]", got)
	}
	for _, r := range entries(all) {
		checkHealthcareService(t, r)
	}
	dos := str(entries(all)[0], "identifier", 0, "value")
	finds := []struct {
		name, query string
		want        []string
	}{
		{"by the DOS id of the first", identifierQuery(sysDOS, dos), []string{"1"}},
		{"unknown DOS id", identifierQuery(sysDOS, "zzzzzz"), nil},
		// Read trimmed, as the slot search's service.identifier is.
		{"padded DOS id", identifierQuery(sysDOS, " "+dos+" "), []string{"1"}},
	}
	for _, f := range finds {
		t.Run("find "+f.name, func(t *testing.T) {
			b := wantOK(t, e.get(t, "HealthcareService?"+f.query, iidFindHCS, scopeOrgRead), "Bundle")
			if got := idsOf(b, "HealthcareService"); !slices.Equal(got, f.want) {
				t.Errorf("ids %v, want %v", got, f.want)
			}
		})
	}
	// The identifier parameter is optional here, and read as the other finds read it.
	refusals := []struct {
		name, query string
		status      int
		code        string
	}{
		{"unparseable token", "identifier=zzzzzz", 422, "INVALID_PARAMETER"},
		{"no value", "identifier=" + url.QueryEscape(sysDOS+"|"), 422, "INVALID_PARAMETER"},
		{"blank value", "identifier=" + url.QueryEscape(sysDOS+"| "), 422, "INVALID_PARAMETER"},
		{"another identifier system", identifierQuery("https://example.org/Id/service", dos), 400, "INVALID_IDENTIFIER_SYSTEM"},
		{"repeated", identifierQuery(sysDOS, dos) + "&" + identifierQuery(sysDOS, "zzzzzz"), 400, "BAD_REQUEST"},
		{"wrong-case name", "Identifier=" + url.QueryEscape(sysDOS+"|"+dos), 400, "BAD_REQUEST"},
		// A modifier the find does not support must not widen the result
		// to every service (it was ignored, and the find returned them all).
		{"identifier:exact", "identifier:exact=" + url.QueryEscape(sysDOS+"|"+dos), 422, "INVALID_PARAMETER"},
		{"identifier:missing", "identifier:missing=false", 422, "INVALID_PARAMETER"},
	}
	for _, r := range refusals {
		t.Run("find "+r.name, func(t *testing.T) {
			wantOutcome(t, e.get(t, "HealthcareService?"+r.query, iidFindHCS, scopeOrgRead), r.status, r.code)
		})
	}
	for _, id := range []string{"1", "2"} {
		t.Run("read "+id, func(t *testing.T) {
			res := e.get(t, "HealthcareService/"+id, iidReadHCS, scopeOrgRead)
			r := wantOK(t, res, "HealthcareService")
			if str(r, "id") != id {
				t.Errorf("id %q, want %q", str(r, "id"), id)
			}
			checkHealthcareService(t, r)
			wantETag(t, res, r)
		})
	}
	for _, id := range []string{"3", "mfpBm", "231Zcr64", "th.as.e", "11dd4.45-23", "40-95-3", "a-tm.mss..s"} {
		t.Run("read unknown "+id, func(t *testing.T) {
			wantOutcome(t, e.get(t, "HealthcareService/"+id, iidReadHCS, scopeOrgRead), 404, "NO_RECORD_FOUND")
		})
	}
	t.Run("read with no id", func(t *testing.T) {
		wantOutcome(t, e.get(t, "HealthcareService/", iidReadHCS, scopeOrgRead), 400, "BAD_REQUEST")
	})
	t.Run("a practice with filtering off", func(t *testing.T) {
		// Northgate (B82005) keeps service filtering off: its list counts as empty.
		r := e.do(t, e.requestAt(t, odsNorthgate, asidNorthgate, http.MethodGet, "HealthcareService/1", iidReadHCS, scopeOrgRead))
		wantOutcome(t, r, 404, "NO_RECORD_FOUND")
		b := wantOK(t, e.do(t, e.requestAt(t, odsNorthgate, asidNorthgate, http.MethodGet, "HealthcareService", iidFindHCS, scopeOrgRead)), "Bundle")
		if n := len(entries(b)); n != 0 {
			t.Errorf("find at a practice with filtering off: %d entries, want 0", n)
		}
	})
}

// idsOf lists the ids of a Bundle's resources of one type, in order.
func idsOf(b obj, resourceType string) []string {
	var ids []string
	for _, r := range entries(b) {
		if str(r, "resourceType") == resourceType {
			ids = append(ids, str(r, "id"))
		}
	}
	return ids
}

// checkHealthcareService checks a HealthcareService against spec §12.5:
// id, meta (versionId, profile), the DOS identifier, providedBy and name.
func checkHealthcareService(t testing.TB, r obj) {
	t.Helper()
	wantProfile(t, r, profHealthcareService)
	if str(r, "meta", "versionId") == "" {
		t.Errorf("HealthcareService/%s has no meta.versionId", str(r, "id"))
	}
	ids := arr(r, "identifier")
	if len(ids) != 1 || str(ids[0], "system") != sysDOS || str(ids[0], "value") == "" {
		t.Errorf("HealthcareService/%s identifier %v, want one %s identifier", str(r, "id"), ids, sysDOS)
	}
	if p := str(r, "providedBy", "reference"); !strings.HasPrefix(p, "Organization/") {
		t.Errorf("HealthcareService/%s providedBy %q", str(r, "id"), p)
	}
	if str(r, "name") == "" {
		t.Errorf("HealthcareService/%s has no name", str(r, "id"))
	}
}
