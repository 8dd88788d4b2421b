package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/fhir"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/store"
)

// The hub HTTP API and the federation admin API are served beside the
// provider by `slotbridge serve`; the hub's identity comes from the environment.
func init() {
	registerMount("/hub/", buildFederationAPI)
	registerMount("/admin/api/federation/", buildFederationAPI)
	registerMountCheck(func() error {
		if _, _, err := envHub(nil); err != nil {
			return err
		}
		return checkHubTokens(os.Getenv("SLOTBRIDGE_HUB_API_TOKEN"), os.Getenv("SLOTBRIDGE_HUB_ADMIN_TOKEN"))
	})
}

// checkHubTokens refuses one value for both hub tokens: the hub API's
// token would then open the federation admin API too, which the two
// settings exist to keep apart.
func checkHubTokens(api, admin string) error {
	if api != "" && api == admin {
		return errors.New("SLOTBRIDGE_HUB_API_TOKEN and SLOTBRIDGE_HUB_ADMIN_TOKEN are the same: give each its own value, or the hub's front ends could change the directory")
	}
	return nil
}

// envHub is the hub serve runs, configured from the environment alone.
// placeholder reports that its user is the built-in one.
func envHub(dir federation.Directory) (hub *federation.Hub, placeholder bool, err error) {
	var id identityConfig
	var fan fanoutConfig
	fs := flag.NewFlagSet("env", flag.ContinueOnError)
	id.register(fs)
	fan.register(fs)
	hub, err = fan.hub(dir, id.identity(), id.ssp)
	if err != nil {
		return nil, false, fmt.Errorf("hub: %w", err)
	}
	return hub, id.placeholderUser(), nil
}

func buildFederationAPI(env mountEnv) (http.Handler, error) {
	hub, placeholder, err := envHub(env.st)
	if err != nil {
		return nil, err
	}
	local := false
	if v := os.Getenv("SLOTBRIDGE_HUB_LOCAL"); v != "" {
		if local, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("SLOTBRIDGE_HUB_LOCAL=%q: want true or false", v)
		}
	}
	api := &federation.API{Hub: hub, Store: env.st, Token: os.Getenv("SLOTBRIDGE_HUB_API_TOKEN"),
		AdminToken: os.Getenv("SLOTBRIDGE_HUB_ADMIN_TOKEN"), Local: local, Log: env.log}
	if env.log != nil {
		// Each of the two prefixes builds this handler: each logs its own API.
		if env.prefix == "/hub/" {
			env.log.Info("hub API /hub/", "access", apiAccess(api.Token, "SLOTBRIDGE_HUB_API_TOKEN", local))
			if placeholder && (api.Token != "" || local) { // a closed API sends nothing
				env.log.Warn("hub API: a call without the " + federation.HeaderUser + " headers sends practices the " + placeholderNote +
					": have the front end send them, or set " + placeholderFixEnv)
			}
		} else {
			env.log.Info("federation admin API "+env.prefix, "access", apiAccess(api.AdminToken, "SLOTBRIDGE_HUB_ADMIN_TOKEN", local))
		}
	}
	return api.Handler(), nil
}

// apiAccess says how an API with this token setting is reached.
func apiAccess(token, setting string, local bool) string {
	switch {
	case token != "":
		return "bearer token (" + setting + ")"
	case local:
		return "callers on this machine only, without a token (SLOTBRIDGE_HUB_LOCAL)"
	}
	return "closed: set " + setting
}

// identityConfig is the hub's own GP Connect identity (it is a consumer).
type identityConfig struct {
	asid, ods, orgName, orgType, phone string
	device, userID, userName, issuer   string
	ssp                                string
	// cert, key and ca are the hub's TLS identity (PEM files), spec §1.4.
	cert, key, ca string
}

func (c *identityConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.asid, "asid", envOr("SLOTBRIDGE_CONSUMER_ASID", "200000000359"), "the hub's consumer ASID (Ssp-From)")
	fs.StringVar(&c.ods, "ods", envOr("SLOTBRIDGE_CONSUMER_ODS", "Y90001"), "the hub's ODS code (booking organisation, searchFilter)")
	fs.StringVar(&c.orgName, "org-name", envOr("SLOTBRIDGE_CONSUMER_ORG_NAME", "Slotbridge Federation Hub"), "the hub's organisation name")
	fs.StringVar(&c.orgType, "hub-org-type", envOr("SLOTBRIDGE_CONSUMER_ORG_TYPE", ""), "the hub's organisation type sent as a searchFilter (gp-practice or urgent-care; empty sends none)")
	fs.StringVar(&c.phone, "phone", envOr("SLOTBRIDGE_CONSUMER_PHONE", "01632 960500"), "the hub's telephone, put on bookings")
	fs.StringVar(&c.device, "device", envOr("SLOTBRIDGE_CONSUMER_DEVICE", "slotbridge-hub"), "the requesting device identifier")
	fs.StringVar(&c.userID, "user", envOr("SLOTBRIDGE_CONSUMER_USER", placeholderUserID), "the logged-on user's local id (JWT sub)")
	fs.StringVar(&c.userName, "user-name", envOr("SLOTBRIDGE_CONSUMER_USER_NAME", placeholderUserName), "the logged-on user's name (given family)")
	fs.StringVar(&c.issuer, "issuer", envOr("SLOTBRIDGE_CONSUMER_ISSUER", "https://slotbridge.invalid/hub"), "the JWT iss: the hub system's endpoint URL")
	fs.StringVar(&c.ssp, "ssp", envOr("SLOTBRIDGE_SSP_URL", ""), "Spine Secure Proxy prefix URL (empty calls service roots directly)")
	fs.StringVar(&c.cert, "cert", envOr("SLOTBRIDGE_CONSUMER_CERT", ""), "the hub's TLS client certificate (PEM), for mutual TLS with the Spine Secure Proxy or providers (spec §1.4)")
	fs.StringVar(&c.key, "key", envOr("SLOTBRIDGE_CONSUMER_KEY", ""), "the private key (PEM) of --cert")
	fs.StringVar(&c.ca, "ca", envOr("SLOTBRIDGE_CONSUMER_CA", ""), "CA certificates (PEM) trusted for the proxy's or providers' certificates (empty: the system's)")
}

// The built-in user, so that a demo hub works without setup. It is a
// generic user, which spec §3.2 rules out for real use, so using it is
// said each time (placeholderNote).
const (
	placeholderUserID   = "hub-user"
	placeholderUserName = "Hub Operator"
	placeholderNote     = `placeholder user hub-user ("Hub Operator"), not a logged-on user as GP Connect requires (spec §3.2)`
	placeholderFixEnv   = "SLOTBRIDGE_CONSUMER_USER and SLOTBRIDGE_CONSUMER_USER_NAME"
)

