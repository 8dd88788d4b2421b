package jsonkind

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestOf: each kind is named as the JSON it decodes from, and the name
// agrees with what encoding/json accepts for it.
func TestOf(t *testing.T) {
	var n *int
	for _, c := range []struct {
		v    any
		want string
		json string // a value of that kind, which must decode
	}{
		{new(bool), "true or false", `true`},
		{new(int), "an integer in range", `7`},
		{&n, "an integer in range", `7`},
		{new(uint8), "an integer in range", `7`},
		{new(float64), "a JSON number", `1.5`},
		{new(string), "a JSON string", `"x"`},
		{new([]int), "a JSON array", `[1]`},
		{new(struct{ A int }), "a JSON object", `{"A":1}`},
		{new(map[string]int), "a JSON object", `{"a":1}`},
	} {
		typ := reflect.TypeOf(c.v).Elem()
		if got := Of(typ); got != c.want {
			t.Errorf("%s: %q, want %q", typ, got, c.want)
		}
		if err := json.Unmarshal([]byte(c.json), c.v); err != nil {
			t.Errorf("%s from %s: %v", typ, c.json, err)
		}
	}
	if got := Of(nil); got != "a different JSON value" {
		t.Errorf("nil: %q", got)
	}
}

func TestDuplicateKey(t *testing.T) {
	for _, c := range []struct {
		in, name, path string
		found          bool
	}{
		{`{"a":1,"b":2}`, "", "", false},
		{`{"a":1,"a":2}`, "a", "", true},
		{`{"a":{"x":1},"b":[{"y":1},{"y":2,"z":[1,{"q":1,"q":2}]}]}`, "q", "b[1].z[1]", true},
		{`{"a":"{\"k\":1,\"k\":2}"}`, "", "", false}, // inside a string is not JSON structure
		{`[{"k":1},{"k":1}]`, "", "", false},         // one name in two objects is no repeat
		{`{"A":1,"a":2}`, "a", "", true},             // encoding/json would set one field from both
		{`{"a":1,`, "", "", false},                   // not JSON: the decoder says why
	} {
		name, path, found := DuplicateKey([]byte(c.in))
		if name != c.name || path != c.path || found != c.found {
			t.Errorf("DuplicateKey(%s) = %q, %q, %v; want %q, %q, %v", c.in, name, path, found, c.name, c.path, c.found)
		}
	}
}
