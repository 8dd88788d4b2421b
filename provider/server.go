// Package provider is the GP Connect Appointment Management HTTP API: one
// service root per practice, the request pipeline of spec §3.5, and one error
// adapter that turns any error into an OperationOutcome.
package provider

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// Store is what the provider needs from the data layer. Errors are
// *scheduling.Error values; each method names the codes it returns, which
// the pipeline maps to Spine codes.
type Store interface {
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// OrganisationByODS finds an organisation by ODS code. Returns ENOTFOUND.
	OrganisationByODS(ctx context.Context, ods string) (*scheduling.Organisation, error)
	// OrganisationByID finds an organisation by id. Returns ENOTFOUND.
	OrganisationByID(ctx context.Context, id int64) (*scheduling.Organisation, error)
	// LocationByID reads a location of a practice. Returns ENOTFOUND.
	LocationByID(ctx context.Context, practiceID, id int64) (*scheduling.Location, error)
	// PractitionerByID reads a practitioner of a practice. Returns ENOTFOUND.
	PractitionerByID(ctx context.Context, practiceID, id int64) (*scheduling.Practitioner, error)
	// PractitionersBySDS finds a practice's practitioners by SDS user id (none is not an error).
	PractitionersBySDS(ctx context.Context, practiceID int64, sds string) ([]*scheduling.Practitioner, error)
	// PatientByID reads a patient of a practice. Returns ENOTFOUND.
	PatientByID(ctx context.Context, practiceID, id int64) (*scheduling.Patient, error)
	// PatientByNHSNumber reads a practice's record for an NHS number. Returns ENOTFOUND.
	PatientByNHSNumber(ctx context.Context, practiceID int64, nhs string) (*scheduling.Patient, error)
	// AuditBatch appends several audit records in one transaction.
	AuditBatch(ctx context.Context, recs []scheduling.AuditRecord) error
	// SearchFreeSlots finds the free slots offered to q's consumer, in start then id order, with what they refer to.
	SearchFreeSlots(ctx context.Context, q scheduling.SlotSearch) (*scheduling.SlotResult, error)
	// Book books the request's slots in one transaction; created is false for a
	// retry answered with the original appointment. Returns EINVALID (a rule
	// broken), ECONFLICT (a slot is taken) or ENOTFOUND.
	Book(ctx context.Context, r *scheduling.BookRequest) (*scheduling.Appointment, bool, error)
	// AppointmentByID reads an appointment of a practice. Returns ENOTFOUND.
	AppointmentByID(ctx context.Context, practiceID, id int64) (*scheduling.Appointment, error)
	// PatientAppointments lists a patient's appointments of any status in the filter's range, in start order.
	PatientAppointments(ctx context.Context, f scheduling.AppointmentFilter) ([]*scheduling.Appointment, error)
	// Amend changes a booked appointment's description and comment if its
	// version is still expected, inserting audit in the same transaction (as
	// Book, Cancel and RegisterTemporary do). Returns ENOTFOUND, ESTALE or EINVALID.
	Amend(ctx context.Context, practiceID, id, expected int64, description, comment string, now time.Time, audit *scheduling.AuditRecord) (*scheduling.Appointment, error)
	// Cancel cancels a booked appointment if its version is still expected and
	// frees its slots. Returns ENOTFOUND, ESTALE or EINVALID.
	Cancel(ctx context.Context, practiceID, id, expected int64, reason string, now time.Time, audit *scheduling.AuditRecord) (*scheduling.Appointment, error)
	// PDSLookup returns what the PDS stand-in holds for an NHS number. Returns ENOTFOUND.
	PDSLookup(ctx context.Context, nhs string) (*scheduling.PDSPerson, error)
	// RegisterTemporary registers a temporary patient, or re-activates an
	// inactive record. Returns EDUPLICATE (already active) or EDEMOGRAPHICS (deceased).
	RegisterTemporary(ctx context.Context, p *scheduling.Patient, audit *scheduling.AuditRecord) (*scheduling.Patient, error)
	// HealthcareServices lists a practice's services in id order.
	HealthcareServices(ctx context.Context, practiceID int64) ([]scheduling.HealthcareService, error)
	// HealthcareService reads one of a practice's services. Returns ENOTFOUND.
	HealthcareService(ctx context.Context, practiceID, id int64) (*scheduling.HealthcareService, error)
	// HealthcareServiceByDOS reads a practice's service by its DOS id. Returns ENOTFOUND.
	HealthcareServiceByDOS(ctx context.Context, practiceID int64, dosID string) (*scheduling.HealthcareService, error)
}

