package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/jsonapi"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// MaxBody bounds an admin request body.
const MaxBody = 64 << 10

// Handler is the admin JSON API under /admin/api/, authenticated with
// "Authorization: Bearer <admin token>". A token reaches only its own
// practice: /admin/api/practices/{ods}/... answers 403 for any other.
type Handler struct {
	svc *Service
	log *slog.Logger
	mux *http.ServeMux
}

// NewHandler builds the admin API over a service.
func NewHandler(svc *Service, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{svc: svc, log: log, mux: http.NewServeMux()}
	const p = "/admin/api/practices/{ods}"
	h.route(p, map[string]apiFunc{"GET": h.getPractice})
	h.route(p+"/switches", map[string]apiFunc{"PATCH": h.patchSwitches})
	h.route(p+"/enable", map[string]apiFunc{"POST": h.enable(true)}, "POST")
	h.route(p+"/disable", map[string]apiFunc{"POST": h.enable(false)}, "POST")
	h.route(p+"/profiles", map[string]apiFunc{"GET": listOf(svc.Profiles), "POST": created(svc.CreateProfile)})
	h.route(p+"/profiles/{id}", map[string]apiFunc{"GET": byID(svc.Profile), "PATCH": changed(svc.UpdateProfile), "DELETE": byID(svc.DeleteProfile)})
	h.route(p+"/services", map[string]apiFunc{"GET": listOf(svc.HealthcareServices), "POST": created(svc.CreateHealthcareService)})
	h.route(p+"/services/{id}", map[string]apiFunc{"GET": byID(svc.HealthcareService), "PATCH": changed(svc.UpdateHealthcareService),
		"DELETE": byID(svc.DeleteHealthcareService)})
	h.route(p+"/practitioners", map[string]apiFunc{"GET": listOf(svc.Practitioners), "POST": created(svc.CreatePractitioner)})
	h.route(p+"/practitioners/{id}", map[string]apiFunc{"GET": byID(svc.Practitioner), "PATCH": changed(svc.UpdatePractitioner)})
	h.route(p+"/locations", map[string]apiFunc{"GET": listOf(svc.Locations), "POST": created(svc.CreateLocation)})
	h.route(p+"/locations/{id}", map[string]apiFunc{"GET": byID(svc.Location), "PATCH": changed(svc.UpdateLocation)})
	h.route(p+"/appointments", map[string]apiFunc{"GET": h.listAppointments}, "GET")
	h.route(p+"/appointments/{id}", map[string]apiFunc{"GET": byID(svc.Appointment)})
	h.route(p+"/appointments/{id}/cancel", map[string]apiFunc{"POST": h.cancelAppointment})
	h.route(p+"/templates", map[string]apiFunc{"GET": listOf(svc.Templates), "POST": created(svc.CreateTemplate)})
	h.route(p+"/templates/{id}", map[string]apiFunc{"GET": byID(svc.Template), "PATCH": changed(svc.UpdateTemplate), "DELETE": byID(svc.EndTemplate)})
	h.route(p+"/sessions", map[string]apiFunc{"GET": h.listSessions, "POST": created(svc.AddSession)}, "GET")
	h.route(p+"/sessions/{id}", map[string]apiFunc{"GET": byID(svc.Session)})
	// A session's sub-resources each take one method: a GET of an action,
	// or a POST of its slots, is a 405 naming the method, not a 404.
	h.mux.HandleFunc(p+"/sessions/{id}/{action}", func(w http.ResponseWriter, r *http.Request) {
		fn, method := h.sessionAction, http.MethodPost
		switch r.PathValue("action") {
		case "slots":
			fn, method = byID(svc.SessionSlots), http.MethodGet
		case "block", "unblock", "cancel", "profile", "service":
		default:
			h.writeError(w, r, scheduling.NotFound("path", "a session has its slots (GET …/slots) and the actions block, unblock, cancel, profile and service (POST)"))
			return
		}
		if r.Method != method {
			jsonapi.MethodNotAllowed(w, r, []string{method})
			return
		}
		h.serve(fn, false)(w, r)
	})
	h.route(p+"/slots/{id}", map[string]apiFunc{"GET": byID(svc.Slot)})
	h.route(p+"/slots/{id}/{action}", map[string]apiFunc{"POST": h.slotAction})
	h.route(p+"/explain", map[string]apiFunc{"GET": h.explain}, "GET")
	h.route(p+"/audit", map[string]apiFunc{"GET": h.audit}, "GET")
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, scheduling.NotFound("path", "no admin API at %s", r.URL.Path))
	})
	return h
}

