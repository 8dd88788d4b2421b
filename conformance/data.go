package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Data is the data map: which identifiers of the provider under test the
// checks use. The defaults (DefaultData) are the GP Connect provider test
// pack's maps (spec/testpack-data.md), which the Slotbridge demo data holds.
// A JSON file overrides any subset of the fields.
type Data struct {
	// ODS is the practice under test; ProviderASID its ASID (Ssp-To).
	ODS          string `json:"ods"`
	ProviderASID string `json:"providerAsid"`
	// SpecVersion is the CapabilityStatement.version expected.
	SpecVersion string `json:"specVersion"`
	// ConsumerASID (Ssp-From) and the requesting/booking organisation.
	ConsumerASID    string `json:"consumerAsid"`
	ConsumerODS     string `json:"consumerOds"`
	ConsumerName    string `json:"consumerName"`
	ConsumerPhone   string `json:"consumerPhone"`
	ConsumerOrgType string `json:"consumerOrgType"`
	// SearchDays is how many days after tomorrow the standard slot search covers.
	SearchDays int `json:"searchDays"`
	// Patients by role.
	Patients Patients `json:"patients"`
	// Practitioners are SDS user ids that must each find exactly one Practitioner.
	Practitioners []string `json:"practitioners"`
	// UnknownSDS must find none.
	UnknownSDS string `json:"unknownSds"`
	// Locations are logical ids of readable Locations.
	Locations []string `json:"locations"`
	// UnknownODS must find no Organization.
	UnknownODS string `json:"unknownOds"`
}

// Patients names the NHS numbers the checks need, by the state the provider must hold.
type Patients struct {
	// Bookable: registered and active; the suite books (and cancels) for them.
	Bookable string `json:"bookable"`
	// NoAppointments: active, with no appointments from today on.
	NoAppointments string `json:"noAppointments"`
	// Sensitive, Deceased and Inactive must not be found; NotInSystem must not exist.
	Sensitive   string `json:"sensitive"`
	Deceased    string `json:"deceased"`
	Inactive    string `json:"inactive"`
	NotInSystem string `json:"notInSystem"`
	// Superseded has a superseded NHS number on PDS; NotOnPDS is not on PDS.
	Superseded string `json:"superseded"`
	NotOnPDS   string `json:"notOnPds"`
	// Register lists patients on PDS whom the provider may not hold yet; the
	// suite registers the first one it cannot find.
	Register []NewPatient `json:"register"`
}

// NewPatient is a PDS person for Register a patient.
type NewPatient struct {
	NHS       string `json:"nhs"`
	Family    string `json:"family"`
	Given     string `json:"given"`
	Gender    string `json:"gender"`
	BirthDate string `json:"birthDate"`
}

// DefaultData is the test pack's data map (testpack-data.md §1-5), with the
// consumer of the pack (ASID 200000000359) booking as A20047, urgent care.
func DefaultData() Data {
	return Data{
		ODS: "A20047", ProviderASID: "918999198993", SpecVersion: "1.2.8",
		ConsumerASID: "200000000359", ConsumerODS: "A20047", ConsumerName: "Slotbridge Conformance Suite",
		ConsumerPhone: "01632 960999", ConsumerOrgType: "urgent-care",
		SearchDays: 3,
		Patients: Patients{
			Bookable: "9658218865", NoAppointments: "9658219721",
			Sensitive: "9658220142", Deceased: "9658220290", Inactive: "9658219748", NotInSystem: "9999999999",
			Superseded: "9658220223", NotOnPDS: "9476718943",
			Register: []NewPatient{
				{"9651260246", "BRUCE", "Jenna", "female", "1987-07-21"},
				{"9651260238", "RYAN", "Emilie", "female", "1981-05-27"},
				{"9651260211", "BLUNT", "Agnes", "female", "1992-09-13"},
				{"9651260203", "NAPIER", "Melvin", "male", "1988-11-13"},
				{"9651260181", "NEWNS", "Martin", "male", "1997-01-08"},
				{"9651260173", "MYERS", "Ted", "male", "1990-01-17"},
				{"9651260165", "GAWLEY", "Horace", "male", "2017-05-19"},
				{"9651260157", "GAWLEY", "Harold", "male", "2014-06-30"},
				{"9651260149", "GAWLEY", "Dulcie", "female", "2006-07-13"},
				{"9651260130", "GAWLEY", "Belle", "female", "1974-01-18"},
			},
		},
		Practitioners: []string{"G13579135", "G11111116", "G22345655"},
		UnknownSDS:    "unknownSDSUserID",
		Locations:     []string{"1", "8", "3"},
		UnknownODS:    "INVOC1",
	}
}

// LoadData reads a JSON data map over DefaultData; fields absent from the file keep their defaults.
func LoadData(path string) (Data, error) {
	d := DefaultData()
	if path == "" {
		return d, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return d, fmt.Errorf("conformance: data map: %w", err)
	}
	// A mistyped key ("odsCode" for "ods") would leave the default in
	// force and test another practice: unknown keys are refused.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("conformance: data map %s: %w", path, err)
	}
	if dec.More() {
		return d, fmt.Errorf("conformance: data map %s: more than one JSON value", path)
	}
	return d, nil
}
