package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// UnmarshalResourceKeepingSource is UnmarshalResource that also records, on
// an Appointment and on the Appointments of a Bundle's entries, the JSON
// each was decoded from (Appointment.Source). The structs model only what
// GP Connect uses, so an appointment re-encoded from them alone would lose
// elements a provider sent (language, implicitRules, _x siblings,
// modifierExtension, extensions of other value types) and the provider
// would refuse the amend or cancel as a changed resource (spec §7.2). Only
// a consumer reading a provider's answers should use it: request parsing
// keeps to UnmarshalResource and DecodeJSONStrict, which keep nothing.
func UnmarshalResourceKeepingSource(data []byte) (Resource, error) {
	r, err := UnmarshalResource(data)
	if err != nil {
		return nil, err
	}
	switch x := r.(type) {
	case *Appointment:
		x.Source = bytes.Clone(data)
	case *Bundle:
		keepEntrySources(x, data)
	}
	return r, nil
}

// keepEntrySources sets Source on the Appointments of b, decoded from data.
// Other Bundles (slot searches: thousands of entries) are not read again.
func keepEntrySources(b *Bundle, data []byte) {
	found := false
	for _, e := range b.Entry {
		_, ok := e.Resource.(*Appointment)
		found = found || ok
	}
	if !found {
		return
	}
	var raw struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(data, &raw) != nil || len(raw.Entry) != len(b.Entry) {
		return
	}
	for i, e := range b.Entry {
		if a, ok := e.Resource.(*Appointment); ok {
			a.Source = raw.Entry[i].Resource
		}
	}
}

// ErrSourceType reports a MarshalEdited source of another resource type.
var ErrSourceType = errors.New("fhir: the source is another resource type")

// MarshalEdited encodes r as src, the JSON r was decoded from, edited in
// place: an element r left as it was decoded is written as src has it, byte
// for byte, and so is every element r's struct does not model; elements r
// changed, added or removed are changed, added or removed. Lists are
// matched element by element (by position when r kept their length), so an
// extension appended to a list leaves the others as they came. Should the
// result not read back as r (src spelt a name in another case, say), r's
// own encoding is returned instead, so an edit is never lost.
func MarshalEdited(r Resource, src []byte) ([]byte, error) {
	rt, err := PeekResourceType(src)
	if err != nil {
		return nil, err
	}
	if rt != r.GetResourceType() {
		return nil, fmt.Errorf("%w: %s, not %s", ErrSourceType, rt, r.GetResourceType())
	}
	// base is what r's struct made of src: the difference between it and
	// cur is what the caller edited.
	decoded, err := UnmarshalResource(src)
	if err != nil {
		return nil, err
	}
	base, err := MarshalJSON(decoded)
	if err != nil {
		return nil, err
	}
	cur, err := MarshalJSON(r)
	if err != nil {
		return nil, err
	}
	out := mergeEdited(nil, src, base, cur, 0)
	back, err := UnmarshalResource(out)
	if err != nil {
		return cur, nil
	}
	if again, err := MarshalJSON(back); err != nil || !bytes.Equal(again, cur) {
		return cur, nil
	}
	return out, nil
}

// maxMergeDepth bounds the recursion; deeper edits are written whole.
const maxMergeDepth = 64

// mergeEdited appends the value src with the edits that turned base into cur.
func mergeEdited(dst, src, base, cur []byte, depth int) []byte {
	if bytes.Equal(base, cur) {
		return append(dst, src...)
	}
	if depth < maxMergeDepth {
		if sm, ok := jsonMembers(src); ok {
			if bm, ok := jsonMembers(base); ok {
				if cm, ok := jsonMembers(cur); ok {
					return mergeObject(dst, sm, bm, cm, depth)
				}
			}
		}
		if si, ok := jsonItems(src); ok {
			if bi, ok := jsonItems(base); ok && len(bi) == len(si) {
				if ci, ok := jsonItems(cur); ok {
					return mergeArray(dst, si, bi, ci, depth)
				}
			}
		}
	}
	return append(dst, cur...)
}

