package scheduling

import "time"

// Address is a postal address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Lines      []string `json:"lines,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
	// End is set on temporary addresses given at registration.
	End string `json:"end,omitempty"`
}

// Telecom is a phone number or email address.
type Telecom struct {
	System string `json:"system"`
	Value  string `json:"value"`
	Use    string `json:"use,omitempty"`
	End    string `json:"end,omitempty"`
}

// Organisation is a practice, hub or any other organisation known by ODS code.
type Organisation struct {
	ID      int64
	ODS     string
	Name    string
	Kind    string // "practice" or "other"
	ASID    string // provider ASID; practices only
	Phone   string
	Address Address
	// GPConnectEnabled is the practice's global GP Connect switch.
	GPConnectEnabled bool
	// AppointmentsEnabled is the Appointment Management capability switch.
	AppointmentsEnabled bool
	// ServiceFiltering is the organisation switch of 1.2.8 service filtering
	// (spec §5.10); the supplier switch (SupplierFiltering) can still hold it off.
	ServiceFiltering bool
	Version          int64
	Updated          time.Time
}

// IsPractice reports whether the organisation hosts a GP Connect endpoint.
func (o *Organisation) IsPractice() bool { return o.Kind == KindPractice }

// AppointmentsOn reports whether both switches that Appointment Management
// needs are on: GP Connect and the capability itself.
func (o *Organisation) AppointmentsOn() bool { return o.GPConnectEnabled && o.AppointmentsEnabled }

// Organisation kinds.
const (
	KindPractice = "practice"
	KindOther    = "other"
)

// Location is a surgery or branch site of a practice.
type Location struct {
	ID         int64
	PracticeID int64
	Name       string
	SiteCode   string
	Phone      string
	Address    Address
	Status     string
	Version    int64
}

// Practitioner is a clinician known by SDS user id.
type Practitioner struct {
	ID             int64
	PracticeID     int64
	SDSUserID      string
	RoleProfileIDs []string
	Family         string
	Given          []string
	Prefix         []string
	Gender         string
	Version        int64
}

// Registration types.
const (
	RegRegular   = "R"
	RegTemporary = "T"
)

// Patient is a patient registered (regular or temporary) at a practice.
type Patient struct {
	ID                  int64
	PracticeID          int64
	NHSNumber           string
	Family              string
	Given               []string
	Prefix              []string
	Gender              string
	BirthDate           string
	Telecoms            []Telecom
	Addresses           []Address
	Active              bool
	Sensitive           bool
	Deceased            string // date of death, "" if alive
	RegistrationType    string
	RegistrationStart   string
	RegistrationEnd     string
	PreferredLocationID int64
	GPPractitionerID    int64
	// Communication is the patient's NHSCommunication extension as
	// registered; nil when none was sent (or the practice holds none).
	Communication *Communication
	Version       int64
}

// Communication is a patient's language and communication needs
// (Extension-CareConnect-GPC-NHSCommunication-1). It holds every
// sub-extension a registration sent, as sent, because the provider must
// return what it holds (spec §12.2, §12.4) and the test pack checks the
// language's code and display against the HumanLanguage value set. A nil
// Preferred or InterpreterRequired was not sent, which is not "false".
// The JSON names are how the store keeps it (patients.communication), so
// renaming one would lose that part of every stored row.
type Communication struct {
	// Language is the language (HumanLanguage), the one sub-extension required.
	Language Concept `json:"language"`
	// Preferred says whether the language is preferred over others.
	Preferred *bool `json:"preferred,omitempty"`
	// Modes are how the language is used (LanguageAbilityMode); 0..*.
	Modes []Concept `json:"modeOfCommunication,omitempty"`
	// Proficiency is how well (LanguageAbilityProficiency).
	Proficiency *Concept `json:"communicationProficiency,omitempty"`
	// InterpreterRequired says whether an interpreter is needed.
	InterpreterRequired *bool `json:"interpreterRequired,omitempty"`
}

// Concept is a coded value kept as the consumer sent it (a FHIR
// CodeableConcept), so that it can be returned unchanged.
type Concept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Coding is one code of a Concept.
type Coding struct {
	System       string `json:"system,omitempty"`
	Version      string `json:"version,omitempty"`
	Code         string `json:"code,omitempty"`
	Display      string `json:"display,omitempty"`
	UserSelected *bool  `json:"userSelected,omitempty"`
}

