package provider

import "github.com/slotbridge/slotbridge/fhir/gpconnect"

// PanicOnInteractionForTest makes the handler of iid panic with v until the
// returned function is called. Tests using it must not run in parallel with
// others (the handler table is global).
func PanicOnInteractionForTest(iid gpconnect.InteractionID, v any) (restore func()) {
	old, had := handlers[iid]
	handlers[iid] = func(*Server, *request) error { panic(v) }
	return func() {
		if had {
			handlers[iid] = old
		} else {
			delete(handlers, iid)
		}
	}
}

// ClipReasonForTest exposes the cancellation-reason clip.
var ClipReasonForTest = clipReason
