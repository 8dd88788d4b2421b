package fhir_test

// FHIR XML requires the elements of every resource, data type and backbone
// element in StructureDefinition order; strict parsers (the FHIR XSDs, Firely
// with permissive parsing off) reject anything else. fhir/xml.go takes the Go
// field order as the XML order, so these tests hold the structs to the STU3
// definitions mechanically.
//
// The reference is google/fhir's generated STU3 protos: their field numbers
// follow the element definitions, checked below against orders copied from
// the STU3 specification and against the Element/Resource prefix every
// definition starts with. The check reads what MarshalXML actually writes
// (after its own rules: extension first in data types, Extension.url as an
// attribute, wrapped resources, no resourceType), for a fully populated
// instance of every resource, and requires that every element of every
// struct reachable from a resource was written and checked.
//
// JSON is not checked: FHIR JSON member order carries no meaning, and the JSON
// encoders keep their own (struct) order.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	d3 "github.com/google/fhir/go/proto/google/fhir/proto/stu3/datatypes_go_proto"
	r3 "github.com/google/fhir/go/proto/google/fhir/proto/stu3/resources_go_proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/slotbridge/slotbridge/fhir"
)

// orderResources is one value of every resource struct of package fhir;
// TestOrderResourcesComplete keeps it in step with the package source.
var orderResources = []fhir.Resource{
	&fhir.Slot{}, &fhir.Schedule{}, &fhir.Appointment{}, &fhir.Organization{},
	&fhir.Practitioner{}, &fhir.Location{}, &fhir.Patient{}, &fhir.Device{},
	&fhir.Parameters{}, &fhir.HealthcareService{}, &fhir.Bundle{},
	&fhir.OperationOutcome{}, &fhir.CapabilityStatement{},
}

// orderAllowList names struct elements ("GoType.jsonName") that have no
// STU3 element to be ordered against, each with the reason. Base STU3 has
// every element the structs carry, so it is empty; an entry here is skipped
// by the order check (and still must be written by the populated instance).
var orderAllowList = map[string]string{}

const (
	// maxOnPath is how often populate lets a struct type nest in itself.
	maxOnPath  = 2
	xhtmlNS    = "http://www.w3.org/1999/xhtml"
	protoStu3  = "google.fhir.stu3.proto."
	extMessage = protoStu3 + "Extension"
)

// containedDescriptor is google/fhir's ContainedResource: a oneof with one
// field per resource type, the proto of contained, Bundle.entry.resource
// and Parameters.parameter.resource.
var containedDescriptor = (&r3.ContainedResource{}).ProtoReflect().Descriptor()

// resourceDescriptor returns the STU3 proto message of resource type rt.
func resourceDescriptor(rt string) protoreflect.MessageDescriptor {
	fs := containedDescriptor.Fields()
	for i := 0; i < fs.Len(); i++ {
		if md := fs.Get(i).Message(); md != nil && string(md.Name()) == rt {
			return md
		}
	}
	return nil
}

// isResourceMessage reports whether md is a resource (an option of ContainedResource).
func isResourceMessage(md protoreflect.MessageDescriptor) bool {
	return resourceDescriptor(string(md.Name())) == md
}

// elementHead is where Element (id, extension) and BackboneElement
// (modifierExtension) put their elements: before the type's own, in every
// data type and backbone element.
var elementHead = []string{"id", "extension", "modifierExtension"}

