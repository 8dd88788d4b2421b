package scheduling

import "time"

// AuditRecord is one provider interaction, kept append-only.
type AuditRecord struct {
	ID               int64
	At               time.Time
	TraceID          string
	Interaction      string
	Method           string
	Path             string
	PracticeODS      string
	FromASID         string
	ToASID           string
	RequestingOrg    string
	RequestingUser   string
	RequestingDevice string
	Status           int
	SpineCode        string
	ResourceIDs      string
	Duration         time.Duration
}

// AuditFilter selects audit records.
type AuditFilter struct {
	PracticeODS string
	Since       time.Time
	Limit       int
}
