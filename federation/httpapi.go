package federation

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/jsonapi"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// API is the hub's HTTP edge: the fan-out search as FHIR, and directory and
// hub management as plain JSON.
type API struct {
	Hub   *Hub
	Store scheduling.FederationStore
	// Token, when set, must be sent as "Authorization: Bearer {Token}" on
	// the hub routes (/hub/…: search and booking).
	Token string
	// AdminToken, when set, must be sent the same way on the federation
	// management routes (/admin/api/federation/…). Token does not open them:
	// a booking front end must not be able to point a practice's service
	// root at another server, which would then get the hub's tokens and its
	// patients' details.
	AdminToken string
	// Local lets routes whose token is not set answer callers on this
	// machine that reach them directly (loopback peer and Host, no proxy
	// header). It is for a development machine only: a forwarder on the same
	// host (stunnel, an SSH tunnel, a proxy adding no X-Forwarded-For) makes
	// any caller look local. Without it those routes are closed.
	Local bool
	Log   *slog.Logger
}

// Handler serves:
//
//	GET    /hub/{name}/Slot?start=&end=[&org-type=][&channel=][&role=][&practice=]   FHIR searchset
//	POST   /hub/{name}/Appointment, GET …?patient=, GET …/Appointment/{ref}, POST …/{ref}/$amend|$cancel   bookings (bookapi.go)
//	GET    /admin/api/federation/directory                    directory entries
//	PUT    /admin/api/federation/directory/{ods}              save one entry (DirectoryEntry JSON)
//	DELETE /admin/api/federation/directory/{ods}              remove one entry (hubs keep the member)
//	POST   /admin/api/federation/import                       import a DirectoryFile
//	GET    /admin/api/federation/hubs                         hubs with members
//	POST   /admin/api/federation/hubs                         {"name": "..."} creates a hub
//	GET    /admin/api/federation/hubs/{name}                  one hub with its members
//	DELETE /admin/api/federation/hubs/{name}                  removes a hub and its member list
//	PUT    /admin/api/federation/hubs/{name}/members/{ods}    adds a member
//	DELETE /admin/api/federation/hubs/{name}/members/{ods}    removes a member
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hub/{name}/Slot", a.auth(false, a.searchSlots))
	// The booking API (bookapi.go) answers plain JSON, as the management API does.
	for _, rt := range []struct {
		path    string
		methods map[string]http.HandlerFunc
	}{
		{"/hub/{name}/Appointment", map[string]http.HandlerFunc{"POST": a.book, "GET": a.listAppointments}},
		{"/hub/{name}/Appointment/{ref}", map[string]http.HandlerFunc{"GET": a.getAppointment}},
	} {
		a.routeJSON(mux, rt.path, rt.methods)
	}
	// An operation that does not exist is a 404 whatever the method, not a
	// 405 whose Allow: POST leads to a 404.
	mux.HandleFunc("/hub/{name}/Appointment/{ref}/{op}", a.auth(true, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !isAppointmentOp(r.PathValue("op")):
			a.writeErr(w, errNoSuchOp)
		case r.Method != http.MethodPost:
			jsonapi.MethodNotAllowed(w, r, []string{http.MethodPost})
		default:
			a.changeAppointment(w, r)
		}
	}))
	// Any other path under the booking API's is answered in its own error
	// body: a front end reading {"error", "code"} would not expect a FHIR
	// OperationOutcome there. The more specific patterns above still win.
	mux.HandleFunc("/hub/{name}/Appointment/", a.auth(true, func(w http.ResponseWriter, r *http.Request) {
		a.writeErr(w, scheduling.NotFound("path", "no booking API at %s: an appointment is /hub/{name}/Appointment/{ref}, with the operations $amend and $cancel", r.URL.Path))
	}))
	mux.HandleFunc("/hub/{name}/Slot", a.auth(false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodGet)
		writeOutcome(w, http.StatusMethodNotAllowed, gpconnect.BadRequest, r.Method+" is not allowed here; search with GET /hub/{name}/Slot?start=...&end=...")
	}))
	mux.HandleFunc("/hub/", func(w http.ResponseWriter, r *http.Request) {
		writeOutcome(w, http.StatusNotFound, gpconnect.NoRecordFound, "Unknown hub path; search with GET /hub/{name}/Slot?start=...&end=...")
	})
	// The management routes, by path and method. Any other method on one of
	// these paths is a JSON 405 naming the allowed ones, and any other path
	// under the prefix a JSON 404, as in the practice admin API (the mux's
	// own answers are plain text).
	const adm = "/admin/api/federation"
	routes := []struct {
		path    string
		methods map[string]http.HandlerFunc
	}{
		{adm + "/directory", map[string]http.HandlerFunc{"GET": a.listDirectory}},
		{adm + "/directory/{ods}", map[string]http.HandlerFunc{"PUT": a.putEndpoint, "DELETE": a.deleteEndpoint}},
		{adm + "/import", map[string]http.HandlerFunc{"POST": a.importFile}},
		{adm + "/hubs", map[string]http.HandlerFunc{"GET": a.listHubs, "POST": a.createHub}},
		{adm + "/hubs/{name}", map[string]http.HandlerFunc{"GET": a.getHub, "DELETE": a.deleteHub}},
		{adm + "/hubs/{name}/members/{ods}", map[string]http.HandlerFunc{"PUT": a.addMember, "DELETE": a.removeMember}},
	}
	for _, rt := range routes {
		a.routeJSON(mux, rt.path, rt.methods)
	}
	mux.HandleFunc(adm+"/", a.auth(true, func(w http.ResponseWriter, r *http.Request) {
		a.writeErr(w, scheduling.NotFound("path", "no federation API at %s", r.URL.Path))
	}))
	return mux
}

