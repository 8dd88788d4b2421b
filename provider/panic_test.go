package provider_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
	"github.com/slotbridge/slotbridge/provider"
)

// TestPanicBecomesOutcome: a handler panic must become a 500
// INTERNAL_SERVER_ERROR OperationOutcome (§9.2) with Cache-Control: no-store
// and no internals in the diagnostics. Not parallel: it swaps a handler.
func TestPanicBecomesOutcome(t *testing.T) {
	e := newEnv(t, storetest.Engines(false)[0], time.Time{})
	restore := provider.PanicOnInteractionForTest(gpconnect.ReadHealthcareService, "secret-internal-detail")
	defer restore()
	res := e.get(t, "HealthcareService/1", iidReadHCS, scopeOrgRead)
	diag := wantOutcome(t, res, 500, "INTERNAL_SERVER_ERROR")
	if strings.Contains(string(res.body), "secret-internal-detail") || strings.Contains(diag, "goroutine") {
		t.Errorf("500 outcome leaks the panic: %s", res.body)
	}
	// The server keeps serving.
	wantOK(t, e.get(t, "metadata", iidMetadata, scopeOrgRead), "CapabilityStatement")
}