// Findable reports whether Find a patient may return the record: active, not sensitive, not deceased.
func (p *Patient) Findable() bool { return p.Active && !p.Sensitive && p.Deceased == "" }

// PDSPerson is what the national spine (PDS) says about an NHS number.
type PDSPerson struct {
	NHSNumber  string
	Family     string
	Given      []string
	Gender     string
	BirthDate  string
	Deceased   string
	Sensitive  bool
	Superseded bool
	Invalid    bool
}

// SlotStatus is a slot's state.
type SlotStatus string

// Slot states.
const (
	SlotFree    SlotStatus = "free"
	SlotBusy    SlotStatus = "busy"
	SlotBlocked SlotStatus = "busy-unavailable"
)

// Schedule is one session: a clinician (optional) at a location for a period.
type Schedule struct {
	ID              int64
	PracticeID      int64
	LocationID      int64
	PractitionerID  int64 // 0 when the session has no named clinician
	Role            string
	ServiceCategory string // schedule type, shown as Schedule.serviceCategory.text
	Start, End      time.Time
	AccessProfileID int64
	TemplateID      int64
	// HealthcareServiceID is the DOS service the session is offered under (0 = none).
	HealthcareServiceID int64
	// Status is "active", SessionCancelled or SessionRetired.
	Status  string
	Version int64
}

// SessionRetired is the status of a session its template replaced: a change
// to the template cancelled it and made a new one, so it was never withheld
// from anyone and explain leaves it out.
const SessionRetired = "retired"

// SessionCancelled is the status of a session the practice cancelled.
const SessionCancelled = "cancelled"

// Slot is one bookable period of a schedule.
type Slot struct {
	ID              int64
	ScheduleID      int64
	PracticeID      int64
	Start, End      time.Time
	Status          SlotStatus
	DeliveryChannel string
	ServiceType     string // slot type, shown as Slot.serviceType[0].text
	AccessProfileID int64  // effective profile: the slot's own, else the session's
	// OwnBlock: the practice blocked this slot itself, apart from any block
	// of its session, so unblocking the session leaves it blocked.
	OwnBlock bool
	// OwnProfile: the practice gave this slot its profile itself (after its
	// session's last profile change), so it keeps it; otherwise the slot is
	// on its session's profile, or on the one it was booked under while a
	// booking holds it, and goes back to its session's when freed.
	OwnProfile bool
	Version    int64
}

// Appointment statuses used here.
const (
	ApptBooked    = "booked"
	ApptCancelled = "cancelled"
)

// AnyVersion is the expected version that makes an amend or cancel
// without a version precondition (no If-Match, or If-Match: *).
// Versions start at 1, so no appointment is ever at version 0: a caller whose
// If-Match names 0 (W/"0") must refuse it itself (409) rather than pass 0,
// which would mean "any version".
const AnyVersion int64 = 0

// BookingOrg is the organisation that made a booking, as the consumer sent it.
type BookingOrg struct {
	ODS  string
	Name string
	Type string
	// Raw is the contained Organization exactly as received (JSON), returned on every read.
	Raw []byte
}

// Identifier is a business identifier of an appointment.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Participant is a non-derived appointment participant status.
type Participant struct {
	Reference string `json:"reference"`
	Status    string `json:"status"`
}

// Appointment is a booking of one or more adjacent slots of one schedule.
type Appointment struct {
	ID             int64
	PracticeID     int64
	ScheduleID     int64
	PatientID      int64
	LocationID     int64
	PractitionerID int64
	// HealthcareServiceID is the service of the appointment's schedule when it was booked (0 = none).
	HealthcareServiceID int64
	SlotIDs             []int64
	Status              string
	Start, End          time.Time
	Description         string
	Comment             string
	Created             time.Time
	CancellationReason  string
	BookingOrg          BookingOrg
	DeliveryChannel     string
	PractitionerRole    string
	ServiceCategory     string
	ServiceType         string
	Priority            *int
	MinutesDuration     *int
	Identifiers         []Identifier
	Participants        []Participant
	Version             int64
	Updated             time.Time
}
