package fhir

// FHIR STU3 XML codec.
//
// The codec walks the Go structs of this package by reflection, using each
// field's json tag as the element name and the struct field order as the
// element order (the structs are written in STU3 definition order). The few
// places where XML differs from JSON are handled explicitly:
//
//   - resourceType is not written; the resource is the element name;
//   - Extension.url is an attribute;
//   - in data types, extension is written first (Element.extension comes
//     before the type's own elements, wherever the Go field sits);
//   - contained, Bundle.entry.resource and Parameters.parameter.resource hold
//     a wrapped resource: <contained><Organization>...</Organization></contained>;
//   - Narrative.div is XHTML, embedded as elements in the XHTML namespace.
//
// The narrative div is re-serialised in both directions (attributes in
// double quotes, text escaped as &amp; &lt; &gt;, one xmlns on the div, no
// comments), so a div that is already in that form survives a round trip
// byte for byte.
//
// Values: an empty string is not written (FHIR XML has no empty value
// attributes), except as a list item or through a pointer, where it is an
// element without a value (<given/>) so that positions survive. Lists without
// omitempty (Bundle.entry) decode as [] rather than nil. MarshalXML refuses
// characters XML 1.0 cannot carry (control characters) rather than replace
// them, and a narrative that is not one XHTML div.
//
// Decoding is strict about the document (namespaces, DOCTYPE, malformed XML,
// a repeated attribute, a character reference XML forbids such as half of
// a surrogate pair, invalid UTF-8, text where none belongs, values that do not fit the field,
// repeated single-valued elements, nesting deeper than 64) and lenient about
// content: unknown elements and attributes (element ids, primitive
// extensions) are skipped and element order is not checked. Resource types
// without a struct cannot be decoded from XML; as a *RawResource they can be
// encoded, from their JSON.

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// XMLNamespace is the XML namespace of every FHIR element.
const XMLNamespace = "http://hl7.org/fhir"

const (
	xhtmlNamespace = "http://www.w3.org/1999/xhtml"
	xmlNamespace   = "http://www.w3.org/XML/1998/namespace"
	// maxXMLDepth bounds element nesting, counted from the root element (1),
	// when decoding and, with the same measure, when encoding.
	maxXMLDepth = 64
	// maxJSONDepth bounds nesting of a RawResource's JSON when it is written as XML.
	maxJSONDepth = 4 * maxXMLDepth
)

