package main

import (
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/jsonapi"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// mountEnv is what serve gives each mount: the open store, the logger, and
// the server settings a mount must agree with.
type mountEnv struct {
	st  *store.Store
	log *slog.Logger
	// horizon is how far ahead sessions are materialised (serve --horizon-weeks).
	horizon time.Duration
	// supplier is the supplier switch of service filtering (serve --service-filtering).
	supplier scheduling.SupplierFiltering
	// prefix is the prefix the handler being built is mounted at.
	prefix string
}

// mount is an extra HTTP API served beside the GP Connect service roots
// (the admin API, the hub API). Each lives in its own file and registers
// itself from init, so serve.go does not change when one is added.
type mount struct {
	// prefix is the path prefix routed to the handler, e.g. "/admin/api/".
	prefix string
	// build makes the handler once the store is open.
	build func(env mountEnv) (http.Handler, error)
}

var mounts []mount

// mountChecks check the mounts' own settings (environment variables) before
// serve opens the store, so a mistake stops it before anything is created.
var mountChecks []func() error

// registerMount adds an extra API to serve.
func registerMount(prefix string, build func(env mountEnv) (http.Handler, error)) {
	mounts = append(mounts, mount{prefix: prefix, build: build})
}

// registerMountCheck adds a check of a mount's settings, run by serve
// before the store opens.
func registerMountCheck(check func() error) { mountChecks = append(mountChecks, check) }

// checkMounts runs every mount's check.
func checkMounts() error {
	for _, c := range mountChecks {
		if err := c(); err != nil {
			return err
		}
	}
	return nil
}

// withMounts routes each registered prefix to its handler and the rest to fallback.
func withMounts(env mountEnv, fallback http.Handler) (http.Handler, error) {
	if len(mounts) == 0 {
		return fallback, nil
	}
	mux := http.NewServeMux()
	for _, m := range mounts {
		env.prefix = m.prefix
		h, err := m.build(env)
		if err != nil {
			return nil, err
		}
		mux.Handle(m.prefix, h)
	}
	mux.Handle("/", fallback)
	// ServeMux answers a path that is not clean ("//metadata", "/./x")
	// with a 307 and an HTML body; GP Connect wants an OperationOutcome
	// with Cache-Control: no-store for a bad path, so such paths go to the
	// provider as they are (none of the mounts' prefixes can match them).
	// Under /admin, though, only the JSON admin APIs live: there a path no
	// mount serves, clean or not, is their JSON 404, not the provider's
	// OperationOutcome nor ServeMux's redirect.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		// An encoded slash ("/admin%2Fapi/…") decodes to a mounted path, but
		// ServeMux matches the escaped segments, so no mount would take it.
		encodedSlash := strings.Contains(strings.ToLower(r.URL.EscapedPath()), "%2f")
		if underAdmin(path.Clean(p)) && (!cleanPath(p) || !mounted(p) || encodedSlash) {
			adminNotFound(w, p)
			return
		}
		if !cleanPath(p) {
			fallback.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// adminRoot is the path under which only the JSON admin APIs are mounted
// (the practice admin API and the federation admin API).
const adminRoot = "/admin"

// underAdmin reports whether p is adminRoot or below it.
func underAdmin(p string) bool { return p == adminRoot || strings.HasPrefix(p, adminRoot+"/") }

// mounted reports whether ServeMux would hand p to a mount as it is: p is
// inside a mount's prefix, and is not a prefix without its slash (which
// ServeMux would answer with a redirect to the prefix).
func mounted(p string) bool {
	in := false
	for _, m := range mounts {
		if p+"/" == m.prefix {
			return false
		}
		in = in || strings.HasPrefix(p, m.prefix)
	}
	return in
}

// adminNotFound answers a path under /admin that no admin API serves as
// those APIs answer an unknown path: a JSON {"error", "code"} 404. It needs
// no token: no token opens a path that does not exist.
func adminNotFound(w http.ResponseWriter, p string) {
	w.Header().Set("Cache-Control", "no-store")
	err := scheduling.NotFound("path", "no admin API at %s", clipText(p, 200))
	if !cleanPath(p) {
		err = scheduling.NotFound("path", "no admin API at %s: a path with an empty, . or .. segment is never served (its clean form is %s)",
			clipText(p, 200), clipText(path.Clean(p), 200))
	}
	jsonapi.WriteError(w, err)
}

// clipText shortens a client's text (a path, a header) quoted back in an answer or a log.
func clipText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// cleanPath reports whether ServeMux would serve p without redirecting it:
// rooted, and unchanged by path.Clean apart from a trailing slash.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}
