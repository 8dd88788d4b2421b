package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/slotbridge/slotbridge/internal/jsonkind"
)

// ResourceList is a polymorphic list of resources (e.g. contained).
type ResourceList []Resource

// NewResource returns a new empty value for a known resource type, or nil.
func NewResource(resourceType string) Resource {
	switch resourceType {
	case "Slot":
		return &Slot{}
	case "Schedule":
		return &Schedule{}
	case "Appointment":
		return &Appointment{}
	case "Organization":
		return &Organization{}
	case "Practitioner":
		return &Practitioner{}
	case "Location":
		return &Location{}
	case "Patient":
		return &Patient{}
	case "Device":
		return &Device{}
	case "Parameters":
		return &Parameters{}
	case "HealthcareService":
		return &HealthcareService{}
	case "Bundle":
		return &Bundle{}
	case "OperationOutcome":
		return &OperationOutcome{}
	case "CapabilityStatement":
		return &CapabilityStatement{}
	}
	return nil
}

// ErrEmptyElement reports a resource element sent empty (null, "", [] or
// {}, or value="" in XML), or an extension with no value (ext-1): FHIR
// allows neither.
var ErrEmptyElement = errors.New("fhir: empty element")

// ErrResourceTypeKey reports a resource whose resourceType member is spelt
// in another case, which encoding/json alone would accept.
var ErrResourceTypeKey = errors.New(`fhir: a resource has no member spelt exactly "resourceType"`)

// ErrRepeatedMember is wrapped by the strict decoder's error for an object
// naming one member twice (compared without case, as encoding/json does).
var ErrRepeatedMember = errors.New("fhir: repeated member")

// EmptyExtensionError is an extension of a resource sent with neither a
// value nor nested extensions (FHIR ext-1). It is an ErrEmptyElement; the
// URL lets a caller treat one extension otherwise (an empty cancellation
// reason is a bad parameter, not a bad resource).
type EmptyExtensionError struct {
	ResourceType, URL string
	// Nested is set for an extension inside another extension, as opposed
	// to one in a resource's own extension list.
	Nested bool
}

// Error implements error.
func (e *EmptyExtensionError) Error() string {
	return fmt.Sprintf("%v: %s extension %q has neither a value nor nested extensions", ErrEmptyElement, e.ResourceType, clipText(e.URL, 80))
}

// Is makes errors.Is(err, ErrEmptyElement) true.
func (e *EmptyExtensionError) Is(target error) bool { return target == ErrEmptyElement }

// ErrNotResource reports JSON that is not an object with a resourceType.
var ErrNotResource = errors.New("fhir: not a resource: missing resourceType")