// definitionOrder lists the elements of md in STU3 definition order, by JSON
// name (google/fhir sets json_name to the FHIR name, so escaped proto names
// such as string_value or class_value need no mapping; a choice element is
// its oneof wrapper's name, e.g. "deceased"). It is the field number order,
// except that in data types and backbone elements the inherited Element
// elements are put first: google/fhir numbers Extension.extension after
// value[x] (id 1, url 2, value 3, extension 4), whereas STU3 defines
// Extension as id, extension, url, value[x].
// TestProtoNumbersAreDefinitionOrder checks that this is the only change.
func definitionOrder(md protoreflect.MessageDescriptor) []string {
	byNum := protoNumberOrder(md)
	var out []string
	if !isResourceMessage(md) {
		for _, h := range elementHead {
			if slices.Contains(byNum, h) {
				out = append(out, h)
			}
		}
	}
	for _, name := range byNum {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// protoNumberOrder lists the fields of md by JSON name, in field number order.
func protoNumberOrder(md protoreflect.MessageDescriptor) []string {
	fs := md.Fields()
	all := make([]protoreflect.FieldDescriptor, fs.Len())
	for i := range all {
		all[i] = fs.Get(i)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Number() < all[j].Number() })
	out := make([]string, len(all))
	for i, f := range all {
		out[i] = f.JSONName()
	}
	return out
}

// stu3Orders are element orders copied by hand from the STU3 (3.0.1)
// specification, to check that google/fhir's numbering is definition order.
var stu3Orders = []struct {
	message string
	order   []string
}{
	{"Patient", []string{"id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
		"identifier", "active", "name", "telecom", "gender", "birthDate", "deceased", "address", "maritalStatus",
		"multipleBirth", "photo", "contact", "animal", "communication", "generalPractitioner", "managingOrganization", "link"}},
	{"Slot", []string{"id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
		"identifier", "serviceCategory", "serviceType", "specialty", "appointmentType", "schedule", "status", "start", "end",
		"overbooked", "comment"}},
	{"Appointment", []string{"id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension",
		"identifier", "status", "serviceCategory", "serviceType", "specialty", "appointmentType", "reason", "indication",
		"priority", "description", "supportingInformation", "start", "end", "minutesDuration", "slot", "created", "comment",
		"incomingReferral", "participant", "requestedPeriod"}},
	{"Appointment.Participant", []string{"id", "extension", "modifierExtension", "type", "actor", "required", "status"}},
	{"Bundle", []string{"id", "meta", "implicitRules", "language", "identifier", "type", "total", "link", "entry", "signature"}},
	{"HumanName", []string{"id", "extension", "use", "text", "family", "given", "prefix", "suffix", "period"}},
	{"Extension", []string{"id", "extension", "url", "value"}},
}

// TestProtoNumbersAreDefinitionOrder checks the assumption the order test
// rests on: google/fhir's STU3 field numbers follow the element definitions.
// It compares a few messages with orders copied from the specification, and
// checks that every message the structs map to starts with the Resource
// (id, meta, implicitRules, language) or Element (id, extension,
// modifierExtension) elements in their order, where only Extension needs
// definitionOrder's correction.
func TestProtoNumbersAreDefinitionOrder(t *testing.T) {
	for _, c := range stu3Orders {
		md := findMessage(c.message)
		if md == nil {
			t.Errorf("no STU3 proto message %s", c.message)
			continue
		}
		if got := definitionOrder(md); !slices.Equal(got, c.order) {
			t.Errorf("%s: proto order\n  %v\nSTU3 order\n  %v", c.message, got, c.order)
		}
	}

	resourceHead := []string{"id", "meta", "implicitRules", "language"}
	domainHead := append(slices.Clone(resourceHead), "text", "contained", "extension", "modifierExtension")
	var corrected []string
	for _, md := range reachedMessages(t) {
		byNum := protoNumberOrder(md)
		if isResourceMessage(md) {
			head := domainHead
			if !slices.Contains(byNum, "text") { // Bundle, Parameters, Binary: Resource, not DomainResource
				head = resourceHead
			}
			if len(byNum) < len(head) || !slices.Equal(byNum[:len(head)], head) {
				t.Errorf("%s: fields by number start %v, want %v", md.FullName(), byNum, head)
			}
			continue
		}
		if !slices.Equal(byNum, definitionOrder(md)) {
			corrected = append(corrected, string(md.FullName()))
		}
	}
	if !slices.Equal(corrected, []string{extMessage}) {
		t.Errorf("definitionOrder reorders the proto numbering of %v; want only %s", corrected, extMessage)
	}
}

// findMessage finds an STU3 message by name relative to the stu3 package
// ("Patient", "Appointment.Participant", "HumanName").
func findMessage(name string) protoreflect.MessageDescriptor {
	first, rest, _ := strings.Cut(name, ".")
	md := resourceDescriptor(first)
	if md == nil {
		md = (&d3.Extension{}).ProtoReflect().Descriptor().ParentFile().Messages().ByName(protoreflect.Name(first))
	}
	for md != nil && rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ".")
		md = md.Messages().ByName(protoreflect.Name(part))
	}
	return md
}

// ---------------------------------------------------------------------------
// Mapping a struct element to its proto field.

