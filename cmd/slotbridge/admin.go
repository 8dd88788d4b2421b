package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/jsonapi"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func init() {
	registerMount("/admin/api/", func(env mountEnv) (http.Handler, error) {
		svc := admin.New(env.st)
		svc.Horizon = env.horizon
		svc.Supplier = env.supplier
		return admin.NewHandler(svc, env.log), nil
	})
}

const adminUsage = `slotbridge admin: practice administration (the same rules and audit trail as /admin/api/)

  admin practices list;  admin practices create --ods X --name NAME --asid ASID [--phone P --line L --city C --postcode PC]
                 (the operator's: a new practice starts with its switches off; add its locations, practitioners,
                 profiles and templates, give its admins a token, then admin enable it)
  admin pds import --file people.csv                 the operator's: load the local PDS stand-in that patient
                 registration checks against (nhs_number,family,given,gender,birth_date[,deceased,sensitive,superseded])
  admin token create --ods A20047 [--label NAME]     prints a new admin API token once
  admin token list|revoke --ods A20047 [--id N]
  admin profiles list|get|create|update|delete --ods X [--id N] [--name N] [--bookable=true] [--org-types urgent-care,gp-practice]
                 [--ods-codes A81001,B82002] [--cap N] [--window 14d] [--embargo 2h] [--release-time 08:00 --release-days 1]
                 delete is refused while any template, session or slot (past ones too) refers to the profile
  admin services list|get|create|update|delete --ods X [--id N] [--dos-id ID] [--name NAME]
                 healthcare services listed in DOS (service filtering, GP Connect 1.2.8); delete is refused while
                 any template, session or appointment refers to the service
  admin practitioners list|get|create|update --ods X [--id N] [--sds-id ID --family NAME --given A,B --prefix Dr --gender female
                 --roles PT1234]   the clinicians templates and sessions name; kept for the record, never deleted
  admin locations list|get|create|update --ods X [--id N] [--name NAME --site-code Z12345 --phone '0113 496 0000'
                 --line '1 High Street' --line ... --city Leeds --postcode LS1 4AP]   the practice's sites, never deleted
  admin templates list|get|create|update|end --ods X [--id N] [--name N --weekday mon --start 09:00 --end 12:00 --slot-minutes 15
                 --location ID --practitioner ID --role R0260 --category TEXT --type TEXT --channels In-person --profile ID]
                 [--service ID] [--active]      (0 = no service; a new --service relinks the sessions not yet started
                 that are on the old one). A shape change remakes future sessions but keeps, listing why, those
                 holding bookings or edited by hand (blocked, own profile or service, slots blocked or with their own
                 profile); end keeps only those holding bookings
  admin sessions list --ods X [--from DATE --to DATE];  admin sessions get --ods X --id N
  admin sessions add --ods X --date 2026-12-01 --start 09:00 --end 12:00 --slot-minutes 15 --location ID [--practitioner ID]
                 --role R0260 --category TEXT --type TEXT --channels In-person --profile ID [--service ID]
  admin sessions block|unblock|cancel --ods X --id N;  admin sessions profile --ods X --id N --profile P
  admin sessions service --ods X --id N --service S   (0 = none; its appointments keep the service they were booked under)
  admin slots list --ods X --session N;  admin slots get|block|unblock --ods X --id N;  admin slots profile --ods X --id N --profile P
                 there is no slot cancel: a free slot is withdrawn by blocking it, and unblock offers it again;
                 blocking a booked one is refused (admin appointments cancel first); a whole session has sessions cancel
  admin appointments list --ods X [--from DATE --to DATE | --session N];  admin appointments get --ods X --id N
  admin appointments cancel --ods X --id N --reason TEXT   the practice cancels (a clinician off sick): the slots
                 are freed (blocked again if the session is), the booker reads the reason; then block or cancel the session
  admin status --ods X                               the practice's switches, changing nothing
  admin enable|disable --ods X [--switch all|gp_connect|appointments|service_filtering]
                 all = GP Connect and Appointment Management; service filtering is switched only by name, e.g.
                 admin enable --ods X --switch service_filtering. The service_filtering_status it prints (--json)
                 reads the supplier switch from SLOTBRIDGE_SERVICE_FILTERING, as serve --service-filtering does.
  admin explain --ods X [--org-type urgent-care] [--consumer-ods Y] [--dos-id D] --start DATE|DATETIME --end DATE|DATETIME [--now DATETIME]
  admin audit --ods X [--limit 50]

Every command takes --data DIR or --database URL, and --json for JSON output; each one's --help lists the flags
it reads. Template changes (templates create, update, end) materialise sessions --horizon-weeks ahead (default
SLOTBRIDGE_HORIZON_WEEKS, else 6), and at least as far as the changed template's sessions reached: give the
server's setting.
`