// PeekResourceType reads the resourceType of a JSON object without decoding the rest.
func PeekResourceType(data []byte) (string, error) {
	var head struct {
		ResourceType *string `json:"resourceType"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return "", jsonError("", err)
	}
	if head.ResourceType == nil || *head.ResourceType == "" {
		return "", ErrNotResource
	}
	return *head.ResourceType, nil
}

// UnmarshalResource decodes any resource by its resourceType. Types this
// package has no struct for come back as *RawResource.
func UnmarshalResource(data []byte) (Resource, error) {
	rt, err := PeekResourceType(data)
	if err != nil {
		return nil, err
	}
	r := NewResource(rt)
	if r == nil {
		return &RawResource{Type: rt, JSON: append(json.RawMessage(nil), data...)}, nil
	}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, jsonError(rt, err)
	}
	return r, nil
}

// nestedObject refuses a nested resource (what, in the message) that is
// not a JSON object, naming where it is: the outer body is an object, so
// PeekResourceType's "the body must be a JSON object" would mislead.
func nestedObject(what string, raw json.RawMessage) error {
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || v[0] == '{' {
		return nil
	}
	kind := "number"
	switch v[0] {
	case '[':
		kind = "array"
	case '"':
		kind = "string"
	case 't', 'f':
		kind = "bool"
	case 'n':
		kind = "null"
	}
	return &jsonDecodeError{msg: fmt.Sprintf("fhir: %s must be a resource (a JSON object), not a JSON %s", what, kind)}
}

// jsonDecodeError is a JSON body that does not decode, described in FHIR's
// terms: encoding/json's own messages name Go types and struct fields,
// which mean nothing to a consumer and should not leave the server.
type jsonDecodeError struct {
	msg string
	err error
}

func (e *jsonDecodeError) Error() string { return e.msg }
func (e *jsonDecodeError) Unwrap() error { return e.err }

// jsonError describes err, from decoding resource type rt ("" for the
// body's outer object), without Go's type names. An error already
// described (from a resource nested in this one) is returned as it is.
func jsonError(rt string, err error) error {
	var done *jsonDecodeError
	if errors.As(err, &done) {
		return err
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		got := "JSON " + te.Value
		if te.Field == "" {
			return &jsonDecodeError{msg: "fhir: the body must be a JSON object (a FHIR resource), not a " + got, err: err}
		}
		// The path names an embedded struct's type (ParametersParameter's
		// decoder embeds "plain"): that segment is Go's, not FHIR's.
		segs := strings.Split(te.Field, ".")
		segs = slices.DeleteFunc(segs, func(seg string) bool { return seg == "plain" })
		name := clipText(strings.Join(segs, "."), 120)
		if rt != "" {
			name = rt + "." + name
		}
		return &jsonDecodeError{msg: fmt.Sprintf("fhir: %s must be %s, not a %s", name, jsonkind.Of(te.Type), got), err: err}
	case errors.As(err, &se):
		return &jsonDecodeError{msg: fmt.Sprintf("fhir: the body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset), err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &jsonDecodeError{msg: "fhir: the body is not valid JSON: it ends too early", err: err}
	}
	if rt == "" {
		return err
	}
	return fmt.Errorf("fhir: %s: %w", rt, err)
}

// UnmarshalJSON implements json.Unmarshaler.
func (l *ResourceList) UnmarshalJSON(data []byte) error {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return err
	}
	out := make(ResourceList, 0, len(raws))
	for _, raw := range raws {
		if err := nestedObject("a contained resource", raw); err != nil {
			return err
		}
		r, err := UnmarshalResource(raw)
		if err != nil {
			return err
		}
		out = append(out, r)
	}
	*l = out
	return nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *BundleEntry) UnmarshalJSON(data []byte) error {
	var raw struct {
		FullURL  string             `json:"fullUrl"`
		Resource json.RawMessage    `json:"resource"`
		Search   *BundleEntrySearch `json:"search"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	e.FullURL, e.Search, e.Resource = raw.FullURL, raw.Search, nil
	if len(raw.Resource) > 0 && !bytes.Equal(bytes.TrimSpace(raw.Resource), []byte("null")) {
		if err := nestedObject("entry.resource", raw.Resource); err != nil {
			return err
		}
		r, err := UnmarshalResource(raw.Resource)
		if err != nil {
			return err
		}
		e.Resource = r
	}
	return nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *ParametersParameter) UnmarshalJSON(data []byte) error {
	type plain ParametersParameter
	var raw struct {
		plain
		Resource json.RawMessage `json:"resource"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*p = ParametersParameter(raw.plain)
	p.Resource = nil
	if len(raw.Resource) > 0 && !bytes.Equal(bytes.TrimSpace(raw.Resource), []byte("null")) {
		if err := nestedObject("parameter.resource", raw.Resource); err != nil {
			return err
		}
		r, err := UnmarshalResource(raw.Resource)
		if err != nil {
			return err
		}
		p.Resource = r
	}
	return nil
}

// DecodeJSON decodes a request body that must be a resource of type want.
// It returns the decoded resource; a body of another type is an error that
// names the type found.
func DecodeJSON(data []byte, want string) (Resource, error) {
	rt, err := PeekResourceType(data)
	if err != nil {
		return nil, err
	}
	if rt != want {
		return nil, fmt.Errorf("fhir: expected %s, got %s", want, rt)
	}
	return UnmarshalResource(data)
}

// DecodeJSONStrict is DecodeJSON for a request body: a member of a resource
// (the root, a contained one, a parameter's; not of their parts) that its
// type does not define is an error, as the GP Connect test pack expects of a
// booking or registration sent with an extra field, and so is a string that
// is not UTF-8 or holds a control character other than tab, CR or LF (see
// CheckStrings).
func DecodeJSONStrict(data []byte, want string) (Resource, error) {
	// RFC 8259 §8.1 lets a parser ignore a byte order mark; the XML
	// decoder does, and a body must not be refused in one format only.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	// encoding/json turns bytes that are not UTF-8, and escaped halves of
	// a surrogate pair, into U+FFFD without a word: the body must be
	// refused before then, or what is stored is not what was sent.
	if err := CheckJSONText(data); err != nil {
		return nil, err
	}
	r, err := DecodeJSON(data, want)
	if err != nil {
		return nil, err
	}
	// encoding/json keeps the last value of a repeated member without a
	// word; the XML decoder refuses a repeated element, and so does this.
	if name, path, found := jsonkind.DuplicateKey(data); found {
		where := r.GetResourceType()
		if path != "" {
			where += "." + path
		}
		return nil, fmt.Errorf("%w: %s has the member %q twice; send it once", ErrRepeatedMember, clipText(where, 80), clipText(name, 40))
	}
	if err := checkMembers(data, 0); err != nil {
		return nil, err
	}
	if err := refuseModifierExtensions(data); err != nil {
		return nil, err
	}
	if err := CheckStrings(r); err != nil {
		return nil, err
	}
	noteOtherValues(data, r)
	return r, nil
}

// CheckJSONText reports a JSON text that is not UTF-8 (RFC 8259 §8.1) or
// that escapes half of a UTF-16 surrogate pair on its own (\ud800 with no
// low half after it): neither names a character, and encoding/json would
// quietly decode both as U+FFFD.
func CheckJSONText(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("fhir: the body is not valid UTF-8")
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' {
			continue
		}
		i++ // the escaped character: a backslash escapes only the next one
		if i >= len(data) || data[i] != 'u' {
			continue
		}
		r, ok := hex4(data[i+1:])
		if !ok {
			continue // malformed: the decoder says so
		}
		lone := func() error {
			return fmt.Errorf("fhir: the body escapes half of a surrogate pair (\\u%s) on its own", data[i+1:i+5])
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			if len(data) < i+11 || data[i+5] != '\\' || data[i+6] != 'u' {
				return lone()
			}
			if lo, ok := hex4(data[i+7:]); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return lone()
			}
			i += 10
		case r >= 0xDC00 && r <= 0xDFFF:
			return lone()
		default:
			i += 4
		}
	}
	return nil
}

// hex4 reads four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(v), err == nil
}

// noteOtherValues records on the extensions decoded from a request body
// (the resource's own, those nested in them, and those of the resources a
// Parameters passes) the value[x] members of types Extension does not hold
// (Extension.otherValues), so that the mapping reads such an extension as
// carrying a value of another type, as it does one decoded from XML, not
// as one with no value. It runs after the body has passed checkMembers and
// the ext-1 checks, so a member it cannot read is left alone.
func noteOtherValues(data []byte, r Resource) {
	var raw struct {
		Extension []json.RawMessage `json:"extension"`
		Parameter []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"parameter"`
	}
	if json.Unmarshal(data, &raw) != nil {
		return
	}
	if p, ok := r.(*Parameters); ok {
		for i := range p.Parameter {
			if i < len(raw.Parameter) && p.Parameter[i].Resource != nil && len(raw.Parameter[i].Resource) > 0 {
				noteOtherValues(raw.Parameter[i].Resource, p.Parameter[i].Resource)
			}
		}
		return
	}
	rv := reflect.ValueOf(r)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return
	}
	if f := rv.Elem().FieldByName("Extension"); f.IsValid() && f.Type() == reflect.TypeOf([]Extension(nil)) {
		noteExtensionValues(raw.Extension, f.Interface().([]Extension))
	}
}

