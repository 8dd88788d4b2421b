package consumer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/consumer"
)

// TestUpdateSendsReadETag: If-Match is the ETag the read answered (spec
// §2.1, §13.9), even when the body has no meta.versionId; without an ETag it
// is W/"{meta.versionId}"; WithIfMatch still overrides both.
func TestUpdateSendsReadETag(t *testing.T) {
	ctx := context.Background()
	noVersion := strings.Replace(readAnswer, `"versionId":"7",`, ``, 1)
	cases := []struct {
		name, read, etag string
		opts             []consumer.Option
		want             string
	}{
		{"ETagWithoutVersionID", noVersion, `W/"42"`, nil, `W/"42"`},
		{"ETagWins", readAnswer, `W/"42"`, nil, `W/"42"`},
		{"VersionIDWithoutETag", readAnswer, "", nil, `W/"7"`},
		{"WithIfMatch", readAnswer, `W/"42"`, []consumer.Option{consumer.WithIfMatch(`W/"9"`)}, `W/"9"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p putRecorder
			c := p.serve(t, tc.read, tc.etag)
			rd, err := c.ReadAppointment(ctx, "1")
			if err != nil {
				t.Fatal(err)
			}
			ed := *rd.Appointment
			ed.Comment = "c"
			if _, err := c.Amend(ctx, &ed, tc.opts...); err != nil {
				t.Fatal(err)
			}
			if r, _ := p.last(t); r.Header.Get("If-Match") != tc.want {
				t.Errorf("amend If-Match %q, want %q", r.Header.Get("If-Match"), tc.want)
			}
			if _, err := c.Cancel(ctx, rd.Appointment, "r", tc.opts...); err != nil {
				t.Fatal(err)
			}
			if r, _ := p.last(t); r.Header.Get("If-Match") != tc.want {
				t.Errorf("cancel If-Match %q, want %q", r.Header.Get("If-Match"), tc.want)
			}
		})
	}
}