// protoElement is the STU3 element an XML element name stands for.
type protoElement struct {
	rank int                            // position in definitionOrder
	name string                         // element name in definitionOrder ("deceased" for deceasedBoolean)
	msg  protoreflect.MessageDescriptor // its type, or nil for a primitive
}

// orderCache keeps definitionOrder per message: lookupElement runs for
// every element written, and the tests do not run in parallel.
var orderCache = map[protoreflect.FullName][]string{}

// lookupElement maps the XML (and JSON) element name of a struct field to
// its element in md:
//
//   - most names are a field's JSON name (Reference.reference too: in
//     google/fhir it is one option, uri, of a oneof of typed ids, and that
//     option carries the JSON name "reference");
//   - a choice element name[x] written as name+Type (valueString,
//     deceasedDateTime, multipleBirthInteger) is the wrapper field "name",
//     a message whose oneof has an option for Type (string, dateTime, ...);
//     its rank is the wrapper's, and its type is the option's.
func lookupElement(md protoreflect.MessageDescriptor, name string) (protoElement, error) {
	order, ok := orderCache[md.FullName()]
	if !ok {
		order = definitionOrder(md)
		orderCache[md.FullName()] = order
	}
	fs := md.Fields()
	for i := 0; i < fs.Len(); i++ {
		f := fs.Get(i)
		if f.JSONName() == name {
			return protoElement{slices.Index(order, name), name, f.Message()}, nil
		}
	}
	for i := 0; i < fs.Len(); i++ {
		f := fs.Get(i)
		base := f.JSONName()
		typ, ok := strings.CutPrefix(name, base)
		if !ok || typ == "" || !unicode.IsUpper(rune(typ[0])) || !isChoiceWrapper(f.Message()) {
			continue
		}
		want := strings.ToLower(typ[:1]) + typ[1:]
		opts := f.Message().Oneofs().Get(0).Fields()
		for j := 0; j < opts.Len(); j++ {
			if opts.Get(j).JSONName() == want {
				return protoElement{slices.Index(order, base), base, opts.Get(j).Message()}, nil
			}
		}
		return protoElement{}, fmt.Errorf("%s: choice %s[x] has no type %q", md.FullName(), base, want)
	}
	return protoElement{}, fmt.Errorf("%s has no element %q", md.FullName(), name)
}

// isChoiceWrapper reports whether md is how google/fhir holds a choice
// element: a message that is one oneof and nothing else.
func isChoiceWrapper(md protoreflect.MessageDescriptor) bool {
	return md != nil && md.Oneofs().Len() == 1 && md.Oneofs().Get(0).Fields().Len() == md.Fields().Len()
}

// ---------------------------------------------------------------------------
// Struct side.

// resourceIface is fhir.Resource: a field of this type (or a list of them)
// holds wrapped resources.
var resourceIface = reflect.TypeOf((*fhir.Resource)(nil)).Elem()

