package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/admin"
	"github.com/slotbridge/slotbridge/internal/auth"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

func runToken(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	interaction := fs.String("interaction", "", "interaction ID or short name (e.g. metadata, patient.search, slot.search, appointment.book)")
	ods := fs.String("ods", "", "requesting organisation ODS code (default: the test pack's GPCA0001)")
	aud := fs.String("aud", "", "audience (provider service root URL)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	info, ok := gpconnect.LookupInteraction(*interaction)
	if !ok {
		fmt.Fprintln(stderr, "known interactions:")
		for _, in := range gpconnect.Interactions {
			fmt.Fprintf(stderr, "  %-26s %s\n", in.Short, in.ID)
		}
		if *interaction == "" {
			return errors.New("token: --interaction is required")
		}
		return fmt.Errorf("token: unknown interaction %q", *interaction)
	}
	id := auth.DefaultTestIdentity()
	if *ods != "" {
		for i := range id.Organization.Identifier {
			id.Organization.Identifier[i].Value = *ods
		}
	}
	if *aud != "" {
		id.Audience = *aud
	}
	tok, err := auth.Mint(id, info.Scope, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbConfig
	db.register(fs)
	ods := fs.String("ods", "", "practice ODS code (empty = all)")
	sinceS := fs.String("since", "1h", "how far back: days (7d), a duration (90m, 36h) or both (1d12h)")
	limit := fs.Int("limit", 200, "most records to show")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Admin commands write the same spans ("14d"), and people type days.
	since, err := admin.ParseSpan(*sinceS)
	if err != nil {
		return fmt.Errorf("audit --since: %w", err)
	}
	// ODS codes are upper case in the store and in every service root;
	// "a20047" would match nothing and look like a quiet practice.
	code := strings.ToUpper(strings.TrimSpace(*ods))
	st, err := db.openExisting(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	recs, err := st.AuditRecords(ctx, scheduling.AuditFilter{PracticeODS: code, Since: time.Now().Add(-time.Duration(since)), Limit: *limit})
	if err != nil {
		return err
	}
	// An empty table for a code no practice has would read as "nothing
	// happened there". Requests to an unknown service root are audited
	// under the code they named, so such records are still shown.
	if code != "" && len(recs) == 0 {
		if _, err := st.OrganisationByODS(ctx, code); err != nil {
			return fmt.Errorf("audit --ods: %w", err)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tPRACTICE\tINTERACTION\tSTATUS\tCODE\tTRACE\tFROM\tORG\tUSER\tRESOURCES")
	for _, r := range recs {
		// Every value came from a request: shown, never acted on by the terminal (see cell).
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", scheduling.FormatLocal(r.At), cell(r.PracticeODS), cell(shortInteraction(r.Interaction)),
			r.Status, cell(r.SpineCode), cell(r.TraceID), cell(r.FromASID), cell(r.RequestingOrg), cell(r.RequestingUser), cell(r.ResourceIDs))
	}
	return tw.Flush()
}

func shortInteraction(s string) string {
	if in, ok := gpconnect.LookupInteraction(s); ok {
		return in.Short
	}
	return s
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var db dbConfig
	db.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "migrated (%s)\n", st.Engine())
	return nil
}