// routeJSON serves path with a handler per method; any other method is a
// JSON 405 naming the allowed ones (the mux's own answer is plain text).
func (a *API) routeJSON(mux *http.ServeMux, path string, methods map[string]http.HandlerFunc) {
	var allowed []string
	for m, h := range methods {
		mux.HandleFunc(m+" "+path, a.auth(true, h))
		allowed = append(allowed, m)
	}
	mux.HandleFunc(path, a.auth(true, func(w http.ResponseWriter, r *http.Request) {
		jsonapi.MethodNotAllowed(w, r, allowed)
	}))
}

func (a *API) auth(admin bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		token, setting := a.Token, "SLOTBRIDGE_HUB_API_TOKEN"
		if strings.HasPrefix(r.URL.Path, "/admin/") {
			token, setting = a.AdminToken, "SLOTBRIDGE_HUB_ADMIN_TOKEN"
		}
		switch {
		case token != "":
			// Two Authorization headers are refused, not judged by the first:
			// a proxy that adds one must not decide which caller this is.
			scheme, got, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
			if len(r.Header.Values("Authorization")) != 1 || !strings.EqualFold(scheme, "Bearer") ||
				subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", "Bearer")
				a.deny(w, admin, http.StatusUnauthorized, "a valid bearer token is required")
				return
			}
		case a.Local && localCaller(r):
			// A development machine's own caller: each search fans out
			// under the hub's identity, so nobody else may.
		case a.Local:
			a.deny(w, admin, http.StatusForbidden, "only direct callers on this machine are answered (SLOTBRIDGE_HUB_LOCAL); set "+setting+" to use this API from another host or through a proxy")
			return
		default:
			a.deny(w, admin, http.StatusForbidden, "this API is closed: set "+setting+" and send it as a bearer token (or SLOTBRIDGE_HUB_LOCAL=1 on a development machine)")
			return
		}
		// The front end names its logged-on user; calls to practices then
		// carry that user in their tokens instead of the hub's own.
		if u, ok, err := userFrom(r.Header); err != nil {
			if admin {
				a.writeErr(w, scheduling.Errorf(scheduling.EPARAM, "%v", err))
			} else {
				writeOutcome(w, http.StatusBadRequest, gpconnect.BadRequest, err.Error())
			}
			return
		} else if ok {
			r = r.WithContext(WithUser(r.Context(), u))
		}
		// No hub, practice or endpoint is named with a control character or
		// bytes that are not UTF-8 (and the directory on PostgreSQL could
		// not even look one up).
		if !scheduling.PlainText(r.URL.Path) {
			if admin {
				a.writeErr(w, scheduling.NotFound("path", "no such hub, member or endpoint"))
			} else {
				writeOutcome(w, http.StatusNotFound, gpconnect.NoRecordFound, "No such hub")
			}
			return
		}
		h(w, r)
	}
}