// Config tunes the provider.
type Config struct {
	// Software and Version go in the CapabilityStatement.
	Software, Version, ReleaseDate string
	// MaxBody bounds request bodies (default 1 MiB).
	MaxBody int64
	// PracticeCacheTTL is how long a practice lookup (and its switches) is reused (default 2s);
	// changes made through the same store are seen at once (store.Store.OrganisationsEpoch).
	PracticeCacheTTL time.Duration
	// ServiceFiltering is the supplier switch of 1.2.8 service filtering
	// (spec §5.10); the zero value is on, leaving it to each practice's switch.
	ServiceFiltering scheduling.SupplierFiltering
	// RequestTimeout bounds the work of one request, the database's included
	// (default 30s): a database that stops answering then costs a request an
	// error after this long, not a connection held until the consumer gives up.
	RequestTimeout time.Duration
	// PublicURL, when set, is the scheme and host consumers reach the server
	// at (e.g. https://gpc.example.nhs.uk, no trailing slash): Location,
	// Content-Location and fullUrl are built on it instead of on the
	// request's Host and X-Forwarded-Proto, which any client can set.
	PublicURL string
	// ClientCert, when set, judges the TLS client certificate of every GP
	// Connect request before anything else (spec §3.5 step 1): a non-zero
	// status (495, 496) is answered with the reason and the connection closed.
	ClientCert func(r *http.Request) (status int, reason string)
}

// Server is the provider HTTP API.
type Server struct {
	store    Store
	verifier *auth.Verifier
	log      *slog.Logger
	cfg      Config
	now      func() time.Time
	audit    *auditor

	mu        sync.Mutex
	practices map[string]cachedPractice
}

type cachedPractice struct {
	org   *scheduling.Organisation
	at    time.Time
	epoch uint64
}

// orgEpocher is a Store that says when it has changed an organisation (see
// store.Store.OrganisationsEpoch): the practice cache then rereads at once.
type orgEpocher interface {
	OrganisationsEpoch() uint64
}

// New builds a provider over a store. Call Close to flush the audit trail.
func New(st Store, v *auth.Verifier, log *slog.Logger, cfg Config) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.PracticeCacheTTL == 0 {
		cfg.PracticeCacheTTL = 2 * time.Second
	}
	if cfg.Software == "" {
		cfg.Software = "Slotbridge"
	}
	if cfg.Version == "" {
		cfg.Version = "0.1.0"
	}
	if cfg.ReleaseDate == "" {
		cfg.ReleaseDate = "2026-11-22"
	}
	s := &Server{store: st, verifier: v, log: log, cfg: cfg, now: time.Now, practices: map[string]cachedPractice{}}
	s.audit = newAuditor(st, log)
	return s
}

// filtering is service filtering's effective state at a practice.
func (s *Server) filtering(practice *scheduling.Organisation) scheduling.ServiceFilteringStatus {
	return s.cfg.ServiceFiltering.Status(practice)
}

// SetClock replaces the clock (tests).
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// Close flushes pending audit records, giving up after 10 seconds on a
// database that cannot take them (the records dropped are counted in the log).
func (s *Server) Close() { s.audit.close() }

// healthTimeout bounds /healthz's database check.
const healthTimeout = 2 * time.Second

// releaseMode puts gin in release mode once per process: the mode is a
// global that gin.SetMode writes and gin.New reads, and several servers may
// build their handlers at once (the tests start one per engine and body
// format in parallel, which the race detector caught now and then).
var releaseMode sync.Once