// jsonName returns the element name of struct field f, as xml.go names it;
// "" for a field xml.go does not write (unexported, or json:"-").
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, ok := f.Tag.Lookup("json")
	if !ok {
		return f.Name
	}
	name, _, _ := strings.Cut(tag, ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// fieldByJSON finds the field of struct t named name in JSON.
func fieldByJSON(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if jsonName(t.Field(i)) == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// baseType strips pointers and slices: the struct or primitive a field holds.
func baseType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

// holdsResource reports whether a field holds wrapped resources (Resource, ResourceList).
func holdsResource(t reflect.Type) bool {
	return t == resourceIface || t.Kind() == reflect.Slice && t.Elem() == resourceIface
}

// reachableStructs lists the struct types of package fhir reachable from the
// resource structs through fields, pointers and slices. Resources held
// through the Resource interface are roots of their own.
func reachableStructs() []reflect.Type {
	pkg := reflect.TypeOf(fhir.Slot{}).PkgPath()
	seen := map[reflect.Type]bool{}
	var out []reflect.Type
	var visit func(reflect.Type)
	visit = func(t reflect.Type) {
		if t.Kind() != reflect.Struct || t.PkgPath() != pkg || seen[t] {
			return
		}
		seen[t] = true
		out = append(out, t)
		for i := 0; i < t.NumField(); i++ {
			if ft := t.Field(i).Type; !holdsResource(ft) {
				visit(baseType(ft))
			}
		}
	}
	for _, r := range orderResources {
		visit(reflect.TypeOf(r).Elem())
	}
	return out
}

// filledResource is what populate puts where a resource is wrapped: a
// populated resource with no wrapped resources of its own, so that filling
// ends.
func filledResource() fhir.Resource {
	o := &fhir.Organization{}
	populate(reflect.ValueOf(o).Elem(), map[reflect.Type]int{})
	return o
}

// populate sets every element of struct v: two items in every list, a
// value in every primitive and choice (all the choices at once: the order
// check ranks them alike), a nested struct wherever one can go with no type
// more than twice on the path, so that recursive elements
// (Extension.extension, Parameters.parameter.part, Identifier.assigner
// and Reference.identifier) are written once inside themselves and then stop.
func populate(v reflect.Value, onPath map[reflect.Type]int) {
	t := v.Type()
	onPath[t]++
	defer func() { onPath[t]-- }()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name := jsonName(sf)
		if name == "" {
			continue
		}
		fv := v.Field(i)
		switch {
		case name == "resourceType":
			fv.SetString(v.Addr().Interface().(fhir.Resource).GetResourceType())
		case name == "div" && t == reflect.TypeOf(fhir.Narrative{}):
			fv.SetString(`<div xmlns="` + xhtmlNS + `"><p>x</p></div>`)
		case sf.Type == resourceIface:
			fv.Set(reflect.ValueOf(filledResource()))
		case holdsResource(sf.Type):
			fv.Set(reflect.ValueOf(fhir.ResourceList{filledResource(), filledResource()}).Convert(sf.Type))
		case sf.Type.Kind() == reflect.Slice:
			if onPath[sf.Type.Elem()] >= maxOnPath {
				continue
			}
			s := reflect.MakeSlice(sf.Type, 2, 2)
			for j := 0; j < 2; j++ {
				fill(s.Index(j), onPath)
			}
			fv.Set(s)
		case sf.Type.Kind() == reflect.Pointer:
			if onPath[sf.Type.Elem()] >= maxOnPath {
				continue
			}
			p := reflect.New(sf.Type.Elem())
			fill(p.Elem(), onPath)
			fv.Set(p)
		default:
			fill(fv, onPath)
		}
	}
}

// fill sets a primitive to a non-zero value, or populates a struct.
func fill(v reflect.Value, onPath map[reflect.Type]int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Struct:
		populate(v, onPath)
	default:
		panic("populate: unsupported kind " + v.Kind().String())
	}
}

// ---------------------------------------------------------------------------
// XML side.

// xnode is an element of the XML MarshalXML wrote.
type xnode struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*xnode
}