// adminCmd is one admin subcommand's flags and output.
type adminCmd struct {
	fs     *flag.FlagSet
	db     dbConfig
	ods    *string
	asJSON *bool
	out    io.Writer
	set    map[string]bool
	// anyPractice is set for an operator's command over every practice (admin practices list), which takes no --ods.
	anyPractice bool
	// opts holds every flag of a command group (profiles, sessions, ...);
	// use moves those one subcommand reads into fs, so that its --help
	// lists them alone and the others are refused rather than ignored.
	opts *flag.FlagSet
	// horizon is how far ahead a template change materialises sessions:
	// the server's own setting (SLOTBRIDGE_HORIZON_WEEKS or
	// --horizon-weeks). Nil for the commands that change no template.
	horizon func() (time.Duration, error)
}

func newAdminCmd(name string, stdout, stderr io.Writer) *adminCmd {
	c := &adminCmd{fs: flag.NewFlagSet("admin "+name, flag.ContinueOnError), out: stdout,
		opts: flag.NewFlagSet("admin "+name, flag.ContinueOnError)}
	c.fs.SetOutput(stderr)
	c.db.register(c.fs)
	c.ods = c.fs.String("ods", "", "practice ODS code (required)")
	c.asJSON = c.fs.Bool("json", false, "print JSON")
	return c
}

// use gives the subcommand the flags of opts it reads, by name, and with
// "horizon-weeks" the server's horizon setting.
func (c *adminCmd) use(names ...string) {
	for _, n := range names {
		if n == "horizon-weeks" {
			c.horizon = horizonFlag(c.fs, "weeks of sessions a template change materialises ahead; use the server's setting")
			continue
		}
		f := c.opts.Lookup(n)
		if f == nil {
			panic("admin: no flag --" + n) // a mistake in this file, caught by its tests
		}
		c.fs.Var(f.Value, f.Name, f.Usage)
	}
}

func (c *adminCmd) parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		return err
	}
	if c.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", c.fs.Arg(0))
	}
	if *c.ods == "" && !c.anyPractice {
		return errors.New("--ods is required")
	}
	c.set = map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	return nil
}

// The admin commands act on a practice that must already be in the
// database: a mistyped --data is an error, not a fresh empty database.
func (c *adminCmd) open(ctx context.Context) (*admin.Service, func(), error) {
	st, err := c.db.openExisting(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc := admin.New(st)
	if c.horizon != nil {
		if svc.Horizon, err = c.horizon(); err != nil {
			st.Close()
			return nil, nil, err
		}
	}
	if svc.Supplier, err = supplierFromEnv(); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("SLOTBRIDGE_SERVICE_FILTERING: %w", err)
	}
	return svc, func() { st.Close() }, nil
}

// cliActor names the person at the terminal in the audit trail.
func cliActor() admin.Actor {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return admin.Actor{Name: "cli:" + name}
}

func (c *adminCmd) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cliError(adminCommand(ctx, args, stdout, stderr))
}

// cliFieldNames turns the API's field names in the admin service's
// messages into the CLI's flags where the two differ: the service words
// its refusals once, for both, and at the terminal "--release-days needs a
// --release-time" is what the user can act on.
var cliFieldNames = strings.NewReplacer("release_days_before", "--release-days", "release_time", "--release-time",
	"service_id", "--service", "dos_id", "--dos-id", "ods_codes", "--ods-codes", "org_types", "--org-types", "sds_user_id", "--sds-id",
	"role_profile_ids", "--roles", "site_code", "--site-code", "address.lines", "--line", "address.postalCode", "--postcode",
	"address.city", "--city")

// cliError is err with its message in the CLI's words (see cliFieldNames).
// Only the service's own error is reworded: a wrapped one keeps the
// context it was wrapped with.
func cliError(err error) error {
	e, ok := err.(*scheduling.Error)
	if !ok {
		return err
	}
	cp := *e
	cp.Message = cliFieldNames.Replace(e.Message)
	return &cp
}

