package fhir

// BundleLink is STU3 Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntrySearch is STU3 Bundle.entry.search.
type BundleEntrySearch struct {
	Mode  string   `json:"mode,omitempty"`
	Score *float64 `json:"score,omitempty"`
}

// BundleEntry is STU3 Bundle.entry.
type BundleEntry struct {
	FullURL  string             `json:"fullUrl,omitempty"`
	Resource Resource           `json:"resource,omitempty"`
	Search   *BundleEntrySearch `json:"search,omitempty"`
}

// Bundle is STU3 Bundle (searchset use only).
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry"`
}

// GetResourceType implements Resource.
func (*Bundle) GetResourceType() string { return "Bundle" }

// NewSearchset returns an empty searchset Bundle whose entry list encodes as [].
func NewSearchset() *Bundle {
	return &Bundle{ResourceType: "Bundle", Type: "searchset", Entry: []BundleEntry{}}
}

// OperationOutcomeIssue is STU3 OperationOutcome.issue.
type OperationOutcomeIssue struct {
	Severity    string           `json:"severity"`
	Code        string           `json:"code"`
	Details     *CodeableConcept `json:"details,omitempty"`
	Diagnostics string           `json:"diagnostics,omitempty"`
	Location    []string         `json:"location,omitempty"`
	Expression  []string         `json:"expression,omitempty"`
}

// OperationOutcome is STU3 OperationOutcome.
type OperationOutcome struct {
	ResourceType string                  `json:"resourceType"`
	ID           string                  `json:"id,omitempty"`
	Meta         *Meta                   `json:"meta,omitempty"`
	Issue        []OperationOutcomeIssue `json:"issue"`
}

// GetResourceType implements Resource.
func (*OperationOutcome) GetResourceType() string { return "OperationOutcome" }
