package scheduling

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// PDSColumns are the columns of a PDS stand-in file, in order; the last
// three may be left off (empty, false, false).
var PDSColumns = []string{"nhs_number", "family", "given", "gender", "birth_date", "deceased", "sensitive", "superseded"}

// ReadPDSCSV reads PDS stand-in records from CSV with a PDSColumns header
// (the first five columns at least). Every row is checked — a valid NHS
// number given once, a family name, an administrative gender, dates as
// YYYY-MM-DD — and every bad row is reported, by line, in one EINVALID: a
// file is loaded whole or not at all.
func ReadPDSCSV(r io.Reader) ([]PDSPerson, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, Errorf(EINVALID, "the file is empty: want a header row %s", strings.Join(PDSColumns, ","))
	case err != nil:
		return nil, Errorf(EINVALID, "the header row cannot be read: %v", err)
	}
	for i := range head {
		head[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff")))
	}
	if len(head) < 5 || len(head) > len(PDSColumns) || !slices.Equal(head, PDSColumns[:len(head)]) {
		return nil, Errorf(EINVALID, "the header is %q: want %s (the last three optional)", strings.Join(head, ","), strings.Join(PDSColumns, ","))
	}
	var out []PDSPerson
	var probs []string
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A csv.ParseError names its own line; what was found before it is said too.
			return nil, Errorf(EINVALID, "%s", strings.Join(append(probs, err.Error()), "; "))
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(head) {
			probs = append(probs, fmt.Sprintf("line %d: %d fields, want %d", line, len(rec), len(head)))
			continue
		}
		p, why := pdsRow(rec)
		if why == "" {
			if first, dup := seen[p.NHSNumber]; dup {
				why = fmt.Sprintf("NHS number %s is on line %d already", p.NHSNumber, first)
			}
		}
		if why != "" {
			probs = append(probs, fmt.Sprintf("line %d: %s", line, why))
			continue
		}
		seen[p.NHSNumber] = line
		out = append(out, p)
	}
	if len(probs) > 0 {
		if len(probs) > 10 {
			probs = append(probs[:10], fmt.Sprintf("and %d more", len(probs)-10))
		}
		return nil, Errorf(EINVALID, "%s", strings.Join(probs, "; "))
	}
	return out, nil
}

// pdsRow reads one row, or says what is wrong with it.
func pdsRow(rec []string) (PDSPerson, string) {
	for i := range rec {
		rec[i] = strings.TrimSpace(rec[i])
		switch {
		case !PlainText(rec[i]) || strings.ContainsFunc(rec[i], Unsafe):
			return PDSPerson{}, PDSColumns[i] + " holds a control or invisible formatting character, or is not UTF-8"
		case utf8.RuneCountInString(rec[i]) > 100:
			return PDSPerson{}, PDSColumns[i] + " is longer than 100 characters"
		}
	}
	p := PDSPerson{NHSNumber: rec[0], Family: rec[1], Gender: strings.ToLower(rec[3]), BirthDate: rec[4]}
	if rec[2] != "" {
		p.Given = []string{rec[2]} // as PDS gives it: one field, spaces and all
	}
	day := func(s string) bool { _, err := time.Parse("2006-01-02", s); return err == nil }
	switch {
	case !ValidNHSNumber(p.NHSNumber):
		return p, fmt.Sprintf("%q is not a valid NHS number", p.NHSNumber)
	case p.Family == "":
		return p, "family is required"
	case !slices.Contains([]string{"male", "female", "other", "unknown"}, p.Gender):
		return p, fmt.Sprintf("gender %q is not male, female, other or unknown", rec[3])
	case !day(p.BirthDate):
		return p, fmt.Sprintf("birth_date %q is not YYYY-MM-DD", p.BirthDate)
	}
	if len(rec) > 5 && rec[5] != "" {
		if !day(rec[5]) {
			return p, fmt.Sprintf("deceased %q is not YYYY-MM-DD", rec[5])
		}
		p.Deceased = rec[5]
	}
	for i, dst := range []*bool{&p.Sensitive, &p.Superseded} {
		if col := 6 + i; len(rec) > col && rec[col] != "" {
			b, err := strconv.ParseBool(rec[col])
			if err != nil {
				return p, fmt.Sprintf("%s %q is not true or false", PDSColumns[col], rec[col])
			}
			*dst = b
		}
	}
	return p, ""
}
