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
	for flagName, f := range map[string]struct{ v, dst **string }{"sds-id": {&sds, &in.SDSUserID}, "family": {&family, &in.Family}, "gender": {&gender, &in.Gender}} {
		if c.set[flagName] {
			*f.dst = *f.v
		}
	}
	for flagName, f := range map[string]struct {
		v   *string
		dst **[]string
	}{"given": {given, &in.Given}, "prefix": {prefix, &in.Prefix}, "roles": {roles, &in.RoleProfileIDs}} {
		if c.set[flagName] {
			l := splitFlag(*f.v)
			*f.dst = &l
		}
	}
	a := cliActor()
	var ps []admin.Practitioner
	var p admin.Practitioner
	switch sub {
	case "list":
		ps, err = svc.Practitioners(ctx, a, *c.ods)
		if err != nil || *c.asJSON {
			return orJSON(c, ps, err)
		}
	case "get":
		p, err = svc.Practitioner(ctx, a, *c.ods, *id)
	case "create":
		p, err = svc.CreatePractitioner(ctx, a, *c.ods, in)
	case "update":
		p, err = svc.UpdatePractitioner(ctx, a, *c.ods, *id, in)
	}
	if sub != "list" {
		if err != nil || *c.asJSON {
			return orJSON(c, p, err)
		}
		ps = []admin.Practitioner{p}
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
	var lines lineList
	c.opts.Var(&lines, "line", "an address line (give it once per line; on update the lines given replace the old ones)")
	city := c.opts.String("city", "", "town or city")
	postcode := c.opts.String("postcode", "", "postcode")
	fields := []string{"name", "site-code", "phone", "line", "city", "postcode"}
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
	if c.set["line"] || c.set["city"] || c.set["postcode"] {
		// The API replaces the whole address: start from the current one,
		// so that --city alone keeps the lines.
		var addr = admin.Location{}.Address
		if sub == "update" {
			cur, err := svc.Location(ctx, a, *c.ods, *id)
			if err != nil {
				return err
			}
			addr = cur.Address
			// Refused (stale) if the location changes before the write,
			// rather than putting back what another change took out.
			in.Version = &cur.Version
		}
		if c.set["line"] {
			addr.Lines = lines
		}
		if c.set["city"] {
			addr.City = *city
		}
		if c.set["postcode"] {
			addr.PostalCode = *postcode
		}
		in.Address = &addr
	}
	var ls []admin.Location
	var l admin.Location
	switch sub {
	case "list":
		ls, err = svc.Locations(ctx, a, *c.ods)
		if err != nil || *c.asJSON {
			return orJSON(c, ls, err)
		}
	case "get":
		l, err = svc.Location(ctx, a, *c.ods, *id)
	case "create":
		l, err = svc.CreateLocation(ctx, a, *c.ods, in)
	case "update":
		l, err = svc.UpdateLocation(ctx, a, *c.ods, *id, in)
	}
	if sub != "list" {
		if err != nil || *c.asJSON {
			return orJSON(c, l, err)
		}
		ls = []admin.Location{l}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSITE CODE\tPHONE\tADDRESS\tVERSION")
	for _, l := range ls {
		parts := append(append([]string{}, l.Address.Lines...), l.Address.City, l.Address.PostalCode)
		var keep []string
		for _, p := range parts {
			if p != "" {
				keep = append(keep, p)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\n", l.ID, l.Name, orDash(l.SiteCode), orDash(l.Phone), orDash(strings.Join(keep, ", ")), l.Version)
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
	var f, t time.Time
	var err error
	if *from != "" {
		if f, err = admin.ParseTime(*from, false); err != nil {
			return fmt.Errorf("--from: %w", err)
		}
	}
	if *to != "" {
		if t, err = admin.ParseTime(*to, true); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	svc, done, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	a := cliActor()
	var as []admin.Appointment
	var ap admin.Appointment
	switch sub {
	case "list":
		as, err = svc.Appointments(ctx, a, *c.ods, f, t, *session)
		if err != nil || *c.asJSON {
			return orJSON(c, as, err)
		}
	case "get":
		ap, err = svc.Appointment(ctx, a, *c.ods, *id)
	case "cancel":
		ap, err = svc.CancelAppointment(ctx, a, *c.ods, *id, *reason)
	}
	if sub != "list" {
		if err != nil || *c.asJSON {
			return orJSON(c, ap, err)
		}
		as = []admin.Appointment{ap}
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
	var lines lineList
	c.opts.Var(&lines, "line", "an address line (give it once per line)")
	city := c.opts.String("city", "", "town or city")
	postcode := c.opts.String("postcode", "", "postcode")
	c.use(map[string][]string{"create": {"name", "asid", "phone", "line", "city", "postcode"}}[sub]...)
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
			Address: scheduling.Address{Lines: lines, City: *city, PostalCode: *postcode}})
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