// noteExtensionValues is noteOtherValues for one extension list, the raw
// items aligned with the decoded ones.
func noteExtensionValues(raw []json.RawMessage, exts []Extension) {
	if len(raw) != len(exts) {
		return
	}
	for i := range exts {
		var members map[string]json.RawMessage
		if json.Unmarshal(raw[i], &members) != nil {
			continue
		}
		e := &exts[i]
		e.otherValues = slices.DeleteFunc(valueMembers(members), func(name string) bool { return modelledValues[name] })
		var nested []json.RawMessage
		if json.Unmarshal(members["extension"], &nested) == nil {
			noteExtensionValues(nested, e.Extension)
		}
	}
}

// valueMembers names, sorted, the value[x] elements an extension's JSON
// members carry: valueX, or _valueX (a primitive value carried as
// extensions only, the same element), counted once; an empty member (null,
// [] or {}) is absent, as in the structs.
func valueMembers(members map[string]json.RawMessage) []string {
	var values []string
	for k, v := range members {
		if name := strings.TrimPrefix(k, "_"); strings.HasPrefix(name, "value") && len(name) > len("value") && !emptyJSON(v) && !slices.Contains(values, name) {
			values = append(values, name)
		}
	}
	slices.Sort(values) // map order is random
	return values
}

// refuseModifierExtensions refuses a modifierExtension member at any depth
// of a JSON body: FHIR requires a receiver to refuse a modifier extension it
// does not understand, and none is understood here. checkMembers finds those
// of a resource itself; the structs skip the ones inside its elements
// (participant, contained parts), so this walks the raw tokens.
func refuseModifierExtensions(data []byte) error {
	// The usual body has neither the name nor an escape that could spell it.
	if !bytes.Contains(data, []byte("modifierExtension")) && !bytes.Contains(data, []byte(`\u`)) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// One frame per open object or array; wantKey is set in an object
	// while the next token is a member name, and name is the member whose
	// value is open (for the error's location).
	type frame struct {
		object, wantKey bool
		name            string
	}
	var stack []frame
	key := "" // the member name just read, whose value comes next
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			if name, ok := tok.(string); ok {
				if name == "modifierExtension" {
					var path []string
					for _, f := range stack {
						if f.name != "" {
							path = append(path, f.name)
						}
					}
					where := "the resource"
					if len(path) > 0 {
						where = clipText(strings.Join(path, "."), 120)
					}
					return fmt.Errorf("fhir: a modifierExtension in %s, which this server does not understand, cannot be accepted", where)
				}
				stack[n-1].wantKey = false
				key = name
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true, name: key})
		case json.Delim('['):
			stack = append(stack, frame{name: key})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
		key = ""
	}
}

