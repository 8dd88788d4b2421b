package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/slotbridge/slotbridge/internal/bench"
	"github.com/slotbridge/slotbridge/internal/store"
)

const benchUsage = `Usage: slotbridge bench search|book|fanout|all [flags]

  search   slot search over loopback HTTP (100 and 5,000 slots, c=1 and c=32) beside its floors
  book     bookings over loopback HTTP (8 and 32 clients) beside the raw booking transaction
  fanout   federated fan-out over simulated federations (50, 200, 500 practices) beside the slowest practice
  all      all of the above, one table
  gen      only generate (or check) the data set, so a later run starts measuring at once

Flags:
`

// benchFlags are the flags every bench subcommand takes (fanout included).
type benchFlags struct {
	engine   string
	pgDriver string
	database string
	data     string
	quick    bool
	json     bool
	ramp     bool
	warmup   time.Duration
	duration time.Duration
	cpuprof  string
	// fan holds the fanout flags (bench fanout and bench all only).
	fan *fanoutFlags
}

// parseBenchFlags parses the common bench flags of a subcommand.
func parseBenchFlags(name string, args []string, stderr io.Writer) (*benchFlags, error) {
	f := &benchFlags{}
	fs := flag.NewFlagSet("bench "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	fs.StringVar(&f.engine, "engine", "all", "sqlite, postgres, or all (postgres only when --database is set)")
	fs.StringVar(&f.pgDriver, "pg-driver", "both", "PostgreSQL driver: pgx, postgres (lib/pq) or both")
	fs.StringVar(&f.database, "database", "", "PostgreSQL URL of a database dedicated to benchmarks (bench data is written to it and kept)")
	fs.StringVar(&f.data, "data", "./slotbridge-bench", "directory of the SQLite bench database (kept between runs; --quick uses a temporary one)")
	fs.BoolVar(&f.quick, "quick", false, "smoke run: small data set, short periods")
	fs.BoolVar(&f.json, "json", false, "print the result table as JSON")
	fs.BoolVar(&f.ramp, "ramp", false, "also ramp an open-loop arrival rate until p99 crosses the spec limit (250 ms commands, 3 s queries)")
	fs.DurationVar(&f.warmup, "warmup", 0, "warm-up before each measured period (default 2s, --quick 250ms)")
	fs.DurationVar(&f.duration, "duration", 0, "each measured period (default 10s, --quick 1s)")
	fs.StringVar(&f.cpuprof, "cpuprofile", "", "write a CPU profile of the whole run (server and load generator) to this file")
	if name == "fanout" || name == "all" || name == "" {
		f.fan = registerFanoutFlags(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if f.fan != nil {
		if err := f.fan.finish(fs, f.quick, f.duration); err != nil {
			return nil, err
		}
	}
	if f.database != "" {
		if err := checkDatabaseURL(f.database); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	switch f.engine {
	case "all", store.EngineSQLite, store.EnginePostgres:
	default:
		return nil, fmt.Errorf("bench: --engine must be sqlite, postgres or all")
	}
	switch f.pgDriver {
	case "both", store.DriverPgx, store.DriverPQ:
	default:
		return nil, fmt.Errorf("bench: --pg-driver must be pgx, postgres or both")
	}
	if f.engine == store.EnginePostgres && f.database == "" {
		return nil, errors.New("bench: --engine postgres needs --database postgres://...")
	}
	return f, nil
}

// options are the run timings the flags select.
func (f *benchFlags) options(log io.Writer) bench.Options {
	o := bench.FullOptions
	if f.quick {
		o = bench.QuickOptions
	}
	if f.warmup > 0 {
		o.Warmup = f.warmup
	}
	if f.duration > 0 {
		o.Duration = f.duration
	}
	o.Ramp, o.Log = f.ramp, log
	return o
}

// dataConfig is the data set size the flags select.
func (f *benchFlags) dataConfig() bench.DataConfig {
	if f.quick {
		return bench.QuickData
	}
	return bench.FullData
}

// table starts a result table with the run's metadata.
func (f *benchFlags) table(title string) *bench.Table {
	o := f.options(nil)
	mode := "full"
	if f.quick {
		mode = "quick (smoke run; figures not comparable with a full run)"
	}
	return &bench.Table{Title: title, Meta: map[string]string{
		"started": time.Now().UTC().Format(time.RFC3339), "mode": mode, "cpus": fmt.Sprint(runtime.NumCPU()),
		"gomaxprocs": fmt.Sprint(runtime.GOMAXPROCS(0)), "go": runtime.Version(),
		"periods": fmt.Sprintf("%s warm-up + %s measured per figure", o.Warmup, o.Duration)}}
}

// emit prints the table in the chosen format.
func (f *benchFlags) emit(w io.Writer, t *bench.Table) error {
	if f.json {
		return t.WriteJSON(w)
	}
	return t.WriteText(w)
}

// benchTarget is one engine (and driver) to measure, with its data set.
type benchTarget struct {
	name string
	st   *store.Store
	ds   *bench.Dataset
}

// withTargets opens each selected engine, generates (or finds) the data set
// in it, and calls fn for each; stores are closed afterwards.
func (f *benchFlags) withTargets(ctx context.Context, log io.Writer, t *bench.Table, fn func(bt benchTarget) error) error {
	cfg := f.dataConfig()
	if f.engine == "all" || f.engine == store.EngineSQLite {
		dir := f.data
		if f.quick {
			tmp, err := os.MkdirTemp("", "slotbridge-bench-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		path := filepath.Join(dir, "bench-"+strings.ToLower(cfg.Tag)+".db")
		// Generate with synchronous=OFF (a crash only loses bench data), then measure durable.
		gen, err := store.Open(ctx, store.Config{Path: path, Synchronous: "OFF"})
		if err != nil {
			return err
		}
		ds, err := bench.Generate(ctx, gen, cfg, time.Now(), log)
		gen.Close()
		if err != nil {
			return err
		}
		st, err := store.Open(ctx, store.Config{Path: path, Synchronous: "FULL"})
		if err != nil {
			return err
		}
		t.Meta["data sqlite"] = path + " (synchronous=FULL, WAL)"
		err = fn(benchTarget{name: "sqlite", st: st, ds: ds})
		st.Close()
		if err != nil {
			return err
		}
	}
	if f.engine == "all" && f.database == "" {
		t.Note("PostgreSQL skipped: no --database given")
	}
	if (f.engine == "all" || f.engine == store.EnginePostgres) && f.database != "" {
		drivers := []string{store.DriverPgx, store.DriverPQ}
		if f.pgDriver != "both" {
			drivers = []string{f.pgDriver}
		}
		// Generate without waiting for each commit to reach the disk (a crash
		// only loses bench data), then measure with the server's settings.
		gen, err := store.Open(ctx, store.Config{URL: withParam(f.database, "synchronous_commit", "off"), MaxConns: 8})
		if err != nil {
			return err
		}
		ds, err := bench.Generate(ctx, gen, cfg, time.Now(), log)
		if err == nil {
			_, err = gen.DB().ExecContext(ctx, `ANALYZE`)
		}
		gen.Close()
		if err != nil {
			return err
		}
		for _, drv := range drivers {
			st, err := store.Open(ctx, store.Config{URL: f.database, PGDriver: drv, MaxConns: 48})
			if err != nil {
				return err
			}
			err = fn(benchTarget{name: "postgres/" + driverName(drv), st: st, ds: ds})
			st.Close()
			if err != nil {
				return err
			}
		}
		t.Meta["data postgres"] = redactURL(f.database)
	}
	return nil
}

// withParam adds a query parameter (a PostgreSQL run-time setting) to a URL.
func withParam(u, k, v string) string {
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	return u + sep + k + "=" + v
}

func driverName(d string) string {
	if d == store.DriverPQ {
		return "pq"
	}
	return d
}

// redactURL drops a password from a URL shown in the report.
func redactURL(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if i := strings.Index(u, "://"); i > 0 && i < at {
			userinfo := u[i+3 : at]
			if name, _, ok := strings.Cut(userinfo, ":"); ok {
				return u[:i+3] + name + ":***" + u[at:]
			}
		}
	}
	return u
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		parseBenchFlags("", []string{"-h"}, stderr) // prints the usage and every flag
		return flag.ErrHelp
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "search", "book", "fanout", "all", "gen":
	default:
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: unknown benchmark %q", sub)
	}
	f, err := parseBenchFlags(sub, rest, stderr)
	if err != nil {
		return err
	}
	opt := f.options(stderr)
	if f.cpuprof != "" {
		pf, err := os.Create(f.cpuprof)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	t := f.table("slotbridge bench " + sub)
	t0 := time.Now()
	if sub == "fanout" {
		// The fan-out has no store of its own to measure: its simulator
		// keeps a temporary one, so --engine and --database do not apply.
		delete(t.Meta, "periods") // the fan-out counts rounds; its settings are in "fanout hub"
		err = benchFanout(ctx, f.fan, t, stderr)
		t.Meta["took"] = time.Since(t0).Round(time.Second).String()
		if err != nil {
			return err
		}
		return f.emit(stdout, t)
	}
	// bench all measures the fan-out first, so that the hub's peak RSS is
	// that of a process that has done nothing else yet, as with bench fanout
	// alone (search and book leave tens of MB resident), and its timings are
	// not disturbed by PostgreSQL still writing out the bookings.
	// Its rows go under the others all the same.
	var ferr error
	ft := &bench.Table{Meta: map[string]string{}}
	if sub == "all" {
		if ferr = benchFanout(ctx, f.fan, ft, stderr); ferr != nil {
			ft.Note("fanout failed: %v", ferr)
		}
	}
	err = f.withTargets(ctx, stderr, t, func(bt benchTarget) error {
		t.Meta["data"] = bench.Describe(bt.ds)
		if sub == "search" || sub == "all" {
			rows, notes, err := bench.RunSearch(ctx, bt.st, bt.name, bt.ds, opt)
			if err != nil {
				return fmt.Errorf("%s: %w", bt.name, err)
			}
			t.Add(rows...)
			t.Notes = append(t.Notes, notes...)
		}
		if sub == "book" || sub == "all" {
			rows, notes, err := bench.RunBook(ctx, bt.st, bt.name, bt.ds, opt, bench.PoolSize(f.quick))
			if err != nil {
				return fmt.Errorf("%s: %w", bt.name, err)
			}
			t.Add(rows...)
			t.Notes = append(t.Notes, notes...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.Add(ft.Rows...)
	t.Notes = append(t.Notes, ft.Notes...)
	for k, v := range ft.Meta {
		t.Meta[k] = v
	}
	t.Meta["took"] = time.Since(t0).Round(time.Second).String()
	if err := f.emit(stdout, t); err != nil {
		return err
	}
	// The table of the other benchmarks is printed all the same, but the
	// run fails: a missing fan-out is not a result.
	if ferr != nil {
		return fmt.Errorf("bench all: fanout: %w", ferr)
	}
	return nil
}
