package federation_test

import (
	"context"
	"testing"
)

// TestHubChangeSendsReadETag: the hub's amend and cancel send If-Match set
// to the ETag of the read they edit (spec §2.1, §13.9), also from a
// practice whose appointment carries no meta.versionId.
func TestHubChangeSendsReadETag(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	appt := `{"resourceType":"Appointment","id":"101","status":"booked","description":"x",` +
		`"start":"2030-01-01T09:00:00+00:00","end":"2030-01-01T09:10:00+00:00","slot":[{"reference":"Slot/1"}],` +
		`"participant":[{"actor":{"reference":"Patient/4"},"status":"accepted"}]}`
	f.set("GET /Appointment/101", fakeAnswer{status: 200, body: appt, header: map[string]string{"ETag": `W/"42"`}})
	f.set("PUT /Appointment/101", fakeAnswer{status: 200, body: appt, header: map[string]string{"ETag": `W/"43"`}})
	hub := fakeHub(t, f, testIdentity())
	comment := "new comment"
	if _, err := hub.Amend(ctx, "h", fakeODS+"/101", nil, &comment); err != nil {
		t.Fatal(err)
	}
	if _, err := hub.Cancel(ctx, "h", fakeODS+"/101", "no longer needed"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	puts := 0
	for _, r := range f.seen {
		if r.Method != "PUT" {
			continue
		}
		puts++
		if got := r.Header.Get("If-Match"); got != `W/"42"` {
			t.Errorf("%s PUT If-Match %q, want W/\"42\"", r.Header.Get("Ssp-InteractionID"), got)
		}
	}
	if puts != 2 {
		t.Fatalf("%d PUTs, want 2", puts)
	}
}
