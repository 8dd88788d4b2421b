package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDirectoryWarnsPlainHTTP: a practice entered with a plain-http
// service root on another host is saved, with a warning that its calls
// would carry tokens and NHS numbers unencrypted; https and loopback
// roots get none.
func TestDirectoryWarnsPlainHTTP(t *testing.T) {
	data := "--data=" + t.TempDir()
	for _, c := range []struct {
		url  string
		warn bool
	}{
		{"http://gp.example.nhs.uk/A12345/STU3/1/gpconnect", true},
		{"https://gp.example.nhs.uk/A12345/STU3/1/gpconnect", false},
		{"http://127.0.0.1:8080/A12345/STU3/1/gpconnect", false},
		{"http://localhost:8080/A12345/STU3/1/gpconnect", false},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"directory", "set", "A12345", "--url", c.url, "--asid", "918999198999", data}, &out, &errb)
		if err != nil {
			t.Fatalf("directory set %s: %v\n%s", c.url, err, errb.String())
		}
		if got := strings.Contains(errb.String(), "plain http"); got != c.warn {
			t.Errorf("%s: warned %v, want %v (stderr %q)", c.url, got, c.warn, errb.String())
		}
	}
}