// mergeObject keeps src's members in src's order. A member unknown to the
// struct (absent from base and cur) is kept; one the caller removed is
// dropped; one added goes before the src member that follows it in cur.
func mergeObject(dst []byte, src, base, cur []jsonMember, depth int) []byte {
	bm, cm := memberMap(base), memberMap(cur)
	inSrc := make(map[string]bool, len(src))
	for _, m := range src {
		inSrc[m.key] = true
	}
	// before[k] lists the added members to write ahead of src member k.
	before := map[string][]jsonMember{}
	var pending, tail []jsonMember
	for _, m := range cur {
		switch {
		case inSrc[m.key]:
			before[m.key] = append(before[m.key], pending...)
			pending = nil
		case bytes.Equal(bm[m.key], m.val):
			// Made by the struct, not by an edit (src spelt the name in
			// another case, say): src already says it.
		default:
			pending = append(pending, m)
		}
	}
	tail = pending
	dst = append(dst, '{')
	n := 0
	write := func(key string, val func([]byte) []byte) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendJSONString(dst, key)
		dst = append(dst, ':')
		dst = val(dst)
	}
	for _, m := range src {
		for _, a := range before[m.key] {
			write(a.key, func(d []byte) []byte { return append(d, a.val...) })
		}
		delete(before, m.key)
		b, inBase := bm[m.key]
		c, inCur := cm[m.key]
		switch {
		case !inBase && !inCur:
			write(m.key, func(d []byte) []byte { return append(d, m.val...) })
		case inBase && inCur:
			write(m.key, func(d []byte) []byte { return mergeEdited(d, m.val, b, c, depth+1) })
		case inCur:
			// src had it in a form the struct drops (an empty string, say); the caller set it.
			write(m.key, func(d []byte) []byte { return append(d, c...) })
		}
		// In base but not in cur: the caller removed it.
	}
	for _, a := range tail {
		write(a.key, func(d []byte) []byte { return append(d, a.val...) })
	}
	return append(dst, '}')
}

// mergeArray merges a list. A cur item equal to a base item (the same
// position first, else the next unused equal one) was left as it was and is
// written as src has it. A changed item takes the base item at its own
// position, if the lists kept their length and that item was not matched,
// as an edit in place (src's members the struct lacks kept); any other is
// written as cur has it. Matching by position alone would move one item's
// unmodelled members onto another when an edit removes one item and
// appends one (as a cancel replacing its reason extension does).
func mergeArray(dst []byte, src, base, cur []json.RawMessage, depth int) []byte {
	match := make([]int, len(cur))
	used := make([]bool, len(base))
	for i, c := range cur {
		match[i] = -1
		if i < len(base) && bytes.Equal(base[i], c) {
			match[i], used[i] = i, true
		}
	}
	for i, c := range cur {
		if match[i] >= 0 {
			continue
		}
		for k := range base {
			if !used[k] && bytes.Equal(base[k], c) {
				match[i], used[k] = k, true
				break
			}
		}
	}
	dst = append(dst, '[')
	for i, c := range cur {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch k := match[i]; {
		case k >= 0:
			dst = append(dst, src[k]...)
		case len(cur) == len(base) && !used[i]:
			used[i] = true
			dst = mergeEdited(dst, src[i], base[i], c, depth+1)
		default:
			dst = append(dst, c...)
		}
	}
	return append(dst, ']')
}

// jsonMember is one member of a JSON object, its value as written.
type jsonMember struct {
	key string
	val json.RawMessage
}

func memberMap(ms []jsonMember) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, len(ms))
	for _, x := range ms {
		m[x.key] = x.val
	}
	return m
}

// jsonMembers splits a JSON object into its members in order; ok is false
// for anything else.
func jsonMembers(data []byte) ([]jsonMember, bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []jsonMember
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, false
		}
		key, ok := t.(string)
		if !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, jsonMember{key: key, val: v})
	}
	return out, true
}

// jsonItems splits a JSON array into its items; ok is false for anything else.
func jsonItems(data []byte) ([]json.RawMessage, bool) {
	var out []json.RawMessage
	if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &out) != nil {
		return nil, false
	}
	return out, true
}