// parseXML reads data into an element tree (text is ignored: MarshalXML
// writes values as attributes, and narrative XHTML is not walked).
func parseXML(data []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	var stack []*xnode
	var root *xnode
	for {
		tok, err := d.Token()
		if err != nil {
			if root != nil && len(stack) == 0 {
				return root, nil
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name, attrs: t.Attr}
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

// orderChecker walks MarshalXML's output alongside the structs and the
// protos, reporting elements out of definition order or without an STU3
// element, and noting which struct elements were written.
type orderChecker struct {
	problems []orderProblem
	seen     map[string]int // message -> index in problems
	written  map[reflect.Type]map[string]bool
}

// orderProblem is one problem, found first at path and then more times.
type orderProblem struct {
	msg, path string
	more      int
}

// newOrderChecker returns a checker with nothing found or written yet.
func newOrderChecker() *orderChecker {
	return &orderChecker{seen: map[string]int{}, written: map[reflect.Type]map[string]bool{}}
}

// errorf records a problem at path. The populated instances repeat each
// struct many times, so a problem is kept once, at its first path, with a
// count of the others.
func (c *orderChecker) errorf(path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if i, ok := c.seen[msg]; ok {
		c.problems[i].more++
		return
	}
	c.seen[msg] = len(c.problems)
	c.problems = append(c.problems, orderProblem{msg: msg, path: path})
}

// report fails t with the problems found, and forgets them.
func (c *orderChecker) report(t *testing.T) {
	t.Helper()
	for _, p := range c.problems {
		if p.more > 0 {
			t.Errorf("%s: %s (and %d more places)", p.path, p.msg, p.more)
		} else {
			t.Errorf("%s: %s", p.path, p.msg)
		}
	}
	c.problems, c.seen = nil, map[string]int{}
}

// mark notes that the element name of struct t was written and checked.
func (c *orderChecker) mark(t reflect.Type, name string) {
	if c.written[t] == nil {
		c.written[t] = map[string]bool{}
	}
	c.written[t][name] = true
}

// resource checks the element n, a resource.
func (c *orderChecker) resource(n *xnode, path string) {
	if n.name.Space != fhir.XMLNamespace {
		c.errorf(path, "<%s> is not in the FHIR namespace", n.name.Local)
		return
	}
	r := fhir.NewResource(n.name.Local)
	md := resourceDescriptor(n.name.Local)
	if r == nil || md == nil {
		c.errorf(path, "<%s> is not a resource with a struct and an STU3 proto", n.name.Local)
		return
	}
	c.element(n, reflect.TypeOf(r).Elem(), md, path+n.name.Local)
}

// element checks the children of n, written from struct t, against md.
func (c *orderChecker) element(n *xnode, t reflect.Type, md protoreflect.MessageDescriptor, path string) {
	for _, a := range n.attrs {
		if a.Name.Space != "" || a.Name.Local == "xmlns" {
			continue
		}
		if _, ok := fieldByJSON(t, a.Name.Local); !ok {
			c.errorf(path, "attribute %s is no field of %s", a.Name.Local, t.Name())
			continue
		}
		if md.Fields().ByJSONName(a.Name.Local) == nil {
			c.errorf(path, "attribute %s (%s) has no element in STU3 %s", a.Name.Local, t.Name(), md.FullName())
		}
		c.mark(t, a.Name.Local)
	}
	prev := protoElement{rank: -1}
	for _, k := range n.kids {
		name := k.name.Local
		kpath := path + "." + name
		wantNS := fhir.XMLNamespace
		if t == reflect.TypeOf(fhir.Narrative{}) && name == "div" {
			wantNS = xhtmlNS
		}
		if k.name.Space != wantNS {
			c.errorf(kpath, "%s.%s is in namespace %q, want %q", t.Name(), name, k.name.Space, wantNS)
		}
		sf, ok := fieldByJSON(t, name)
		if !ok {
			c.errorf(kpath, "no field of %s is named %q", t.Name(), name)
			continue
		}
		c.mark(t, name)
		if _, ok := orderAllowList[t.Name()+"."+name]; ok {
			continue
		}
		pe, err := lookupElement(md, name)
		if err != nil {
			c.errorf(kpath, "%s.%s: %v (map it in lookupElement, or allow-list it with a reason)", t.Name(), sf.Name, err)
			continue
		}
		if pe.rank < prev.rank {
			c.errorf(path, "<%s> (%s.%s) is written after <%s>, but STU3 %s defines %s before %s",
				name, t.Name(), sf.Name, prev.name, md.FullName(), pe.name, prev.name)
		}
		prev = pe
		switch ft := sf.Type; {
		case holdsResource(ft):
			if pe.msg != containedDescriptor {
				c.errorf(kpath, "%s.%s holds a resource, but STU3 %s is %v", t.Name(), sf.Name, pe.name, pe.msg)
			}
			if len(k.kids) != 1 {
				c.errorf(kpath, "a wrapper holds %d elements, want one resource", len(k.kids))
				continue
			}
			c.resource(k.kids[0], kpath+".")
		case baseType(ft).Kind() == reflect.Struct:
			if pe.msg == nil {
				c.errorf(kpath, "%s.%s is a struct, but STU3 %s is a primitive", t.Name(), sf.Name, pe.name)
				continue
			}
			c.element(k, baseType(ft), pe.msg, kpath)
		default:
			if len(k.kids) > 0 && wantNS == fhir.XMLNamespace {
				c.errorf(kpath, "%s.%s is a primitive with child elements", t.Name(), sf.Name)
			}
		}
	}
}

// checkXMLOrder encodes r and checks the order of what MarshalXML wrote.
func checkXMLOrder(t *testing.T, r fhir.Resource, c *orderChecker) {
	t.Helper()
	data, err := fhir.MarshalXML(r)
	if err != nil {
		t.Fatalf("MarshalXML: %v", err)
	}
	root, err := parseXML(data)
	if err != nil {
		t.Fatalf("reading MarshalXML's output: %v\n%s", err, data)
	}
	c.resource(root, "")
	c.report(t)
}

// TestXMLElementOrder encodes a fully populated instance of every resource
// struct and checks that at every level the elements come in STU3 definition
// order, each mapped to an STU3 element, and that every element of every
// struct reachable from a resource was written, so nothing went unchecked.
func TestXMLElementOrder(t *testing.T) {
	c := newOrderChecker()
	for _, r := range orderResources {
		rt := r.GetResourceType()
		t.Run(rt, func(t *testing.T) {
			v := reflect.New(reflect.TypeOf(r).Elem())
			populate(v.Elem(), map[reflect.Type]int{})
			checkXMLOrder(t, v.Interface().(fhir.Resource), c)
		})
	}
	for _, st := range reachableStructs() {
		for i := 0; i < st.NumField(); i++ {
			name := jsonName(st.Field(i))
			if name == "" || name == "resourceType" {
				continue // resourceType is the element name in XML, not an element
			}
			if !c.written[st][name] {
				t.Errorf("%s.%s (%s) was never written, so its order is unchecked", st.Name(), st.Field(i).Name, name)
			}
		}
	}
}

// TestXMLElementOrderSamples runs the order check on the realistic samples
// in testdata/stu3 (JSON → struct → XML), as the provider serves them.
func TestXMLElementOrderSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "stu3", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r, err := fhir.UnmarshalResource(data)
			if err != nil {
				t.Fatal(err)
			}
			checkXMLOrder(t, r, newOrderChecker())
		})
	}
}

