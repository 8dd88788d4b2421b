package fhir

// Slot is STU3 Slot.
type Slot struct {
	ResourceType    string            `json:"resourceType"`
	ID              string            `json:"id,omitempty"`
	Meta            *Meta             `json:"meta,omitempty"`
	Extension       []Extension       `json:"extension,omitempty"`
	Identifier      []Identifier      `json:"identifier,omitempty"`
	ServiceCategory *CodeableConcept  `json:"serviceCategory,omitempty"`
	ServiceType     []CodeableConcept `json:"serviceType,omitempty"`
	Specialty       []CodeableConcept `json:"specialty,omitempty"`
	AppointmentType *CodeableConcept  `json:"appointmentType,omitempty"`
	Schedule        Reference         `json:"schedule"`
	Status          string            `json:"status"`
	Start           string            `json:"start"`
	End             string            `json:"end"`
	Overbooked      *bool             `json:"overbooked,omitempty"`
	Comment         string            `json:"comment,omitempty"`
}

// Schedule is STU3 Schedule.
type Schedule struct {
	ResourceType    string            `json:"resourceType"`
	ID              string            `json:"id,omitempty"`
	Meta            *Meta             `json:"meta,omitempty"`
	Extension       []Extension       `json:"extension,omitempty"`
	Identifier      []Identifier      `json:"identifier,omitempty"`
	Active          *bool             `json:"active,omitempty"`
	ServiceCategory *CodeableConcept  `json:"serviceCategory,omitempty"`
	ServiceType     []CodeableConcept `json:"serviceType,omitempty"`
	Specialty       []CodeableConcept `json:"specialty,omitempty"`
	Actor           []Reference       `json:"actor"`
	PlanningHorizon *Period           `json:"planningHorizon,omitempty"`
	Comment         string            `json:"comment,omitempty"`
}

// AppointmentParticipant is STU3 Appointment.participant.
type AppointmentParticipant struct {
	Type     []CodeableConcept `json:"type,omitempty"`
	Actor    *Reference        `json:"actor,omitempty"`
	Required string            `json:"required,omitempty"`
	Status   string            `json:"status,omitempty"`
}

// Appointment is STU3 Appointment.
type Appointment struct {
	ResourceType          string                   `json:"resourceType"`
	ID                    string                   `json:"id,omitempty"`
	Meta                  *Meta                    `json:"meta,omitempty"`
	Text                  *Narrative               `json:"text,omitempty"`
	Contained             ResourceList             `json:"contained,omitempty"`
	Extension             []Extension              `json:"extension,omitempty"`
	Identifier            []Identifier             `json:"identifier,omitempty"`
	Status                string                   `json:"status,omitempty"`
	ServiceCategory       *CodeableConcept         `json:"serviceCategory,omitempty"`
	ServiceType           []CodeableConcept        `json:"serviceType,omitempty"`
	Specialty             []CodeableConcept        `json:"specialty,omitempty"`
	AppointmentType       *CodeableConcept         `json:"appointmentType,omitempty"`
	Reason                []CodeableConcept        `json:"reason,omitempty"`
	Indication            []Reference              `json:"indication,omitempty"`
	Priority              *int                     `json:"priority,omitempty"`
	Description           string                   `json:"description,omitempty"`
	SupportingInformation []Reference              `json:"supportingInformation,omitempty"`
	Start                 string                   `json:"start,omitempty"`
	End                   string                   `json:"end,omitempty"`
	MinutesDuration       *int                     `json:"minutesDuration,omitempty"`
	Slot                  []Reference              `json:"slot,omitempty"`
	Created               string                   `json:"created,omitempty"`
	Comment               string                   `json:"comment,omitempty"`
	IncomingReferral      []Reference              `json:"incomingReferral,omitempty"`
	Participant           []AppointmentParticipant `json:"participant,omitempty"`
	RequestedPeriod       []Period                 `json:"requestedPeriod,omitempty"`

	// Source is the JSON the appointment was decoded from, kept only by
	// UnmarshalResourceKeepingSource (the consumer's reads, never a
	// provider's request parsing), so that an amend or cancel can send back
	// through MarshalEdited what these fields do not model. Never encoded.
	Source []byte `json:"-"`
	// ETag is the version tag the server sent with the appointment
	// (W/"{versionId}"), kept by the consumer for If-Match on a later
	// update because a server need not repeat it in meta.versionId. Never encoded.
	ETag string `json:"-"`
}

