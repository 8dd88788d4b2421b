package scheduling_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// FuzzReadPDSCSV: whatever file an operator gives, the reader returns
// records that pass its own checks or an error, never a panic, and never
// both some records and an error.
func FuzzReadPDSCSV(f *testing.F) {
	f.Add([]byte("nhs_number,family,given,gender,birth_date\n9651258500,Rea,Clive,MALE,1951-03-10\n"))
	f.Add([]byte("nhs_number,family,given,gender,birth_date,deceased,sensitive,superseded\n9990000018,Smith,,female,1980-01-02,2020-01-01,true,false\n"))
	f.Add([]byte("\ufeffnhs_number,family\n\"a\nb\",c"))
	f.Add([]byte("nhs_number,family,given,gender,birth_date\n9651258500,Rea,Clive,MALE,1951-03-10\n9651258500,Rea,Clive,MALE,1951-03-10\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		people, err := scheduling.ReadPDSCSV(bytes.NewReader(data))
		if err != nil {
			if people != nil {
				t.Fatalf("records and an error: %v", err)
			}
			return
		}
		for _, p := range people {
			if !scheduling.ValidNHSNumber(p.NHSNumber) || strings.TrimSpace(p.Family) == "" || len(p.BirthDate) != 10 {
				t.Fatalf("accepted %+v", p)
			}
		}
	})
}

// TestReadPDSCSVRefusals: what a PDS file is refused for, and that the
// message says it.
func TestReadPDSCSVRefusals(t *testing.T) {
	const head = "nhs_number,family,given,gender,birth_date\n"
	for body, want := range map[string]string{
		"":                               "the file is empty",
		"\ufeff\"nhs_number\"x,family\n": "the header row cannot be read",
		"nhs,family\n":                   "the header is",
		head + "9651258500,Rea\u202e,Clive,male,1951-03-10\n":                             "family holds a control or invisible formatting character",
		head + "9651258500," + strings.Repeat("x", 101) + ",Clive,male,1951-03-10\n":      "family is longer than 100 characters",
		head + "1234567890,X,Y,male,1990-01-01\n9651258500,\"Rea,Clive,male,1951-03-10\n": "line 2: \"1234567890\" is not a valid NHS number",
	} {
		if _, err := scheduling.ReadPDSCSV(strings.NewReader(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}
