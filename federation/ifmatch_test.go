package federation_test

import (
	"context"
	"testing"

	"github.com/slotbridge/slotbridge/internal/scheduling"
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

// TestHubAmendKeepsDescription: an amend may clear the comment but not the
// description, which GP Connect requires (spec §8.1): a lenient practice
// would otherwise store an appointment without one.
func TestHubAmendKeepsDescription(t *testing.T) {
	ctx := context.Background()
	f := newFakePractice(t)
	appt := `{"resourceType":"Appointment","id":"101","meta":{"versionId":"1"},"status":"booked","description":"x","comment":"c",` +
		`"start":"2030-01-01T09:00:00+00:00","end":"2030-01-01T09:10:00+00:00","slot":[{"reference":"Slot/1"}],` +
		`"participant":[{"actor":{"reference":"Patient/4"},"status":"accepted"}]}`
	f.set("GET /Appointment/101", fakeAnswer{status: 200, body: appt})
	f.set("PUT /Appointment/101", fakeAnswer{status: 200, body: appt})
	hub := fakeHub(t, f, testIdentity())
	empty := ""
	if _, err := hub.Amend(ctx, "h", fakeODS+"/101", &empty, nil); scheduling.ErrorCode(err) != scheduling.EINVALID {
		t.Fatalf("amend removing the description: %v, want EINVALID", err)
	}
	if n := f.requests("PUT", "/Appointment/101"); n != 0 {
		t.Fatalf("%d PUTs sent for an amend removing the description", n)
	}
	if _, err := hub.Amend(ctx, "h", fakeODS+"/101", nil, &empty); err != nil {
		t.Fatalf("amend clearing the comment: %v", err)
	}
	if n := f.requests("PUT", "/Appointment/101"); n != 1 {
		t.Fatalf("%d PUTs sent for an amend clearing the comment, want 1", n)
	}
}