// checkMembers checks the members of the resource object data, and of the
// resources it contains or passes as parameters, against their types.
func checkMembers(data []byte, depth int) error {
	if depth > 16 {
		return errors.New("fhir: resources nested too deep")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return err
	}
	var rt string
	raw, ok := members["resourceType"]
	if !ok {
		// encoding/json matches keys without case, so "resourcetype" was
		// read as the type; FHIR JSON names are case-sensitive, and the
		// members of a resource so spelt would go unchecked.
		return ErrResourceTypeKey
	}
	if err := json.Unmarshal(raw, &rt); err != nil {
		return err
	}
	r := NewResource(rt)
	if r == nil {
		return nil // a type with no struct is kept raw, unchecked
	}
	known := jsonElements(reflect.TypeOf(r))
	for name, raw := range members {
		base := strings.TrimPrefix(name, "_") // _name holds a primitive's id and extensions
		if !known[base] && !baseElements[base] {
			if base == "modifierExtension" {
				// FHIR: a modifier extension the receiver does not understand
				// changes the meaning of the resource, so it must be refused.
				return fmt.Errorf("fhir: %s carries a modifierExtension, which this server does not understand and so cannot accept", rt)
			}
			if notAccepted[base] {
				return fmt.Errorf("fhir: %s.%s is not accepted in a request to this server", rt, base)
			}
			return fmt.Errorf("fhir: %s has no element %q", rt, name)
		}
		// FHIR JSON has no empty values: an element is present with a value or absent.
		if v := bytes.TrimSpace(raw); string(v) == "null" || string(v) == `""` || string(v) == "[]" || string(v) == "{}" {
			return fmt.Errorf("%w: %s.%s is %s; leave an element out rather than send it empty", ErrEmptyElement, rt, name, v)
		}
	}
	for _, name := range []string{"extension", "modifierExtension"} {
		if err := checkExtensions(rt, name, members[name]); err != nil {
			return err
		}
	}
	var inner []json.RawMessage
	if c := members["contained"]; len(c) > 0 && string(c) != "null" {
		if err := json.Unmarshal(c, &inner); err != nil {
			return err
		}
	}
	if p := members["parameter"]; rt == "Parameters" && len(p) > 0 && string(p) != "null" {
		var params []struct {
			Resource json.RawMessage `json:"resource"`
		}
		if err := json.Unmarshal(p, &params); err != nil {
			return err
		}
		for _, pm := range params {
			inner = append(inner, pm.Resource)
		}
	}
	for _, in := range inner {
		if len(in) == 0 || string(in) == "null" {
			continue
		}
		if err := checkMembers(in, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// checkExtensions applies FHIR's ext-1 to a resource's own extensions and
// those nested in them: each has a url and exactly one value[x] or nested
// extensions, whatever its value type (the structs keep only the types GP
// Connect uses, so this reads the raw members; checkDecodedExtensions is the
// same rule on decoded XML). One with neither is an
// *EmptyExtensionError.
func checkExtensions(rt, name string, raw json.RawMessage) error {
	return checkExtensionList(rt, name, raw, 0)
}

// CheckExtensionsJSON is the same check for a JSON array of extensions held
// by a resource of type rt, for callers that decode with their own structs.
func CheckExtensionsJSON(rt string, raw json.RawMessage) error {
	return checkExtensionList(rt, "extension", raw, 0)
}

func checkExtensionList(rt, name string, raw json.RawMessage, depth int) error {
	if len(raw) == 0 {
		return nil
	}
	if depth > 16 {
		return fmt.Errorf("fhir: %s extensions nested too deep", rt)
	}
	var exts []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &exts); err != nil {
		return fmt.Errorf("fhir: %s.%s is not a list of extensions", rt, name)
	}
	for _, e := range exts {
		var url string
		if u, ok := e["url"]; !ok || json.Unmarshal(u, &url) != nil || url == "" {
			return fmt.Errorf("%w: %s has an extension without a url", ErrInvalidExtension, rt)
		}
		values := valueMembers(e)
		nested := e["extension"]
		hasNested := !emptyJSON(nested)
		switch {
		case len(values) == 0 && !hasNested:
			return &EmptyExtensionError{ResourceType: rt, URL: url, Nested: depth > 0}
		case len(values) > 1:
			return fmt.Errorf("%w: %s extension %q has more than one value", ErrInvalidExtension, rt, clipText(url, 80))
		case len(values) == 1 && hasNested:
			return fmt.Errorf("%w: %s extension %q has both a value and nested extensions", ErrInvalidExtension, rt, clipText(url, 80))
		}
		if hasNested {
			if err := checkExtensionList(rt, "extension", nested, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// emptyJSON reports whether a member's value is absent or empty: missing,
// null, [] or {}.
func emptyJSON(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "", "null", "[]", "{}":
		return true
	}
	return false
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // never cut a character in two: the text goes out as UTF-8
	}
	return s[:n] + "..."
}

// baseElements are elements every resource may carry that the structs here
// do not keep.
var baseElements = map[string]bool{"language": true}

// notAccepted are elements every STU3 resource (or DomainResource) may
// carry that a request body here may not: the structs do not keep them, so
// accepting one would lose it. They are named as not accepted, not as
// unknown, since they are valid FHIR.
var notAccepted = map[string]bool{"text": true, "contained": true, "implicitRules": true}

// jsonElementsCache maps a resource struct type to its JSON member names.
var jsonElementsCache sync.Map

// jsonElements lists the JSON member names of the resource struct t points to.
func jsonElements(t reflect.Type) map[string]bool {
	if v, ok := jsonElementsCache.Load(t); ok {
		return v.(map[string]bool)
	}
	known := map[string]bool{}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	for i := 0; i < st.NumField(); i++ {
		name, _, _ := strings.Cut(st.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			known[name] = true
		}
	}
	jsonElementsCache.Store(t, known)
	return known
}

// MarshalJSON encodes a resource as FHIR JSON: byte for byte what
// encoding/json.Marshal writes. A Bundle and the Slots in it are written by
// hand, because a slot search answers with thousands of Slots and reflection
// was most of its encoding time; everything else, and any Slot using an
// element the fast path does not write, goes through encoding/json.
func MarshalJSON(r Resource) ([]byte, error) {
	if b, ok := r.(*Bundle); ok && b != nil {
		return AppendJSON(make([]byte, 0, 1024+len(b.Entry)*512), r)
	}
	return AppendJSON(nil, r)
}

// AppendJSON appends MarshalJSON's bytes to dst, so a caller can reuse a buffer.
func AppendJSON(dst []byte, r Resource) ([]byte, error) {
	b, ok := r.(*Bundle)
	if !ok || b == nil {
		return appendStd(dst, r)
	}
	return appendBundle(dst, b)
}

// appendStd appends v as encoding/json writes it.
func appendStd(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func appendBundle(dst []byte, b *Bundle) ([]byte, error) {
	var err error
	dst = append(dst, `{"resourceType":`...)
	dst = appendJSONString(dst, b.ResourceType)
	if b.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = appendJSONString(dst, b.ID)
	}
	if b.Meta != nil {
		dst = append(dst, `,"meta":`...)
		if dst, err = appendStd(dst, b.Meta); err != nil {
			return nil, err
		}
	}
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, b.Type)
	if b.Total != nil {
		dst = append(dst, `,"total":`...)
		dst = strconv.AppendInt(dst, int64(*b.Total), 10)
	}
	if len(b.Link) > 0 {
		dst = append(dst, `,"link":`...)
		if dst, err = appendStd(dst, b.Link); err != nil {
			return nil, err
		}
	}
	dst = append(dst, `,"entry":`...)
	if b.Entry == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range b.Entry {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendEntry(dst, &b.Entry[i]); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

func appendEntry(dst []byte, e *BundleEntry) ([]byte, error) {
	var err error
	dst = append(dst, '{')
	sep := false
	if e.FullURL != "" {
		dst = append(dst, `"fullUrl":`...)
		dst = appendJSONString(dst, e.FullURL)
		sep = true
	}
	if e.Resource != nil {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"resource":`...)
		if enc, ok := e.Resource.(*Encoded); ok {
			dst = append(dst, enc.JSON...)
		} else if s, ok := e.Resource.(*Slot); ok && fastSlot(s) {
			dst = appendSlot(dst, s)
		} else if sc, ok := e.Resource.(*Schedule); ok && fastSchedule(sc) {
			dst = appendSchedule(dst, sc)
		} else if dst, err = appendStd(dst, e.Resource); err != nil {
			return nil, err
		}
		sep = true
	}
	if e.Search != nil {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"search":`...)
		if dst, err = appendStd(dst, e.Search); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// fastSlot reports whether appendSlot writes every element s has.
func fastSlot(s *Slot) bool {
	if s == nil || len(s.Identifier) > 0 || s.ServiceCategory != nil || len(s.Specialty) > 0 || s.AppointmentType != nil || s.Overbooked != nil ||
		s.Schedule.Identifier != nil {
		return false
	}
	if !fastMeta(s.Meta) {
		return false
	}
	return fastExtensions(s.Extension) && fastConcepts(s.ServiceType)
}

// fastMeta reports whether appendMeta writes every element of m.
func fastMeta(m *Meta) bool {
	return m == nil || (m.LastUpdated == "" && len(m.Security) == 0 && len(m.Tag) == 0 && len(m.Extension) == 0)
}

// fastExtensions reports whether appendExtensions writes every element:
// valueCode and valueCodeableConcept are the only values it knows.
func fastExtensions(exts []Extension) bool {
	for i := range exts {
		e := &exts[i]
		if len(e.Extension) > 0 || e.ValueString != nil || e.ValueBoolean != nil || e.ValueInteger != nil || e.ValueDateTime != nil || e.ValueURI != nil ||
			e.ValueReference != nil || e.ValueCoding != nil || e.ValuePeriod != nil || e.ValueIdentifier != nil ||
			(e.ValueCode != nil && e.ValueCodeableConcept != nil) {
			return false
		}
		if e.ValueCodeableConcept != nil && !fastConcepts([]CodeableConcept{*e.ValueCodeableConcept}) {
			return false
		}
	}
	return true
}

// fastConcepts reports whether appendConcept writes every element (no userSelected).
func fastConcepts(cs []CodeableConcept) bool {
	for i := range cs {
		for j := range cs[i].Coding {
			if cs[i].Coding[j].UserSelected != nil {
				return false
			}
		}
	}
	return true
}

// fastSchedule reports whether appendSchedule writes every element s has.
func fastSchedule(s *Schedule) bool {
	if s == nil || len(s.Identifier) > 0 || s.Active != nil || len(s.ServiceType) > 0 || len(s.Specialty) > 0 || !fastMeta(s.Meta) ||
		!fastExtensions(s.Extension) || (s.ServiceCategory != nil && !fastConcepts([]CodeableConcept{*s.ServiceCategory})) {
		return false
	}
	for i := range s.Actor {
		if s.Actor[i].Identifier != nil {
			return false
		}
	}
	return true
}

// appendSchedule writes a Schedule that fastSchedule accepted, in the struct's field order.
func appendSchedule(dst []byte, s *Schedule) []byte {
	dst = append(dst, `{"resourceType":`...)
	dst = appendJSONString(dst, s.ResourceType)
	if s.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = appendJSONString(dst, s.ID)
	}
	if s.Meta != nil {
		dst = append(dst, `,"meta":`...)
		dst = appendMeta(dst, s.Meta)
	}
	if len(s.Extension) > 0 {
		dst = append(dst, `,"extension":`...)
		dst = appendExtensions(dst, s.Extension)
	}
	if s.ServiceCategory != nil {
		dst = append(dst, `,"serviceCategory":`...)
		dst = appendConcept(dst, s.ServiceCategory)
	}
	dst = append(dst, `,"actor":`...)
	if s.Actor == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range s.Actor {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendReference(dst, &s.Actor[i])
		}
		dst = append(dst, ']')
	}
	if p := s.PlanningHorizon; p != nil {
		dst = append(dst, `,"planningHorizon":{`...)
		if p.Start != "" {
			dst = append(dst, `"start":`...)
			dst = appendJSONString(dst, p.Start)
		}
		if p.End != "" {
			if p.Start != "" {
				dst = append(dst, ',')
			}
			dst = append(dst, `"end":`...)
			dst = appendJSONString(dst, p.End)
		}
		dst = append(dst, '}')
	}
	if s.Comment != "" {
		dst = append(dst, `,"comment":`...)
		dst = appendJSONString(dst, s.Comment)
	}
	return append(dst, '}')
}

// appendMeta writes a Meta that fastMeta accepted.
func appendMeta(dst []byte, m *Meta) []byte {
	dst = append(dst, '{')
	sep := false
	if m.VersionID != "" {
		dst = append(dst, `"versionId":`...)
		dst = appendJSONString(dst, m.VersionID)
		sep = true
	}
	if len(m.Profile) > 0 {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"profile":[`...)
		for i, p := range m.Profile {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, p)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendExtensions writes extensions that fastExtensions accepted.
func appendExtensions(dst []byte, exts []Extension) []byte {
	dst = append(dst, '[')
	for i := range exts {
		e := &exts[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"url":`...)
		dst = appendJSONString(dst, e.URL)
		if e.ValueCode != nil {
			dst = append(dst, `,"valueCode":`...)
			dst = appendJSONString(dst, *e.ValueCode)
		}
		if e.ValueCodeableConcept != nil {
			dst = append(dst, `,"valueCodeableConcept":`...)
			dst = appendConcept(dst, e.ValueCodeableConcept)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// appendReference writes a Reference without an identifier.
func appendReference(dst []byte, r *Reference) []byte {
	dst = append(dst, '{')
	if r.Reference != "" {
		dst = append(dst, `"reference":`...)
		dst = appendJSONString(dst, r.Reference)
	}
	if r.Display != "" {
		if r.Reference != "" {
			dst = append(dst, ',')
		}
		dst = append(dst, `"display":`...)
		dst = appendJSONString(dst, r.Display)
	}
	return append(dst, '}')
}

// appendSlot writes a Slot that fastSlot accepted, in the struct's field order.
func appendSlot(dst []byte, s *Slot) []byte {
	dst = append(dst, `{"resourceType":`...)
	dst = appendJSONString(dst, s.ResourceType)
	if s.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = appendJSONString(dst, s.ID)
	}
	if s.Meta != nil {
		dst = append(dst, `,"meta":`...)
		dst = appendMeta(dst, s.Meta)
	}
	if len(s.Extension) > 0 {
		dst = append(dst, `,"extension":`...)
		dst = appendExtensions(dst, s.Extension)
	}
	if len(s.ServiceType) > 0 {
		dst = append(dst, `,"serviceType":[`...)
		for i := range s.ServiceType {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendConcept(dst, &s.ServiceType[i])
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"schedule":`...)
	dst = appendReference(dst, &s.Schedule)
	dst = append(dst, `,"status":`...)
	dst = appendJSONString(dst, s.Status)
	dst = append(dst, `,"start":`...)
	dst = appendJSONString(dst, s.Start)
	dst = append(dst, `,"end":`...)
	dst = appendJSONString(dst, s.End)
	if s.Comment != "" {
		dst = append(dst, `,"comment":`...)
		dst = appendJSONString(dst, s.Comment)
	}
	return append(dst, '}')
}

// appendConcept writes a CodeableConcept whose codings have no userSelected.
func appendConcept(dst []byte, c *CodeableConcept) []byte {
	dst = append(dst, '{')
	sep := false
	if len(c.Coding) > 0 {
		dst = append(dst, `"coding":[`...)
		for i := range c.Coding {
			cd := &c.Coding[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '{')
			inner := false
			for _, f := range [...]struct{ name, v string }{{`"system":`, cd.System}, {`"version":`, cd.Version}, {`"code":`, cd.Code}, {`"display":`, cd.Display}} {
				if f.v == "" {
					continue
				}
				if inner {
					dst = append(dst, ',')
				}
				dst = append(dst, f.name...)
				dst = appendJSONString(dst, f.v)
				inner = true
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		sep = true
	}
	if c.Text != "" {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"text":`...)
		dst = appendJSONString(dst, c.Text)
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the ASCII bytes written as they are (encoding/json's htmlSafeSet).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return t
}()

// appendJSONString quotes s exactly as encoding/json does with HTML escaping
// on: <, > and & as \u003c..., control characters, invalid UTF-8 as \ufffd,
// and U+2028/U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
