package scheduling

import "time"

// AdminToken is a practice administrator's API token. Only a hash of its
// secret is kept; the token itself is shown once, when it is created.
type AdminToken struct {
	ID         int64
	PracticeID int64
	// Hash is the hex SHA-256 of the token's secret part.
	Hash    string
	Label   string
	Created time.Time
	Revoked bool
}

// AdminAuditRecord is one change made through the admin API or CLI, kept append-only.
type AdminAuditRecord struct {
	ID         int64
	At         time.Time
	PracticeID int64
	// Actor is who made the change: "token:12" for an API token, "cli:alice" for the CLI.
	Actor  string
	Action string
	// Target names what changed, e.g. "profile/3", "session/41", "slot/900".
	Target string
	// Before and After are the JSON of the thing before and after the change ("" when absent).
	Before, After string
	Detail        string
}

// SessionSummary is a session with how many of its slots are in each state,
// and the bookings it holds.
type SessionSummary struct {
	Schedule Schedule
	Free     int
	Booked   int
	Blocked  int
	// SessionBlocked is set while the practice has the whole session blocked.
	SessionBlocked bool
	// AppointmentIDs are the active (booked) appointments on the session.
	AppointmentIDs []int64
}
