// Package conformance is a black-box GP Connect 1.2.8 Appointment
// Management conformance suite. It drives any provider service root only
// through package consumer, and checks the HTTP status, Spine code and
// resource shape the spec (spec/gpconnect-appointments.md) requires for each
// interaction and each error case. It books through the provider and cancels
// everything it booked before it ends.
//
// Known deviations of the provider under test (KnownDeviations) are reported
// but do not fail the run.
package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
)

// Status is the outcome of one check.
type Status string

// Check outcomes.
const (
	Pass Status = "PASS"
	Fail Status = "FAIL"
	Skip Status = "SKIP"
	// Known is a failure listed in KnownDeviations: reported, not failing the run.
	Known Status = "KNOWN"
)

// Result is one check's outcome.
type Result struct {
	Group  string `json:"group"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail says why a check failed or was skipped.
	Detail string `json:"detail,omitempty"`
	// Deviation is the reason from KnownDeviations, when the check is listed there.
	Deviation string `json:"deviation,omitempty"`
}

// ID is "group/name".
func (r Result) ID() string { return r.Group + "/" + r.Name }

// Report is a whole run.
type Report struct {
	Base       string    `json:"base"`
	Started    time.Time `json:"started"`
	Results    []Result  `json:"results"`
	Passed     int       `json:"passed"`
	Failed     int       `json:"failed"`
	Skipped    int       `json:"skipped"`
	Deviations int       `json:"knownDeviations"`
	// Cleanup lists what could not be undone (e.g. appointments left booked).
	Cleanup []string `json:"cleanup,omitempty"`
}

// OK reports whether no check failed (known deviations do not count).
func (r *Report) OK() bool { return r.Failed == 0 }

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Config sets up a run.
type Config struct {
	// Client talks to the provider under test (see NewClient).
	Client *consumer.Client
	// Data is the data map (DefaultData when zero).
	Data Data
	// Only restricts the run to these groups (all when empty).
	Only []string
	// Out receives one line per check and the summary (nothing when nil).
	Out io.Writer
	// Deviations overrides KnownDeviations (nil means KnownDeviations).
	Deviations map[string]string
}

// NewClient builds the consumer client the suite uses for base (a service
// root) and d: requesting organisation = the consumer ODS code of d.
// extra may set transport fields (proxy, TLS, timeouts) of the config.
func NewClient(base string, d Data, extra func(*consumer.Config)) (*consumer.Client, error) {
	cfg := consumer.Config{ServiceRoot: base, ConsumerASID: d.ConsumerASID, ProviderASID: d.ProviderASID,
		Issuer: "https://slotbridge.invalid/conformance",
		Organization: fhir.Organization{ResourceType: "Organization", Name: d.ConsumerName,
			Identifier: []fhir.Identifier{{System: gpconnect.SystemODSOrganisation, Value: d.ConsumerODS}}},
		Practitioner: fhir.Practitioner{ResourceType: "Practitioner", ID: "conformance-1",
			Identifier: []fhir.Identifier{{System: gpconnect.SystemSDSUser, Value: "UNK"}, {System: gpconnect.SystemSDSRoleProfile, Value: "UNK"},
				{System: "https://slotbridge.invalid/Id/user", Value: "conformance"}},
			Name: []fhir.HumanName{{Family: "Conformance", Given: []string{"Suite"}, Prefix: []string{"Mx"}}}},
		Device: fhir.Device{ResourceType: "Device", Identifier: []fhir.Identifier{{System: "https://slotbridge.invalid/Id/device", Value: "conformance"}},
			Model: "slotbridge conformance", Version: "1"},
		Timeout: 30 * time.Second,
	}
	if extra != nil {
		extra(&cfg)
	}
	return consumer.New(cfg)
}

// Groups lists the check groups in run order.
func Groups() []string {
	var out []string
	for _, c := range allChecks() {
		if !slices.Contains(out, c.group) {
			out = append(out, c.group)
		}
	}
	return out
}

// Run runs the checks and returns the report; it fails only if cfg is unusable
// or ctx ends. Whatever was booked is cancelled before it returns.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Client == nil {
		return nil, errors.New("conformance: no client")
	}
	if cfg.Data.ODS == "" {
		cfg.Data = DefaultData()
	}
	dev := cfg.Deviations
	if dev == nil {
		dev = KnownDeviations
	}
	groups := Groups()
	for _, g := range cfg.Only {
		if !slices.Contains(groups, g) {
			return nil, fmt.Errorf("conformance: unknown group %q (groups: %s)", g, strings.Join(groups, ", "))
		}
	}
	e := &env{c: cfg.Client, d: cfg.Data, now: time.Now(), booked: map[string]*consumer.AppointmentResult{}, used: map[string]bool{},
		fixtures: map[string]*consumer.AppointmentResult{}, fixtureAppt: map[string]*fhir.Appointment{}}
	rep := &Report{Base: cfg.Client.ServiceRoot(), Started: e.now}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	for _, ch := range allChecks() {
		if len(cfg.Only) > 0 && !slices.Contains(cfg.Only, ch.group) {
			continue
		}
		if err := ctx.Err(); err != nil {
			e.cleanup(context.WithoutCancel(ctx), rep)
			return rep, err
		}
		r := Result{Group: ch.group, Name: ch.name}
		err := runOne(ctx, ch, e)
		var sk *skipError
		switch {
		case err == nil:
			r.Status = Pass
		case errors.As(err, &sk):
			r.Status, r.Detail = Skip, sk.reason
		default:
			r.Status, r.Detail = Fail, err.Error()
		}
		if reason, ok := dev[r.ID()]; ok {
			r.Deviation = reason
			if r.Status == Fail {
				r.Status = Known
			}
		}
		rep.Results = append(rep.Results, r)
		printResult(out, r)
	}
	e.cleanup(ctx, rep)
	for _, r := range rep.Results {
		switch r.Status {
		case Pass:
			rep.Passed++
		case Fail:
			rep.Failed++
		case Skip:
			rep.Skipped++
		case Known:
			rep.Deviations++
		}
	}
	for _, c := range rep.Cleanup {
		fmt.Fprintf(out, "NOTE  cleanup: %s\n", c)
	}
	fmt.Fprintf(out, "conformance: %d passed, %d failed, %d skipped, %d known deviations\n", rep.Passed, rep.Failed, rep.Skipped, rep.Deviations)
	return rep, nil
}

// runOne runs a check, turning a panic in the check itself into a failure.
func runOne(ctx context.Context, ch check, e *env) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("check panicked: %v", v)
		}
	}()
	return ch.run(ctx, e)
}

func printResult(w io.Writer, r Result) {
	line := fmt.Sprintf("%-5s %s", r.Status, r.ID())
	if r.Detail != "" {
		line += ": " + oneLine(r.Detail)
	}
	if r.Deviation != "" {
		if r.Status == Known {
			line += " [known deviation: " + r.Deviation + "]"
		} else if r.Status == Pass {
			line += " [listed as a known deviation but passes: remove it from the list]"
		}
	}
	fmt.Fprintln(w, line)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// cleanup cancels every appointment the run booked that is not yet cancelled.
func (e *env) cleanup(ctx context.Context, rep *Report) {
	ids := make([]string, 0, len(e.booked))
	for id := range e.booked {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		cur, err := e.c.ReadAppointment(ctx, id)
		if err != nil {
			rep.Cleanup = append(rep.Cleanup, fmt.Sprintf("Appointment/%s could not be read for cancelling: %v", id, err))
			continue
		}
		if cur.Appointment.Status == "cancelled" {
			continue
		}
		if _, err := e.c.Cancel(ctx, cur.Appointment, "Conformance suite clean-up"); err != nil {
			rep.Cleanup = append(rep.Cleanup, fmt.Sprintf("Appointment/%s could not be cancelled: %v", id, err))
		}
	}
	if e.registered != "" {
		rep.Cleanup = append(rep.Cleanup, fmt.Sprintf("patient %s stays registered (GP Connect has no way to undo a registration)", e.registered))
	}
}
