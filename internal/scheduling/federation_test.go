package scheduling

import (
	"strings"
	"testing"
)

// TestCheckEndpoint: a directory entry names its own practice in its
// service root (spec §1.1) and has a numeric ASID.
func TestCheckEndpoint(t *testing.T) {
	ok := Endpoint{ODS: "A20047", ServiceRoot: "https://provider.example/A20047/STU3/1/gpconnect", ASID: "918999198993"}
	if err := CheckEndpoint(&ok); err != nil {
		t.Fatalf("good entry: %v", err)
	}
	for name, c := range map[string]struct {
		edit func(*Endpoint)
		want string
	}{
		"another practice's root": {func(e *Endpoint) { e.ServiceRoot = "https://provider.example/B82005/STU3/1/gpconnect" }, "must name the practice"},
		"root with no ODS":        {func(e *Endpoint) { e.ServiceRoot = "https://provider.example/STU3/1/gpconnect" }, "must name the practice"},
		"ODS only as a prefix":    {func(e *Endpoint) { e.ServiceRoot = "https://provider.example/A200478/STU3/1/gpconnect" }, "must name the practice"},
		"ASID a word":             {func(e *Endpoint) { e.ASID = "abc" }, "ASID"},
		"ASID empty":              {func(e *Endpoint) { e.ASID = "" }, "ASID"},
		"trailing slash":          {func(e *Endpoint) { e.ServiceRoot += "/" }, "must not end in /"},
	} {
		e := ok
		c.edit(&e)
		if err := CheckEndpoint(&e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
		}
	}
}