// Organization is STU3 Organization.
type Organization struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id,omitempty"`
	Meta         *Meta             `json:"meta,omitempty"`
	Extension    []Extension       `json:"extension,omitempty"`
	Identifier   []Identifier      `json:"identifier,omitempty"`
	Active       *bool             `json:"active,omitempty"`
	Type         []CodeableConcept `json:"type,omitempty"`
	Name         string            `json:"name,omitempty"`
	Alias        []string          `json:"alias,omitempty"`
	Telecom      []ContactPoint    `json:"telecom,omitempty"`
	Address      []Address         `json:"address,omitempty"`
	PartOf       *Reference        `json:"partOf,omitempty"`
	Contact      []OrgContact      `json:"contact,omitempty"`
	Endpoint     []Reference       `json:"endpoint,omitempty"`
}

// OrgContact is STU3 Organization.contact.
type OrgContact struct {
	Purpose *CodeableConcept `json:"purpose,omitempty"`
	Name    *HumanName       `json:"name,omitempty"`
	Telecom []ContactPoint   `json:"telecom,omitempty"`
	Address *Address         `json:"address,omitempty"`
}

// PractitionerQualification is STU3 Practitioner.qualification.
type PractitionerQualification struct {
	Identifier []Identifier    `json:"identifier,omitempty"`
	Code       CodeableConcept `json:"code"`
	Period     *Period         `json:"period,omitempty"`
	Issuer     *Reference      `json:"issuer,omitempty"`
}

// Practitioner is STU3 Practitioner.
type Practitioner struct {
	ResourceType  string                      `json:"resourceType"`
	ID            string                      `json:"id,omitempty"`
	Meta          *Meta                       `json:"meta,omitempty"`
	Extension     []Extension                 `json:"extension,omitempty"`
	Identifier    []Identifier                `json:"identifier,omitempty"`
	Active        *bool                       `json:"active,omitempty"`
	Name          []HumanName                 `json:"name,omitempty"`
	Telecom       []ContactPoint              `json:"telecom,omitempty"`
	Address       []Address                   `json:"address,omitempty"`
	Gender        string                      `json:"gender,omitempty"`
	BirthDate     string                      `json:"birthDate,omitempty"`
	Qualification []PractitionerQualification `json:"qualification,omitempty"`
	Communication []CodeableConcept           `json:"communication,omitempty"`
}

// Location is STU3 Location.
type Location struct {
	ResourceType         string           `json:"resourceType"`
	ID                   string           `json:"id,omitempty"`
	Meta                 *Meta            `json:"meta,omitempty"`
	Extension            []Extension      `json:"extension,omitempty"`
	Identifier           []Identifier     `json:"identifier,omitempty"`
	Status               string           `json:"status,omitempty"`
	Name                 string           `json:"name,omitempty"`
	Alias                []string         `json:"alias,omitempty"`
	Description          string           `json:"description,omitempty"`
	Mode                 string           `json:"mode,omitempty"`
	Type                 *CodeableConcept `json:"type,omitempty"`
	Telecom              []ContactPoint   `json:"telecom,omitempty"`
	Address              *Address         `json:"address,omitempty"`
	PhysicalType         *CodeableConcept `json:"physicalType,omitempty"`
	ManagingOrganization *Reference       `json:"managingOrganization,omitempty"`
	PartOf               *Reference       `json:"partOf,omitempty"`
	Endpoint             []Reference      `json:"endpoint,omitempty"`
}

// PatientContact is STU3 Patient.contact.
type PatientContact struct {
	Relationship []CodeableConcept `json:"relationship,omitempty"`
	Name         *HumanName        `json:"name,omitempty"`
	Telecom      []ContactPoint    `json:"telecom,omitempty"`
	Address      *Address          `json:"address,omitempty"`
	Gender       string            `json:"gender,omitempty"`
	Organization *Reference        `json:"organization,omitempty"`
	Period       *Period           `json:"period,omitempty"`
}

// Attachment is STU3 Attachment.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	Language    string `json:"language,omitempty"`
	Data        string `json:"data,omitempty"`
	URL         string `json:"url,omitempty"`
	Size        *int   `json:"size,omitempty"`
	Hash        string `json:"hash,omitempty"`
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// PatientAnimal is STU3 Patient.animal.
type PatientAnimal struct {
	Species      CodeableConcept  `json:"species"`
	Breed        *CodeableConcept `json:"breed,omitempty"`
	GenderStatus *CodeableConcept `json:"genderStatus,omitempty"`
}

// PatientCommunication is STU3 Patient.communication.
type PatientCommunication struct {
	Language  CodeableConcept `json:"language"`
	Preferred *bool           `json:"preferred,omitempty"`
}

