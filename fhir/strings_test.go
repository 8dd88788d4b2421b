package fhir

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCheckStrings: a FHIR string may hold tab, CR and LF but no other
// control character, and must be UTF-8; the error names the element. The
// strict decoders refuse such a body, in JSON (where "\u0000" is valid) and
// wherever the string sits: a nested element, a contained resource, a
// resource of a type with no struct.
func TestCheckStrings(t *testing.T) {
	for _, c := range []struct {
		body, want string
	}{
		{`{"resourceType":"Appointment","description":"tab\there\r\nok"}`, ""},
		{`{"resourceType":"Appointment","description":"a\u0000b"}`, "Appointment.description holds the control character U+0000"},
		{`{"resourceType":"Appointment","participant":[{"actor":{"display":"x\u001b"}}]}`, "Appointment.participant.actor.display"},
		{`{"resourceType":"Appointment","contained":[{"resourceType":"Organization","id":"1","name":"GP\u0007"}]}`, "Appointment.contained[Organization].name"},
		{`{"resourceType":"Appointment","contained":[{"resourceType":"Encounter","status":"plan\u0001ned"}]}`, "Appointment.contained[Encounter].status holds the control character U+0001"},
		// Noncharacters: stored from JSON, they could never be answered in XML.
		{`{"resourceType":"Appointment","description":"x\uFFFFy"}`, "Appointment.description holds U+FFFF"},
		{`{"resourceType":"Appointment","comment":"\uFFFE"}`, "Appointment.comment holds U+FFFE"},
		{`{"resourceType":"Appointment","description":"replacement \uFFFD and emoji \ud83d\ude00 are fine"}`, ""},
		// FHIR integers are 32-bit; Go's int would keep and return more.
		{`{"resourceType":"Appointment","priority":99999999999}`, "Appointment.priority is 99999999999, beyond the 32-bit range"},
		{`{"resourceType":"Appointment","priority":2147483647}`, ""},
	} {
		_, err := DecodeJSONStrict([]byte(c.body), "Appointment")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want accepted", c.body, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error naming %q", c.body, err, c.want)
		}
	}
	if err := CheckStrings(&Organization{ResourceType: "Organization", Name: "GP \xff"}); err == nil || !strings.Contains(err.Error(), "Organization.name is not valid UTF-8") {
		t.Errorf("invalid UTF-8: %v", err)
	}
	if _, err := DecodeJSON([]byte(`{"resourceType":"Appointment","description":"a\u0000b"}`), "Appointment"); err != nil {
		t.Errorf("the lenient decoder (for responses) refused a control character: %v", err)
	}
}

// TestDuplicateMembersRefused: a member repeated in one object is refused
// (encoding/json would keep the last), as the XML decoder refuses a
// repeated element; the error names the member and where it is.
func TestDuplicateMembersRefused(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"resourceType":"Appointment","description":"a","description":"b"}`, `Appointment has the member "description" twice`},
		{`{"resourceType":"Appointment","participant":[{"status":"accepted","status":"declined"}]}`, `Appointment.participant[0] has the member "status" twice`},
	} {
		if _, err := DecodeJSONStrict([]byte(c.body), "Appointment"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.body, err, c.want)
		}
	}
}

// TestJSONByteOrderMark: a body starting with a UTF-8 byte order mark is
// read as without it (RFC 8259 §8.1 lets a parser ignore it), as the XML
// decoder reads one.
func TestJSONByteOrderMark(t *testing.T) {
	r, err := DecodeJSONStrict([]byte("\xef\xbb\xbf"+`{"resourceType":"Appointment","description":"x"}`), "Appointment")
	if err != nil || r.(*Appointment).Description != "x" {
		t.Errorf("%v, %+v", err, r)
	}
}

// TestClipTextKeepsCharacters: a clipped text never ends in half a
// character (it goes out in diagnostics, as UTF-8).
func TestClipTextKeepsCharacters(t *testing.T) {
	got := clipText("xy"+strings.Repeat("é", 40), 41)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "...") {
		t.Errorf("clipText = %q", got)
	}
}
