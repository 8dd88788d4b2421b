package scheduling

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// HealthcareService is a service a practice offers under its own entry in
// the UEC Directory of Services (DOS). A session (and the template that makes
// it) may be linked to one; with service filtering on, a consumer that found
// the service in DOS sees only the slots of the sessions linked to it.
type HealthcareService struct {
	ID         int64
	PracticeID int64
	// DOSID is the service's DOS id (https://fhir.nhs.uk/Id/uec-dos-service-id).
	DOSID   string
	Name    string
	Version int64
	Updated time.Time
}

// MaxDOSID bounds a DOS service id; DOS ids are short digit strings.
const MaxDOSID = 64

// Validate reports the first problem with the service, or nil.
func (h *HealthcareService) Validate() error {
	switch {
	case h.DOSID == "":
		return Errorf(EINVALID, "dos_id is required")
	case len(h.DOSID) > MaxDOSID:
		return Errorf(EINVALID, "dos_id is longer than %d characters", MaxDOSID)
	case strings.ContainsFunc(h.DOSID, func(r rune) bool { return r <= ' ' || r == '|' || r == 0x7f }):
		return Errorf(EINVALID, "dos_id may not hold spaces, control characters or '|'")
	case strings.TrimSpace(h.Name) == "":
		return Errorf(EINVALID, "name is required")
	case len(h.Name) > 200:
		return Errorf(EINVALID, "name is longer than 200 characters")
	case strings.ContainsFunc(h.Name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return Errorf(EINVALID, "name may not hold control characters")
	}
	return nil
}

// ServiceFilteringStatus is a code of GPConnect-ServiceFilteringStatus-1.
type ServiceFilteringStatus string

// The ServiceFilteringStatus codes.
const (
	FilteringEnabled              ServiceFilteringStatus = "enabled"
	FilteringOrganisationDisabled ServiceFilteringStatus = "organization-disabled"
	FilteringSupplierDisabled     ServiceFilteringStatus = "supplier-disabled"
)

// SupplierFiltering is the supplier switch of spec §5.10: off, on, or on at
// the selected organisations only. The zero value is on: each practice's
// own switch (off by default) then decides.
type SupplierFiltering struct {
	// Off holds service filtering off everywhere.
	Off bool
	// Selected, when not nil, limits it to these ODS codes (upper case).
	Selected []string
}

// ParseSupplierFiltering reads the supplier switch: "on", "off", or a
// comma-separated list of ODS codes (on at those organisations only).
func ParseSupplierFiltering(s string) (SupplierFiltering, error) {
	switch v := strings.TrimSpace(s); strings.ToLower(v) {
	case "", "on":
		return SupplierFiltering{}, nil
	case "off":
		return SupplierFiltering{Off: true}, nil
	default:
		var sel []string
		for _, code := range strings.Split(v, ",") {
			code = strings.ToUpper(strings.TrimSpace(code))
			// An ODS code is letters and digits, with at least one digit, so a
			// misspelt "on" or "off" is not read as an organisation.
			if len(code) < 3 || len(code) > 10 || !strings.ContainsAny(code, "0123456789") ||
				strings.ContainsFunc(code, func(r rune) bool { return !('A' <= r && r <= 'Z' || '0' <= r && r <= '9') }) {
				return SupplierFiltering{}, fmt.Errorf("service filtering %q: want on, off or a comma-separated list of ODS codes", s)
			}
			sel = append(sel, code)
		}
		return SupplierFiltering{Selected: sel}, nil
	}
}

// String is the switch in the form ParseSupplierFiltering reads.
func (f SupplierFiltering) String() string {
	switch {
	case f.Off:
		return "off"
	case f.Selected != nil:
		return strings.Join(f.Selected, ",")
	}
	return "on"
}

// Status is service filtering's effective state at org: the supplier
// switch first (off, or org not selected, counts as the organisation switch
// being off), then the organisation's own switch.
func (f SupplierFiltering) Status(org *Organisation) ServiceFilteringStatus {
	if f.Off || (f.Selected != nil && !slices.Contains(f.Selected, strings.ToUpper(org.ODS))) {
		return FilteringSupplierDisabled
	}
	if !org.ServiceFiltering {
		return FilteringOrganisationDisabled
	}
	return FilteringEnabled
}