// Handler returns the HTTP handler serving every practice's service root and /healthz.
func (s *Server) Handler() http.Handler {
	releaseMode.Do(func() { gin.SetMode(gin.ReleaseMode) })
	e := gin.New()
	e.HandleMethodNotAllowed = false
	// A bare service root must get an OperationOutcome, not gin's 301 to "root/".
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.UseRawPath = true
	e.UnescapePathValues = false
	e.Use(s.recoverer())
	health := func(c *gin.Context) {
		c.Header("Cache-Control", "no-store")
		// Bounded: a database that stopped answering (not refusing) would
		// otherwise hold the check until the monitor gave up, which reads as
		// a timeout rather than as "the database is down".
		// The ping runs apart, since lib/pq does not end a ping the server
		// never answers when its context does; it finishes (or fails) when
		// the database answers or the connection drops.
		ctx, cancel := context.WithTimeout(c.Request.Context(), healthTimeout)
		defer cancel()
		res := make(chan error, 1)
		go func() { res <- s.store.Ping(ctx) }()
		var err error
		select {
		case err = <-res:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			c.String(http.StatusServiceUnavailable, "unavailable\n")
			return
		}
		c.String(http.StatusOK, "ok\n")
	}
	e.GET("/healthz", health)
	e.HEAD("/healthz", health) // load balancers' checks often use HEAD
	e.Any("/:ods/STU3/1/gpconnect/*rest", s.serveFHIR)
	e.NoRoute(func(c *gin.Context) {
		// gin's Any covers the nine standard methods; any other on a
		// service root path gets the pipeline's answer (§9.2: a wrong verb
		// is 400), not "unknown path" for a path that exists.
		path := c.Request.URL.EscapedPath()
		if ods, rest, ok := serviceRootPath(path); ok {
			c.Params = gin.Params{{Key: "ods", Value: ods}, {Key: "rest", Value: rest}}
			s.serveFHIR(c)
			return
		}
		rq := &request{c: c, fmt: formatJSON}
		if f, ok := negotiate(c.Request, rq.query()); ok {
			rq.fmt = f
		}
		s.writeError(rq, failStatus(http.StatusNotFound, gpconnect.NoRecordFound, "Unknown path %q; GP Connect service roots are /{ODS}/STU3/1/gpconnect", c.Request.URL.Path))
	})
	return e
}

// serviceRootPath splits a path routed as /:ods/STU3/1/gpconnect/*rest
// into its ods and rest ("/..."), as gin would.
func serviceRootPath(path string) (ods, rest string, ok bool) {
	seg, after, found := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if !strings.HasPrefix(path, "/") || !found || seg == "" {
		return "", "", false
	}
	const root = "STU3/1/gpconnect/"
	if !strings.HasPrefix(after, root) {
		return "", "", false
	}
	return seg, "/" + strings.TrimPrefix(after, root), true
}

// forgetPractice drops a practice's cached copy.
func (s *Server) forgetPractice(ods string) {
	s.mu.Lock()
	delete(s.practices, ods)
	s.mu.Unlock()
}

func (s *Server) practice(ctx context.Context, ods string) (*scheduling.Organisation, error) {
	if !scheduling.PlainText(ods) {
		// No ODS code holds these, and PostgreSQL could not even compare
		// them as text: no such practice.
		return nil, scheduling.NotFound("organisation", "no practice with that ODS code")
	}
	now := time.Now()
	// The epoch is read before the organisation, so a change committed
	// while it is read leaves the entry stale at once.
	var epoch uint64
	if e, ok := s.store.(orgEpocher); ok {
		epoch = e.OrganisationsEpoch()
	}
	s.mu.Lock()
	cp, ok := s.practices[ods]
	s.mu.Unlock()
	if ok && cp.epoch == epoch && now.Sub(cp.at) < s.cfg.PracticeCacheTTL {
		return cp.org, nil
	}
	org, err := s.store.OrganisationByODS(ctx, ods)
	if err != nil {
		return nil, err
	}
	if !org.AppointmentsOn() {
		// A switched-off practice is read afresh every time, so switching it
		// on (from any process) is seen by the next request; such requests
		// are refused early and are rare.
		return org, nil
	}
	s.mu.Lock()
	s.practices[ods] = cachedPractice{org: org, at: now, epoch: epoch}
	s.mu.Unlock()
	return org, nil
}
