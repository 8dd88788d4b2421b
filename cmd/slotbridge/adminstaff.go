package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// ---- practitioners and locations ----

// lineList is a flag that may be given more than once, one address line each.
type lineList []string

func (l *lineList) String() string { return strings.Join(*l, "; ") }

func (l *lineList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// addressFlags are the address flags of locations and practices.
type addressFlags struct {
	lines          lineList
	city, postcode *string
}

func newAddressFlags(c *adminCmd) *addressFlags {
	f := &addressFlags{}
	c.opts.Var(&f.lines, "line", "an address line (give it once per line; on update the lines given replace the old ones)")
	f.city = c.opts.String("city", "", "town or city")
	f.postcode = c.opts.String("postcode", "", "postcode")
	return f
}

// names are the flags' names, for adminCmd.use.
func (f *addressFlags) names() []string { return []string{"line", "city", "postcode"} }

// given reports whether any address flag was set.
func (f *addressFlags) given(c *adminCmd) bool {
	return c.set["line"] || c.set["city"] || c.set["postcode"]
}

// onto returns a with the parts the flags set replaced.
func (f *addressFlags) onto(c *adminCmd, a scheduling.Address) scheduling.Address {
	if c.set["line"] {
		a.Lines = f.lines
	}
	if c.set["city"] {
		a.City = *f.city
	}
	if c.set["postcode"] {
		a.PostalCode = *f.postcode
	}
	return a
}

// addressText is an address on one line, its empty parts left out.
func addressText(a scheduling.Address) string {
	var keep []string
	for _, p := range append(append([]string{}, a.Lines...), a.City, a.PostalCode) {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ", ")
}

// records runs a list subcommand (list) or one that answers one record
// (one): with --json, or on an error, the answer is written here and
// answered is true; otherwise the records are the caller's to print as a table.
func records[T any](c *adminCmd, sub string, list func() ([]T, error), one func() (T, error)) (rs []T, answered bool, err error) {
	if sub == "list" {
		rs, err = list()
		if err != nil || *c.asJSON {
			return nil, true, orJSON(c, rs, err)
		}
		return rs, false, nil
	}
	r, err := one()
	if err != nil || *c.asJSON {
		return nil, true, orJSON(c, r, err)
	}
	return []T{r}, false, nil
}

func adminPractitioners(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("practitioners "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "practitioner id (get, update)")
	sds := c.opts.String("sds-id", "", "the clinician's SDS user id (create; update to correct it)")
	family := c.opts.String("family", "", "family name")
	given := c.opts.String("given", "", "comma-separated given names")
	prefix := c.opts.String("prefix", "", "comma-separated name prefixes, e.g. Dr")
	gender := c.opts.String("gender", "", "male, female, other or unknown")
	roles := c.opts.String("roles", "", "comma-separated SDS role profile ids")
	fields := []string{"sds-id", "family", "given", "prefix", "gender", "roles"}
	c.use(map[string][]string{"get": {"id"}, "create": fields, "update": append([]string{"id"}, fields...)}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	if (sub == "get" || sub == "update") && *id <= 0 {
		return errors.New("--id is required")
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	var in admin.PractitionerInput
	if c.set["sds-id"] {
		in.SDSUserID = sds
	}
	if c.set["family"] {
		in.Family = family
	}
	if c.set["gender"] {
		in.Gender = gender
	}
	list := func(name string, v *string) *[]string {
		if !c.set[name] {
			return nil
		}
		l := splitFlag(*v)
		return &l
	}
	in.Given, in.Prefix, in.RoleProfileIDs = list("given", given), list("prefix", prefix), list("roles", roles)
	a := cliActor()
	ps, answered, err := records(c, sub, func() ([]admin.Practitioner, error) { return svc.Practitioners(ctx, a, *c.ods) },
		func() (admin.Practitioner, error) {
			switch sub {
			case "create":
				return svc.CreatePractitioner(ctx, a, *c.ods, in)
			case "update":
				return svc.UpdatePractitioner(ctx, a, *c.ods, *id, in)
			}
			return svc.Practitioner(ctx, a, *c.ods, *id)
		})
	if answered {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSDS USER ID\tNAME\tGENDER\tROLE PROFILES\tVERSION")
	for _, p := range ps {
		name := strings.TrimSpace(strings.Join(append(append(append([]string{}, p.Prefix...), p.Given...), p.Family), " "))
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", p.ID, p.SDSUserID, name, orDash(p.Gender), listOrDash(p.RoleProfileIDs), p.Version)
	}
	return tw.Flush()
}

func adminLocations(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("locations "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "location id (get, update)")
	name := c.opts.String("name", "", "the site's name")
	site := c.opts.String("site-code", "", "ODS site code (empty = none)")
	phone := c.opts.String("phone", "", "telephone number")
	addr := newAddressFlags(c)
	fields := append([]string{"name", "site-code", "phone"}, addr.names()...)
	c.use(map[string][]string{"get": {"id"}, "create": fields, "update": append([]string{"id"}, fields...)}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	if (sub == "get" || sub == "update") && *id <= 0 {
		return errors.New("--id is required")
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	var in admin.LocationInput
	if c.set["name"] {
		in.Name = name
	}
	if c.set["site-code"] {
		in.SiteCode = site
	}
	if c.set["phone"] {
		in.Phone = phone
	}
	if addr.given(c) {
		// The API replaces the whole address: start from the current one,
		// so that --city alone keeps the lines.
		var cur scheduling.Address
		if sub == "update" {
			l, err := svc.Location(ctx, a, *c.ods, *id)
			if err != nil {
				return err
			}
			cur = l.Address
			// Refused (stale) if the location changes before the write,
			// rather than putting back what another change took out.
			in.Version = &l.Version
		}
		merged := addr.onto(c, cur)
		in.Address = &merged
	}
	ls, answered, err := records(c, sub, func() ([]admin.Location, error) { return svc.Locations(ctx, a, *c.ods) },
		func() (admin.Location, error) {
			switch sub {
			case "create":
				return svc.CreateLocation(ctx, a, *c.ods, in)
			case "update":
				return svc.UpdateLocation(ctx, a, *c.ods, *id, in)
			}
			return svc.Location(ctx, a, *c.ods, *id)
		})
	if answered {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSITE CODE\tPHONE\tADDRESS\tVERSION")
	for _, l := range ls {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", l.ID, l.Name, orDash(l.SiteCode), orDash(l.Phone), orDash(addressText(l.Address)), l.Version)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ---- appointments ----

func adminAppointments(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("appointments "+sub, stdout, stderr)
	id := c.opts.Int64("id", 0, "appointment id (get, cancel)")
	from := c.opts.String("from", "", "list from this date or dateTime (default today, or the session's start)")
	to := c.opts.String("to", "", "list up to the end of this date, or this dateTime (default 7 days on, or the session's end; at most 31 days)")
	session := c.opts.Int64("session", 0, "list only this session's appointments")
	reason := c.opts.String("reason", "", "why it is cancelled: the booking organisation reads it (cancel)")
	c.use(map[string][]string{"list": {"from", "to", "session"}, "get": {"id"}, "cancel": {"id", "reason"}}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	if sub != "list" && *id <= 0 {
		return errors.New("--id is required")
	}
	f, t, err := admin.ParseRange(*from, *to, "--from", "--to", time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	as, answered, err := records(c, sub, func() ([]admin.Appointment, error) { return svc.Appointments(ctx, a, *c.ods, f, t, *session) },
		func() (admin.Appointment, error) {
			if sub == "cancel" {
				return svc.CancelAppointment(ctx, a, *c.ods, *id, *reason)
			}
			return svc.Appointment(ctx, a, *c.ods, *id)
		})
	if answered {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSTART\tEND\tSESSION\tSLOTS\tNHS NUMBER\tBOOKED BY\tDESCRIPTION")
	for _, ap := range as {
		status := ap.Status
		if ap.CancellationReason != "" {
			status += " (" + ap.CancellationReason + ")"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%v\t%s\t%s\t%s\n", ap.ID, status, ap.Start, ap.End, ap.SessionID, ap.SlotIDs, orDash(ap.NHSNumber), orDash(ap.BookedBy), ap.Description)
	}
	return tw.Flush()
}

// ---- practices (the operator's) ----

func adminPractices(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("practices "+sub, stdout, stderr)
	c.anyPractice = sub == "list"
	name := c.opts.String("name", "", "the practice's name (create)")
	asid := c.opts.String("asid", "", "the practice's Spine ASID, which consumers send as Ssp-To (create)")
	phone := c.opts.String("phone", "", "telephone number")
	addr := newAddressFlags(c)
	c.use(map[string][]string{"create": append([]string{"name", "asid", "phone"}, addr.names()...)}[sub]...)
	if err := c.parse(args); err != nil {
		return err
	}
	if sub == "list" && *c.ods != "" {
		return errors.New("admin practices list takes no --ods: it lists every practice")
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	var ps []admin.Practice
	switch sub {
	case "list":
		ps, err = svc.Practices(ctx, cliActor())
		if err != nil || *c.asJSON {
			return orJSON(c, ps, err)
		}
	case "create":
		var p admin.Practice
		p, err = svc.CreatePractice(ctx, cliActor(), admin.PracticeInput{ODS: *c.ods, Name: *name, ASID: *asid, Phone: *phone,
			Address: addr.onto(c, scheduling.Address{})})
		if err != nil || *c.asJSON {
			return orJSON(c, p, err)
		}
		printPractice(stdout, p)
		fmt.Fprintf(stdout, "next: admin locations create, admin practitioners create, admin profiles create and admin templates create --ods %s;\n"+
			"      admin token create --ods %s for its admins; admin enable --ods %s when it is ready\n", p.ODS, p.ODS, p.ODS)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ODS\tNAME\tASID\tGP CONNECT\tAPPOINTMENTS\tSERVICE FILTERING")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.ODS, p.Name, p.ASID, onOff(p.GPConnectEnabled), onOff(p.AppointmentsEnabled), onOff(p.ServiceFiltering))
	}
	return tw.Flush()
}

// ---- the PDS stand-in (the operator's) ----

func adminPDS(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	c := newAdminCmd("pds "+sub, stdout, stderr)
	c.anyPractice = true
	file := c.opts.String("file", "", "CSV with the header "+strings.Join(scheduling.PDSColumns, ",")+" (the last three optional); - reads stdin")
	c.use("file")
	if err := c.parse(args); err != nil {
		return err
	}
	if *c.ods != "" {
		return errors.New("admin pds import takes no --ods: the PDS stand-in serves every practice")
	}
	if *file == "" {
		return errors.New("--file is required")
	}
	var in io.Reader = os.Stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	people, err := scheduling.ReadPDSCSV(in)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	n, err := svc.ImportPDS(ctx, cliActor(), people)
	if err != nil || *c.asJSON {
		return orJSON(c, map[string]int{"loaded": n}, err)
	}
	fmt.Fprintf(stdout, "loaded %d people into the PDS stand-in (a record with the same NHS number was replaced)\n", n)
	return nil
}