// User headers: the logged-on user a hub API call is made for.
const (
	HeaderUser            = "X-Slotbridge-User"              // local id (JWT sub); required for the others
	HeaderUserName        = "X-Slotbridge-User-Name"         // "Given Family"; required with HeaderUser
	HeaderUserSDS         = "X-Slotbridge-User-Sds-Id"       // SDS user id (default UNK)
	HeaderUserRoleProfile = "X-Slotbridge-User-Role-Profile" // SDS role profile id (default UNK)
)

// userFrom reads the user headers; ok is false when none names a user.
func userFrom(h http.Header) (User, bool, error) {
	id := strings.TrimSpace(h.Get(HeaderUser))
	name := strings.TrimSpace(h.Get(HeaderUserName))
	sds, role := strings.TrimSpace(h.Get(HeaderUserSDS)), strings.TrimSpace(h.Get(HeaderUserRoleProfile))
	if id == "" {
		if name != "" || sds != "" || role != "" {
			return User{}, false, errors.New(HeaderUser + " is required with the other user headers")
		}
		return User{}, false, nil
	}
	// The token names the user (spec §3.2), and a provider may refuse one
	// without a family name; a local id is not a name to stand in for it.
	if name == "" {
		return User{}, false, errors.New(HeaderUserName + " is required with " + HeaderUser + ": the tokens sent to practices name the user")
	}
	for _, v := range []string{id, name, sds, role} {
		if len(v) > 200 || !scheduling.PlainText(v) {
			return User{}, false, errors.New("a user header is longer than 200 characters or holds a control character")
		}
	}
	u := User{ID: id, Family: name, SDSUserID: sds, SDSRoleProfileID: role}
	if g, f, ok := strings.Cut(name, " "); ok {
		u.Given, u.Family = g, strings.TrimSpace(f)
	}
	return u, true, nil
}

func (a *API) deny(w http.ResponseWriter, admin bool, status int, msg string) {
	if admin {
		code := scheduling.EFORBIDDEN
		if status == http.StatusUnauthorized {
			code = jsonapi.CodeUnauthorized
		}
		a.writeErr(w, scheduling.Errorf(code, "%s", msg))
		return
	}
	writeOutcome(w, status, gpconnect.AccessDenied, msg)
}

// localCaller reports whether a request comes straight from this machine: a
// loopback peer that addressed a loopback host name (so no DNS-rebound page)
// and no proxy header (so not a reverse proxy relaying someone else).
func localCaller(r *http.Request) bool {
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return false
	}
	return loopback(r.RemoteAddr)
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hubSearchParams are the parameters of a hub search; channel, role and
// practice may repeat (or hold comma-separated lists).
var hubSearchParams = []string{"start", "end", "org-type", "channel", "role", "practice"}

// strictParams names, for an answer, a parameter of q that is not one of
// known (a leading "_", FHIR's result parameters such as _format, is let
// through) or one of once sent more than once; "" when there is none.
func strictParams(q url.Values, known []string, once ...string) string {
	var probs []string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		switch {
		case strings.HasPrefix(k, "_"):
		case !slices.Contains(known, k):
			probs = append(probs, fmt.Sprintf("unknown parameter %q (this takes %s)", clip(k, 40), strings.Join(known, ", ")))
		case slices.Contains(once, k) && len(q[k]) > 1:
			probs = append(probs, fmt.Sprintf("%s may be given once", k))
		}
	}
	return strings.Join(probs, "; ")
}

