package provider_test

import (
	"net/http"
	"testing"

	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// TestUnstorableODSInPath: an ODS code in the path holding a NUL or bytes
// that are not UTF-8 is no practice (404 with an OperationOutcome) on every
// engine; PostgreSQL answered a 500, since it cannot compare such text.
func TestUnstorableODSInPath(t *testing.T) {
	for _, e := range storetest.Engines(false) {
		t.Run(e.Name, func(t *testing.T) {
			a := newApptEnv(t, e)
			for _, p := range []string{"/A20%0047/STU3/1/gpconnect/metadata", "/%FF/STU3/1/gpconnect/metadata", "/A20047%00/STU3/1/gpconnect/Patient/1"} {
				res := a.do(t, a.rawRequest(t, http.MethodGet, p))
				if res.status != http.StatusNotFound || spineCode(res.body) == "" {
					t.Errorf("%s: %d %s, want 404 with an OperationOutcome", p, res.status, res.body)
				}
			}
		})
	}
}
