package auth

// The elements FHIR STU3 (3.0.1) defines for the three resource claims.
//
// GP Connect asks for a "valid FHIR resource" in requesting_device,
// requesting_organization and requesting_practitioner (spec §3.2) and
// expects 422 for one that is not, e.g. one with an element named
// invalidField. The fhir structs model only the elements Slotbridge uses,
// so the decoder cannot take "the struct has no field for it" to mean
// "not FHIR": consumers legitimately send other STU3 elements (older test
// pack tokens sent requesting_device.type). The tables below are the STU3
// definitions instead. An element the struct models is decoded strictly
// into it; any other element in the table is checked for its JSON shape and
// skipped; a name in no table is refused.

import (
	"fmt"
	"reflect"

	"github.com/slotbridge/slotbridge/fhir"
)

// element is one top-level element of an STU3 resource, as far as JSON
// decoding needs to know it.
type element struct {
	name string
	shape
}

// shape is the JSON form of an element's value.
type shape struct {
	// many is true for a 0..* element, which FHIR JSON always writes as an
	// array, even with one item.
	many bool
	// kind is the JSON kind of one value: kindObject for a complex type or
	// backbone element, kindString or kindBool for a primitive (every
	// primitive these resources have at top level is a JSON string except
	// boolean).
	kind byte
	// nullItems allows null array items. Only the _name array of a
	// repeating primitive has them, to keep its items aligned with the
	// values they extend.
	nullItems bool
}

// primitive reports whether values of the element are JSON primitives, which
// makes FHIR JSON accept a _name sibling carrying their id and extensions.
func (s shape) primitive() bool { return s.kind != kindObject }

// Constructors that keep the tables readable.
func single(name string, kind byte) element    { return element{name, shape{kind: kind}} }
func repeating(name string, kind byte) element { return element{name, shape{many: true, kind: kind}} }

// stu3DomainResource lists the elements STU3 Resource and DomainResource give
// every resource below. modifierExtension, the last DomainResource element,
// is in refusedElements instead. id has the FHIR primitive type id in STU3,
// so _id is accepted like any _name sibling.
// implicitRules is flagged as a modifier element in STU3 but is accepted:
// the only refusal FHIR mandates is for unknown modifier extensions. Move it
// to refusedElements to refuse resources that carry it.
var stu3DomainResource = []element{
	single("id", kindString),            // id
	single("meta", kindObject),          // Meta
	single("implicitRules", kindString), // uri
	single("language", kindString),      // code
	single("text", kindObject),          // Narrative
	repeating("contained", kindObject),  // Resource
	repeating("extension", kindObject),  // Extension
}

// stu3Device lists the elements of STU3 Device
// (http://hl7.org/fhir/STU3/device.html); R4 renamed and split several.
var stu3Device = []element{
	repeating("identifier", kindObject),   // Identifier
	single("udi", kindObject),             // BackboneElement (0..1 in STU3, udiCarrier 0..* in R4)
	single("status", kindString),          // code
	single("type", kindObject),            // CodeableConcept
	single("lotNumber", kindString),       // string
	single("manufacturer", kindString),    // string
	single("manufactureDate", kindString), // dateTime
	single("expirationDate", kindString),  // dateTime
	single("model", kindString),           // string
	single("version", kindString),         // string
	single("patient", kindObject),         // Reference(Patient)
	single("owner", kindObject),           // Reference(Organization)
	repeating("contact", kindObject),      // ContactPoint
	single("location", kindObject),        // Reference(Location)
	single("url", kindString),             // uri
	repeating("note", kindObject),         // Annotation
	repeating("safety", kindObject),       // CodeableConcept
}

// stu3Organization lists the elements of STU3 Organization
// (http://hl7.org/fhir/STU3/organization.html).
var stu3Organization = []element{
	repeating("identifier", kindObject), // Identifier
	single("active", kindBool),          // boolean
	repeating("type", kindObject),       // CodeableConcept
	single("name", kindString),          // string
	repeating("alias", kindString),      // string
	repeating("telecom", kindObject),    // ContactPoint
	repeating("address", kindObject),    // Address
	single("partOf", kindObject),        // Reference(Organization)
	repeating("contact", kindObject),    // BackboneElement
	repeating("endpoint", kindObject),   // Reference(Endpoint)
}

