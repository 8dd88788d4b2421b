package fhirmap

import (
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// The sub-extensions of Extension-CareConnect-GPC-NHSCommunication-1.
const (
	commLanguage    = "language"
	commPreferred   = "preferred"
	commMode        = "modeOfCommunication"
	commProficiency = "communicationProficiency"
	commInterpreter = "interpreterRequired"
)

// commExtensionName names the extension in error messages as the spec does.
const commExtensionName = "nhsCommunication"

// nhsCommunication is the extension for what a patient's registration sent,
// its sub-extensions in the profile's order; only those held appear, so an
// interpreterRequired that was not sent is not returned as false.
func nhsCommunication(c *scheduling.Communication) fhir.Extension {
	e := fhir.Extension{URL: gpconnect.ExtNHSCommunication}
	e.Extension = append(e.Extension, fhir.Extension{URL: commLanguage, ValueCodeableConcept: codeableConcept(c.Language)})
	if c.Preferred != nil {
		v := *c.Preferred
		e.Extension = append(e.Extension, fhir.Extension{URL: commPreferred, ValueBoolean: &v})
	}
	for _, m := range c.Modes {
		e.Extension = append(e.Extension, fhir.Extension{URL: commMode, ValueCodeableConcept: codeableConcept(m)})
	}
	if c.Proficiency != nil {
		e.Extension = append(e.Extension, fhir.Extension{URL: commProficiency, ValueCodeableConcept: codeableConcept(*c.Proficiency)})
	}
	if c.InterpreterRequired != nil {
		v := *c.InterpreterRequired
		e.Extension = append(e.Extension, fhir.Extension{URL: commInterpreter, ValueBoolean: &v})
	}
	return e
}

func codeableConcept(c scheduling.Concept) *fhir.CodeableConcept {
	out := &fhir.CodeableConcept{Text: c.Text}
	for _, cd := range c.Coding {
		out.Coding = append(out.Coding, fhir.Coding{System: cd.System, Version: cd.Version, Code: cd.Code, Display: cd.Display,
			UserSelected: cd.UserSelected})
	}
	return out
}

func concept(c *fhir.CodeableConcept) scheduling.Concept {
	out := scheduling.Concept{Text: c.Text}
	for _, cd := range c.Coding {
		out.Coding = append(out.Coding, scheduling.Coding{System: cd.System, Version: cd.Version, Code: cd.Code, Display: cd.Display,
			UserSelected: cd.UserSelected})
	}
	return out
}

// Communication reads the NHSCommunication extension of a register-patient
// request, keeping every sub-extension as sent so that the response and
// later reads return it (spec §12.2, §12.4). The profile's cardinalities
// and value types are enforced, and any other sub-extension refused, as
// the request's other elements are: language 1..1 with a code (its binding
// is required), preferred, communicationProficiency and interpreterRequired
// 0..1, modeOfCommunication 0..*. The systems and codes are not checked
// against the value sets: consumers send both the fhir.nhs.uk and the
// fhir.hl7.org.uk CareConnect code systems, and what was sent is returned.
// Every problem is reported at once as one EINVALID error.
func Communication(e fhir.Extension) (*scheduling.Communication, error) {
	var p problems
	if got := e.ValueTypes(); len(got) > 0 {
		p.add("the %s extension must carry sub-extensions only, not %s", commExtensionName, got[0])
	}
	c := &scheduling.Communication{}
	seen := map[string]int{}
	for _, sub := range e.Extension {
		name := commExtensionName + "." + sub.URL
		seen[sub.URL]++
		switch sub.URL {
		case commLanguage, commPreferred, commProficiency, commInterpreter:
			if seen[sub.URL] == 2 {
				p.add("the %s extension may be sent at most once", name)
			}
		case commMode:
		default:
			p.add("the %s extension has no sub-extension %q (allowed: %s, %s, %s, %s, %s)", commExtensionName, clip(sub.URL),
				commLanguage, commPreferred, commMode, commProficiency, commInterpreter)
			continue
		}
		switch sub.URL {
		case commPreferred, commInterpreter:
			if !hasValue(sub, name, "valueBoolean", &p) {
				continue
			}
			v := *sub.ValueBoolean
			if sub.URL == commPreferred {
				c.Preferred = &v
			} else {
				c.InterpreterRequired = &v
			}
		default:
			if !hasValue(sub, name, "valueCodeableConcept", &p) {
				continue
			}
			if !hasCode(sub.ValueCodeableConcept) {
				p.add("the %s extension's valueCodeableConcept needs a coding with a code", name)
				continue
			}
			v := concept(sub.ValueCodeableConcept)
			switch sub.URL {
			case commLanguage:
				c.Language = v
			case commMode:
				c.Modes = append(c.Modes, v)
			case commProficiency:
				c.Proficiency = &v
			}
		}
	}
	if seen[commLanguage] == 0 {
		p.add("the %s extension needs a %s sub-extension (1..1)", commExtensionName, commLanguage)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// hasValue reports whether sub carries a value of type want and nothing
// else, adding the problem when it does not.
func hasValue(sub fhir.Extension, name, want string, p *problems) bool {
	if wrongValue(sub, name, want, p) {
		return false
	}
	if len(sub.ValueTypes()) == 0 {
		p.add("the %s extension needs a %s", name, want)
		return false
	}
	return true
}

func hasCode(c *fhir.CodeableConcept) bool {
	for _, cd := range c.Coding {
		if cd.Code != "" {
			return true
		}
	}
	return false
}