// apiFunc is an authenticated handler that returns its body or an error.
type apiFunc func(r *http.Request, a Actor) (int, any, error)

// route registers a path's methods, plus a JSON 405 for the others. The
// methods named in queried read their own query parameters; every other
// method refuses a query string.
func (h *Handler) route(path string, methods map[string]apiFunc, queried ...string) {
	allowed := make([]string, 0, len(methods))
	for m, fn := range methods {
		allowed = append(allowed, m)
		h.mux.HandleFunc(m+" "+path, h.serve(fn, slices.Contains(queried, m)))
	}
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		jsonapi.MethodNotAllowed(w, r, allowed)
	})
}

// ServeHTTP authenticates every request before routing it, so an unknown
// path without a token is a 401 too.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok, ok := bearer(r.Header.Values("Authorization"))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="slotbridge-admin"`)
		h.writeError(w, r, scheduling.Errorf(EUNAUTHORIZED, "a valid admin token is required (Authorization: Bearer sbadm_...)"))
		return
	}
	a, err := h.svc.Authenticate(r.Context(), tok)
	if err != nil {
		if scheduling.ErrorCode(err) == EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Bearer realm="slotbridge-admin", error="invalid_token"`)
		}
		h.writeError(w, r, err)
		return
	}
	h.mux.ServeHTTP(w, r.WithContext(withActor(r.Context(), a)))
}

// bearer reads the one Authorization header's bearer token. Two headers
// are refused rather than judged by the first, which a proxy could have added.
func bearer(vals []string) (string, bool) {
	if len(vals) != 1 {
		return "", false
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// serve runs fn for an authenticated actor. Unless fn reads its own query
// (readsQuery), any query parameter is refused: an endpoint that ignored one
// (DELETE …/services/7?force=true) would do something other than what was asked.
func (h *Handler) serve(fn apiFunc, readsQuery bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				h.log.Error("admin API panic", "path", r.URL.Path, "panic", v)
				h.writeError(w, r, errors.New("panic"))
			}
		}()
		a := actorFrom(r.Context())
		if a.Name == "" || a.PracticeID == 0 {
			// Only ServeHTTP's authenticated path gets here; refuse rather than act unscoped.
			h.writeError(w, r, scheduling.Errorf(EUNAUTHORIZED, "a valid admin token is required"))
			return
		}
		if !readsQuery {
			if _, err := queryParams(r); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
		status, body, err := fn(r, a)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		h.writeJSON(w, status, body)
	}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if jsonapi.WriteError(w, err) == http.StatusInternalServerError {
		h.log.Error("admin API error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
}

func (h *Handler) writeJSON(w http.ResponseWriter, status int, body any) {
	if err := jsonapi.Write(w, status, body); err != nil {
		h.log.Warn("admin API write", "err", err)
	}
}

// decode reads a bounded JSON body into v, refusing unknown fields and trailing data.
func decode(r *http.Request, v any) error { return jsonapi.Decode(r, v, MaxBody, true) }

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, scheduling.Errorf(scheduling.EPARAM, "%s must be a positive whole number", name)
	}
	return id, nil
}

// The plain record operations (list, read, create, change, delete of one
// kind of record) have one shape each; these adapt a Service method of that
// shape to an apiFunc, so that each route names only the method.

// listOf serves fn's list for the practice in the path.
func listOf[T any](fn func(ctx context.Context, a Actor, ods string) ([]T, error)) apiFunc {
	return func(r *http.Request, a Actor) (int, any, error) {
		l, err := fn(r.Context(), a, r.PathValue("ods"))
		return http.StatusOK, l, err
	}
}

// byID serves fn on the record whose {id} is in the path (read, delete).
func byID[T any](fn func(ctx context.Context, a Actor, ods string, id int64) (T, error)) apiFunc {
	return func(r *http.Request, a Actor) (int, any, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return 0, nil, err
		}
		v, err := fn(r.Context(), a, r.PathValue("ods"), id)
		return http.StatusOK, v, err
	}
}

// created serves fn on the JSON body, answering 201.
func created[In, T any](fn func(ctx context.Context, a Actor, ods string, in In) (T, error)) apiFunc {
	return func(r *http.Request, a Actor) (int, any, error) {
		var in In
		if err := decode(r, &in); err != nil {
			return 0, nil, err
		}
		v, err := fn(r.Context(), a, r.PathValue("ods"), in)
		return http.StatusCreated, v, err
	}
}

// changed serves fn on the record whose {id} is in the path, with the JSON body.
func changed[In, T any](fn func(ctx context.Context, a Actor, ods string, id int64, in In) (T, error)) apiFunc {
	return func(r *http.Request, a Actor) (int, any, error) {
		id, err := pathID(r, "id")
		if err != nil {
			return 0, nil, err
		}
		var in In
		if err := decode(r, &in); err != nil {
			return 0, nil, err
		}
		v, err := fn(r.Context(), a, r.PathValue("ods"), id, in)
		return http.StatusOK, v, err
	}
}

// ParseTime reads a date (YYYY-MM-DD, UK local; as an end it means the end of
// that day) or an RFC 3339 dateTime with offset.
func ParseTime(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation("2006-01-02", s, scheduling.London); err == nil {
		if end {
			return scheduling.AddDaysLocal(t, 1), nil
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		// A local time without its offset gets the offset of its own date
		// in the hint: +01:00 is wrong for a winter one.
		if lt, lerr := time.ParseInLocation("2006-01-02T15:04:05", s, scheduling.London); lerr == nil {
			return time.Time{}, scheduling.Errorf(scheduling.EPARAM, "bad time %q: give its UK offset (%s)", clip(s, 40), scheduling.FormatLocal(lt))
		}
		return time.Time{}, scheduling.Errorf(scheduling.EPARAM, "bad time %q (use YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with the UK offset of that date, +00:00 or +01:00)", clip(s, 40))
	}
	return t, nil
}

// queryParams reads a request's query string, refusing (EPARAM) any
// parameter not in known and any given more than once: an endpoint that
// ignored them would answer another question than the one asked (the CLI's
// --org-type sent as org-type would explain for no consumer at all). A
// near miss, such as the CLI's hyphenated spelling, is named with the
// spelling to use.
func queryParams(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, scheduling.Errorf(scheduling.EPARAM, "the query string is not well formed (%s)", clip(err.Error(), 80))
	}
	var unknown, repeated []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		switch {
		case !slices.Contains(known, k):
			u := strconv.Quote(clip(k, 40))
			if near := strings.ToLower(strings.ReplaceAll(k, "-", "_")); near != k && slices.Contains(known, near) {
				u += " (use " + near + ")"
			}
			unknown = append(unknown, u)
		case len(q[k]) > 1:
			repeated = append(repeated, k)
		}
	}
	var probs []string
	if len(unknown) > 0 {
		takes := "no query parameters"
		if len(known) > 0 {
			takes = strings.Join(known, ", ")
		}
		probs = append(probs, fmt.Sprintf("unknown query parameter(s) %s; this takes %s", strings.Join(unknown, ", "), takes))
	}
	if len(repeated) > 0 {
		probs = append(probs, fmt.Sprintf("%s given more than once: send each parameter once", strings.Join(repeated, ", ")))
	}
	if len(probs) > 0 {
		return nil, scheduling.Errorf(scheduling.EPARAM, "%s", strings.Join(probs, "; "))
	}
	return q, nil
}

// withPlusHint adds scheduling.PlusAsSpaceHint to a refused period when a
// value holds a space that, read as the "+" it most likely was, would make
// it a time the search takes.
func withPlusHint(err error, values ...string) error {
	for _, v := range values {
		v = strings.TrimSpace(v)
		if !strings.Contains(v, " ") {
			continue
		}
		if _, _, perr := scheduling.ParseSearchTime(strings.ReplaceAll(v, " ", "+")); perr == nil {
			return scheduling.Errorf(scheduling.ErrorCode(err), "%s%s", scheduling.ErrorMessage(err), scheduling.PlusAsSpaceHint)
		}
	}
	return err
}

type actorKey struct{}

func withActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// actorFrom returns the authenticated actor; the zero Actor (no name, no
// practice) never reaches a handler, since ServeHTTP rejects the request first.
func actorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// ---- handlers ----

func (h *Handler) getPractice(r *http.Request, a Actor) (int, any, error) {
	p, err := h.svc.Practice(r.Context(), a, r.PathValue("ods"))
	return http.StatusOK, p, err
}

func (h *Handler) patchSwitches(r *http.Request, a Actor) (int, any, error) {
	var in Switches
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	p, err := h.svc.SetSwitches(r.Context(), a, r.PathValue("ods"), in)
	return http.StatusOK, p, err
}

// enable turns switches on or off: both enablement switches, or the one named by ?switch=gp_connect|appointments|service_filtering.
func (h *Handler) enable(on bool) apiFunc {
	return func(r *http.Request, a Actor) (int, any, error) {
		// Strict, as every other action: a misspelt parameter or a body
		// (say {"switch":"service_filtering"}) must not fall back to "all"
		// and take the whole practice off GP Connect.
		q, err := queryParams(r, "switch")
		if err != nil {
			return 0, nil, err
		}
		if err := noBody(r); err != nil {
			return 0, nil, err
		}
		in, err := SwitchesFor(q.Get("switch"), on)
		if err != nil {
			return 0, nil, err
		}
		p, err := h.svc.SetSwitches(r.Context(), a, r.PathValue("ods"), in)
		return http.StatusOK, p, err
	}
}

// SwitchesFor names the switches "all" (or ""), "gp_connect", "appointments"
// or "service_filtering" set to on. "all" is the two enablement switches
// only: service filtering changes what consumers see rather than whether
// they are served, so it is never switched as a side effect.
func SwitchesFor(which string, on bool) (Switches, error) {
	v := on
	switch strings.ToLower(strings.ReplaceAll(which, "-", "_")) {
	case "", "all":
		return Switches{GPConnect: &v, Appointments: &v}, nil
	case "gp_connect", "gpconnect":
		return Switches{GPConnect: &v}, nil
	case "appointments":
		return Switches{Appointments: &v}, nil
	case "service_filtering":
		return Switches{ServiceFiltering: &v}, nil
	}
	return Switches{}, scheduling.Errorf(scheduling.EPARAM, "switch must be all, gp_connect, appointments or service_filtering")
}

func (h *Handler) listSessions(r *http.Request, a Actor) (int, any, error) {
	q, err := queryParams(r, "from", "to")
	if err != nil {
		return 0, nil, err
	}
	today := scheduling.LocalMidnight(h.svc.Now())
	from, to, err := period(q, today, scheduling.AddDaysLocal(today, 14))
	if err != nil {
		return 0, nil, err
	}
	l, err := h.svc.Sessions(r.Context(), a, r.PathValue("ods"), from, to)
	return http.StatusOK, l, err
}

func (h *Handler) listAppointments(r *http.Request, a Actor) (int, any, error) {
	q, err := queryParams(r, "from", "to", "session")
	if err != nil {
		return 0, nil, err
	}
	from, to, err := period(q, time.Time{}, time.Time{})
	if err != nil {
		return 0, nil, err
	}
	var session int64
	if v := q.Get("session"); v != "" {
		if session, err = strconv.ParseInt(v, 10, 64); err != nil || session <= 0 {
			return 0, nil, scheduling.Errorf(scheduling.EPARAM, "session must be a session id")
		}
	}
	l, err := h.svc.Appointments(r.Context(), a, r.PathValue("ods"), from, to, session)
	return http.StatusOK, l, err
}

// period reads the optional from and to parameters (see ParseRange).
func period(q url.Values, from, to time.Time) (time.Time, time.Time, error) {
	return ParseRange(q.Get("from"), q.Get("to"), "from", "to", from, to)
}

// ParseRange reads an optional start and end of a listing as ParseTime
// does (a date-only end means the end of its day), each empty one left at
// its default; an error names the one that was wrong as the caller's user
// spells it ("from" in the API, "--from" in the CLI). The API's lists and
// the CLI's share it.
func ParseRange(fromText, toText, fromName, toName string, from, to time.Time) (time.Time, time.Time, error) {
	var err error
	if fromText != "" {
		if from, err = ParseTime(fromText, false); err != nil {
			return from, to, scheduling.Errorf(scheduling.ErrorCode(err), "%s: %s", fromName, scheduling.ErrorMessage(err))
		}
	}
	if toText != "" {
		if to, err = ParseTime(toText, true); err != nil {
			return from, to, scheduling.Errorf(scheduling.ErrorCode(err), "%s: %s", toName, scheduling.ErrorMessage(err))
		}
	}
	return from, to, nil
}

func (h *Handler) cancelAppointment(r *http.Request, a Actor) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	v, err := h.svc.CancelAppointment(r.Context(), a, r.PathValue("ods"), id, in.Reason)
	return http.StatusOK, v, err
}

// noBody refuses a body on an action that takes none, unless it is empty or
// {}: a field sent there would otherwise be silently ignored.
func noBody(r *http.Request) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return scheduling.Errorf(scheduling.EPARAM, "the body could not be read")
	}
	if len(b) > MaxBody {
		return scheduling.Errorf(jsonapi.CodeTooLarge, "the body is larger than %d bytes", MaxBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var none struct{}
	return decode(r, &none)
}

func (h *Handler) sessionAction(r *http.Request, a Actor) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	ods := r.PathValue("ods")
	var c SessionChange
	switch action := r.PathValue("action"); action {
	case "block", "unblock", "cancel":
		if err := noBody(r); err != nil {
			return 0, nil, err
		}
		switch action {
		case "block":
			c, err = h.svc.BlockSession(r.Context(), a, ods, id)
		case "unblock":
			c, err = h.svc.UnblockSession(r.Context(), a, ods, id)
		default:
			c, err = h.svc.CancelSession(r.Context(), a, ods, id)
		}
	case "profile":
		var in struct {
			AccessProfileID int64 `json:"access_profile_id"`
		}
		if err := decode(r, &in); err != nil {
			return 0, nil, err
		}
		c, err = h.svc.SetSessionProfile(r.Context(), a, ods, id, in.AccessProfileID)
	case "service":
		// service_id is required, so that an empty body cannot unlink by accident.
		var in struct {
			ServiceID *int64 `json:"service_id"`
		}
		if err := decode(r, &in); err != nil {
			return 0, nil, err
		}
		if in.ServiceID == nil {
			return 0, nil, scheduling.Errorf(scheduling.EPARAM, "service_id is required (0 unlinks the session)")
		}
		c, err = h.svc.SetSessionService(r.Context(), a, ods, id, *in.ServiceID)
	default:
		return 0, nil, scheduling.NotFound("path", "sessions have the actions block, unblock, cancel, profile and service")
	}
	return http.StatusOK, c, err
}

func (h *Handler) slotAction(r *http.Request, a Actor) (int, any, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, nil, err
	}
	ods := r.PathValue("ods")
	var s Slot
	switch action := r.PathValue("action"); action {
	case "block", "unblock":
		if err := noBody(r); err != nil {
			return 0, nil, err
		}
		if action == "block" {
			s, err = h.svc.BlockSlot(r.Context(), a, ods, id)
		} else {
			s, err = h.svc.UnblockSlot(r.Context(), a, ods, id)
		}
	case "profile":
		return h.setSlotProfile(r, a, id)
	default:
		return 0, nil, scheduling.NotFound("path", "slots have the actions block, unblock and profile")
	}
	return http.StatusOK, s, err
}

func (h *Handler) setSlotProfile(r *http.Request, a Actor, id int64) (int, any, error) {
	var in struct {
		AccessProfileID int64 `json:"access_profile_id"`
	}
	if err := decode(r, &in); err != nil {
		return 0, nil, err
	}
	s, err := h.svc.SetSlotProfile(r.Context(), a, r.PathValue("ods"), id, in.AccessProfileID)
	return http.StatusOK, s, err
}

func (h *Handler) explain(r *http.Request, a Actor) (int, any, error) {
	q, err := queryParams(r, "org_type", "consumer_ods", "dos_id", "start", "end", "now")
	if err != nil {
		return 0, nil, err
	}
	in := ExplainInput{OrgType: q.Get("org_type"), ConsumerODS: q.Get("consumer_ods"), DOSID: q.Get("dos_id")}
	if in.Start, in.End, err = ParsePeriod(q.Get("start"), q.Get("end"), "start", "end"); err != nil {
		return 0, nil, withPlusHint(err, q.Get("start"), q.Get("end"))
	}
	if v := q.Get("now"); v != "" {
		if in.Now, err = ParseTime(v, false); err != nil {
			return 0, nil, err
		}
	}
	ex, err := h.svc.Explain(r.Context(), a, r.PathValue("ods"), in)
	return http.StatusOK, ex, err
}

func (h *Handler) audit(r *http.Request, a Actor) (int, any, error) {
	q, err := queryParams(r, "limit")
	if err != nil {
		return 0, nil, err
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, nil, scheduling.Errorf(scheduling.EPARAM, "limit must be between 1 and %d", MaxAuditLimit)
		}
		limit = n
	}
	l, err := h.svc.Audit(r.Context(), a, r.PathValue("ods"), limit)
	return http.StatusOK, l, err
}