// placeholderUser reports whether the tokens would name the built-in user,
// in part: a real id under the placeholder's name, or the reverse, is no
// more the logged-on user than the placeholder itself.
func (c *identityConfig) placeholderUser() bool {
	return c.userID == placeholderUserID || c.userName == placeholderUserName
}

func (c *identityConfig) identity() federation.Identity {
	given, family := "Hub", c.userName
	if g, f, ok := strings.Cut(c.userName, " "); ok {
		given, family = g, f
	}
	tok := auth.Identity{Issuer: c.issuer,
		Device: fhir.Device{ResourceType: "Device", Identifier: []fhir.Identifier{{System: "https://slotbridge.invalid/Id/device", Value: c.device}},
			Model: "Slotbridge hub", Version: "0.1.0"},
		Practitioner: fhir.Practitioner{ResourceType: "Practitioner", ID: c.userID,
			Identifier: []fhir.Identifier{{System: gpconnect.SystemSDSUser, Value: "UNK"}, {System: gpconnect.SystemSDSRoleProfile, Value: "UNK"},
				{System: federation.LocalUserSystem, Value: c.userID}},
			Name: []fhir.HumanName{{Family: family, Given: []string{given}}}}}
	return federation.Identity{ASID: c.asid, ODS: c.ods, OrgName: c.orgName, OrgType: c.orgType, Phone: c.phone, Token: tok,
		TLS: federation.TLSFiles{CertFile: c.cert, KeyFile: c.key, CAFile: c.ca}}
}

// fanoutConfig bounds a fan-out.
type fanoutConfig struct {
	concurrency     int
	maxInFlight     int
	practiceTimeout time.Duration
	deadline        time.Duration
	fs              *flag.FlagSet
	// envErrs are malformed SLOTBRIDGE_HUB_* values, by flag name.
	envErrs map[string]error
}

func (c *fanoutConfig) register(fs *flag.FlagSet) {
	c.fs = fs
	fs.IntVar(&c.concurrency, "concurrency", c.envInt("concurrency", "SLOTBRIDGE_HUB_CONCURRENCY", 128), "most calls in flight at once in one fan-out")
	fs.IntVar(&c.maxInFlight, "max-in-flight", c.envInt("max-in-flight", "SLOTBRIDGE_HUB_MAX_IN_FLIGHT", 0), "most calls in flight at once across all the hub's fan-outs together (0 = 4 x --concurrency)")
	fs.DurationVar(&c.practiceTimeout, "practice-timeout", c.envDuration("practice-timeout", "SLOTBRIDGE_HUB_PRACTICE_TIMEOUT", 1500*time.Millisecond), "deadline of each search call to one practice (retry included); a booking's calls get twice this each, a timed-out read retried once, within 10 s for the whole booking")
	fs.DurationVar(&c.deadline, "deadline", c.envDuration("deadline", "SLOTBRIDGE_HUB_DEADLINE", 2500*time.Millisecond), "deadline of the whole fan-out (a search; bookings are bounded by --practice-timeout)")
}

// hub builds the Hub. A malformed SLOTBRIDGE_HUB_* value its flag did not
// override, or a limit out of range, is an error: a typo must not silently
// leave the default in force.
func (c *fanoutConfig) hub(dir federation.Directory, id federation.Identity, ssp string) (*federation.Hub, error) {
	given := map[string]bool{}
	if c.fs != nil {
		c.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	}
	var probs []string
	for _, name := range []string{"concurrency", "max-in-flight", "practice-timeout", "deadline"} {
		if err := c.envErrs[name]; err != nil && !given[name] {
			probs = append(probs, err.Error())
		}
	}
	if c.concurrency < 1 || c.maxInFlight < 0 {
		probs = append(probs, "SLOTBRIDGE_HUB_CONCURRENCY (--concurrency) must be 1 or more and SLOTBRIDGE_HUB_MAX_IN_FLIGHT (--max-in-flight) 0 (4 x concurrency) or more")
	}
	if c.practiceTimeout <= 0 || c.deadline <= 0 {
		probs = append(probs, "SLOTBRIDGE_HUB_PRACTICE_TIMEOUT (--practice-timeout) and SLOTBRIDGE_HUB_DEADLINE (--deadline) must be positive")
	}
	cfg := federation.Config{Concurrency: c.concurrency, MaxInFlight: c.maxInFlight, PracticeTimeout: c.practiceTimeout, Deadline: c.deadline}
	// The TLS files are read now, so that a bad one stops the command (or
	// serve) at once rather than failing every practice's handshake.
	hc, err := federation.NewHubTLSClient(cfg, id.TLS)
	if err != nil {
		probs = append(probs, err.Error()+" (SLOTBRIDGE_CONSUMER_CERT/--cert, SLOTBRIDGE_CONSUMER_KEY/--key, SLOTBRIDGE_CONSUMER_CA/--ca)")
	}
	if len(probs) > 0 {
		return nil, errors.New(strings.Join(probs, "; "))
	}
	gc := federation.NewGPConnect(id, hc, ssp)
	if err := gc.Check(); err != nil {
		return nil, err
	}
	return &federation.Hub{Dir: dir, Client: gc, Breaker: &federation.Breaker{}, Config: cfg}, nil
}

func (c *fanoutConfig) envInt(name, key string, def int) int {
	return envValue(c, name, key, def, strconv.Atoi, "a whole number")
}

func (c *fanoutConfig) envDuration(name, key string, def time.Duration) time.Duration {
	return envValue(c, name, key, def, time.ParseDuration, "a duration such as 1500ms or 2s")
}

// envValue reads key with parse, or gives def when it is unset; a value
// parse refuses is recorded against the flag name and def is used.
func envValue[T any](c *fanoutConfig, name, key string, def T, parse func(string) (T, error), want string) T {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		if c.envErrs == nil {
			c.envErrs = map[string]error{}
		}
		c.envErrs[name] = fmt.Errorf("%s=%q: want %s", key, v, want)
		return def
	}
	return x
}

// subcommand splits "NAME rest..." and checks NAME against the known ones.
func subcommand(cmd string, args []string, known ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, fmt.Errorf("%s: want a subcommand: %s", cmd, strings.Join(known, ", "))
	}
	for _, k := range known {
		if args[0] == k {
			return k, args[1:], nil
		}
	}
	return "", nil, fmt.Errorf("%s: unknown subcommand %q (want %s)", cmd, args[0], strings.Join(known, ", "))
}

// parseInterleaved parses flags that may come before or after positional arguments.
// refuseUnread refuses a flag given to a subcommand that does not read it
// (directory import --disabled, book list --reason): the subcommands share
// one flag set, and a flag silently ignored would look as if it had been
// honoured. readers names the subcommands that read each such flag; a flag
// not in it is read by all.
func refuseUnread(fs *flag.FlagSet, cmd, sub string, readers map[string][]string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if r, ok := readers[f.Name]; ok && err == nil && !slices.Contains(r, sub) {
			err = fmt.Errorf("%s: --%s is not read here (only by %s %s)", cmd, f.Name, strings.SplitN(cmd, " ", 2)[0], strings.Join(r, ", "))
		}
	})
	return err
}

