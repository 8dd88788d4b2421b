package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// testNow is the fixed clock of the tests and the fuzz target.
var testNow = time.Unix(1700000000, 0)

func fixedClock() time.Time { return testNow }

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// defaultPayload is the test pack's default payload (iat = now − 2 s) as a
// mutable map; numbers stay json.Number so that they re-encode unchanged.
func defaultPayload(t testing.TB) map[string]any {
	t.Helper()
	p, err := buildPayload(DefaultTestIdentity(), gpconnect.ScopeOrgRead, testNow.Add(-2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bearer wraps a raw JSON payload in an unsigned token and the header value.
func bearer(payload []byte) string {
	return "Bearer " + unsignedHeaderB64 + "." + enc(payload) + "."
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

// times sets iat and exp relative to testNow.
func times(m map[string]any, iat, exp int64) {
	m["iat"] = testNow.Unix() + iat
	m["exp"] = testNow.Unix() + exp
}

func spineCode(t testing.TB, err error) gpconnect.SpineCode {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not *auth.Error", err, err)
	}
	return ae.Code
}
