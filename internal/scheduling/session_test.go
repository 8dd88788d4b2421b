package scheduling

import (
	"strings"
	"testing"
)

// TestTemplateSlotLength: a slot length past the session's is "longer than
// the session", however long; "must be positive" is for zero and below.
func TestTemplateSlotLength(t *testing.T) {
	for minutes, want := range map[int]string{
		0:      "slot length must be positive",
		-5:     "slot length must be positive",
		181:    "the slot length (181 minutes) is longer than the session (180 minutes)",
		1441:   "the slot length (1441 minutes) is longer than the session (180 minutes)",
		100000: "the slot length (100000 minutes) is longer than the session (180 minutes)",
	} {
		tpl := SessionTemplate{Name: "t", StartLocal: "09:00", EndLocal: "12:00", SlotMinutes: minutes, LocationID: 1, Role: "R0260",
			ServiceCategory: "c", ServiceType: "t", Channels: []string{"In-person"}, AccessProfileID: 1}
		if err := tpl.Validate(); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), want) {
			t.Errorf("slot length %d: %v, want %q", minutes, err, want)
		}
	}
}
