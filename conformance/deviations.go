package conformance

// KnownDeviations lists checks that Slotbridge's own provider is known to
// fail, by "group/name", with the reason. A listed check that fails is
// reported as KNOWN and does not fail the run; one that passes is reported
// so that the entry can be removed. Every entry is a provider bug to fix,
// never a relaxation of the spec.
var KnownDeviations = map[string]string{}
