// Package fhir holds hand-written FHIR STU3 (3.0.1) wire types for the
// resources GP Connect Appointment Management uses, with JSON and XML codecs.
//
// Cardinalities follow STU3: a 0..1 element is a single value (a pointer when
// it is a complex type or a primitive whose zero value is meaningful), a 0..*
// element is a slice. Elements GP Connect forbids but consumers may still send
// (reason, specialty, ...) are present so that validation can see and reject them.
package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Meta is STU3 Meta.
type Meta struct {
	VersionID   string      `json:"versionId,omitempty"`
	LastUpdated string      `json:"lastUpdated,omitempty"`
	Profile     []string    `json:"profile,omitempty"`
	Security    []Coding    `json:"security,omitempty"`
	Tag         []Coding    `json:"tag,omitempty"`
	Extension   []Extension `json:"extension,omitempty"`
}

// Extension is STU3 Extension with the value[x] choices GP Connect uses.
type Extension struct {
	URL                  string           `json:"url"`
	Extension            []Extension      `json:"extension,omitempty"`
	ValueString          *string          `json:"valueString,omitempty"`
	ValueCode            *string          `json:"valueCode,omitempty"`
	ValueBoolean         *bool            `json:"valueBoolean,omitempty"`
	ValueInteger         *int             `json:"valueInteger,omitempty"`
	ValueDateTime        *string          `json:"valueDateTime,omitempty"`
	ValueURI             *string          `json:"valueUri,omitempty"`
	ValueReference       *Reference       `json:"valueReference,omitempty"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
	ValueCoding          *Coding          `json:"valueCoding,omitempty"`
	ValuePeriod          *Period          `json:"valuePeriod,omitempty"`
	ValueIdentifier      *Identifier      `json:"valueIdentifier,omitempty"`
	// otherValues names the value[x] elements of a type the struct does
	// not hold (valueDate, valueDecimal, ...) that a decoder met and
	// skipped, so that such an extension still counts as having a value
	// (ValueTypes): every extension read from XML, and in a JSON request
	// body those of the resource's own extension tree (and of the
	// resources a Parameters passes), which are the ones the mapping reads.
	// They are not kept or re-encoded.
	otherValues []string
}

// modelledValues are the value[x] members Extension holds, read from its
// JSON tags so that a value type added to the struct cannot be missed.
var modelledValues = func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeOf(Extension{})
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if strings.HasPrefix(name, "value") {
			m[name] = true
		}
	}
	return m
}()

// ValueTypes names the value[x] elements e carries ("valueString", ...): one
// for a valid extension, none for one that holds nested extensions instead.
// TestExtensionValueTypes keeps it in step with the struct's Value fields.
func (e *Extension) ValueTypes() []string {
	var out []string
	for _, v := range [...]struct {
		name string
		set  bool
	}{
		{"valueString", e.ValueString != nil}, {"valueCode", e.ValueCode != nil}, {"valueBoolean", e.ValueBoolean != nil},
		{"valueInteger", e.ValueInteger != nil}, {"valueDateTime", e.ValueDateTime != nil}, {"valueUri", e.ValueURI != nil},
		{"valueReference", e.ValueReference != nil}, {"valueCodeableConcept", e.ValueCodeableConcept != nil},
		{"valueCoding", e.ValueCoding != nil}, {"valuePeriod", e.ValuePeriod != nil}, {"valueIdentifier", e.ValueIdentifier != nil},
	} {
		if v.set {
			out = append(out, v.name)
		}
	}
	return append(out, e.otherValues...)
}

// ErrInvalidExtension is wrapped by the errors for an extension with no url,
// more than one value, or a value and nested extensions (STU3 ext-1); one
// with neither is an *EmptyExtensionError.
var ErrInvalidExtension = errors.New("fhir: invalid extension")

// checkDecodedExtensions applies STU3 ext-1 to decoded extensions and those
// nested in them: each has a url and either exactly one value or nested
// extensions. One with neither is an *EmptyExtensionError naming rt. It
// trusts the struct, which holds only the value types GP Connect uses and
// the names of the others the XML decoder skipped, so it serves the XML
// decoder only; JSON bodies and the JWT claims are checked on their raw
// members (CheckExtensionsJSON).
func checkDecodedExtensions(rt string, exts []Extension) error {
	return checkExtensionDepth(rt, exts, 0)
}

func checkExtensionDepth(rt string, exts []Extension, depth int) error {
	if depth > 16 {
		return fmt.Errorf("fhir: %s extensions nested too deep", rt)
	}
	for i := range exts {
		e := &exts[i]
		switch n := len(e.ValueTypes()); {
		case e.URL == "":
			return fmt.Errorf("%w: %s has an extension without a url", ErrInvalidExtension, rt)
		case n == 0 && len(e.Extension) == 0:
			return &EmptyExtensionError{ResourceType: rt, URL: e.URL, Nested: depth > 0}
		case n > 1:
			return fmt.Errorf("%w: %s extension %q has more than one value", ErrInvalidExtension, rt, clipText(e.URL, 80))
		case n == 1 && len(e.Extension) > 0:
			return fmt.Errorf("%w: %s extension %q has both a value and nested extensions", ErrInvalidExtension, rt, clipText(e.URL, 80))
		}
		if err := checkExtensionDepth(rt, e.Extension, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// Coding is STU3 Coding.
type Coding struct {
	System       string `json:"system,omitempty"`
	Version      string `json:"version,omitempty"`
	Code         string `json:"code,omitempty"`
	Display      string `json:"display,omitempty"`
	UserSelected *bool  `json:"userSelected,omitempty"`
}

// CodeableConcept is STU3 CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Identifier is STU3 Identifier.
type Identifier struct {
	Extension []Extension      `json:"extension,omitempty"`
	Use       string           `json:"use,omitempty"`
	Type      *CodeableConcept `json:"type,omitempty"`
	System    string           `json:"system,omitempty"`
	Value     string           `json:"value,omitempty"`
	Period    *Period          `json:"period,omitempty"`
	Assigner  *Reference       `json:"assigner,omitempty"`
}

// Reference is STU3 Reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Period is STU3 Period; start and end are dateTimes.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// HumanName is STU3 HumanName.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
	Prefix []string `json:"prefix,omitempty"`
	Suffix []string `json:"suffix,omitempty"`
	Period *Period  `json:"period,omitempty"`
}

// ContactPoint is STU3 ContactPoint.
type ContactPoint struct {
	System string  `json:"system,omitempty"`
	Value  string  `json:"value,omitempty"`
	Use    string  `json:"use,omitempty"`
	Rank   *int    `json:"rank,omitempty"`
	Period *Period `json:"period,omitempty"`
}

// Address is STU3 Address.
type Address struct {
	Use        string   `json:"use,omitempty"`
	Type       string   `json:"type,omitempty"`
	Text       string   `json:"text,omitempty"`
	Line       []string `json:"line,omitempty"`
	City       string   `json:"city,omitempty"`
	District   string   `json:"district,omitempty"`
	State      string   `json:"state,omitempty"`
	PostalCode string   `json:"postalCode,omitempty"`
	Country    string   `json:"country,omitempty"`
	Period     *Period  `json:"period,omitempty"`
}

// Narrative is STU3 Narrative.
type Narrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
}

// Resource is any STU3 resource this package knows.
type Resource interface {
	// GetResourceType names the resource type, e.g. "Slot".
	GetResourceType() string
}

// Encoded is a resource paired with its JSON encoding made in advance, for
// a resource that appears unchanged in many responses (the schedules,
// practitioners and locations of slot searches). JSON output copies the
// bytes; XML output encodes the resource. Neither may change afterwards.
type Encoded struct {
	Resource
	JSON []byte
}

// NewEncoded encodes r once.
func NewEncoded(r Resource) (*Encoded, error) {
	b, err := MarshalJSON(r)
	if err != nil {
		return nil, err
	}
	return &Encoded{Resource: r, JSON: b}, nil
}

// MarshalJSON returns the encoding made in advance.
func (e *Encoded) MarshalJSON() ([]byte, error) { return e.JSON, nil }

// RawResource is a resource of a type this package has no struct for; it
// keeps the original JSON so nothing is lost.
type RawResource struct {
	Type string
	JSON json.RawMessage
}

// GetResourceType implements Resource.
func (r *RawResource) GetResourceType() string { return r.Type }

// MarshalJSON writes the original JSON back.
func (r *RawResource) MarshalJSON() ([]byte, error) { return r.JSON, nil }