// reachedMessages lists the STU3 messages the structs map to: the resources'
// and, through lookupElement, those of their struct-typed elements.
func reachedMessages(t *testing.T) []protoreflect.MessageDescriptor {
	t.Helper()
	seen := map[string]bool{}
	var out []protoreflect.MessageDescriptor
	var visit func(reflect.Type, protoreflect.MessageDescriptor)
	visit = func(st reflect.Type, md protoreflect.MessageDescriptor) {
		key := st.Name() + "=" + string(md.FullName())
		if seen[key] {
			return
		}
		seen[key] = true
		if !slices.Contains(out, md) {
			out = append(out, md)
		}
		for i := 0; i < st.NumField(); i++ {
			sf := st.Field(i)
			name := jsonName(sf)
			if name == "" || name == "resourceType" || holdsResource(sf.Type) || baseType(sf.Type).Kind() != reflect.Struct {
				continue
			}
			if _, ok := orderAllowList[st.Name()+"."+name]; ok {
				continue
			}
			pe, err := lookupElement(md, name)
			if err != nil || pe.msg == nil {
				continue // reported by TestXMLElementOrder
			}
			visit(baseType(sf.Type), pe.msg)
		}
	}
	for _, r := range orderResources {
		md := resourceDescriptor(r.GetResourceType())
		if md == nil {
			t.Fatalf("no STU3 proto for %s", r.GetResourceType())
		}
		visit(reflect.TypeOf(r).Elem(), md)
	}
	return out
}

// TestOrderResourcesComplete checks that orderResources lists every struct
// of package fhir with a GetResourceType method (read from the source), so
// a new resource cannot escape the order check.
func TestOrderResourcesComplete(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var inSource []string
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Name.Name != "GetResourceType" {
				continue
			}
			rt := fd.Recv.List[0].Type
			if star, ok := rt.(*ast.StarExpr); ok {
				rt = star.X
			}
			if id, ok := rt.(*ast.Ident); ok && id.Name != "RawResource" { // RawResource: no struct, written from its JSON
				inSource = append(inSource, id.Name)
			}
		}
	}
	var listed []string
	for _, r := range orderResources {
		listed = append(listed, reflect.TypeOf(r).Elem().Name())
		if got := fhir.NewResource(r.GetResourceType()); reflect.TypeOf(got) != reflect.TypeOf(r) {
			t.Errorf("NewResource(%q) is %T, want %T", r.GetResourceType(), got, r)
		}
	}
	sort.Strings(inSource)
	sort.Strings(listed)
	if !slices.Equal(inSource, listed) {
		t.Errorf("resource structs in the source %v, in orderResources %v", inSource, listed)
	}
}
