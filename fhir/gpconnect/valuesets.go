package gpconnect

// OrganisationType is a GPConnect-OrganisationType-1 code.
type OrganisationType string

// Organisation types.
const (
	OrgTypeGPPractice OrganisationType = "gp-practice"
	OrgTypeUrgentCare OrganisationType = "urgent-care"
)

// Valid reports whether t is a code of GPConnect-OrganisationType-1 (case-sensitive).
func (t OrganisationType) Valid() bool { return t == OrgTypeGPPractice || t == OrgTypeUrgentCare }

// Display is the code-system display of the organisation type.
func (t OrganisationType) Display() string {
	switch t {
	case OrgTypeGPPractice:
		return "GP Practice"
	case OrgTypeUrgentCare:
		return "Urgent Care"
	}
	return string(t)
}

// DeliveryChannel is a GPConnect-DeliveryChannel-1 code.
type DeliveryChannel string

// Delivery channels.
const (
	ChannelInPerson  DeliveryChannel = "In-person"
	ChannelTelephone DeliveryChannel = "Telephone"
	ChannelVideo     DeliveryChannel = "Video"
)

// Valid reports whether c is in the published code system.
func (c DeliveryChannel) Valid() bool {
	return c == ChannelInPerson || c == ChannelTelephone || c == ChannelVideo
}

// PractitionerRole is a code of the GPConnect-PractitionerRole-1 value set.
type PractitionerRole string

// PractitionerRoles maps each role code of the value set to its display.
var PractitionerRoles = map[PractitionerRole]string{
	"R0260": "General Medical Practitioner",
	"R0270": "Salaried General Practitioner",
	"R0410": "Student Practice Nurse",
	"R0600": "Specialist Nurse Practitioner",
	"R0610": "Sister/Charge Nurse",
	"R0620": "Staff Nurse",
	"R0680": "Midwife",
	"R0690": "Community Practitioner",
	"R0700": "Community Nurse",
	"R0790": "Dietitian",
	"R1290": "Pharmacist",
	"R1300": "Psychotherapist",
	"R1310": "Clinical Psychologist",
	"R1330": "Social Worker",
	"R1450": "Health Care Support Worker",
	"R1480": "Healthcare Assistant",
	"R1550": "Counsellor",
	"R1590": "Phlebotomist",
	"R6200": "GP Registrar",
	"R6300": "Sessional GP",
}

// Display is the value-set display of the role ("" if unknown).
func (r PractitionerRole) Display() string { return PractitionerRoles[r] }

// Valid reports whether r is in the value set.
func (r PractitionerRole) Valid() bool { _, ok := PractitionerRoles[r]; return ok }