// stu3Practitioner lists the elements of STU3 Practitioner
// (http://hl7.org/fhir/STU3/practitioner.html).
var stu3Practitioner = []element{
	repeating("identifier", kindObject),    // Identifier
	single("active", kindBool),             // boolean
	repeating("name", kindObject),          // HumanName
	repeating("telecom", kindObject),       // ContactPoint
	repeating("address", kindObject),       // Address
	single("gender", kindString),           // code
	single("birthDate", kindString),        // date
	repeating("photo", kindObject),         // Attachment
	repeating("qualification", kindObject), // BackboneElement
	repeating("communication", kindObject), // CodeableConcept
}

// refusedElements are STU3 elements that are valid FHIR but that this
// server must not skip, with the reason given to the consumer. FHIR says a
// system that meets a modifier extension it does not understand must not
// process the resource, since the extension may change its meaning (e.g.
// negate it); Slotbridge understands none.
var refusedElements = map[string]string{
	"modifierExtension": "modifier extensions are not supported (FHIR requires a receiver that does not understand a modifier extension to refuse the resource)",
}

// Resource claims as decodeResource reads them.
var (
	deviceDef       = newResourceDef("Device", reflect.TypeFor[fhir.Device](), stu3DomainResource, stu3Device)
	organizationDef = newResourceDef("Organization", reflect.TypeFor[fhir.Organization](), stu3DomainResource, stu3Organization)
	practitionerDef = newResourceDef("Practitioner", reflect.TypeFor[fhir.Practitioner](), stu3DomainResource, stu3Practitioner)
)

// resourceDef is how decodeResource reads one resource type.
type resourceDef struct {
	typ string  // resourceType
	s   *schema // the fhir struct
	// members holds every member name the resource may have besides
	// resourceType: its elements, the _name siblings of its primitive
	// elements and refusedElements.
	members map[string]member
}

// member is how decodeResource reads one member name.
type member struct {
	bit    uint   // bit for duplicate detection, below 64
	field  int    // index into s.fields, or -1 when the struct does not model it
	shape  shape  // checked when field is -1
	refuse string // non-empty: the member is refused with this message
}

// newResourceDef joins the STU3 element tables with the fhir struct t. It
// panics (at package initialisation) when they disagree: a struct field
// STU3 does not define, or one whose Go type does not fit the element's
// cardinality or kind, would make the decoder accept or refuse the wrong
// JSON.
func newResourceDef(typ string, t reflect.Type, tables ...[]element) *resourceDef {
	s := schemaOf(t)
	if s.kind != schemaStruct {
		panic("auth: " + t.String() + " is not decoded natively")
	}
	def := &resourceDef{typ: typ, s: s, members: map[string]member{}}
	add := func(name string, m member) {
		if _, dup := def.members[name]; dup || name == "resourceType" {
			panic("auth: " + typ + " element " + name + " listed twice")
		}
		m.bit = uint(len(def.members))
		def.members[name] = m
	}
	modelled := 0
	for _, table := range tables {
		for _, el := range table {
			m := member{field: -1, shape: el.shape}
			if idx, ok := s.names[el.name]; ok {
				if got := fieldShape(s.fields[idx].s); got != el.shape {
					panic(fmt.Sprintf("auth: %s.%s is %+v in Go but %+v in STU3", t, el.name, got, el.shape))
				}
				m.field = idx
				modelled++
			}
			add(el.name, m)
			if el.primitive() {
				// FHIR JSON carries a primitive's id and extensions in a
				// _name sibling: an object, or for a repeating primitive
				// an array aligned with the values, null where a value
				// has none.
				add("_"+el.name, member{field: -1, shape: shape{many: el.many, kind: kindObject, nullItems: el.many}})
			}
		}
	}
	if _, ok := s.names["resourceType"]; ok {
		modelled++
	}
	if modelled != len(s.fields) {
		panic("auth: " + t.String() + " has a field that is not an STU3 " + typ + " element")
	}
	for name, msg := range refusedElements {
		add(name, member{field: -1, refuse: msg})
	}
	if len(def.members) > 64 { // seen is a uint64
		panic("auth: " + typ + " has too many members")
	}
	return def
}

// fieldShape is the JSON shape a struct field decodes.
func fieldShape(s *schema) shape {
	var sh shape
	if s.kind == schemaSlice {
		sh.many, s = true, s.elem
	}
	if s.kind == schemaPointer {
		s = s.elem
	}
	switch s.kind {
	case schemaString:
		sh.kind = kindString
	case schemaBool:
		sh.kind = kindBool
	case schemaInt:
		sh.kind = kindNumber
	case schemaStruct:
		sh.kind = kindObject
	}
	return sh
}