// adminCommand runs one admin command.
func adminCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, adminUsage)
		if len(args) == 0 {
			return flag.ErrHelp
		}
		return nil
	}
	group, rest := args[0], args[1:]
	sub := ""
	if subs, ok := adminSubcommands[group]; ok {
		if len(rest) == 0 {
			fmt.Fprint(stderr, adminUsage)
			return fmt.Errorf("admin %s needs a subcommand", group)
		}
		sub, rest = rest[0], rest[1:]
		if sub == "help" || sub == "-h" || sub == "--help" {
			fmt.Fprint(stdout, adminUsage)
			return nil
		}
		if group == "slots" && sub == "cancel" {
			return errors.New(`there is no "admin slots cancel": a slot is withdrawn by blocking it (admin slots block --ods X --id N)`)
		}
		if !slices.Contains(subs, sub) {
			return fmt.Errorf("unknown command \"admin %s %s\" (admin %s takes %s)", group, sub, group, strings.Join(subs, ", "))
		}
	}
	switch group {
	case "token":
		return adminToken(ctx, sub, rest, stdout, stderr)
	case "profiles":
		return adminProfiles(ctx, sub, rest, stdout, stderr)
	case "services":
		return adminServices(ctx, sub, rest, stdout, stderr)
	case "practitioners":
		return adminPractitioners(ctx, sub, rest, stdout, stderr)
	case "locations":
		return adminLocations(ctx, sub, rest, stdout, stderr)
	case "appointments":
		return adminAppointments(ctx, sub, rest, stdout, stderr)
	case "practices":
		return adminPractices(ctx, sub, rest, stdout, stderr)
	case "pds":
		return adminPDS(ctx, sub, rest, stdout, stderr)
	case "templates":
		return adminTemplates(ctx, sub, rest, stdout, stderr)
	case "sessions":
		return adminSessions(ctx, sub, rest, stdout, stderr)
	case "slots":
		return adminSlots(ctx, sub, rest, stdout, stderr)
	case "enable", "disable":
		return adminSwitch(ctx, group == "enable", rest, stdout, stderr)
	case "status":
		return adminStatus(ctx, rest, stdout, stderr)
	case "explain":
		return adminExplain(ctx, rest, stdout, stderr)
	case "audit":
		return adminAudit(ctx, rest, stdout, stderr)
	}
	fmt.Fprint(stderr, adminUsage)
	return fmt.Errorf("unknown admin command %q", group)
}

// adminSubcommands lists the subcommands of each command group: runAdmin
// refuses any other, and a test holds adminUsage to the list.
var adminSubcommands = map[string][]string{
	"token":         {"create", "list", "revoke"},
	"profiles":      {"list", "get", "create", "update", "delete"},
	"services":      {"list", "get", "create", "update", "delete"},
	"practitioners": {"list", "get", "create", "update"},
	"locations":     {"list", "get", "create", "update"},
	"appointments":  {"list", "get", "cancel"},
	"practices":     {"list", "create"},
	"pds":           {"import"},
	"templates":     {"list", "get", "create", "update", "end"},
	"sessions":      {"list", "get", "add", "block", "unblock", "cancel", "profile", "service"},
	"slots":         {"list", "get", "block", "unblock", "profile"},
}

// ---- tokens ----