// MarshalXML encodes a resource as FHIR STU3 XML. The root element carries
// xmlns="http://hl7.org/fhir"; no XML declaration is written.
func MarshalXML(r Resource) ([]byte, error) {
	if isNilResource(r) {
		return nil, errors.New("fhir: xml: nil resource")
	}
	w := &xmlWriter{}
	if err := w.resource(r, 1, true); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// UnmarshalXML decodes a FHIR STU3 XML resource of any type this package has
// a struct for; the root element picks the type. Other types are an error.
func UnmarshalXML(data []byte) (Resource, error) {
	rd, start, err := newXMLReader(data)
	if err != nil {
		return nil, err
	}
	return rd.document(start)
}

// DecodeXML decodes a request body that must be a FHIR XML resource of type
// want, as DecodeJSON does for JSON: a body of another type is an error that
// names the type found.
func DecodeXML(data []byte, want string) (Resource, error) {
	return decodeXML(data, want, false)
}

// DecodeXMLStrict is DecodeXML for a request body: an element of a resource
// (the root, a contained one, a parameter's; not of their parts) that its
// type does not define is an error, as the GP Connect test pack expects of a
// booking or registration sent with an extra field, and so is a string that
// is not UTF-8 or holds a control character other than tab, CR or LF (see
// CheckStrings).
func DecodeXMLStrict(data []byte, want string) (Resource, error) {
	r, err := decodeXML(data, want, true)
	if err != nil {
		return nil, err
	}
	if err := checkExtensionValues(r, 0); err != nil {
		return nil, err
	}
	if err := CheckStrings(r); err != nil {
		return nil, err
	}
	return r, nil
}

// checkExtensionValues is checkExtensions for a decoded resource and the
// resources it contains or passes as parameters, as checkMembers walks them
// in JSON: checkDecodedExtensions on each one's own extensions.
func checkExtensionValues(r Resource, depth int) error {
	v := reflect.ValueOf(r)
	if v.Kind() != reflect.Pointer || v.IsNil() || depth > 16 {
		return nil
	}
	v = v.Elem()
	if v.Kind() != reflect.Struct {
		return nil
	}
	for _, name := range []string{"Extension", "ModifierExtension"} {
		exts, _ := fieldValue(v, name).([]Extension)
		if err := checkDecodedExtensions(r.GetResourceType(), exts); err != nil {
			return err
		}
	}
	contained, _ := fieldValue(v, "Contained").(ResourceList)
	for _, c := range contained {
		if err := checkExtensionValues(c, depth+1); err != nil {
			return err
		}
	}
	if p, ok := r.(*Parameters); ok {
		for i := range p.Parameter {
			if err := checkExtensionValues(p.Parameter[i].Resource, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func fieldValue(v reflect.Value, name string) any {
	f := v.FieldByName(name)
	if !f.IsValid() || !f.CanInterface() {
		return nil
	}
	return f.Interface()
}

func decodeXML(data []byte, want string, strict bool) (Resource, error) {
	rd, start, err := newXMLReader(data)
	if err != nil {
		return nil, err
	}
	if start.Name.Local != want {
		return nil, fmt.Errorf("fhir: expected %s, got %s", want, start.Name.Local)
	}
	rd.strict = strict
	return rd.document(start)
}

// ---------------------------------------------------------------------------
// Type information.

type xmlKind uint8

const (
	xkPrimitive     xmlKind = iota // string, bool, int, float, or a pointer to one
	xkPrimitiveList                // slice of primitives
	xkComplex                      // struct or *struct
	xkComplexList                  // []struct
	xkResource                     // Resource interface
	xkResourceList                 // ResourceList
	xkAttr                         // XML attribute (Extension.url)
	xkDiv                          // Narrative.div
	xkResourceType                 // resourceType: the element name, not an element
)

type xmlField struct {
	name  string
	index int
	kind  xmlKind
	ptr   bool // single value held through a pointer
	// emptyList: a list without omitempty, decoded as [] rather than nil so
	// that it encodes as [] in JSON (Bundle.entry).
	emptyList bool
	typ       reflect.Type // the struct or primitive type (slice element, pointee)
}

type xmlType struct {
	fields     []xmlField // in XML order
	byName     map[string]int
	isResource bool
	rtIndex    int // index of the resourceType field, or -1
}

var (
	xmlTypeCache     sync.Map // reflect.Type -> *xmlType
	resourceIfaceTyp = reflect.TypeOf((*Resource)(nil)).Elem()
	resourceListTyp  = reflect.TypeOf(ResourceList(nil))
	extensionTyp     = reflect.TypeOf(Extension{})
	narrativeTyp     = reflect.TypeOf(Narrative{})
)

func isPrimitiveKind(k reflect.Kind) bool {
	switch k {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16,
		reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// xmlTypeOf returns the XML layout of a struct type of this package.
func xmlTypeOf(t reflect.Type) (*xmlType, error) {
	if v, ok := xmlTypeCache.Load(t); ok {
		return v.(*xmlType), nil
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("fhir: xml: unsupported type %s", t)
	}
	xt := &xmlType{byName: map[string]int{}, rtIndex: -1}
	var all []xmlField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name := sf.Name
		if tag, ok := sf.Tag.Lookup("json"); ok {
			if tag == "-" {
				continue
			}
			if n, _, _ := strings.Cut(tag, ","); n != "" {
				name = n
			}
		}
		f := xmlField{name: name, index: i, typ: sf.Type}
		omitEmpty := strings.Contains(sf.Tag.Get("json"), ",omitempty")
		ft := sf.Type
		switch {
		case name == "resourceType" && ft.Kind() == reflect.String:
			f.kind = xkResourceType
			xt.isResource = true
		case t == extensionTyp && name == "url" && ft.Kind() == reflect.String:
			f.kind = xkAttr
		case t == narrativeTyp && name == "div" && ft.Kind() == reflect.String:
			f.kind = xkDiv
		case ft == resourceIfaceTyp:
			f.kind = xkResource
		case ft == resourceListTyp:
			f.kind = xkResourceList
		case isPrimitiveKind(ft.Kind()):
			f.kind = xkPrimitive
		case ft.Kind() == reflect.Pointer && isPrimitiveKind(ft.Elem().Kind()):
			f.kind, f.ptr, f.typ = xkPrimitive, true, ft.Elem()
		case ft.Kind() == reflect.Struct:
			f.kind = xkComplex
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
			f.kind, f.ptr, f.typ = xkComplex, true, ft.Elem()
		case ft.Kind() == reflect.Slice && isPrimitiveKind(ft.Elem().Kind()):
			f.kind, f.typ = xkPrimitiveList, ft.Elem()
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			f.kind, f.typ = xkComplexList, ft.Elem()
		default:
			return nil, fmt.Errorf("fhir: xml: unsupported field %s.%s of type %s", t.Name(), sf.Name, ft)
		}
		switch f.kind {
		case xkPrimitiveList, xkComplexList, xkResourceList:
			f.emptyList = !omitEmpty
		}
		all = append(all, f)
	}
	if xt.isResource {
		// DomainResource.extension sits after text and contained, as in the structs.
		xt.fields = all
	} else {
		// Element.extension comes before a data type's own elements
		// (Meta declares it last).
		for _, f := range all {
			if f.name == "extension" || f.name == "modifierExtension" {
				xt.fields = append(xt.fields, f)
			}
		}
		for _, f := range all {
			if f.name != "extension" && f.name != "modifierExtension" {
				xt.fields = append(xt.fields, f)
			}
		}
	}
	if len(xt.fields) > 64 {
		return nil, fmt.Errorf("fhir: xml: type %s has too many fields", t)
	}
	for i, f := range xt.fields {
		xt.byName[f.name] = i
		if f.kind == xkResourceType {
			xt.rtIndex = f.index
		}
	}
	v, _ := xmlTypeCache.LoadOrStore(t, xt)
	return v.(*xmlType), nil
}

func isNilResource(r Resource) bool {
	if r == nil {
		return true
	}
	v := reflect.ValueOf(r)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// validName reports whether s can be a FHIR element or resource name.
func validName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Writing.

type xmlWriter struct {
	buf  bytes.Buffer
	path []string
}

func (w *xmlWriter) errorf(format string, args ...any) error {
	return fmt.Errorf("fhir: xml: %s: %s", strings.Join(w.path, "."), fmt.Sprintf(format, args...))
}

func (w *xmlWriter) push(name string) { w.path = append(w.path, name) }
func (w *xmlWriter) pop()             { w.path = w.path[:len(w.path)-1] }

// checkDepth fails when an element at depth would exceed maxXMLDepth.
func (w *xmlWriter) checkDepth(depth int) error {
	if depth > maxXMLDepth {
		return w.errorf("nested deeper than %d elements", maxXMLDepth)
	}
	return nil
}

// resource writes r as the element at depth.
func (w *xmlWriter) resource(r Resource, depth int, root bool) error {
	if enc, ok := r.(*Encoded); ok {
		r = enc.Resource
	}
	if raw, ok := r.(*RawResource); ok {
		return w.rawResource(raw, depth, root)
	}
	v := reflect.ValueOf(r)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("fhir: xml: unsupported resource value %T", r)
	}
	name := r.GetResourceType()
	w.push(name)
	defer w.pop()
	if !validName(name) {
		return w.errorf("invalid resource type %q", name)
	}
	if err := w.checkDepth(depth); err != nil {
		return err
	}
	xt, err := xmlTypeOf(v.Elem().Type())
	if err != nil {
		return err
	}
	w.buf.WriteByte('<')
	w.buf.WriteString(name)
	if root {
		w.buf.WriteString(` xmlns="` + XMLNamespace + `"`)
	}
	w.buf.WriteByte('>')
	if err := w.children(v.Elem(), xt, depth); err != nil {
		return err
	}
	w.buf.WriteString("</" + name + ">")
	return nil
}

// children writes the elements of struct v, whose own element is at depth.
func (w *xmlWriter) children(v reflect.Value, xt *xmlType, depth int) error {
	for i := range xt.fields {
		f := &xt.fields[i]
		fv := v.Field(f.index)
		var err error
		switch f.kind {
		case xkResourceType, xkAttr:
			continue
		case xkPrimitive:
			if f.ptr {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			} else if fv.IsZero() {
				continue
			}
			err = w.primitive(f.name, fv, depth+1)
		case xkPrimitiveList:
			for j := 0; j < fv.Len() && err == nil; j++ {
				err = w.primitive(f.name, fv.Index(j), depth+1)
			}
		case xkComplex:
			if f.ptr {
				if fv.IsNil() {
					continue
				}
				err = w.complex(f.name, fv.Elem(), depth+1, true)
			} else {
				err = w.complex(f.name, fv, depth+1, false)
			}
		case xkComplexList:
			for j := 0; j < fv.Len() && err == nil; j++ {
				err = w.complex(f.name, fv.Index(j), depth+1, true)
			}
		case xkResource:
			r, _ := fv.Interface().(Resource)
			err = w.wrapped(f.name, r, depth+1)
		case xkResourceList:
			for j := 0; j < fv.Len() && err == nil; j++ {
				r, _ := fv.Index(j).Interface().(Resource)
				err = w.wrapped(f.name, r, depth+1)
			}
		case xkDiv:
			if fv.String() == "" {
				continue
			}
			w.push(f.name)
			err = w.div(fv.String(), depth+1)
			w.pop()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// wrapped writes <name><Type>...</Type></name>; nil resources are skipped.
func (w *xmlWriter) wrapped(name string, r Resource, depth int) error {
	if isNilResource(r) {
		return nil
	}
	w.push(name)
	defer w.pop()
	if err := w.checkDepth(depth); err != nil {
		return err
	}
	w.buf.WriteString("<" + name + ">")
	if err := w.resource(r, depth+1, false); err != nil {
		return err
	}
	w.buf.WriteString("</" + name + ">")
	return nil
}

// primitive writes <name value="..."/>; an empty string is <name/>.
func (w *xmlWriter) primitive(name string, v reflect.Value, depth int) error {
	w.push(name)
	defer w.pop()
	if err := w.checkDepth(depth); err != nil {
		return err
	}
	var s string
	switch v.Kind() {
	case reflect.String:
		s = v.String()
	case reflect.Bool:
		s = strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s = strconv.FormatInt(v.Int(), 10)
	case reflect.Float32, reflect.Float64:
		// Same text as encoding/json, so JSON and XML agree.
		b, err := json.Marshal(v.Interface())
		if err != nil {
			return w.errorf("%v", err)
		}
		s = string(b)
	default:
		return w.errorf("unsupported kind %s", v.Kind())
	}
	w.buf.WriteString("<" + name)
	if s != "" {
		w.buf.WriteString(` value="`)
		if err := escapeXML(&w.buf, s, true); err != nil {
			return w.errorf("%v", err)
		}
		w.buf.WriteByte('"')
	}
	w.buf.WriteString("/>")
	return nil
}

// complex writes a struct as <name attrs>children</name>. An element with no
// attributes and no children is written as <name/> when always is set, and
// left out otherwise.
func (w *xmlWriter) complex(name string, v reflect.Value, depth int, always bool) error {
	w.push(name)
	defer w.pop()
	if err := w.checkDepth(depth); err != nil {
		return err
	}
	xt, err := xmlTypeOf(v.Type())
	if err != nil {
		return err
	}
	start := w.buf.Len()
	w.buf.WriteString("<" + name)
	hasAttr := false
	for i := range xt.fields {
		f := &xt.fields[i]
		if f.kind != xkAttr || v.Field(f.index).String() == "" {
			continue
		}
		hasAttr = true
		w.buf.WriteString(" " + f.name + `="`)
		if err := escapeXML(&w.buf, v.Field(f.index).String(), true); err != nil {
			return w.errorf("@%s: %v", f.name, err)
		}
		w.buf.WriteByte('"')
	}
	gt := w.buf.Len()
	w.buf.WriteByte('>')
	if err := w.children(v, xt, depth); err != nil {
		return err
	}
	switch {
	case w.buf.Len() > gt+1:
		w.buf.WriteString("</" + name + ">")
	case always || hasAttr:
		w.buf.Truncate(gt)
		w.buf.WriteString("/>")
	default:
		w.buf.Truncate(start)
	}
	return nil
}

// div writes a narrative div given as a JSON string, re-serialised.
func (w *xmlWriter) div(s string, depth int) error {
	if !utf8.ValidString(s) {
		return w.errorf("invalid UTF-8")
	}
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	next := func() (xml.Token, error) {
		tok, err := d.Token()
		if err == io.EOF {
			return nil, errors.New("unexpected end of narrative")
		}
		if _, ok := tok.(xml.Directive); ok {
			return nil, errors.New("DOCTYPE and other directives are not allowed")
		}
		return tok, err
	}
	var start xml.StartElement
	for {
		tok, err := next()
		if err != nil {
			return w.errorf("%v", err)
		}
		if cd, ok := tok.(xml.CharData); ok && isXMLSpace(cd) {
			continue
		}
		st, ok := tok.(xml.StartElement)
		if !ok {
			return w.errorf(`narrative must be one <div xmlns="%s"> element`, xhtmlNamespace)
		}
		start = st
		break
	}
	selfClosing := func() bool { return endsSelfClosing(s, d.InputOffset()) }
	if err := writeDiv(&w.buf, next, selfClosing, start, depth); err != nil {
		return w.errorf("%v", err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return w.errorf("%v", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || !isXMLSpace(cd) {
			return w.errorf("content after the narrative div")
		}
	}
}

func endsSelfClosing[S string | []byte](src S, off int64) bool {
	return off >= 2 && off <= int64(len(src)) && src[off-2] == '/' && src[off-1] == '>'
}

// writeDiv re-serialises the XHTML element start (already read) and its
// content, reading tokens with next. selfClosing reports whether the start
// element just read was written <x/>.
func writeDiv(out *bytes.Buffer, next func() (xml.Token, error), selfClosing func() bool, start xml.StartElement, depth int) error {
	if start.Name.Space != xhtmlNamespace || start.Name.Local != "div" {
		return fmt.Errorf(`narrative must be a <div xmlns="%s"> element, not <%s>`, xhtmlNamespace, start.Name.Local)
	}
	if depth > maxXMLDepth {
		return fmt.Errorf("nested deeper than %d elements", maxXMLDepth)
	}
	out.WriteString(`<div xmlns="` + xhtmlNamespace + `"`)
	if err := writeDivAttrs(out, start.Attr); err != nil {
		return err
	}
	if selfClosing() {
		out.WriteString("/>")
		_, err := next() // the matching end element
		return err
	}
	out.WriteByte('>')
	type open struct {
		name        string
		selfClosing bool
	}
	stack := []open{{name: "div"}}
	for len(stack) > 0 {
		tok, err := next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != xhtmlNamespace {
				return fmt.Errorf("element <%s> is not in the XHTML namespace", t.Name.Local)
			}
			if strings.Contains(t.Name.Local, ":") {
				return fmt.Errorf("invalid element name %q", t.Name.Local)
			}
			if depth+len(stack) > maxXMLDepth {
				return fmt.Errorf("nested deeper than %d elements", maxXMLDepth)
			}
			out.WriteString("<" + t.Name.Local)
			if err := writeDivAttrs(out, t.Attr); err != nil {
				return err
			}
			sc := selfClosing()
			if sc {
				out.WriteString("/>")
			} else {
				out.WriteByte('>')
			}
			stack = append(stack, open{name: t.Name.Local, selfClosing: sc})
		case xml.EndElement:
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if !top.selfClosing {
				out.WriteString("</" + top.name + ">")
			}
		case xml.CharData:
			if err := escapeXML(out, string(t), false); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeDivAttrs(out *bytes.Buffer, attrs []xml.Attr) error {
	seen := make(map[string]bool, len(attrs))
	for _, a := range attrs {
		var name string
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns", a.Name.Space == "xmlns":
			continue // namespace declarations: the div carries the only one
		case a.Name.Space == "":
			name = a.Name.Local
		case a.Name.Space == xmlNamespace:
			name = "xml:" + a.Name.Local
		default:
			return fmt.Errorf("attribute %s:%s is not allowed in a narrative", a.Name.Space, a.Name.Local)
		}
		if strings.Contains(a.Name.Local, ":") || a.Name.Local == "" {
			return fmt.Errorf("invalid attribute name %q", a.Name.Local)
		}
		if seen[name] {
			return fmt.Errorf("repeated attribute %s", name)
		}
		seen[name] = true
		out.WriteString(" " + name + `="`)
		if err := escapeXML(out, a.Value, true); err != nil {
			return err
		}
		out.WriteByte('"')
	}
	return nil
}

// escapeXML writes s as XML text or as an attribute value (attr). It fails on
// invalid UTF-8 and on characters XML 1.0 cannot carry.
func escapeXML(out *bytes.Buffer, s string, attr bool) error {
	last := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return errors.New("invalid UTF-8")
		}
		var esc string
		switch r {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\r':
			esc = "&#xD;"
		case '"':
			if attr {
				esc = "&quot;"
			}
		case '\n':
			if attr {
				esc = "&#xA;"
			}
		case '\t':
			if attr {
				esc = "&#x9;"
			}
		default:
			if !isXMLChar(r) {
				return fmt.Errorf("character %U cannot be written in XML", r)
			}
		}
		if esc != "" {
			out.WriteString(s[last:i])
			out.WriteString(esc)
			last = i + size
		}
		i += size
	}
	out.WriteString(s[last:])
	return nil
}

// isXMLChar reports whether r is allowed in XML 1.0 documents.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

func isXMLSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// Writing a RawResource (a type with no struct) from its JSON.

type jsonNode struct {
	kind byte // 's' string, 'n' number, 'b' bool, 'z' null, 'o' object, 'a' array
	text string
	keys []string
	vals []*jsonNode
	idx  map[string]int // key -> last index, for large objects
}

// get returns the member key of object n (the last one, as encoding/json does).
func (n *jsonNode) get(key string) *jsonNode {
	if n == nil || n.kind != 'o' {
		return nil
	}
	if len(n.keys) > 16 {
		if n.idx == nil {
			n.idx = make(map[string]int, len(n.keys))
			for i, k := range n.keys {
				n.idx[k] = i
			}
		}
		if i, ok := n.idx[key]; ok {
			return n.vals[i]
		}
		return nil
	}
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i] == key {
			return n.vals[i]
		}
	}
	return nil
}

func parseJSONNode(d *json.Decoder, depth int) (*jsonNode, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d", maxJSONDepth)
	}
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		var n *jsonNode
		switch t {
		case '{':
			n = &jsonNode{kind: 'o'}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, errors.New("invalid JSON object key")
				}
				v, err := parseJSONNode(d, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, key)
				n.vals = append(n.vals, v)
			}
		case '[':
			n = &jsonNode{kind: 'a'}
			for d.More() {
				v, err := parseJSONNode(d, depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
		default:
			return nil, fmt.Errorf("unexpected %v", t)
		}
		if _, err := d.Token(); err != nil { // closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &jsonNode{kind: 's', text: t}, nil
	case json.Number:
		return &jsonNode{kind: 'n', text: t.String()}, nil
	case bool:
		return &jsonNode{kind: 'b', text: strconv.FormatBool(t)}, nil
	case nil:
		return &jsonNode{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// resourceHead lists the Resource and DomainResource elements, which come
// first in every resource.
var resourceHead = []string{"id", "meta", "implicitRules", "language", "text", "contained", "extension", "modifierExtension"}

func (w *xmlWriter) rawResource(raw *RawResource, depth int, root bool) error {
	w.push(raw.Type)
	defer w.pop()
	d := json.NewDecoder(bytes.NewReader(raw.JSON))
	d.UseNumber()
	n, err := parseJSONNode(d, 0)
	if err != nil {
		return w.errorf("%v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return w.errorf("trailing data after JSON resource")
	}
	if n.kind != 'o' {
		return w.errorf("resource JSON is not an object")
	}
	return w.jsonResource(raw.Type, n, depth, root)
}

func (w *xmlWriter) jsonResource(name string, n *jsonNode, depth int, root bool) error {
	if !validName(name) {
		return w.errorf("invalid resource type %q", name)
	}
	if err := w.checkDepth(depth); err != nil {
		return err
	}
	w.buf.WriteString("<" + name)
	if root {
		w.buf.WriteString(` xmlns="` + XMLNamespace + `"`)
	}
	w.buf.WriteByte('>')
	if err := w.jsonMembers(n, resourceHead, map[string]bool{"resourceType": true}, depth); err != nil {
		return err
	}
	w.buf.WriteString("</" + name + ">")
	return nil
}

// jsonMembers writes the members of object n: those named in first (in that
// order), then the rest in JSON order, leaving out skip. A "_x" member (the id
// and extensions of primitive x) is written into x's element.
func (w *xmlWriter) jsonMembers(n *jsonNode, first []string, skip map[string]bool, depth int) error {
	done := make([]bool, len(n.keys))
	write := func(i int) error {
		done[i] = true
		k := n.keys[i]
		if skip[k] || n.get(k) != n.vals[i] {
			return nil // left out, or a repeated key (the last one wins)
		}
		if base, ok := strings.CutPrefix(k, "_"); ok {
			if n.get(base) != nil {
				return nil // written with base
			}
			return w.jsonMember(base, nil, n.vals[i], depth)
		}
		return w.jsonMember(k, n.vals[i], n.get("_"+k), depth)
	}
	for _, f := range first {
		for i, k := range n.keys {
			if !done[i] && (k == f || k == "_"+f) {
				if err := write(i); err != nil {
					return err
				}
			}
		}
	}
	for i := range n.keys {
		if !done[i] {
			if err := write(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// jsonMember writes member name with value v (nil when only "_name" exists)
// and primitive extension ext.
func (w *xmlWriter) jsonMember(name string, v, ext *jsonNode, depth int) error {
	w.push(name)
	defer w.pop()
	if !validName(name) {
		return w.errorf("invalid element name")
	}
	if v != nil && v.kind == 'a' || v == nil && ext != nil && ext.kind == 'a' {
		count := 0
		if v != nil {
			count = len(v.vals)
		} else {
			count = len(ext.vals)
		}
		for i := 0; i < count; i++ {
			var item, e *jsonNode
			if v != nil {
				item = v.vals[i]
			}
			if ext != nil && ext.kind == 'a' && i < len(ext.vals) {
				e = ext.vals[i]
			}
			if item != nil && item.kind == 'a' {
				return w.errorf("nested arrays")
			}
			if err := w.jsonValue(name, item, e, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if ext != nil && ext.kind == 'a' {
		ext = nil
	}
	return w.jsonValue(name, v, ext, depth+1)
}

func (w *xmlWriter) jsonValue(name string, v, ext *jsonNode, depth int) error {
	if err := w.checkDepth(depth); err != nil {
		return err
	}
	if ext != nil && ext.kind == 'z' {
		ext = nil
	}
	if ext != nil && ext.kind != 'o' {
		return w.errorf("primitive extension is not an object")
	}
	if v != nil && v.kind == 'o' {
		if rt := v.get("resourceType"); rt != nil && rt.kind == 's' {
			w.buf.WriteString("<" + name + ">")
			if err := w.jsonResource(rt.text, v, depth+1, false); err != nil {
				return err
			}
			w.buf.WriteString("</" + name + ">")
			return nil
		}
		isExt := name == "extension" || name == "modifierExtension"
		return w.jsonElement(name, v, "", isExt, depth)
	}
	if v == nil || v.kind == 'z' {
		if ext == nil {
			return nil
		}
		return w.jsonElement(name, ext, "", false, depth)
	}
	if name == "div" && v.kind == 's' && ext == nil {
		return w.div(v.text, depth)
	}
	if ext == nil {
		ext = &jsonNode{kind: 'o'}
	}
	return w.jsonElement(name, ext, v.text, false, depth)
}

// jsonElement writes object n as element name: its id (and url, for
// extensions) as attributes, then extension, then the other members. A
// non-empty value is written as the value attribute.
func (w *xmlWriter) jsonElement(name string, n *jsonNode, value string, isExt bool, depth int) error {
	w.buf.WriteString("<" + name)
	skip := map[string]bool{}
	for _, a := range []string{"id", "url"} {
		if a == "url" && !isExt {
			continue
		}
		av := n.get(a)
		if av == nil {
			continue
		}
		if av.kind != 's' {
			return w.errorf("%s must be a string", a)
		}
		skip[a] = true
		w.buf.WriteString(" " + a + `="`)
		if err := escapeXML(&w.buf, av.text, true); err != nil {
			return w.errorf("@%s: %v", a, err)
		}
		w.buf.WriteByte('"')
	}
	if value != "" {
		w.buf.WriteString(` value="`)
		if err := escapeXML(&w.buf, value, true); err != nil {
			return w.errorf("%v", err)
		}
		w.buf.WriteByte('"')
	}
	gt := w.buf.Len()
	w.buf.WriteByte('>')
	if err := w.jsonMembers(n, []string{"extension", "modifierExtension"}, skip, depth); err != nil {
		return err
	}
	if w.buf.Len() > gt+1 {
		w.buf.WriteString("</" + name + ">")
	} else {
		w.buf.Truncate(gt)
		w.buf.WriteString("/>")
	}
	return nil
}

// ---------------------------------------------------------------------------
// Reading.

type xmlReader struct {
	d    *xml.Decoder
	data []byte
	path []string
	// strict makes an unknown element of a resource (the root, a contained
	// one, a parameter's) an error; resDepths are the depths of the
	// resources being read.
	strict    bool
	resDepths []int
}

func (r *xmlReader) errorf(format string, args ...any) error {
	return fmt.Errorf("fhir: xml: %s: %s", strings.Join(r.path, "."), fmt.Sprintf(format, args...))
}

func (r *xmlReader) push(name string) { r.path = append(r.path, name) }
func (r *xmlReader) pop()             { r.path = r.path[:len(r.path)-1] }

// newXMLReader reads the prolog and returns the root element, which must be
// in the FHIR namespace.
func newXMLReader(data []byte) (*xmlReader, xml.StartElement, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if !utf8.Valid(data) {
		return nil, xml.StartElement{}, errors.New("fhir: xml: invalid UTF-8")
	}
	if err := checkCharRefs(data); err != nil {
		return nil, xml.StartElement{}, err
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// FHIR bodies are UTF-8 (and were checked to be, above); a declaration
	// naming another encoding gets this answer rather than encoding/xml's,
	// which names its own Go field.
	d.CharsetReader = func(charset string, _ io.Reader) (io.Reader, error) {
		return nil, fmt.Errorf("the body must be UTF-8, but its XML declaration says %q", clipText(charset, 40))
	}
	r := &xmlReader{d: d, data: data}
	for {
		tok, err := r.token()
		if err != nil {
			return nil, xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != XMLNamespace {
				return nil, xml.StartElement{}, fmt.Errorf("fhir: xml: root element <%s> is in namespace %q, not %q", t.Name.Local, t.Name.Space, XMLNamespace)
			}
			return r, t, nil
		case xml.CharData:
			if !isXMLSpace(t) {
				return nil, xml.StartElement{}, errors.New("fhir: xml: text before the root element")
			}
		}
	}
}

// token returns the next token; directives (DOCTYPE, ENTITY, ...) are errors.
func (r *xmlReader) token() (xml.Token, error) {
	tok, err := r.d.Token()
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("fhir: xml: no root element")
		}
		return nil, fmt.Errorf("fhir: xml: %w", err)
	}
	if _, ok := tok.(xml.Directive); ok {
		return nil, errors.New("fhir: xml: DOCTYPE and other directives are not allowed")
	}
	// XML 1.0 forbids an attribute twice on one element (encoding/xml
	// keeps both, and the first value would be read).
	if se, ok := tok.(xml.StartElement); ok && len(se.Attr) > 1 {
		if a, twice := repeatedAttr(se.Attr); twice {
			return nil, fmt.Errorf("fhir: xml: <%s> has the attribute %q twice", clipText(se.Name.Local, 40), clipText(a.Local, 40))
		}
	}
	return tok, nil
}

// repeatedAttr finds an attribute name given twice: pairwise for the few
// attributes FHIR elements carry, by map past that, so that an element
// loaded with attributes costs linear time.
func repeatedAttr(attrs []xml.Attr) (xml.Name, bool) {
	if len(attrs) <= 8 {
		for i, a := range attrs {
			for _, b := range attrs[:i] {
				if a.Name == b.Name {
					return a.Name, true
				}
			}
		}
		return xml.Name{}, false
	}
	seen := make(map[xml.Name]bool, len(attrs))
	for _, a := range attrs {
		if seen[a.Name] {
			return a.Name, true
		}
		seen[a.Name] = true
	}
	return xml.Name{}, false
}

// checkCharRefs refuses a numeric character reference to a code point XML
// 1.0 does not allow (half of a surrogate pair such as &#xD83D;, a control
// character, U+FFFE): encoding/xml decodes the halves as U+FFFD, so what
// would be stored is not what was sent. Comments, CDATA sections and
// processing instructions hold no references and are stepped over; the
// scan is linear. Malformed references are left to the decoder.
func checkCharRefs(data []byte) error {
	skip := func(i int, end string) int {
		if k := bytes.Index(data[i:], []byte(end)); k >= 0 {
			return i + k + len(end)
		}
		return len(data) // unterminated: the decoder says so
	}
	for i := 0; i < len(data); {
		switch {
		case bytes.HasPrefix(data[i:], []byte("<!--")):
			i = skip(i+4, "-->")
		case bytes.HasPrefix(data[i:], []byte("<![CDATA[")):
			i = skip(i+9, "]]>")
		case bytes.HasPrefix(data[i:], []byte("<?")):
			i = skip(i+2, "?>")
		case bytes.HasPrefix(data[i:], []byte("&#")):
			i += 2
			base := uint64(10)
			if i < len(data) && data[i] == 'x' {
				base, i = 16, i+1
			}
			var n uint64
			digits := 0
			for ; i < len(data); i++ {
				d, ok := digitValue(data[i], base)
				if !ok {
					break
				}
				if n <= 0x10FFFF { // beyond it, it stays beyond it
					n = n*base + d
				}
				digits++
			}
			if digits > 0 && i < len(data) && data[i] == ';' && (n > 0x10FFFF || !isXMLChar(rune(n))) {
				return fmt.Errorf("fhir: xml: a character reference names U+%04X, which XML does not allow", min(n, 0x110000))
			}
		default:
			i++
		}
	}
	return nil
}

// digitValue is the value of c as a digit in base 10 or 16.
func digitValue(c byte, base uint64) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case base == 16 && c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case base == 16 && c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

// document decodes the root element and checks that nothing follows it.
func (r *xmlReader) document(start xml.StartElement) (Resource, error) {
	res := NewResource(start.Name.Local)
	if res == nil {
		return nil, fmt.Errorf("fhir: xml: unsupported resource type %q", start.Name.Local)
	}
	if err := r.resource(res, start, 1); err != nil {
		return nil, err
	}
	for {
		tok, err := r.d.Token()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			return nil, fmt.Errorf("fhir: xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if !isXMLSpace(t) {
				return nil, errors.New("fhir: xml: content after the root element")
			}
		default:
			return nil, errors.New("fhir: xml: content after the root element")
		}
	}
}

// resource decodes the element start into res, a pointer to a resource struct.
func (r *xmlReader) resource(res Resource, start xml.StartElement, depth int) error {
	r.push(start.Name.Local)
	defer r.pop()
	r.resDepths = append(r.resDepths, depth)
	defer func() { r.resDepths = r.resDepths[:len(r.resDepths)-1] }()
	v := reflect.ValueOf(res).Elem()
	xt, err := xmlTypeOf(v.Type())
	if err != nil {
		return err
	}
	if xt.rtIndex >= 0 {
		v.Field(xt.rtIndex).SetString(res.GetResourceType())
	}
	return r.structure(v, xt, start, depth)
}

// structure decodes the content of element start (at depth) into struct v.
func (r *xmlReader) structure(v reflect.Value, xt *xmlType, start xml.StartElement, depth int) error {
	for i := range xt.fields {
		f := &xt.fields[i]
		if f.kind != xkAttr {
			continue
		}
		for _, a := range start.Attr {
			if a.Name.Space == "" && a.Name.Local == f.name {
				v.Field(f.index).SetString(a.Value)
			}
		}
	}
	var seen uint64
	filled := hasContentAttr(start)
	for {
		tok, err := r.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			// As in JSON ("serviceCategory":{} is refused): a resource's
			// own element is present with content or absent. Deeper ones
			// are left, as JSON leaves them, to whoever reads them (an
			// extension's empty value is that reader's answer to give).
			if r.strict && !filled && len(r.resDepths) > 0 && r.resDepths[len(r.resDepths)-1] == depth-1 {
				return fmt.Errorf("%w: %s has neither attributes nor child elements", ErrEmptyElement, strings.Join(r.path, "."))
			}
			for i := range xt.fields {
				f := &xt.fields[i]
				if f.emptyList && v.Field(f.index).IsNil() {
					v.Field(f.index).Set(reflect.MakeSlice(v.Field(f.index).Type(), 0, 0))
				}
			}
			return nil
		case xml.CharData:
			if !isXMLSpace(t) {
				return r.errorf("unexpected text")
			}
		case xml.StartElement:
			filled = true
			if err := r.child(v, xt, t, depth+1, &seen); err != nil {
				return err
			}
		}
	}
}

// hasContentAttr says whether an element carries an attribute other than
// a namespace declaration (an element id, an extension's url).
func hasContentAttr(t xml.StartElement) bool {
	for _, a := range t.Attr {
		if a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
			return true
		}
	}
	return false
}

// child decodes element t (at depth), a child of struct v.
func (r *xmlReader) child(v reflect.Value, xt *xmlType, t xml.StartElement, depth int, seen *uint64) error {
	name := t.Name.Local
	r.push(name)
	defer r.pop()
	if depth > maxXMLDepth {
		return r.errorf("nested deeper than %d elements", maxXMLDepth)
	}
	i, ok := xt.byName[name]
	var f *xmlField
	if ok {
		f = &xt.fields[i]
	}
	wantNS := XMLNamespace
	if f != nil && f.kind == xkDiv {
		wantNS = xhtmlNamespace
	}
	if t.Name.Space != wantNS {
		return r.errorf("element is in namespace %q, not %q", t.Name.Space, wantNS)
	}
	if f == nil || f.kind == xkAttr || f.kind == xkResourceType {
		// FHIR: a modifier extension the receiver does not understand, at
		// any depth, changes the meaning of what holds it.
		if r.strict && name == "modifierExtension" {
			return r.errorf("a modifierExtension, which this server does not understand and so cannot accept")
		}
		if v.Type() == extensionTyp && f == nil && strings.HasPrefix(name, "value") && len(name) > len("value") {
			// A value[x] of a type the struct does not hold is still the
			// extension's value for ext-1; it is skipped, as in JSON. It
			// counts when it holds something (a value attribute or child
			// elements), as an empty JSON member does not; sent twice, it
			// is a repeated element, as a modelled one would be.
			e, ok := v.Addr().Interface().(*Extension)
			if ok && slices.Contains(e.otherValues, name) {
				return r.errorf("repeated element")
			}
			val, _ := valueAttr(t)
			children, err := r.skipTree(depth)
			if err != nil {
				return err
			}
			if ok && (val != "" || children) {
				e.otherValues = append(e.otherValues, name)
			}
			return nil
		}
		if r.strict && len(r.resDepths) > 0 && r.resDepths[len(r.resDepths)-1] == depth-1 && !baseElements[name] {
			if notAccepted[name] {
				return r.errorf("not accepted in a request to this server")
			}
			return r.errorf("unknown element")
		}
		return r.skip(depth) // unknown element
	}
	switch f.kind {
	case xkPrimitive, xkComplex, xkResource, xkDiv:
		if *seen&(1<<i) != 0 {
			return r.errorf("repeated element")
		}
		*seen |= 1 << i
	}
	fv := v.Field(f.index)
	switch f.kind {
	case xkPrimitive, xkPrimitiveList:
		// As in JSON: an element of a resource is present with a value or
		// absent. An extension's value is left to whoever reads the
		// extension, as JSON leaves it (an empty cancellation reason is
		// INVALID_PARAMETER, spec §7.3).
		if val, has := valueAttr(t); has && val == "" && r.strict && v.Type() != extensionTyp {
			return fmt.Errorf("%w: %s: value=\"\"", ErrEmptyElement, strings.Join(r.path, "."))
		}
	}
	switch f.kind {
	case xkPrimitive:
		val, has := valueAttr(t)
		if err := r.skip(depth); err != nil {
			return err
		}
		if !has {
			if f.ptr && f.typ.Kind() == reflect.String {
				fv.Set(reflect.New(f.typ))
			}
			return nil
		}
		nv := reflect.New(f.typ).Elem()
		if err := r.parsePrimitive(nv, val); err != nil {
			return err
		}
		if f.ptr {
			fv.Set(nv.Addr())
		} else {
			fv.Set(nv)
		}
	case xkPrimitiveList:
		val, has := valueAttr(t)
		if err := r.skip(depth); err != nil {
			return err
		}
		nv := reflect.New(f.typ).Elem()
		if has {
			if err := r.parsePrimitive(nv, val); err != nil {
				return err
			}
		}
		fv.Set(reflect.Append(fv, nv))
	case xkComplex, xkComplexList:
		xt2, err := xmlTypeOf(f.typ)
		if err != nil {
			return err
		}
		nv := reflect.New(f.typ)
		if err := r.structure(nv.Elem(), xt2, t, depth); err != nil {
			return err
		}
		switch {
		case f.kind == xkComplexList:
			fv.Set(reflect.Append(fv, nv.Elem()))
		case f.ptr:
			fv.Set(nv)
		default:
			fv.Set(nv.Elem())
		}
	case xkResource, xkResourceList:
		res, err := r.wrapped(depth)
		if err != nil || res == nil {
			return err
		}
		if f.kind == xkResource {
			fv.Set(reflect.ValueOf(res))
		} else {
			fv.Set(reflect.Append(fv, reflect.ValueOf(res)))
		}
	case xkDiv:
		var out bytes.Buffer
		next := func() (xml.Token, error) {
			tok, err := r.d.Token()
			if _, ok := tok.(xml.Directive); ok {
				return nil, errors.New("DOCTYPE and other directives are not allowed")
			}
			return tok, err
		}
		selfClosing := func() bool { return endsSelfClosing(r.data, r.d.InputOffset()) }
		if err := writeDiv(&out, next, selfClosing, t, depth); err != nil {
			return r.errorf("%v", err)
		}
		fv.SetString(out.String())
	}
	return nil
}

// wrapped decodes the content of a wrapper element (contained, resource) at
// depth: at most one resource. An empty wrapper gives nil.
func (r *xmlReader) wrapped(depth int) (Resource, error) {
	var res Resource
	for {
		tok, err := r.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if res == nil && r.strict {
				return nil, fmt.Errorf("%w: %s holds no resource", ErrEmptyElement, strings.Join(r.path, "."))
			}
			return res, nil
		case xml.CharData:
			if !isXMLSpace(t) {
				return nil, r.errorf("unexpected text")
			}
		case xml.StartElement:
			if depth+1 > maxXMLDepth {
				return nil, r.errorf("nested deeper than %d elements", maxXMLDepth)
			}
			if t.Name.Space != XMLNamespace {
				return nil, r.errorf("element <%s> is in namespace %q, not %q", t.Name.Local, t.Name.Space, XMLNamespace)
			}
			if res != nil {
				return nil, r.errorf("more than one resource")
			}
			res = NewResource(t.Name.Local)
			if res == nil {
				return nil, r.errorf("unsupported resource type %q", t.Name.Local)
			}
			if err := r.resource(res, t, depth+1); err != nil {
				return nil, err
			}
		}
	}
}

// skip consumes the rest of the element at depth, whose start was just read.
func (r *xmlReader) skip(depth int) error {
	_, err := r.skipTree(depth)
	return err
}

// skipTree skips the rest of the element at depth, reporting whether it
// held any child element. In strict mode a modifierExtension anywhere in
// it is refused, as the JSON decoder refuses one at any depth: skipped
// content can still change the meaning of what holds it.
func (r *xmlReader) skipTree(depth int) (bool, error) {
	level, children := 0, false
	for {
		tok, err := r.token()
		if err != nil {
			return false, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			level++
			children = true
			if depth+level > maxXMLDepth {
				return false, r.errorf("nested deeper than %d elements", maxXMLDepth)
			}
			if r.strict && t.Name.Local == "modifierExtension" {
				return false, r.errorf("a modifierExtension, which this server does not understand and so cannot accept")
			}
		case xml.EndElement:
			if level == 0 {
				return children, nil
			}
			level--
		}
	}
}

func valueAttr(t xml.StartElement) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == "value" {
			return a.Value, true
		}
	}
	return "", false
}

// parsePrimitive parses a value attribute into v by v's kind, with the FHIR
// lexical rules for boolean, integer and decimal.
func (r *xmlReader) parsePrimitive(v reflect.Value, s string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch s {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return r.errorf("invalid boolean %q", s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !isFHIRInteger(s) {
			return r.errorf("invalid integer %q", s)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v.OverflowInt(n) {
			return r.errorf("integer %q out of range", s)
		}
		v.SetInt(n)
	case reflect.Float32, reflect.Float64:
		if !isFHIRDecimal(s) {
			return r.errorf("invalid decimal %q", s)
		}
		n, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil || v.OverflowFloat(n) {
			return r.errorf("decimal %q out of range", s)
		}
		v.SetFloat(n)
	default:
		return r.errorf("unsupported kind %s", v.Kind())
	}
	return nil
}

// isFHIRInteger matches -?([0]|([1-9][0-9]*)).
func isFHIRInteger(s string) bool {
	return isUnsignedFHIRInteger(strings.TrimPrefix(s, "-"))
}

func isUnsignedFHIRInteger(s string) bool {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	return allDigits(s)
}

// isFHIRDecimal matches -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func isFHIRDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp := s[i+1:]
		if exp != "" && (exp[0] == '+' || exp[0] == '-') {
			exp = exp[1:]
		}
		if exp == "" || !allDigits(exp) {
			return false
		}
		s = s[:i]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if hasFrac && (frac == "" || !allDigits(frac)) {
		return false
	}
	return isUnsignedFHIRInteger(intPart)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
