package jsonapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/internal/jsonapi"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func TestWriteError(t *testing.T) {
	for _, c := range []struct {
		err     error
		status  int
		code    string
		message string
	}{
		{scheduling.NotFound("hub", "no hub %q", "x"), 404, "not_found", `no hub "x"`},
		{scheduling.Errorf(scheduling.EPARAM, "bad"), 400, "invalid_param", "bad"},
		{scheduling.Errorf(scheduling.EINVALID, "bad"), 422, "invalid", "bad"},
		{scheduling.Errorf(scheduling.EDUPLICATE, "twice"), 409, "duplicate", "twice"},
		{scheduling.Errorf(scheduling.ESTALE, "old"), 409, "stale", "old"},
		{scheduling.Errorf(scheduling.EFORBIDDEN, "no"), 403, "forbidden", "no"},
		{scheduling.Errorf(jsonapi.CodeUnauthorized, "token"), 401, "unauthorized", "token"},
		{scheduling.Errorf(jsonapi.CodeTooLarge, "big"), 413, "too_large", "big"},
		{scheduling.Errorf(jsonapi.CodeMediaType, "json"), 415, "unsupported_media_type", "json"},
		// Nothing of an unexpected error reaches the body.
		{errors.New("pq: relation \"hubs\" does not exist"), 500, "internal", "An internal error occurred."},
	} {
		rec := httptest.NewRecorder()
		if got := jsonapi.WriteError(rec, c.err); got != c.status || rec.Code != c.status {
			t.Errorf("%v: returned %d, sent %d, want %d", c.err, got, rec.Code, c.status)
		}
		var e map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e) != 2 || e["code"] != c.code || e["error"] != c.message {
			t.Errorf("%v: body %s, want {\"error\": %q, \"code\": %q}", c.err, rec.Body, c.message, c.code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	rec := httptest.NewRecorder()
	jsonapi.MethodNotAllowed(rec, httptest.NewRequest("PATCH", "/x", nil), []string{"PUT", "GET", "DELETE"})
	if rec.Code != 405 || rec.Header().Get("Allow") != "DELETE, GET, PUT" || !strings.Contains(rec.Body.String(), `"code": "method_not_allowed"`) {
		t.Errorf("%d Allow %q %s", rec.Code, rec.Header().Get("Allow"), rec.Body)
	}
}

func TestDecode(t *testing.T) {
	type body struct{ Name string }
	for _, c := range []struct {
		name, ctype, body string
		optional          bool
		code              scheduling.Code
	}{
		{"ok", "application/json; charset=utf-8", `{"name":"a"}`, false, ""},
		{"no type, optional", "", `{"name":"a"}`, true, ""},
		{"no type, required", "", `{"name":"a"}`, false, jsonapi.CodeMediaType},
		{"form", "application/x-www-form-urlencoded", `{"name":"a"}`, true, jsonapi.CodeMediaType},
		{"bad type", "application/json;;", `{"name":"a"}`, true, jsonapi.CodeMediaType},
		{"empty", "application/json", ``, false, scheduling.EPARAM},
		{"truncated", "application/json", `{"name":`, false, scheduling.EPARAM},
		{"unknown field", "application/json", `{"name":"a","other":1}`, false, scheduling.EPARAM},
		{"trailing data", "application/json", `{"name":"a"} x`, false, scheduling.EPARAM},
		{"second value", "application/json", `{"name":"a"}{}`, false, scheduling.EPARAM},
		{"trailing space", "application/json", `{"name":"a"}` + "\n ", false, ""},
		{"too large", "application/json", `{"name":"` + strings.Repeat("a", 100) + `"}`, false, jsonapi.CodeTooLarge},
		{"wrong type", "application/json", `{"name":1}`, false, scheduling.EPARAM},
		{"not an object", "application/json", `[]`, false, scheduling.EPARAM},
		// Too large is said before the body is read, whatever it holds.
		{"too large, not JSON", "application/json", strings.Repeat("a", 100), false, jsonapi.CodeTooLarge},
		// encoding/json would decode both as U+FFFD.
		{"not UTF-8", "application/json", "{\"name\":\"a\xff\"}", false, scheduling.EPARAM},
		{"lone surrogate", "application/json", `{"name":"a\udc00"}`, false, scheduling.EPARAM},
		// encoding/json would keep the last; the sender may have meant the first.
		{"name twice", "application/json", `{"name":"a","name":"b"}`, false, scheduling.EPARAM},
		{"name twice, other case", "application/json", `{"name":"a","NAME":"b"}`, false, scheduling.EPARAM},
	} {
		for _, known := range []bool{true, false} {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(c.body))
			if !known {
				r.ContentLength = -1 // chunked: the limit is met while reading
			}
			if c.ctype != "" {
				r.Header.Set("Content-Type", c.ctype)
			}
			var v body
			err := jsonapi.Decode(r, &v, 64, c.optional)
			if got := scheduling.ErrorCode(err); got != c.code {
				t.Errorf("%s (length known %v): %v, want code %q", c.name, known, err, c.code)
			}
			if err == nil && v.Name != "a" {
				t.Errorf("%s: decoded %+v", c.name, v)
			}
		}
	}
}

// TestDecodeWording: a body of the wrong shape is explained in JSON's terms,
// naming the field as sent, never the server's Go types or struct names.
func TestDecodeWording(t *testing.T) {
	type inner struct {
		Days []int `json:"days"`
	}
	type body struct {
		Cap    int     `json:"cap"`
		On     *bool   `json:"on"`
		Name   string  `json:"name"`
		Weekly inner   `json:"weekly"`
		Ratio  float64 `json:"ratio"`
	}
	for in, want := range map[string]string{
		`{"cap":"5"}`:                 "bad JSON body: cap must be an integer in range",
		`{"cap":1e20}`:                "bad JSON body: cap must be an integer in range",
		`{"cap":1.5}`:                 "bad JSON body: cap must be an integer in range",
		`{"on":"yes"}`:                "bad JSON body: on must be true or false",
		`{"name":[]}`:                 "bad JSON body: name must be a JSON string",
		`{"weekly":{"days":"mon"}}`:   "bad JSON body: weekly.days must be a JSON array",
		`{"weekly":{"days":["mon"]}}`: "bad JSON body: weekly.days must be an integer in range",
		`{"weekly":3}`:                "bad JSON body: weekly must be a JSON object",
		`{"ratio":"x"}`:               "bad JSON body: ratio must be a JSON number",
		`[]`:                          "bad JSON body: the body must be a JSON object",
		`"x"`:                         "bad JSON body: the body must be a JSON object",
		`{"other":1}`:                 `bad JSON body: unknown field "other"`,
		`{"cap":`:                     "bad JSON body: unexpected EOF",
	} {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(in))
		r.Header.Set("Content-Type", "application/json")
		var v body
		err := jsonapi.Decode(r, &v, 1<<10, false)
		if got := scheduling.ErrorMessage(err); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
		for _, leak := range []string{"Go ", "struct", "body.", "int64", "jsonapi_test"} {
			if strings.Contains(scheduling.ErrorMessage(err), leak) {
				t.Errorf("%s: %q names the server's types (%q)", in, scheduling.ErrorMessage(err), leak)
			}
		}
	}
}