func adminToken(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("token "+sub, stdout, stderr)
	label := c.opts.String("label", "", "what the token is for (create)")
	id := c.opts.Int64("id", 0, "token id (revoke)")
	c.use(map[string][]string{"create": {"label"}, "revoke": {"id"}}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	switch sub {
	case "create":
		tok, t, err := svc.CreateToken(ctx, a, *c.ods, *label)
		if err != nil {
			return err
		}
		if *c.asJSON {
			return c.printJSON(map[string]any{"token": tok, "id": t.ID, "ods": t.ODS, "label": t.Label})
		}
		fmt.Fprintln(stdout, tok)
		fmt.Fprintf(stderr, "admin token %d for %s created; it is shown only now. Use it as: Authorization: Bearer <token>\n", t.ID, t.ODS)
		return nil
	case "list":
		ts, err := svc.Tokens(ctx, a, *c.ods)
		if err != nil || *c.asJSON {
			return orJSON(c, ts, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLABEL\tCREATED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%v\n", t.ID, t.Label, t.Created, t.Revoked)
		}
		return tw.Flush()
	default:
		if *id <= 0 {
			return errors.New("--id is required")
		}
		if err := svc.RevokeToken(ctx, a, *c.ods, *id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %d revoked\n", *id)
		return nil
	}
}

// orJSON prints v as JSON, or with --json an error as the admin API's error body.
func orJSON(c *adminCmd, v any, err error) error {
	if err != nil {
		err = cliError(err)
		if *c.asJSON {
			// The API's error body on stdout for programs; the message still
			// goes to stderr and the exit status is 1.
			c.printJSON(jsonapi.Error{Message: scheduling.ErrorMessage(err), Code: string(scheduling.ErrorCode(err))})
		}
		return err
	}
	return c.printJSON(v)
}

// ---- profiles ----

func adminProfiles(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("profiles "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "profile id (get, update, delete)")
	name := c.opts.String("name", "", "profile name")
	bookable := c.opts.Bool("bookable", true, "GP Connect bookable")
	orgTypes := c.opts.String("org-types", "", "comma-separated organisation types (gp-practice, urgent-care); empty = no restriction")
	odsCodes := c.opts.String("ods-codes", "", "comma-separated consumer ODS codes; empty = no restriction")
	capN := c.opts.Int("cap", 0, "most slots consumers may hold booked under the profile (0 = no cap)")
	window := c.opts.String("window", "", "booking window: how far ahead slots may be booked, e.g. 14d (0 = no limit)")
	embargo := c.opts.String("embargo", "", "embargo: how close to the start slots may still be booked, e.g. 2h (0 = none)")
	relTime := c.opts.String("release-time", "", "release slots at this local time (HH:MM; empty = no release rule)")
	relDays := c.opts.Int("release-days", 0, "release that many days before the slot's day")
	fields := []string{"name", "bookable", "org-types", "ods-codes", "cap", "window", "embargo", "release-time", "release-days"}
	c.use(map[string][]string{"get": {"id"}, "create": fields, "update": append([]string{"id"}, fields...), "delete": {"id"}}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	var in admin.ProfileInput
	if c.set["name"] {
		in.Name = name
	}
	if c.set["bookable"] {
		in.Bookable = bookable
	}
	if c.set["org-types"] {
		l := splitFlag(*orgTypes)
		in.OrgTypes = &l
	}
	if c.set["ods-codes"] {
		l := splitFlag(*odsCodes)
		in.ODSCodes = &l
	}
	if c.set["cap"] {
		in.Cap = capN
	}
	for _, f := range []struct {
		name string
		val  string
		dst  **admin.Span
	}{{"window", *window, &in.BookingWindow}, {"embargo", *embargo, &in.Embargo}} {
		if c.set[f.name] {
			sp, err := admin.ParseSpan(f.val)
			if err != nil {
				return fmt.Errorf("--%s: %w", f.name, err)
			}
			*f.dst = &sp
		}
	}
	if c.set["release-time"] {
		in.ReleaseTime = relTime
	}
	if c.set["release-days"] {
		in.ReleaseDaysBefore = relDays
	}
	var ps []admin.Profile
	switch sub {
	case "list":
		ps, err = svc.Profiles(ctx, a, *c.ods)
	case "get":
		var p admin.Profile
		p, err = svc.Profile(ctx, a, *c.ods, *id)
		ps = []admin.Profile{p}
	case "create":
		var p admin.Profile
		p, err = svc.CreateProfile(ctx, a, *c.ods, in)
		ps = []admin.Profile{p}
	case "update":
		if *id <= 0 {
			return errors.New("--id is required")
		}
		var p admin.Profile
		p, err = svc.UpdateProfile(ctx, a, *c.ods, *id, in)
		ps = []admin.Profile{p}
	case "delete":
		if *id <= 0 {
			return errors.New("--id is required")
		}
		var p admin.Profile
		p, err = svc.DeleteProfile(ctx, a, *c.ods, *id)
		if err == nil && !*c.asJSON {
			fmt.Fprintf(stdout, "access profile %d (%q) deleted\n", p.ID, p.Name)
			return nil
		}
		ps = []admin.Profile{p}
	}
	if err != nil || *c.asJSON {
		if sub != "list" && err == nil {
			return c.printJSON(ps[0])
		}
		return orJSON(c, ps, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tBOOKABLE\tORG TYPES\tODS CODES\tCAP\tBOOKED\tWINDOW\tEMBARGO\tRELEASE\tVERSION")
	for _, p := range ps {
		rel := "-"
		if p.ReleaseTime != "" {
			rel = fmt.Sprintf("%s, %d day(s) before", p.ReleaseTime, p.ReleaseDaysBefore)
		}
		fmt.Fprintf(tw, "%d\t%s\t%v\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%d\n", p.ID, p.Name, p.Bookable, listOrDash(p.OrgTypes), listOrDash(p.ODSCodes),
			p.Cap, p.Booked, p.BookingWindow, p.Embargo, rel, p.Version)
	}
	return tw.Flush()
}

// splitFlag reads a comma-separated list flag. An empty value is the empty
// list (clearing it); otherwise every item is passed on trimmed, blanks
// included, so that the service's own rules judge them as they judge the
// API's: "--ods-codes ," must not clear a restriction by dropping its blanks.
func splitFlag(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	out := strings.Split(s, ",")
	for i, v := range out {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

func listOrDash(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ",")
}

// ---- healthcare services ----

func adminServices(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("services "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "service id (get, update, delete)")
	dosID := c.opts.String("dos-id", "", "the service's DOS id (create; update to change it)")
	name := c.opts.String("name", "", "the service's name (create; update to change it)")
	c.use(map[string][]string{"get": {"id"}, "create": {"dos-id", "name"}, "update": {"id", "dos-id", "name"}, "delete": {"id"}}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	if sub != "list" && sub != "create" && *id <= 0 {
		return errors.New("--id is required")
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	var in admin.ServiceInput
	if c.set["dos-id"] {
		in.DOSID = dosID
	}
	if c.set["name"] {
		in.Name = name
	}
	hs, answered, err := records(c, sub, func() ([]admin.HealthcareService, error) { return svc.HealthcareServices(ctx, a, *c.ods) },
		func() (admin.HealthcareService, error) {
			switch sub {
			case "create":
				return svc.CreateHealthcareService(ctx, a, *c.ods, in)
			case "update":
				return svc.UpdateHealthcareService(ctx, a, *c.ods, *id, in)
			case "delete":
				return svc.DeleteHealthcareService(ctx, a, *c.ods, *id)
			}
			return svc.HealthcareService(ctx, a, *c.ods, *id)
		})
	if answered {
		return err
	}
	if sub == "delete" {
		fmt.Fprintf(stdout, "healthcare service %d (DOS id %s, %q) deleted\n", hs[0].ID, hs[0].DOSID, hs[0].Name)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDOS ID\tNAME\tTEMPLATES\tVERSION")
	for _, h := range hs {
		tpl := "-"
		if len(h.TemplateIDs) > 0 {
			tpl = fmt.Sprint(h.TemplateIDs)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", h.ID, h.DOSID, h.Name, tpl, h.Version)
	}
	return tw.Flush()
}

// ---- templates ----

func adminTemplates(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("templates "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "template id (get, update, end)")
	name := c.opts.String("name", "", "template name")
	weekday := c.opts.String("weekday", "", "day of the week (mon..sun)")
	start := c.opts.String("start", "", "start, HH:MM UK local time")
	end := c.opts.String("end", "", "end, HH:MM UK local time")
	slotMin := c.opts.Int("slot-minutes", 0, "slot length in minutes")
	loc := c.opts.Int64("location", 0, "location id")
	prac := c.opts.Int64("practitioner", 0, "practitioner id (0 = none)")
	role := c.opts.String("role", "", "practitioner role code (GPConnect-PractitionerRole-1), e.g. R0260")
	cat := c.opts.String("category", "", "schedule type (Schedule.serviceCategory)")
	typ := c.opts.String("type", "", "slot type (Slot.serviceType)")
	channels := c.opts.String("channels", "", "comma-separated delivery channels (In-person, Telephone, Video)")
	profile := c.opts.Int64("profile", 0, "access profile id")
	service := c.opts.Int64("service", 0, "healthcare service id (0 = none); a change relinks the sessions not yet started that are on the old one")
	active := c.opts.Bool("active", true, "whether the template makes sessions")
	shape := []string{"name", "weekday", "start", "end", "slot-minutes", "location", "practitioner", "role", "category", "type", "channels",
		"profile", "service", "active", "horizon-weeks"}
	c.use(map[string][]string{"get": {"id"}, "create": shape, "update": append([]string{"id"}, shape...), "end": {"id", "horizon-weeks"}}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	var in admin.TemplateInput
	strs := map[string]struct {
		v   *string
		dst **string
	}{"name": {name, &in.Name}, "weekday": {weekday, &in.Weekday}, "start": {start, &in.Start}, "end": {end, &in.End},
		"role": {role, &in.Role}, "category": {cat, &in.ServiceCategory}, "type": {typ, &in.ServiceType}}
	for k, f := range strs {
		if c.set[k] {
			*f.dst = f.v
		}
	}
	ids := map[string]struct {
		v   *int64
		dst **int64
	}{"location": {loc, &in.LocationID}, "practitioner": {prac, &in.PractitionerID}, "profile": {profile, &in.AccessProfileID},
		"service": {service, &in.ServiceID}}
	for k, f := range ids {
		if c.set[k] {
			*f.dst = f.v
		}
	}
	if c.set["slot-minutes"] {
		in.SlotMinutes = slotMin
	}
	if c.set["channels"] {
		l := splitFlag(*channels)
		in.Channels = &l
	}
	if c.set["active"] {
		in.Active = active
	}
	var ch admin.TemplateChange
	switch sub {
	case "list":
		ts, err := svc.Templates(ctx, a, *c.ods)
		if err != nil || *c.asJSON {
			return orJSON(c, ts, err)
		}
		return printTemplates(stdout, ts)
	case "get":
		if *id <= 0 {
			return errors.New("--id is required")
		}
		t, err := svc.Template(ctx, a, *c.ods, *id)
		if err != nil || *c.asJSON {
			return orJSON(c, t, err)
		}
		return printTemplates(stdout, []admin.Template{t})
	case "create":
		ch, err = svc.CreateTemplate(ctx, a, *c.ods, in)
	case "update", "end":
		if *id <= 0 {
			return errors.New("--id is required")
		}
		if sub == "end" {
			ch, err = svc.EndTemplate(ctx, a, *c.ods, *id)
		} else {
			ch, err = svc.UpdateTemplate(ctx, a, *c.ods, *id, in)
		}
	}
	if err != nil || *c.asJSON {
		return orJSON(c, ch, err)
	}
	printTemplateChange(stdout, ch)
	return nil
}

func printTemplates(w io.Writer, ts []admin.Template) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tDAY\tTIME\tSLOT\tLOCATION\tPRACTITIONER\tROLE\tCHANNELS\tPROFILE\tSERVICE\tACTIVE\tVERSION")
	for _, t := range ts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s-%s\t%dm\t%d\t%d\t%s\t%s\t%d\t%d\t%v\t%d\n", t.ID, t.Name, t.Weekday, t.Start, t.End, t.SlotMinutes,
			t.LocationID, t.PractitionerID, t.Role, strings.Join(t.Channels, ","), t.AccessProfileID, t.ServiceID, t.Active, t.Version)
	}
	return tw.Flush()
}

// printTemplateChange says what a template change did, and why each kept
// session was kept, so that an admin can tell a booked day from one the
// practice edited and decide what to do with it.
func printTemplateChange(w io.Writer, ch admin.TemplateChange) {
	t := ch.Template
	fmt.Fprintf(w, "template %d %q: %s %s-%s, %d-minute slots, service %d, active %v (version %d)\n", t.ID, t.Name, t.Weekday, t.Start, t.End,
		t.SlotMinutes, t.ServiceID, t.Active, t.Version)
	// An ended template retires hand-edited sessions too; only an active one keeps them.
	retired := "no bookings"
	if t.Active {
		retired = "no bookings, not edited by hand"
	}
	made := fmt.Sprint(ch.Created)
	if ch.ToppedUp > 0 {
		made += fmt.Sprintf(" (%d for this template; %d for the practice's other templates, topped up to the horizon)", ch.Created-ch.ToppedUp, ch.ToppedUp)
	}
	fmt.Fprintf(w, "sessions made: %s; retired (%s): %v\n", made, retired, ch.Retired)
	for _, s := range ch.Kept {
		fmt.Fprintf(w, "kept session %d at %s (%s)", s.ID, s.Start, s.KeptText())
		if len(s.AppointmentIDs) > 0 {
			fmt.Fprintf(w, ": appointments %v", s.AppointmentIDs)
		}
		fmt.Fprintln(w, "; cancel, block or edit it by hand if needed")
	}
}

// ---- sessions and slots ----

func adminSessions(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("sessions "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "session id (get, block, unblock, cancel, profile, service)")
	from := c.opts.String("from", "", "list from this date or dateTime (default today)")
	to := c.opts.String("to", "", "list up to the end of this date, or this dateTime (default 14 days on)")
	var in admin.SessionInput
	c.opts.StringVar(&in.Date, "date", "", "date of a one-off session (YYYY-MM-DD)")
	c.opts.StringVar(&in.Start, "start", "", "start, HH:MM UK local time")
	c.opts.StringVar(&in.End, "end", "", "end, HH:MM UK local time")
	c.opts.IntVar(&in.SlotMinutes, "slot-minutes", 0, "slot length in minutes")
	c.opts.Int64Var(&in.LocationID, "location", 0, "location id")
	c.opts.Int64Var(&in.PractitionerID, "practitioner", 0, "practitioner id (0 = none)")
	c.opts.StringVar(&in.Role, "role", "", "practitioner role code, e.g. R0260")
	c.opts.StringVar(&in.ServiceCategory, "category", "", "schedule type")
	c.opts.StringVar(&in.ServiceType, "type", "", "slot type")
	channels := c.opts.String("channels", "", "comma-separated delivery channels")
	c.opts.Int64Var(&in.AccessProfileID, "profile", 0, "access profile id")
	c.opts.Int64Var(&in.ServiceID, "service", 0, "healthcare service id (add, service; 0 = none)")
	c.use(map[string][]string{"list": {"from", "to"}, "get": {"id"}, "add": {"date", "start", "end", "slot-minutes", "location", "practitioner", "role", "category",
		"type", "channels", "profile", "service"}, "block": {"id"}, "unblock": {"id"}, "cancel": {"id"}, "profile": {"id", "profile"},
		"service": {"id", "service"}}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	in.Channels = splitFlag(*channels)
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	switch sub {
	case "list":
		today := scheduling.LocalMidnight(svc.Now())
		f, t, err := admin.ParseRange(*from, *to, "--from", "--to", today, scheduling.AddDaysLocal(today, 14))
		if err != nil {
			return err
		}
		ss, err := svc.Sessions(ctx, a, *c.ods, f, t)
		if err != nil || *c.asJSON {
			return orJSON(c, ss, err)
		}
		return printSessions(stdout, ss)
	case "add":
		s, err := svc.AddSession(ctx, a, *c.ods, in)
		if err != nil || *c.asJSON {
			return orJSON(c, s, err)
		}
		return printSessions(stdout, []admin.Session{s})
	}
	if *id <= 0 {
		return errors.New("--id is required")
	}
	if sub == "get" {
		s, err := svc.Session(ctx, a, *c.ods, *id)
		if err != nil || *c.asJSON {
			return orJSON(c, s, err)
		}
		return printSessions(stdout, []admin.Session{s})
	}
	var ch admin.SessionChange
	switch sub {
	case "block":
		ch, err = svc.BlockSession(ctx, a, *c.ods, *id)
	case "unblock":
		ch, err = svc.UnblockSession(ctx, a, *c.ods, *id)
	case "cancel":
		ch, err = svc.CancelSession(ctx, a, *c.ods, *id)
	case "profile":
		if in.AccessProfileID <= 0 {
			return errors.New("--profile is required")
		}
		ch, err = svc.SetSessionProfile(ctx, a, *c.ods, *id, in.AccessProfileID)
	case "service":
		// Required even to unlink (--service 0), so a forgotten flag never unlinks.
		if !c.set["service"] {
			return errors.New("--service is required (0 unlinks the session)")
		}
		ch, err = svc.SetSessionService(ctx, a, *c.ods, *id, in.ServiceID)
	}
	if err != nil || *c.asJSON {
		return orJSON(c, ch, err)
	}
	if sub == "service" {
		fmt.Fprintf(stdout, "session %d: healthcare service %d (0 = none)\n", *id, ch.Session.ServiceID)
	} else {
		fmt.Fprintf(stdout, "%s session %d: %d slot(s) changed\n", sub, *id, ch.Changed)
	}
	if len(ch.KeptBooked) > 0 {
		fmt.Fprintf(stdout, "booked appointments left untouched: %v\n", ch.KeptBooked)
	}
	return printSessions(stdout, []admin.Session{ch.Session})
}

func printSessions(w io.Writer, ss []admin.Session) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTART\tEND\tSTATUS\tLOCATION\tPRACTITIONER\tPROFILE\tSERVICE\tTEMPLATE\tFREE\tBOOKED\tBLOCKED\tAPPOINTMENTS")
	for _, s := range ss {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%v\n", s.ID, s.Start, s.End, s.Status, s.LocationID, s.PractitionerID,
			s.AccessProfileID, s.ServiceID, s.TemplateID, s.Free, s.Booked, s.Blocked, s.AppointmentIDs)
	}
	return tw.Flush()
}

func adminSlots(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("slots "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "slot id")
	profile := c.opts.Int64("profile", 0, "access profile id (profile)")
	session := c.opts.Int64("session", 0, "session id (list: its slots)")
	c.use(map[string][]string{"list": {"session"}, "get": {"id"}, "block": {"id"}, "unblock": {"id"}, "profile": {"id", "profile"}}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	if sub == "list" {
		if *session <= 0 {
			return errors.New("--session is required (admin sessions list shows their ids)")
		}
		svc, done, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer done()
		sl, err := svc.SessionSlots(ctx, cliActor(), *c.ods, *session)
		if err != nil || *c.asJSON {
			return orJSON(c, sl, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSTART\tEND\tSTATUS\tOWN BLOCK\tPROFILE\tCHANNEL\tSLOT TYPE")
		for _, x := range sl {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%v\t%d\t%s\t%s\n", x.ID, x.Start, x.End, x.Status, x.SlotBlocked, x.AccessProfileID, x.DeliveryChannel, x.ServiceType)
		}
		return tw.Flush()
	}
	if *id <= 0 {
		return errors.New("--id is required")
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	var s admin.Slot
	switch sub {
	case "get":
		s, err = svc.Slot(ctx, a, *c.ods, *id)
	case "block":
		s, err = svc.BlockSlot(ctx, a, *c.ods, *id)
	case "unblock":
		s, err = svc.UnblockSlot(ctx, a, *c.ods, *id)
	case "profile":
		if *profile <= 0 {
			return errors.New("--profile is required")
		}
		s, err = svc.SetSlotProfile(ctx, a, *c.ods, *id, *profile)
	}
	if err != nil || *c.asJSON {
		return orJSON(c, s, err)
	}
	status := s.Status
	if s.SlotBlocked {
		status += " (blocked on its own)"
	}
	fmt.Fprintf(stdout, "slot %d (session %d) %s-%s: %s, profile %d, %s\n", s.ID, s.SessionID, s.Start, s.End, status, s.AccessProfileID, s.DeliveryChannel)
	return nil
}

// ---- switches, explain, audit ----

func adminSwitch(ctx context.Context, on bool, args []string, stdout, stderr io.Writer) error {
	verb := map[bool]string{true: "enable", false: "disable"}[on]
	c := newAdminCmd(verb, stdout, stderr)
	which := c.fs.String("switch", "all", "which switch: all (GP Connect and Appointment Management), gp_connect, appointments or service_filtering")
	if err := c.parse(args); err != nil {
		return err
	}
	in, err := admin.SwitchesFor(*which, on)
	if err != nil {
		return err
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	p, err := svc.SetSwitches(ctx, cliActor(), *c.ods, in)
	if err != nil || *c.asJSON {
		return orJSON(c, p, err)
	}
	printPractice(stdout, p)
	fmt.Fprintln(stdout, "running servers pick this up within 2 s")
	return nil
}

// adminStatus shows a practice's switches without changing them.
func adminStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("status", stdout, stderr)
	if err := c.parse(args); err != nil {
		return err
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	p, err := svc.Practice(ctx, cliActor(), *c.ods)
	if err != nil || *c.asJSON {
		return orJSON(c, p, err)
	}
	printPractice(stdout, p)
	return nil
}

// printPractice says which of a practice's switches are on.
func printPractice(w io.Writer, p admin.Practice) {
	// The practice's filtering switch and what consumers get can differ:
	// the supplier switch (SLOTBRIDGE_SERVICE_FILTERING) can hold it off.
	filtering := onOff(p.ServiceFiltering)
	if p.ServiceFiltering && p.ServiceFilteringStatus != scheduling.FilteringEnabled {
		filtering += fmt.Sprintf(" (consumers get %s: the supplier switch holds it off)", p.ServiceFilteringStatus)
	}
	fmt.Fprintf(w, "%s (%s): GP Connect %s, Appointment Management %s, service filtering %s\n",
		p.ODS, p.Name, onOff(p.GPConnectEnabled), onOff(p.AppointmentsEnabled), filtering)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func adminExplain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("explain", stdout, stderr)
	orgType := c.fs.String("org-type", "", "the consumer's organisation type searchFilter (gp-practice, urgent-care; empty = not sent)")
	consumer := c.fs.String("consumer-ods", "", "the consumer's ODS code searchFilter (empty = not sent)")
	start := c.fs.String("start", "", "period start as the consumer's search sends it: YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with the UK offset of that date (+00:00 or +01:00) (required)")
	end := c.fs.String("end", "", "period end: YYYY-MM-DD (the whole day) or a dateTime as --start; at most 14 days after --start (required)")
	nowFlag := c.fs.String("now", "", "explain as at this dateTime (default now)")
	dosID := c.fs.String("dos-id", "", "the DOS service id the consumer sends as service.identifier (empty = not sent)")
	if err := c.parse(args); err != nil {
		return err
	}
	in := admin.ExplainInput{OrgType: *orgType, ConsumerODS: *consumer, DOSID: *dosID}
	var err error
	if in.Start, in.End, err = admin.ParsePeriod(*start, *end, "--start", "--end"); err != nil {
		return err
	}
	if *nowFlag != "" {
		if in.Now, err = admin.ParseTime(*nowFlag, false); err != nil {
			return err
		}
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	ex, err := svc.Explain(ctx, cliActor(), *c.ods, in)
	if err != nil || *c.asJSON {
		return orJSON(c, ex, err)
	}
	return printExplanation(stdout, ex)
}

func printExplanation(w io.Writer, ex *admin.Explanation) error {
	who := "no searchFilter"
	if ex.OrgType != "" || ex.ConsumerODS != "" {
		who = fmt.Sprintf("org type %q, ODS %q", ex.OrgType, ex.ConsumerODS)
	}
	if ex.DOSID != "" {
		who += fmt.Sprintf(", DOS service %s (service filtering %s)", ex.DOSID, ex.ServiceFiltering)
	}
	fmt.Fprintf(w, "Practice %s, consumer: %s\nPeriod %s to %s, as at %s\n\n", ex.Practice, who, ex.Start, ex.End, ex.Now)
	fmt.Fprintf(w, "%d slot(s) in the period; %d offered to this consumer.\n\n", ex.Total, ex.Offered)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REMOVED BY\tSLOTS\t")
	for _, r := range ex.Removed {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", r.Reason, r.Count, r.Label)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ex.Sessions) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SESSION\tTYPE\tSTART\tEND\tCLINICIAN\tLOCATION\tSLOTS\tOFFERED\tREMOVED")
		for _, s := range ex.Sessions {
			var parts []string
			for _, r := range s.Removed {
				parts = append(parts, fmt.Sprintf("%s=%d", r.Reason, r.Count))
			}
			clin := s.Clinician
			if clin == "" {
				clin = "-"
			}
			status := ""
			if s.Status != "active" {
				status = " (" + s.Status + ")"
			}
			fmt.Fprintf(tw, "%d%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", s.ID, status, s.Type, s.Start, s.End, clin, s.Location, s.Total, s.Offered, strings.Join(parts, " "))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, n := range ex.Notes {
		fmt.Fprintln(w, "\nNote:", n)
	}
	return nil
}

func adminAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("audit", stdout, stderr)
	limit := c.fs.Int("limit", 50, "most entries to show")
	if err := c.parse(args); err != nil {
		return err
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	es, err := svc.Audit(ctx, cliActor(), *c.ods, *limit)
	if err != nil || *c.asJSON {
		return orJSON(c, es, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tTARGET\tDETAIL")
	for _, e := range es {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.At, e.Actor, e.Action, e.Target, e.Detail)
	}
	return tw.Flush()
}
