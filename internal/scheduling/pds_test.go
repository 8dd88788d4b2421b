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