func (a *API) searchSlots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := time.Now()
	// No parameter can hold a control character or bytes that are not
	// UTF-8 (auth has refused such a path already).
	for k, vs := range q {
		if !scheduling.PlainText(k) || slices.ContainsFunc(vs, func(v string) bool { return !scheduling.PlainText(v) }) {
			writeOutcome(w, http.StatusBadRequest, gpconnect.BadRequest, "A query parameter holds a control character or is not UTF-8")
			return
		}
	}
	var probs []string
	for _, k := range []string{"start", "end"} {
		if len(q[k]) != 1 {
			writeOutcome(w, http.StatusBadRequest, gpconnect.BadRequest, "Exactly one "+k+" parameter is required")
			return
		}
	}
	// A misspelt filter (chanel=, org_type=) must not read as "no filter",
	// which would look like capacity the hub does not have; nor may a
	// second org-type be dropped.
	if msg := strictParams(q, hubSearchParams, "org-type"); msg != "" {
		writeOutcome(w, http.StatusUnprocessableEntity, gpconnect.InvalidParameter, msg)
		return
	}
	start, err := ParseWhen(q.Get("start"), false, now)
	if err != nil {
		probs = append(probs, "start: "+err.Error()+plusHint(q.Get("start"), false, now))
	}
	end, err := ParseWhen(q.Get("end"), true, now)
	if err != nil {
		probs = append(probs, "end: "+err.Error()+plusHint(q.Get("end"), true, now))
	}
	if len(probs) > 0 {
		writeOutcome(w, http.StatusUnprocessableEntity, gpconnect.InvalidParameter, strings.Join(probs, "; "))
		return
	}
	// The range and organisation type are checked by Search (Query.Check).
	res, err := a.Hub.Search(r.Context(), r.PathValue("name"), Query{Start: start, End: end, OrgType: q.Get("org-type"),
		Channels: splitParams(q["channel"]), Roles: splitParams(q["role"]), Practices: splitParams(q["practice"])})
	switch scheduling.ErrorCode(err) {
	case "":
	case scheduling.ENOTFOUND:
		writeOutcome(w, http.StatusNotFound, gpconnect.NoRecordFound, scheduling.ErrorMessage(err))
		return
	case scheduling.EPARAM, scheduling.EINVALID:
		writeOutcome(w, http.StatusUnprocessableEntity, gpconnect.InvalidParameter, scheduling.ErrorMessage(err))
		return
	default:
		if a.Log != nil {
			a.Log.Error("hub search failed", "hub", r.PathValue("name"), "err", err)
		}
		writeOutcome(w, http.StatusInternalServerError, gpconnect.InternalServerError, "The hub search failed.")
		return
	}
	b, err := json.Marshal(res.Bundle())
	if err != nil {
		writeOutcome(w, http.StatusInternalServerError, gpconnect.InternalServerError, "The hub search failed.")
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json;charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// plusHint explains a refused time value that a "+" in place of its
// space would have made good: a "+" sent raw in a query string is read as
// a space, so an offset "+00:00" (or "+2d") arrives as " 00:00", and the
// value quoted back alone does not show why it was refused.
func plusHint(v string, isEnd bool, now time.Time) string {
	if !strings.Contains(v, " ") {
		return ""
	}
	if _, err := ParseWhen(strings.ReplaceAll(v, " ", "+"), isEnd, now); err != nil {
		return ""
	}
	return scheduling.PlusAsSpaceHint
}

// splitParams accepts repeated and comma-separated values.
func splitParams(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func writeOutcome(w http.ResponseWriter, status int, code gpconnect.SpineCode, msg string) {
	oo := &fhir.OperationOutcome{ResourceType: "OperationOutcome",
		Meta: &fhir.Meta{Profile: []string{string(gpconnect.ProfileOperationOutcome)}},
		Issue: []fhir.OperationOutcomeIssue{{Severity: "error", Code: code.IssueType(), Diagnostics: msg,
			Details: &fhir.CodeableConcept{Coding: []fhir.Coding{{System: gpconnect.SystemSpineError, Code: string(code), Display: code.Display()}}}}}}
	b, _ := json.Marshal(oo)
	w.Header().Set("Content-Type", "application/fhir+json;charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) { jsonapi.Write(w, status, v) }

// writeErr answers err in the management APIs' one error body.
func (a *API) writeErr(w http.ResponseWriter, err error) {
	if jsonapi.WriteError(w, err) == http.StatusInternalServerError && a.Log != nil {
		a.Log.Error("federation admin API", "err", err)
	}
}

// decodeBody reads one JSON value of at most maxBody bytes. Requiring
// application/json also keeps a web page from posting a "simple" cross-site
// request to a local hub.
func decodeBody(r *http.Request, v any) error { return jsonapi.Decode(r, v, maxBody, false) }

// decodeImport reads a directory import, which lists many practices and
// hubs, as decodeBody does but up to maxImportBody.
func decodeImport(r *http.Request, v any) error { return jsonapi.Decode(r, v, maxImportBody, false) }

// Body limits: a booking, amendment, cancellation, directory entry or hub
// is a few hundred bytes; a directory import may list every practice of a
// region.
const (
	maxBody       = 64 << 10
	maxImportBody = 8 << 20
)

// endpointJSON is a directory entry as the admin API shows it.
func endpointJSON(e *scheduling.Endpoint) DirectoryEntry {
	en := e.Enabled
	return DirectoryEntry{ODS: e.ODS, Name: e.Name, ServiceRoot: e.ServiceRoot, ASID: e.ASID, Interactions: e.Interactions, Enabled: &en}
}

func (a *API) listDirectory(w http.ResponseWriter, r *http.Request) {
	eps, err := a.Store.Endpoints(r.Context())
	if err != nil {
		a.writeErr(w, err)
		return
	}
	out := make([]DirectoryEntry, 0, len(eps))
	for _, e := range eps {
		out = append(out, endpointJSON(e))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) putEndpoint(w http.ResponseWriter, r *http.Request) {
	var e DirectoryEntry
	if err := decodeBody(r, &e); err != nil {
		a.writeErr(w, err)
		return
	}
	if e.ODS == "" {
		e.ODS = r.PathValue("ods")
	}
	if e.ODS != r.PathValue("ods") {
		a.writeErr(w, scheduling.Errorf(scheduling.EINVALID, "the body's ods %q differs from the path's %q", e.ODS, r.PathValue("ods")))
		return
	}
	ep := e.Endpoint()
	if err := a.Store.SaveEndpoint(r.Context(), ep); err != nil {
		a.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, endpointJSON(ep))
}

func (a *API) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.DeleteEndpoints(r.Context(), []string{r.PathValue("ods")}); err != nil {
		a.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) importFile(w http.ResponseWriter, r *http.Request) {
	var f DirectoryFile
	if err := decodeImport(r, &f); err != nil {
		a.writeErr(w, err)
		return
	}
	n, h, err := Import(r.Context(), a.Store, &f)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"endpoints": n, "hubs": h})
}

// hubJSON is a hub as the admin API shows it.
type hubJSON struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
	Created string   `json:"created"`
}

func (a *API) listHubs(w http.ResponseWriter, r *http.Request) {
	hubs, err := a.Store.Hubs(r.Context())
	if err != nil {
		a.writeErr(w, err)
		return
	}
	out := make([]hubJSON, 0, len(hubs))
	for _, h := range hubs {
		out = append(out, toHubJSON(h))
	}
	writeJSON(w, http.StatusOK, out)
}

func toHubJSON(h *scheduling.Hub) hubJSON {
	return hubJSON{Name: h.Name, Members: append([]string{}, h.Members...), Created: scheduling.FormatLocal(h.Created)}
}

func (a *API) getHub(w http.ResponseWriter, r *http.Request) {
	h, err := a.Store.HubByName(r.Context(), r.PathValue("name"))
	if err != nil {
		a.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, toHubJSON(h))
}

func (a *API) deleteHub(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.DeleteHub(r.Context(), r.PathValue("name")); err != nil {
		a.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) createHub(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Name string `json:"name"`
	}
	if err := decodeBody(r, &body); err != nil {
		a.writeErr(w, err)
		return
	}
	h, err := a.Store.CreateHub(r.Context(), body.Name)
	if err != nil {
		a.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, toHubJSON(h))
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request) {
	if err := a.Store.AddHubMembers(r.Context(), r.PathValue("name"), []string{r.PathValue("ods")}); err != nil {
		a.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request) {
	err := a.Store.RemoveHubMembers(r.Context(), r.PathValue("name"), []string{r.PathValue("ods")})
	if err != nil {
		a.writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
