package scheduling

import (
	"strings"
	"testing"
)

// TestSupplierFiltering walks spec §5.10's switches: the supplier switch
// (off, on, on at selected organisations) over the organisation's own.
func TestSupplierFiltering(t *testing.T) {
	on := &Organisation{ODS: "A20047", ServiceFiltering: true}
	off := &Organisation{ODS: "A20047"}
	rows := []struct {
		supplier string
		org      *Organisation
		want     ServiceFilteringStatus
	}{
		{"on", on, FilteringEnabled},
		{"", on, FilteringEnabled},
		{"ON", off, FilteringOrganisationDisabled},
		{"off", on, FilteringSupplierDisabled},
		{"off", off, FilteringSupplierDisabled},
		{"A20047", on, FilteringEnabled},
		{" b82005 , a20047 ", on, FilteringEnabled},
		{"B82005", on, FilteringSupplierDisabled},
		{"A20047", off, FilteringOrganisationDisabled},
	}
	for _, r := range rows {
		sf, err := ParseSupplierFiltering(r.supplier)
		if err != nil {
			t.Fatalf("ParseSupplierFiltering(%q): %v", r.supplier, err)
		}
		if got := sf.Status(r.org); got != r.want {
			t.Errorf("supplier %q, organisation switch %v: %s, want %s", r.supplier, r.org.ServiceFiltering, got, r.want)
		}
		again, err := ParseSupplierFiltering(sf.String())
		if err != nil || again.String() != sf.String() {
			t.Errorf("%q does not round-trip: %q, %v", r.supplier, again.String(), err)
		}
	}
	for _, bad := range []string{"maybe", "A20047,", "A2 0047", "A20047;B82005", ","} {
		if _, err := ParseSupplierFiltering(bad); err == nil {
			t.Errorf("ParseSupplierFiltering(%q) accepted", bad)
		}
	}
}

// TestHealthcareServiceValidate checks the admin-facing rules on a service.
func TestHealthcareServiceValidate(t *testing.T) {
	long := make([]byte, MaxDOSID+1)
	for i := range long {
		long[i] = '1'
	}
	rows := []struct {
		h  HealthcareService
		ok bool
	}{
		{HealthcareService{DOSID: "2000041001", Name: "Urgent care call-back"}, true},
		{HealthcareService{DOSID: "", Name: "x"}, false},
		{HealthcareService{DOSID: "1 2", Name: "x"}, false},
		{HealthcareService{DOSID: "1|2", Name: "x"}, false},
		{HealthcareService{DOSID: string(long), Name: "x"}, false},
		{HealthcareService{DOSID: "1", Name: "  "}, false},
		{HealthcareService{DOSID: "1", Name: "a\x00b"}, false},
	}
	for _, r := range rows {
		if err := r.h.Validate(); (err == nil) != r.ok {
			t.Errorf("Validate(%q, %q) = %v, want ok=%v", r.h.DOSID, r.h.Name, err, r.ok)
		}
	}
}

// TestTemplateWholeSlots: a session that is not a whole number of slots is
// refused, since its remainder would silently hold no slot.
func TestTemplateWholeSlots(t *testing.T) {
	for _, c := range []struct {
		start, end string
		minutes    int
		want       string // "" = valid
	}{
		{"09:00", "10:00", 10, ""},
		{"09:00", "09:10", 10, ""},
		{"10:00", "10:25", 10, "last 5 minutes would hold no slot"},
		{"21:00", "21:25", 10, "not a whole number of 10-minute slots"},
		{"09:00", "09:05", 10, "longer than the session"},
	} {
		tpl := SessionTemplate{Name: "t", StartLocal: c.start, EndLocal: c.end, SlotMinutes: c.minutes, LocationID: 1,
			Role: "R0260", ServiceCategory: "c", ServiceType: "t", Channels: []string{"In-person"}, AccessProfileID: 1}
		err := tpl.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s-%s by %d: %v, want %q", c.start, c.end, c.minutes, err, c.want)
		}
	}
}