// PatientLink is STU3 Patient.link.
type PatientLink struct {
	Other Reference `json:"other"`
	Type  string    `json:"type"`
}

// Patient is STU3 Patient.
type Patient struct {
	ResourceType         string                 `json:"resourceType"`
	ID                   string                 `json:"id,omitempty"`
	Meta                 *Meta                  `json:"meta,omitempty"`
	Extension            []Extension            `json:"extension,omitempty"`
	Identifier           []Identifier           `json:"identifier,omitempty"`
	Active               *bool                  `json:"active,omitempty"`
	Name                 []HumanName            `json:"name,omitempty"`
	Telecom              []ContactPoint         `json:"telecom,omitempty"`
	Gender               string                 `json:"gender,omitempty"`
	BirthDate            string                 `json:"birthDate,omitempty"`
	DeceasedBoolean      *bool                  `json:"deceasedBoolean,omitempty"`
	DeceasedDateTime     string                 `json:"deceasedDateTime,omitempty"`
	Address              []Address              `json:"address,omitempty"`
	MaritalStatus        *CodeableConcept       `json:"maritalStatus,omitempty"`
	MultipleBirthBoolean *bool                  `json:"multipleBirthBoolean,omitempty"`
	MultipleBirthInteger *int                   `json:"multipleBirthInteger,omitempty"`
	Photo                []Attachment           `json:"photo,omitempty"`
	Contact              []PatientContact       `json:"contact,omitempty"`
	Animal               *PatientAnimal         `json:"animal,omitempty"`
	Communication        []PatientCommunication `json:"communication,omitempty"`
	GeneralPractitioner  []Reference            `json:"generalPractitioner,omitempty"`
	ManagingOrganization *Reference             `json:"managingOrganization,omitempty"`
	Link                 []PatientLink          `json:"link,omitempty"`
}

// Device is STU3 Device (the JWT requesting_device claim).
type Device struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         *Meta        `json:"meta,omitempty"`
	Identifier   []Identifier `json:"identifier,omitempty"`
	Status       string       `json:"status,omitempty"`
	Manufacturer string       `json:"manufacturer,omitempty"`
	Model        string       `json:"model,omitempty"`
	Version      string       `json:"version,omitempty"`
}

// ParametersParameter is STU3 Parameters.parameter.
type ParametersParameter struct {
	Name            string                `json:"name"`
	ValueString     *string               `json:"valueString,omitempty"`
	ValueCode       *string               `json:"valueCode,omitempty"`
	ValueBoolean    *bool                 `json:"valueBoolean,omitempty"`
	ValueIdentifier *Identifier           `json:"valueIdentifier,omitempty"`
	Resource        Resource              `json:"resource,omitempty"`
	Part            []ParametersParameter `json:"part,omitempty"`
}

// Parameters is STU3 Parameters.
type Parameters struct {
	ResourceType string                `json:"resourceType"`
	ID           string                `json:"id,omitempty"`
	Meta         *Meta                 `json:"meta,omitempty"`
	Parameter    []ParametersParameter `json:"parameter,omitempty"`
}

// HealthcareService is the STU3 HealthcareService subset GP Connect 1.2.8 uses.
type HealthcareService struct {
	ResourceType string       `json:"resourceType"`
	ID           string       `json:"id,omitempty"`
	Meta         *Meta        `json:"meta,omitempty"`
	Identifier   []Identifier `json:"identifier,omitempty"`
	Active       *bool        `json:"active,omitempty"`
	ProvidedBy   *Reference   `json:"providedBy,omitempty"`
	Location     []Reference  `json:"location,omitempty"`
	Name         string       `json:"name,omitempty"`
}

// GetResourceType implements Resource.
func (*Slot) GetResourceType() string { return "Slot" }

// GetResourceType implements Resource.
func (*Schedule) GetResourceType() string { return "Schedule" }

// GetResourceType implements Resource.
func (*Appointment) GetResourceType() string { return "Appointment" }

// GetResourceType implements Resource.
func (*Organization) GetResourceType() string { return "Organization" }

// GetResourceType implements Resource.
func (*Practitioner) GetResourceType() string { return "Practitioner" }

// GetResourceType implements Resource.
func (*Location) GetResourceType() string { return "Location" }

// GetResourceType implements Resource.
func (*Patient) GetResourceType() string { return "Patient" }

// GetResourceType implements Resource.
func (*Device) GetResourceType() string { return "Device" }

// GetResourceType implements Resource.
func (*Parameters) GetResourceType() string { return "Parameters" }

// GetResourceType implements Resource.
func (*HealthcareService) GetResourceType() string { return "HealthcareService" }