func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// hubUsage is printed by hub --help and after a hub mistake.
const hubUsage = "usage: slotbridge hub create NAME | add-practice NAME ODS... | remove-practice NAME ODS... | delete NAME | list [--json]\n" +
	"       (each takes --data DIR or --database URL)\n"

// isHelp reports whether word asks for a command's usage.
func isHelp(word string) bool {
	return word == "help" || word == "-h" || word == "-help" || word == "--help"
}

func runHub(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, hubUsage)
		return nil
	}
	sub, rest, err := subcommand("hub", args, "create", "add-practice", "remove-practice", "delete", "list")
	if err != nil {
		fmt.Fprint(stderr, hubUsage)
		return err
	}
	fs := flag.NewFlagSet("hub "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbConfig
	db.register(fs)
	asJSON := fs.Bool("json", false, "list: print JSON")
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return err
	}
	if err := refuseUnread(fs, "hub "+sub, sub, map[string][]string{"json": {"list"}}); err != nil {
		return err
	}
	need := map[string]int{"create": 1, "add-practice": 2, "remove-practice": 2, "delete": 1, "list": 0}[sub]
	if len(pos) < need || ((sub == "create" || sub == "delete") && len(pos) != 1) || (sub == "list" && len(pos) != 0) {
		return fmt.Errorf("hub %s: wrong arguments %q", sub, pos)
	}
	// Only create may start a fresh database; the others act on hubs
	// that must already be there.
	openDB := db.openExisting
	if sub == "create" {
		openDB = db.open
	}
	st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "create":
		h, err := st.CreateHub(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hub %q created\n", h.Name)
	case "add-practice":
		before, err := st.HubByName(ctx, pos[0])
		if err != nil {
			return err
		}
		if err := st.AddHubMembers(ctx, pos[0], pos[1:]); err != nil {
			return err
		}
		known, err := st.EndpointsByODS(ctx, pos[1:])
		if err != nil {
			return err
		}
		// Say what happened to each code, once however often it was given:
		// added, already there, and not searchable yet.
		var added, already, unknown []string
		for _, o := range distinct(pos[1:]) {
			if slices.Contains(before.Members, o) {
				already = append(already, o)
			} else {
				added = append(added, o)
			}
			if known[o] == nil {
				unknown = append(unknown, o)
			}
		}
		if len(added) == 0 {
			fmt.Fprintf(stdout, "hub %q: nothing added\n", pos[0])
		} else {
			fmt.Fprintf(stdout, "hub %q: added %s\n", pos[0], strings.Join(added, " "))
		}
		if len(already) > 0 {
			fmt.Fprintf(stdout, "  already members: %s\n", strings.Join(already, " "))
		}
		if len(unknown) > 0 {
			fmt.Fprintf(stdout, "  not in the endpoint directory yet (searches will report them unknown): %s\n", strings.Join(unknown, " "))
		}
	case "remove-practice":
		// All or nothing, as add-practice: a typo among the codes must not
		// leave the others removed behind an error.
		if err := st.RemoveHubMembers(ctx, pos[0], pos[1:]); err != nil {
			return err
		}
		removed := distinct(pos[1:])
		fmt.Fprintf(stdout, "hub %q: removed %s\n", pos[0], strings.Join(removed, " "))
		// The hub keeps no record of what it booked (the practices hold the
		// appointments), so it cannot count them: warn every time.
		fmt.Fprintf(stderr, "slotbridge: warning: appointments booked through hub %q at %s are no longer reachable through the hub "+
			"(book list leaves them out, book amend and cancel refuse them); add the practice back to manage them through the hub\n",
			pos[0], strings.Join(removed, " "))
	case "delete":
		if err := st.DeleteHub(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "hub %q deleted (the directory is unchanged)\n", pos[0])
	case "list":
		hubs, err := st.Hubs(ctx)
		if err != nil {
			return err
		}
		eps, err := st.Endpoints(ctx)
		if err != nil {
			return err
		}
		known := map[string]*scheduling.Endpoint{}
		for _, e := range eps {
			known[e.ODS] = e
		}
		if *asJSON {
			type hubOut struct {
				Name    string   `json:"name"`
				Members []string `json:"members"`
				Unknown []string `json:"notInDirectory"`
			}
			out := []hubOut{}
			for _, h := range hubs {
				o := hubOut{Name: h.Name, Members: append([]string{}, h.Members...), Unknown: []string{}}
				for _, m := range h.Members {
					if known[m] == nil {
						o.Unknown = append(o.Unknown, m)
					}
				}
				out = append(out, o)
			}
			return writeJSONTo(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "HUB\tMEMBERS\tNOT IN DIRECTORY\tPRACTICES")
		for _, h := range hubs {
			var unknown []string
			for _, m := range h.Members {
				if known[m] == nil {
					unknown = append(unknown, m)
				}
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", h.Name, len(h.Members), len(unknown), abbreviate(h.Members, 8))
		}
		return tw.Flush()
	}
	return nil
}

// distinct is l without repeats, in the order given, so that a code typed
// twice is reported once.
func distinct(l []string) []string {
	var out []string
	for _, v := range l {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func abbreviate(l []string, n int) string {
	if len(l) <= n {
		return strings.Join(l, " ")
	}
	return strings.Join(l[:n], " ") + fmt.Sprintf(" … (+%d)", len(l)-n)
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// directoryUsage is printed by directory --help and after a directory mistake.
const directoryUsage = "usage: slotbridge directory set ODS --url ROOT --asid ASID [--name N] [--interactions a,b] [--disabled|--enabled]\n" +
	"       (on an existing entry only the flags given change)\n" +
	"       slotbridge directory remove ODS...\n" +
	"       slotbridge directory list [--json]\n       slotbridge directory import FILE [--hub NAME]\n" +
	"       (each takes --data DIR or --database URL)\n"

func runDirectory(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, directoryUsage)
		return nil
	}
	sub, rest, err := subcommand("directory", args, "set", "remove", "list", "import")
	if err != nil {
		fmt.Fprint(stderr, directoryUsage)
		return err
	}
	fs := flag.NewFlagSet("directory "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbConfig
	db.register(fs)
	root := fs.String("url", "", "set: the practice's FHIR service root URL")
	asid := fs.String("asid", "", "set: the provider ASID (Ssp-To)")
	name := fs.String("name", "", "set: display name")
	inter := fs.String("interactions", "", "set: comma-separated interaction IDs or short names (empty or \"all\" = all)")
	disabled := fs.Bool("disabled", false, "set: switch the practice off for the hub")
	enabled := fs.Bool("enabled", false, "set: switch the practice on again")
	hubName := fs.String("hub", "", "import: also add every imported practice to this hub (created if absent)")
	asJSON := fs.Bool("json", false, "list: print JSON")
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		return err
	}
	set := []string{"set"}
	if err := refuseUnread(fs, "directory "+sub, sub, map[string][]string{"url": set, "asid": set, "name": set, "interactions": set,
		"disabled": set, "enabled": set, "hub": {"import"}, "json": {"list"}}); err != nil {
		return err
	}
	// The word counts are checked before the database is opened, so that
	// a mistake creates nothing.
	switch {
	case sub == "set" && len(pos) != 1:
		return errors.New("directory set: want one ODS code")
	case sub == "remove" && len(pos) == 0:
		return errors.New("directory remove: want one or more ODS codes")
	case sub == "list" && len(pos) != 0:
		return fmt.Errorf("directory list: unexpected argument %q (flags start with --)", pos[0])
	case sub == "import" && len(pos) != 1:
		return errors.New("directory import: want one FILE")
	}
	// set and import may fill a fresh database; list and remove read one
	// that must already be there.
	openDB := db.open
	if sub == "list" || sub == "remove" {
		openDB = db.openExisting
	}
	st, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "set":
		if *disabled && *enabled {
			return errors.New("directory set: give --disabled or --enabled, not both")
		}
		var ids []string
		for _, s := range strings.Split(*inter, ",") {
			// "all" is how directory list shows an entry with no list.
			if s = strings.TrimSpace(s); s == "" || (strings.EqualFold(s, "all") && strings.TrimSpace(*inter) == s) {
				continue
			}
			in, ok := gpconnect.LookupInteraction(s)
			if !ok {
				return fmt.Errorf("directory set: unknown interaction %q", s)
			}
			ids = append(ids, string(in.ID))
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		// An existing entry changes only in what was given: switching a
		// practice off must not wipe its name and interactions.
		e := &scheduling.Endpoint{ODS: pos[0], Enabled: true}
		cur, err := st.EndpointsByODS(ctx, []string{pos[0]})
		if err != nil {
			return err
		}
		if c := cur[pos[0]]; c != nil {
			e = c
		}
		if given["name"] {
			e.Name = *name
		}
		if given["url"] {
			e.ServiceRoot = *root
		}
		if given["asid"] {
			e.ASID = *asid
		}
		if given["interactions"] {
			e.Interactions = ids
		}
		if given["disabled"] {
			e.Enabled = !*disabled
		}
		if given["enabled"] {
			e.Enabled = *enabled
		}
		if err := st.SaveEndpoint(ctx, e); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "directory: %s -> %s (ASID %s)\n", e.ODS, e.ServiceRoot, e.ASID)
		warnPlainHTTP(stderr, e.ODS, e.ServiceRoot)
	case "remove":
		if err := st.DeleteEndpoints(ctx, pos); err != nil {
			return err
		}
		pos = distinct(pos)
		fmt.Fprintf(stdout, "directory: removed %s\n", strings.Join(pos, " "))
		// Hubs keep such a practice as a member; say which, since their
		// searches will now report it as unknown.
		hubs, err := st.Hubs(ctx)
		if err != nil {
			return err
		}
		for _, h := range hubs {
			var still []string
			for _, ods := range pos {
				if slices.Contains(h.Members, ods) {
					still = append(still, ods)
				}
			}
			if len(still) > 0 {
				fmt.Fprintf(stdout, "  still members of hub %q (searches will report them unknown): %s\n", h.Name, strings.Join(still, " "))
			}
		}
	case "list":
		eps, err := st.Endpoints(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := federation.DirectoryFile{Endpoints: []federation.DirectoryEntry{}}
			for _, e := range eps {
				en := e.Enabled
				out.Endpoints = append(out.Endpoints, federation.DirectoryEntry{ODS: e.ODS, Name: e.Name, ServiceRoot: e.ServiceRoot, ASID: e.ASID, Interactions: e.Interactions, Enabled: &en})
			}
			return writeJSONTo(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ODS\tASID\tENABLED\tINTERACTIONS\tSERVICE ROOT\tNAME")
		for _, e := range eps {
			n := "all"
			if len(e.Interactions) > 0 {
				n = strconv.Itoa(len(e.Interactions))
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%s\n", e.ODS, e.ASID, e.Enabled, n, e.ServiceRoot, e.Name)
		}
		return tw.Flush()
	case "import":
		f, err := federation.ReadDirectoryFile(pos[0])
		if err != nil {
			return err
		}
		if *hubName != "" {
			// Every imported practice joins --hub; a hub of that name in the
			// file gains them rather than being counted twice.
			var members []string
			for _, e := range f.Endpoints {
				members = append(members, e.ODS)
			}
			i := slices.IndexFunc(f.Hubs, func(h federation.DirectoryHub) bool { return strings.TrimSpace(h.Name) == strings.TrimSpace(*hubName) })
			if i < 0 {
				f.Hubs = append(f.Hubs, federation.DirectoryHub{Name: *hubName})
				i = len(f.Hubs) - 1
			}
			for _, m := range members {
				if !slices.Contains(f.Hubs[i].Members, m) {
					f.Hubs[i].Members = append(f.Hubs[i].Members, m)
				}
			}
		}
		n, nh, err := federation.Import(ctx, st, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %s and %s from %s\n", plural(n, "endpoint", "endpoints"), plural(nh, "hub", "hubs"), pos[0])
		for _, e := range f.Endpoints {
			warnPlainHTTP(stderr, e.ODS, e.ServiceRoot)
		}
	}
	return nil
}

// warnPlainHTTP says when a practice's service root is plain http to a
// host other than this machine: every call would carry its token, and a
// patient's NHS number, unencrypted (spec §1.4 wants TLS). Not refused:
// a provider behind a local proxy, or a test, may be reached so.
func warnPlainHTTP(w io.Writer, ods, root string) {
	u, err := url.Parse(root)
	if err != nil || !strings.EqualFold(u.Scheme, "http") {
		return
	}
	h := u.Hostname()
	if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || strings.EqualFold(h, "localhost") {
		return
	}
	fmt.Fprintf(w, "warning: %s's service root is plain http: tokens and NHS numbers would cross the network unencrypted (spec 1.4 wants https)\n", ods)
}

func runSlots(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Practices' names and diagnostics reach the terminal shown, not acted on.
	stdout, stderr = termWriter{stdout}, termWriter{stderr}
	fs := flag.NewFlagSet("slots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbConfig
	db.register(fs)
	var id identityConfig
	id.register(fs)
	var fan fanoutConfig
	fan.register(fs)
	hubName := fs.String("hub", "", "hub to search (required)")
	startS := fs.String("start", "now", "start: YYYY-MM-DD, a dateTime with offset, now, today, tomorrow or +Nd")
	endS := fs.String("end", "+7d", "end: as start; a date means the end of that day")
	orgType := fs.String("org-type", "", "organisation type sent to every practice (gp-practice or urgent-care)")
	channel := fs.String("channel", "", "keep only these delivery channels (comma-separated: In-person,Telephone,Video)")
	role := fs.String("role", "", "keep only these practitioner roles (codes or names, comma-separated)")
	practices := fs.String("practice", "", "search only these member practices (comma-separated ODS codes)")
	limit := fs.Int("limit", 50, "most slots to print in the table (0 = all); --json prints all")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *hubName == "" {
		return errors.New("slots: --hub is required")
	}
	if id.placeholderUser() {
		fmt.Fprintln(stderr, "note: the tokens name the "+placeholderNote+": set --user and --user-name, or "+placeholderFixEnv)
	}
	now := time.Now()
	start, err := federation.ParseWhen(*startS, false, now)
	if err != nil {
		return fmt.Errorf("slots --start: %w", err)
	}
	end, err := federation.ParseWhen(*endS, true, now)
	if err != nil {
		return fmt.Errorf("slots --end: %w", err)
	}
	st, err := db.openExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	hub, err := fan.hub(st, id.identity(), id.ssp)
	if err != nil {
		return err
	}
	res, err := hub.Search(ctx, *hubName, federation.Query{Start: start, End: end, OrgType: *orgType,
		Channels: splitComma(*channel), Roles: splitComma(*role), Practices: splitComma(*practices)})
	if err != nil {
		return err
	}
	// A hub with no members asked nobody: an empty table would read as "no
	// capacity", so it fails like a search no practice answered (--json
	// still prints its empty result, for scripts that parse it).
	if len(res.Practices) == 0 {
		if *asJSON {
			if err := writeJSONTo(stdout, resultJSON(res)); err != nil {
				return err
			}
		}
		return fmt.Errorf("hub %q has no member practices; add them with slotbridge hub add-practice %s ODS...", *hubName, shellQuote(*hubName))
	}
	if *asJSON {
		err = writeJSONTo(stdout, resultJSON(res))
	} else {
		printResult(stdout, res, *limit)
	}
	// A search no practice answered is an outage, not "no capacity": say so
	// in the exit status, for scripts and monitoring. A practice that failed
	// one window but gave slots from another did answer.
	answered := 0
	for _, p := range res.Practices {
		if p.Failure == nil || p.Slots > 0 {
			answered++
		}
	}
	if err == nil && answered == 0 {
		err = fmt.Errorf("no practice of hub %s answered (%d failed)", *hubName, len(res.Failures))
	}
	return err
}

// plural writes n with the noun in the number it needs ("1 practice", "2 practices").
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// slotOut is a slot as `slots --json` prints it.
type slotOut struct {
	Ref             string `json:"ref"`
	ODS             string `json:"ods"`
	Practice        string `json:"practice,omitempty"`
	SlotID          string `json:"slotId"`
	Start           string `json:"start"`
	End             string `json:"end"`
	DeliveryChannel string `json:"deliveryChannel,omitempty"`
	SlotType        string `json:"slotType,omitempty"`
	ScheduleType    string `json:"scheduleType,omitempty"`
	Role            string `json:"practitionerRole,omitempty"`
	Practitioner    string `json:"practitioner,omitempty"`
	Gender          string `json:"practitionerGender,omitempty"`
	Location        string `json:"location,omitempty"`
	Address         string `json:"locationAddress,omitempty"`
	Service         string `json:"service,omitempty"`
}

type failureOut struct {
	ODS    string `json:"ods"`
	Reason string `json:"reason"`
	Status int    `json:"httpStatus,omitempty"`
	Detail string `json:"detail,omitempty"`
}

type practiceOut struct {
	ODS    string  `json:"ods"`
	Slots  int     `json:"slots"`
	Calls  int     `json:"calls"`
	DoneMs float64 `json:"doneMs"`
	Failed bool    `json:"failed"`
	// Dropped counts the slots the practice sent that could not be offered.
	Dropped int `json:"dropped"`
}

type searchOut struct {
	Hub       string        `json:"hub"`
	Start     string        `json:"start"`
	End       string        `json:"end"`
	ElapsedMs float64       `json:"elapsedMs"`
	Slots     []slotOut     `json:"slots"`
	Failures  []failureOut  `json:"failures"`
	Practices []practiceOut `json:"practices"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func resultJSON(r *federation.Result) searchOut {
	out := searchOut{Hub: r.Hub, Start: scheduling.FormatLocal(r.Query.Start), End: scheduling.FormatLocal(r.Query.End), ElapsedMs: ms(r.Elapsed),
		Slots: make([]slotOut, 0, len(r.Slots)), Failures: []failureOut{}, Practices: []practiceOut{}}
	for _, s := range r.Slots {
		role := s.RoleDisplay
		if role == "" {
			role = s.RoleCode
		}
		out.Slots = append(out.Slots, slotOut{Ref: s.Ref(), ODS: s.ODS, Practice: s.PracticeName, SlotID: s.ID, Start: scheduling.FormatLocal(s.Start),
			End: scheduling.FormatLocal(s.End), DeliveryChannel: s.DeliveryChannel, SlotType: s.SlotType, ScheduleType: s.ScheduleType, Role: role,
			Practitioner: s.PractitionerName, Gender: s.PractitionerSex, Location: s.LocationName, Address: s.LocationAddress, Service: s.ServiceName})
	}
	for _, f := range r.Failures {
		out.Failures = append(out.Failures, failureOut{ODS: f.ODS, Reason: string(f.Reason), Status: f.Status, Detail: f.Detail})
	}
	for _, p := range r.Practices {
		out.Practices = append(out.Practices, practiceOut{ODS: p.ODS, Slots: p.Slots, Calls: p.Calls, DoneMs: ms(p.Done), Failed: p.Failure != nil, Dropped: p.Dropped})
	}
	return out
}

// termWriter writes text from practices (names, diagnostics) to a
// terminal with its control and invisible formatting characters shown as
// \u escapes, tab and newline aside: an escape sequence or a bidi override
// in a practice's answer must not reach the operator's terminal as one.
type termWriter struct{ w io.Writer }

func (t termWriter) Write(p []byte) (int, error) {
	s := string(p)
	if !strings.ContainsFunc(s, termUnsafe) {
		return t.w.Write(p)
	}
	if _, err := io.WriteString(t.w, escapeRunes(s, termUnsafe)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// escapeRunes writes the runes of s for which unsafe holds as \uXXXX.
func escapeRunes(s string, unsafe func(rune) bool) string {
	if !strings.ContainsFunc(s, unsafe) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unsafe(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cell is a value shown in a table cell: as termWriter shows text, and with
// tabs and newlines escaped too, since in a value they would break the table.
func cell(s string) string { return escapeRunes(s, scheduling.Unsafe) }

// termUnsafe reports whether r would act on a terminal rather than show.
func termUnsafe(r rune) bool { return r != '\t' && r != '\n' && scheduling.Unsafe(r) }

func printResult(w io.Writer, r *federation.Result, limit int) {
	ok := len(r.Practices) - len(r.Failures)
	fmt.Fprintf(w, "hub %s: %d free slots from %d of %s, %s to %s, in %d ms\n\n", r.Hub, len(r.Slots), ok, plural(len(r.Practices), "practice", "practices"),
		scheduling.FormatLocal(r.Query.Start), scheduling.FormatLocal(r.Query.End), r.Elapsed.Milliseconds())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	shown := r.Slots
	if limit > 0 && len(shown) > limit {
		shown = shown[:limit]
	}
	// Spec §5.8 lists what a consumer SHALL show for each slot; the service
	// column appears only when some practice names one.
	services := false
	for _, s := range shown {
		services = services || s.ServiceName != ""
	}
	head := "START\tMIN\tSLOT (book with --slot)\tCHANNEL\tSLOT TYPE\tSCHEDULE TYPE\tROLE\tPRACTITIONER\tLOCATION\tADDRESS"
	if services {
		head += "\tSERVICE"
	}
	fmt.Fprintln(tw, head)
	for _, s := range shown {
		role := s.RoleDisplay
		if role == "" {
			role = s.RoleCode
		}
		who := s.PractitionerName
		if s.PractitionerSex != "" && who != "" {
			who += " (" + s.PractitionerSex + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", s.Start.In(scheduling.London).Format("Mon 02 Jan 15:04"), int(s.End.Sub(s.Start).Minutes()),
			s.Ref(), s.DeliveryChannel, s.SlotType, s.ScheduleType, role, who, s.LocationName, s.LocationAddress)
		if services {
			fmt.Fprintf(tw, "\t%s", s.ServiceName)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(shown) < len(r.Slots) {
		fmt.Fprintf(w, "… %d more (use --limit 0 or --json)\n", len(r.Slots)-len(shown))
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\n%s failed:\n", plural(len(r.Failures), "practice", "practices"))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ODS\tREASON\tHTTP\tDETAIL")
		for _, f := range r.Failures {
			st := ""
			if f.Status != 0 {
				st = strconv.Itoa(f.Status)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.ODS, f.Reason, st, f.Detail)
		}
		tw.Flush()
	}
	var dropped []string
	for _, p := range r.Practices {
		if p.Dropped > 0 {
			dropped = append(dropped, fmt.Sprintf("%s (%d)", p.ODS, p.Dropped))
		}
	}
	if len(dropped) > 0 {
		fmt.Fprintf(w, "\nslots left out, %s: %s\n", federation.DroppedNote, strings.Join(dropped, ", "))
	}
}

// bookUsage names book's subcommands, which the flag list alone does not show.
const bookUsage = `usage: slotbridge book --hub NAME --slot ODS/SLOT --patient NHS [--family F --given G --gender G --birth-date YYYY-MM-DD]
       slotbridge book amend --hub NAME --appointment ODS/ID [--description D] [--comment C]
       slotbridge book cancel --hub NAME --appointment ODS/ID --reason R
       slotbridge book list --hub NAME --patient NHS [--from DATE --to DATE]
`

// checkRegistration checks the registration details book sends, so that a
// mistake is named by its flag here rather than refused by the practice
// as an HTTP 400 that does not say which flag was wrong.
func checkRegistration(gender, birthDate string) error {
	if gender != "" && !slices.Contains(federation.Genders, gender) {
		return fmt.Errorf("book --gender %q: want male, female, other or unknown", gender)
	}
	if birthDate != "" {
		if _, err := time.Parse(time.DateOnly, birthDate); err != nil {
			return fmt.Errorf("book --birth-date %q: want a date YYYY-MM-DD, e.g. 1961-02-11", birthDate)
		}
	}
	return nil
}

func runBook(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Practices' answers (names, addresses, diagnostics) reach the terminal
	// shown, not acted on.
	stdout, stderr = termWriter{stdout}, termWriter{stderr}
	if len(args) > 0 && args[0] == "help" {
		fmt.Fprint(stdout, bookUsage)
		return nil
	}
	mode := "book"
	if len(args) > 0 && (args[0] == "amend" || args[0] == "cancel" || args[0] == "list") {
		mode, args = args[0], args[1:]
	} else if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		// A mistyped subcommand ("lsit") must not fall through to booking,
		// whose complaint (--hub or --slot missing) would mislead.
		fmt.Fprint(stderr, bookUsage)
		return fmt.Errorf("book: unknown subcommand %q (want book [amend|cancel|list] --flags...)", args[0])
	}
	name := "book"
	if mode != "book" {
		name += " " + mode
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, bookUsage+"\nFlags (each says which of book, amend, cancel and list read it):\n")
		fs.PrintDefaults()
	}
	var db dbConfig
	db.register(fs)
	var id identityConfig
	id.register(fs)
	var fan fanoutConfig
	fan.register(fs)
	hubName := fs.String("hub", "", "hub (required)")
	slot := fs.String("slot", "", "book: the slot, {ODS}/{slotId}, as slotbridge slots prints it")
	patient := fs.String("patient", "", "book, list: the patient's NHS number")
	family := fs.String("family", "", "book: family name, to register the patient if the practice does not know them")
	given := fs.String("given", "", "book: given name (for registration)")
	gender := fs.String("gender", "", "book: gender: male, female, other or unknown (for registration)")
	birth := fs.String("birth-date", "", "book: birth date YYYY-MM-DD (for registration)")
	appt := fs.String("appointment", "", "amend, cancel: the appointment, {ODS}/{appointmentId}")
	desc := fs.String("description", "", "book, amend: the appointment description")
	comment := fs.String("comment", "", "book, amend: the appointment comment")
	reason := fs.String("reason", "", "cancel: the cancellation reason (required)")
	orgType := fs.String("org-type", "", "book: the organisation type the slot was found with (slots --org-type); default the hub's own")
	fromS := fs.String("from", "", "list: first date (default today); book: where to look for the slot (default now)")
	toS := fs.String("to", "", fmt.Sprintf("list: last date; book: where to look for the slot (default %d days after --from, as far as slots searches)", federation.MaxSearchDays))
	asJSON := fs.Bool("json", false, "print the appointment(s) as FHIR JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	book, change := []string{"book"}, []string{"amend", "cancel"}
	if err := refuseUnread(fs, name, mode, map[string][]string{"slot": book, "family": book, "given": book, "gender": book,
		"birth-date": book, "org-type": book, "patient": {"book", "list"}, "from": {"book", "list"}, "to": {"book", "list"},
		"appointment": change, "description": {"book", "amend"}, "comment": {"book", "amend"}, "reason": {"cancel"}}); err != nil {
		return err
	}
	if *hubName == "" {
		return fmt.Errorf("%s: --hub is required", name)
	}
	if id.placeholderUser() {
		fmt.Fprintln(stderr, "note: the tokens name the "+placeholderNote+": set --user and --user-name, or "+placeholderFixEnv)
	}
	if mode == "book" {
		if err := checkRegistration(*gender, *birth); err != nil {
			return err
		}
	}
	// A bound not given stays zero: the hub fills it in (and checks the
	// range) the same way for the CLI and the HTTP API.
	now := time.Now()
	var from, to time.Time
	var err error
	if *fromS != "" {
		if from, err = federation.ParseWhen(*fromS, false, now); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	if *toS != "" {
		if to, err = federation.ParseWhen(*toS, true, now); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// Booking goes through a hub, which only an existing database holds.
	st, err := db.openExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	hub, err := fan.hub(st, id.identity(), id.ssp)
	if err != nil {
		return err
	}
	show := func(b *federation.Booked, verb string) error {
		if *asJSON {
			return writeJSONTo(stdout, b.Appointment)
		}
		fmt.Fprintf(stdout, "%s %s\n", verb, federation.Describe(b.ODS, b.Appointment))
		if b.ETag != "" {
			fmt.Fprintf(stdout, "  version %s\n", b.ETag)
		}
		return nil
	}
	switch mode {
	case "book":
		if *slot == "" || *patient == "" {
			return errors.New("book: --slot and --patient are required")
		}
		b, err := hub.Book(ctx, *hubName, federation.BookRequest{Slot: *slot, Description: *desc, Comment: *comment, From: from, To: to, OrgType: *orgType,
			Patient: federation.PatientDetails{NHSNumber: *patient, Family: *family, Given: *given, Gender: *gender, BirthDate: *birth}})
		if scheduling.ErrorCode(err) == scheduling.ECONFLICT {
			// Not offered where it was looked for: name the flags that look elsewhere.
			return fmt.Errorf("booking %s: %w; or, to look for it elsewhere, book with --from/--to around the slot's time and the --org-type it was found with", *slot, err)
		}
		if err != nil {
			// Name the practice: "provider error (HTTP 504)" alone does not say where.
			return fmt.Errorf("booking %s: %w", *slot, err)
		}
		if b.Registered && !*asJSON {
			fmt.Fprintf(stdout, "registered %s at %s as a temporary patient (Patient/%s)\n", *patient, b.ODS, b.PatientID)
		}
		verb := "booked"
		if b.AlreadyBooked {
			verb = "already booked (the patient holds this slot through this hub; nothing new was booked):"
			if *asJSON {
				fmt.Fprintf(stderr, "slotbridge: %s already holds %s at %s (appointment %s); nothing new was booked\n", *patient, *slot, b.ODS, b.Ref())
			}
		}
		if err := show(b, verb); err != nil || *asJSON || b.AlreadyBooked {
			return err
		}
		// The booking is made: what it was made in is shown when known, and
		// its absence must not cost the amend and cancel lines below.
		if s := b.Slot; s.SlotSchedule != nil {
			fmt.Fprintf(stdout, "  %s, %s, %s with %s (%s) at %s, %s\n", s.SlotType, s.ScheduleType, s.DeliveryChannel, s.PractitionerName, s.RoleDisplay, s.LocationName, s.LocationAddress)
		}
		fmt.Fprintf(stdout, "  amend:  slotbridge book amend --hub %s --appointment %s --comment '...'\n", *hubName, b.Ref())
		fmt.Fprintf(stdout, "  cancel: slotbridge book cancel --hub %s --appointment %s --reason '...'\n", *hubName, b.Ref())
		fmt.Fprintln(stdout, "  (with the same database, identity and TLS settings as this command: its --data or --database, and --cert, --key, --ca, --ssp if given)")
	case "amend":
		if *appt == "" || (!set["description"] && !set["comment"]) {
			return errors.New("book amend: --appointment and at least one of --description, --comment are required")
		}
		var d, c *string
		if set["description"] {
			d = desc
		}
		if set["comment"] {
			c = comment
		}
		b, err := hub.Amend(ctx, *hubName, *appt, d, c)
		if err != nil {
			return fmt.Errorf("amending %s: %w", *appt, err)
		}
		if err := show(b, "amended"); err != nil || *asJSON {
			return err
		}
		// The one line shows the description, not the comment: show both
		// as the practice now holds them, so the change can be seen.
		fmt.Fprintf(stdout, "  description: %q\n  comment: %q\n", b.Appointment.Description, b.Appointment.Comment)
	case "cancel":
		if *appt == "" || *reason == "" {
			return errors.New("book cancel: --appointment and --reason are required")
		}
		b, err := hub.Cancel(ctx, *hubName, *appt, *reason)
		if err != nil {
			return fmt.Errorf("cancelling %s: %w", *appt, err)
		}
		if b.AlreadyCancelled {
			return show(b, "already cancelled (nothing was sent; its first reason stands):")
		}
		return show(b, "cancelled")
	case "list":
		if *patient == "" {
			return errors.New("book list: --patient is required")
		}
		// Resolved here too, to show the range actually asked for.
		if from, to, err = hub.ListRange(from, to); err != nil {
			return fmt.Errorf("book list --from/--to: %w", err)
		}
		appts, fails, err := hub.PatientAppointments(ctx, *hubName, *patient, from, to)
		if err != nil {
			return err
		}
		if *asJSON {
			type apptOut struct {
				Ref         string            `json:"ref"`
				ODS         string            `json:"ods"`
				Appointment *fhir.Appointment `json:"appointment"`
			}
			out := struct {
				Appointments []apptOut    `json:"appointments"`
				Failures     []failureOut `json:"failures"`
			}{Appointments: []apptOut{}, Failures: []failureOut{}}
			for _, a := range appts {
				out.Appointments = append(out.Appointments, apptOut{Ref: a.Ref(), ODS: a.ODS, Appointment: a.Appointment})
			}
			for _, f := range fails {
				out.Failures = append(out.Failures, failureOut{ODS: f.ODS, Reason: string(f.Reason), Status: f.Status, Detail: f.Detail})
			}
			if err := writeJSONTo(stdout, out); err != nil {
				return err
			}
			return noneAnswered(ctx, hub, *hubName, fails)
		}
		// Practices return only today's and future appointments (spec §7.4);
		// say so, and show the range actually asked.
		fmt.Fprintf(stdout, "%s for %s across hub %s, %s to %s (practices return only today's and future appointments)\n",
			plural(len(appts), "appointment", "appointments"), *patient, *hubName, scheduling.FormatDate(from), scheduling.FormatDate(to))
		for _, a := range appts {
			fmt.Fprintln(stdout, "  "+federation.Describe(a.ODS, a.Appointment))
		}
		for _, f := range fails {
			fmt.Fprintln(stdout, "  failed: "+f.String())
		}
		return noneAnswered(ctx, hub, *hubName, fails)
	}
	return nil
}

// noneAnswered is the error of a patient's appointment list that every
// member practice failed: as with a slot search, an outage must not read
// as "no appointments" to a script checking the exit status.
func noneAnswered(ctx context.Context, hub *federation.Hub, hubName string, fails []federation.Failure) error {
	if len(fails) == 0 {
		return nil
	}
	h, err := hub.Dir.HubByName(ctx, hubName)
	if err != nil || len(fails) < len(h.Members) {
		return nil
	}
	return fmt.Errorf("no practice of hub %s answered (%d failed)", hubName, len(fails))
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbConfig
	db.register(fs)
	n := fs.Int("practices", 50, "how many practices")
	latency := fs.Duration("latency", 60*time.Millisecond, "median added latency per request")
	jitter := fs.String("jitter", "lognormal", "latency distribution: none, lognormal or uniform")
	sigma := fs.Float64("sigma", 0.5, "lognormal shape")
	fail := fs.String("fail", "0%", "share of requests answered 502/503/504, e.g. 2%")
	hang := fs.String("hang", "0%", "share of requests never answered, e.g. 1%")
	addr := fs.String("addr", "127.0.0.1:0", "listen address (one listener; each practice has its own service root on it)")
	dirFile := fs.String("directory", "sim-directory.json", "directory file to write (for slotbridge directory import)")
	hubName := fs.String("hub", "sim", "hub of every simulated practice, in the directory file")
	doImport := fs.Bool("import", true, "also import the directory and hub into the database (--data/--database), so that slotbridge slots --hub sim works at once")
	days := fs.Int("days", 7, "days of sessions from today")
	minSlots := fs.Int("min-slots", 20, "fewest slots per practice per day")
	maxSlots := fs.Int("max-slots", 100, "most slots per practice per day")
	seed := fs.Uint64("seed", 1, "random seed (practices and faults)")
	cache := fs.Bool("cache-searches", false, "replay each practice's first answer to the same slot search (for hub benchmarks: keeps the providers' CPU out of the figures)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// sim.Start reads a zero as "the default" and an unknown jitter as
	// none; from the command line either is a mistake, not a request.
	if *n < 1 {
		return fmt.Errorf("sim --practices must be 1 or more, not %d", *n)
	}
	if *days < 1 || *minSlots < 1 || *maxSlots < *minSlots {
		return fmt.Errorf("sim: --days and --min-slots must be 1 or more and --max-slots at least --min-slots (got %d, %d, %d)", *days, *minSlots, *maxSlots)
	}
	if err := checkJitter(*jitter); err != nil {
		return fmt.Errorf("sim %w", err)
	}
	failP, err := parsePercent(*fail)
	if err != nil {
		return fmt.Errorf("--fail: %w", err)
	}
	hangP, err := parsePercent(*hang)
	if err != nil {
		return fmt.Errorf("--hang: %w", err)
	}
	t0 := time.Now()
	s, err := sim.Start(ctx, sim.Config{Practices: *n, Days: *days, MinSlots: *minSlots, MaxSlots: *maxSlots, Seed: *seed, Addr: *addr, CacheSearches: *cache,
		Faults: sim.Faults{Latency: *latency, Jitter: *jitter, Sigma: *sigma, Fail: failP, Hang: hangP}})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.WriteDirectory(*dirFile, *hubName); err != nil {
		return err
	}
	if *doImport {
		st, err := db.open(ctx)
		if err != nil {
			return err
		}
		f := s.Directory(*hubName)
		_, _, err = federation.Import(ctx, st, &f)
		if err == nil {
			err = pruneHub(ctx, st, f.Hubs[0])
		}
		st.Close()
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "sim ready: %d practices on %s (%s .. %s), started in %d ms\n", *n, s.URL, s.Endpoints[0].ODS, s.Endpoints[len(s.Endpoints)-1].ODS,
		time.Since(t0).Milliseconds())
	fmt.Fprintf(stdout, "faults: latency %s %s, %.1f%% 5xx, %.1f%% hang; change them with PUT %s%s\n", *latency, *jitter, failP*100, hangP*100, s.URL, sim.ControlPath)
	fmt.Fprintf(stdout, "directory: %s (hub %q)", *dirFile, *hubName)
	if *doImport {
		fmt.Fprintf(stdout, ", imported into the database")
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "patients on the simulated PDS, registered nowhere (book registers them):\n")
	for _, p := range s.Patients {
		fmt.Fprintf(stdout, "  --patient %s --family %s --given %s --gender %s --birth-date %s\n", p.NHSNumber, p.Family, p.Given, p.Gender, p.BirthDate)
	}
	// The hint must find the database the sim imported into.
	where := ""
	if *doImport && db.database == "" && db.data != defaultData {
		where = " --data " + shellQuote(db.data)
	}
	fmt.Fprintf(stdout, "try: slotbridge slots --hub %s%s --start tomorrow --end tomorrow\n", shellQuote(*hubName), where)
	if f, ok := stdout.(interface{ Sync() error }); ok {
		f.Sync()
	}
	<-ctx.Done()
	return nil
}

// simJitters are the latency distributions the simulator draws from.
var simJitters = []string{"none", "lognormal", "uniform"}

// checkJitter refuses a --jitter the simulator does not know: it would
// silently fall back to a fixed latency.
func checkJitter(j string) error {
	if !slices.Contains(simJitters, j) {
		return fmt.Errorf("--jitter %q: want none, lognormal or uniform", j)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell when it holds anything but plain
// path characters, so that a printed command can be pasted as it is.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parsePercent reads a percentage, "2%" or "2", as a fraction.
func parsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("%q: want a percentage such as 2%%", s)
	}
	v /= 100
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("%q: out of range", s)
	}
	return v, nil
}

// pruneHub removes the hub's members that are not in want, so that a hub
// left by an earlier, larger simulation holds only today's practices.
func pruneHub(ctx context.Context, st *store.Store, want federation.DirectoryHub) error {
	h, err := st.HubByName(ctx, want.Name)
	if err != nil {
		return err
	}
	keep := map[string]bool{}
	for _, m := range want.Members {
		keep[m] = true
	}
	var gone []string
	for _, m := range h.Members {
		if !keep[m] {
			gone = append(gone, m)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	return st.RemoveHubMembers(ctx, want.Name, gone)
}
