// Command slotbridge is the Slotbridge binary: a multi-practice GP Connect
// Appointment Management provider and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `slotbridge: GP Connect appointments for NHS primary care

Usage:
  slotbridge serve [--addr 127.0.0.1:8080] [--data ./slotbridge-data] [--database postgres://...] [--demo]
  slotbridge token --interaction <id or short name> [--ods CODE]
  slotbridge audit --ods A20047 [--since 1h] [--limit 200]
  slotbridge migrate [--data DIR | --database URL]
  slotbridge admin ...          practice administration (tokens, profiles, sessions, switches, explain)
  slotbridge bench ...          benchmarks (search, book, fanout, all)
  slotbridge hub|directory ...  federation hubs and the endpoint directory
  slotbridge slots|book ...     federated search and booking through a hub
  slotbridge sim ...            a simulated federation of providers on loopback
  slotbridge conformance ...    black-box GP Connect conformance suite against any provider

Environment (most give the default of a flag that the subcommand's --help lists):
  store      SLOTBRIDGE_DATA, SLOTBRIDGE_DATABASE_URL, SLOTBRIDGE_PG_DRIVER, SLOTBRIDGE_PG_CONNS,
             SLOTBRIDGE_PG_READ_CONNS, SLOTBRIDGE_SQLITE_SYNCHRONOUS
  serve      SLOTBRIDGE_ADDR, SLOTBRIDGE_HORIZON_WEEKS, SLOTBRIDGE_SERVICE_FILTERING, SLOTBRIDGE_JWKS,
             SLOTBRIDGE_DEBUG_ADDR, SLOTBRIDGE_HUB_API_TOKEN, SLOTBRIDGE_HUB_ADMIN_TOKEN, SLOTBRIDGE_HUB_LOCAL
  hub        SLOTBRIDGE_CONSUMER_ASID, _ODS, _ORG_NAME, _ORG_TYPE, _PHONE, _DEVICE, _USER, _USER_NAME, _ISSUER;
             SLOTBRIDGE_CONSUMER_CERT, _KEY, _CA; SLOTBRIDGE_SSP_URL;
             SLOTBRIDGE_HUB_CONCURRENCY, _MAX_IN_FLIGHT, _PRACTICE_TIMEOUT, _DEADLINE
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			// An error can carry a practice's diagnostics: shown, not acted on.
			fmt.Fprintln(termWriter{os.Stderr}, "slotbridge:", err)
		}
		os.Exit(1)
	}
}

// run dispatches a subcommand; it is main without the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	err := dispatch(ctx, args, stdout, stderr)
	// A flag set answers -h or --help by printing its usage and returning
	// flag.ErrHelp. Asked for, the usage is the answer and the exit status
	// 0, as for `slotbridge --help`; a bare `slotbridge admin` or
	// `slotbridge bench` also returns ErrHelp, but there the usage stands
	// in for a missing word and stays a failure.
	if errors.Is(err, flag.ErrHelp) && helpAsked(args[1:]) {
		return nil
	}
	return err
}

// helpAsked reports whether args ask for help: -h, -help or --help before
// any "--", or "help" as the first word.
func helpAsked(args []string) bool {
	for i, a := range args {
		if a == "--" {
			return false
		}
		if i == 0 && a == "help" {
			return true
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			return true
		}
	}
	return false
}

// parseFlags parses args into fs and refuses any positional word. The flag
// package stops at the first word that is not a flag and leaves the rest
// unparsed, so without this `serve demo --addr X` would start with --addr
// and every later flag silently at its default.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags start with --)", fs.Name(), fs.Arg(0))
	}
	return nil
}

// dispatch runs the subcommand args[0].
func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "token":
		return runToken(args[1:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], stdout, stderr)
	case "admin":
		return runAdmin(ctx, args[1:], stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], stdout, stderr)
	case "hub":
		return runHub(ctx, args[1:], stdout, stderr)
	case "directory":
		return runDirectory(ctx, args[1:], stdout, stderr)
	case "slots":
		return runSlots(ctx, args[1:], stdout, stderr)
	case "book":
		return runBook(ctx, args[1:], stdout, stderr)
	case "sim":
		return runSim(ctx, args[1:], stdout, stderr)
	case "conformance":
		return runConformance(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
