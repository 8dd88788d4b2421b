package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/internal/bench"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// fanoutRow is one hub size's measurements, before they become table rows.
type fanoutRow struct {
	Practices int
	// SlotsPerFanOut is the median number of slots merged per fan-out.
	SlotsPerFanOut int
	// Over is wall time minus the slowest successful practice's finish, per round (no hangs).
	OverP50, OverP90, SlowestP50, WallP50 time.Duration
	// FailedP50 is the median count of failed practices per round (5xx after a retry).
	FailedP50 int
	// FanOutsPerSec is the rate with Parallel fan-outs running at once (no hangs).
	FanOutsPerSec float64
	Parallel      int
	// HangDeadline is the overall deadline of the hang rounds, and HangWall
	// their wall times: the deadline is what bounds them.
	HangDeadline          time.Duration
	HangWallP50, HangWall time.Duration
	HangedP50             int
	// HangRounds is how many rounds had a practice hang (those measured).
	HangRounds int
	// RestRSS is the hub process's resident set before the first fan-out,
	// PeakRSS its peak over both phases (one fan-out at a time).
	RestRSS, PeakRSS int64
	// PeakRSSReset is false when the peak could not be reset, so that it
	// counts from the start of the process.
	PeakRSSReset bool
}

// fanoutFlags are the flags of bench fanout (also taken by bench all).
type fanoutFlags struct {
	sizesS          string
	rounds          int
	latency         time.Duration
	jitter          string
	sigma           float64
	failS, hangS    string
	concurrency     int
	practiceTimeout time.Duration
	deadline        time.Duration
	parallel        int
	tput            time.Duration
	minSlots        int
	maxSlots        int

	sizes        []int
	failP, hangP float64
}

// Quick-run settings: the three hub sizes of the issue all the same, with
// fewer rounds and a shorter throughput phase, so that `bench all --quick`
// stays within its two minutes.
const (
	fanoutQuickRounds = 3
	fanoutQuickTput   = time.Second
)

// registerFanoutFlags adds the fanout flags to fs.
func registerFanoutFlags(fs *flag.FlagSet) *fanoutFlags {
	c := &fanoutFlags{}
	fs.StringVar(&c.sizesS, "sizes", "50,200,500", "fanout: hub sizes (practices)")
	fs.IntVar(&c.rounds, "rounds", 20, fmt.Sprintf("fanout: fan-outs per size for each of the two phases (--quick %d)", fanoutQuickRounds))
	fs.DurationVar(&c.latency, "latency", 60*time.Millisecond, "fanout: median provider latency")
	fs.StringVar(&c.jitter, "jitter", "lognormal", "fanout: latency distribution: none, lognormal, uniform")
	fs.Float64Var(&c.sigma, "sigma", 0.5, "fanout: lognormal shape")
	fs.StringVar(&c.failS, "fail", "2%", "fanout: share of requests answered 502/503/504")
	fs.StringVar(&c.hangS, "hang", "2%", "fanout: share of requests never answered, in the hang phase")
	fs.IntVar(&c.concurrency, "concurrency", 128, "fanout: most calls in flight per fan-out")
	fs.DurationVar(&c.practiceTimeout, "practice-timeout", time.Second, "fanout: per-practice deadline")
	fs.DurationVar(&c.deadline, "deadline", 2500*time.Millisecond, "fanout: overall fan-out deadline")
	fs.IntVar(&c.parallel, "parallel", 4, "fanout: fan-outs at once in the throughput phase")
	fs.DurationVar(&c.tput, "throughput-for", 3*time.Second, fmt.Sprintf("fanout: how long the throughput phase runs (default --duration if given, --quick %s)", fanoutQuickTput))
	fs.IntVar(&c.minSlots, "min-slots", 20, "fanout: fewest slots per practice")
	fs.IntVar(&c.maxSlots, "max-slots", 100, "fanout: most slots per practice")
	return c
}

// finish checks the parsed flags and applies --quick and --duration to the
// settings not given explicitly.
func (c *fanoutFlags) finish(fs *flag.FlagSet, quick bool, duration time.Duration) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if quick && !set["rounds"] {
		c.rounds = fanoutQuickRounds
	}
	if !set["throughput-for"] {
		switch {
		case duration > 0:
			c.tput = duration
		case quick:
			c.tput = fanoutQuickTput
		}
	}
	c.sizes = nil
	for _, s := range splitComma(c.sizesS) {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("--sizes: %q", s)
		}
		c.sizes = append(c.sizes, n)
	}
	if len(c.sizes) == 0 {
		return errors.New("--sizes: no size")
	}
	if err := checkJitter(c.jitter); err != nil {
		return err
	}
	if c.rounds <= 0 || c.parallel <= 0 || c.concurrency <= 0 {
		return errors.New("--rounds, --parallel and --concurrency must be positive")
	}
	var err error
	if c.failP, err = parsePercent(c.failS); err != nil {
		return err
	}
	if c.hangP, err = parsePercent(c.hangS); err != nil {
		return err
	}
	return nil
}

// runBenchFanout is `slotbridge bench fanout ARGS`.
func runBenchFanout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runBench(ctx, append([]string{"fanout"}, args...), stdout, stderr)
}

// benchFanout measures the fan-out against simulated federations of 50,
// 200 and 500 practices served by a child `slotbridge sim` process (so the
// figures are the consumer's alone), all through one host as through the
// SSP, and adds the rows to t.
func benchFanout(ctx context.Context, c *fanoutFlags, t *bench.Table, log io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	// A test binary started as the simulator without the switch in
	// federation_test.go would run the tests again, and so on.
	if strings.HasSuffix(exe, ".test") && os.Getenv("SLOTBRIDGE_TEST_AS_MAIN") != "1" {
		return errors.New("a test binary can serve as the simulator only with SLOTBRIDGE_TEST_AS_MAIN=1")
	}
	tmp, err := os.MkdirTemp("", "slotbridge-bench-fanout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg := federation.Config{Concurrency: c.concurrency, PracticeTimeout: c.practiceTimeout, Deadline: c.deadline}
	faults := sim.Faults{Latency: c.latency, Jitter: c.jitter, Sigma: c.sigma, Fail: c.failP}
	t.Meta["fanout faults"] = fmt.Sprintf("provider latency %s %s (sigma %.2f), %g%% 5xx; %g%% hangs in the hang phase; %d-%d slots per practice",
		c.latency, c.jitter, c.sigma, c.failP*100, c.hangP*100, c.minSlots, c.maxSlots)
	t.Meta["fanout hub"] = fmt.Sprintf("concurrency %d, per-practice deadline %s, overall %s; %d rounds per phase; throughput %d fan-outs at once for %s",
		c.concurrency, c.practiceTimeout, c.deadline, c.rounds, c.parallel, c.tput)
	for _, n := range c.sizes {
		fmt.Fprintf(log, "bench fanout: %d practices: starting the simulator…\n", n)
		r, err := benchOneSize(ctx, exe, tmp, n, c.rounds, cfg, faults, c.hangP, c.parallel, c.tput, c.minSlots, c.maxSlots, log)
		if err != nil {
			return fmt.Errorf("%d practices: %w", n, err)
		}
		t.Add(r.rows()...)
		t.Note("fanout %d practices: %d slots merged per fan-out and %d failed practices per round (p50s); %d hang rounds with %d hung practices each (p50)",
			n, r.SlotsPerFanOut, r.FailedP50, r.HangRounds, r.HangedP50)
		if r.HangRounds == 0 {
			t.Note("fanout %d practices: no practice hung in %d rounds (--hang %s), so there is no hang figure", n, 5*c.rounds, c.hangS)
		}
		if !r.PeakRSSReset {
			t.Note("fanout %d practices: peak RSS could not be reset (/proc/self/clear_refs), so it counts from the start of the process", n)
		}
	}
	t.Note("fanout over slowest: per round without hangs, wall time minus the finish of the slowest practice that answered; its goal is the issue's (10/20/30 ms at 50/200/500)")
	t.Note("fanout wall: the same rounds' wall time, beside the slowest practice's finish: the fan-out can return no sooner")
	t.Note("fanout hang wall: rounds in which a practice hung, the overall deadline set to the per-practice one (the earliest a hung practice can be given up), beside that deadline; goal deadline + 30 ms")
	t.Note("fanout fan-outs/s: %d fan-outs at once, no hangs, beside %d / the slowest practice p50 (fan-outs that did nothing but wait for the slowest practice)", c.parallel, c.parallel)
	t.Note("fanout peak RSS: the hub process (the simulator is a child process), both phases one fan-out at a time, beside its RSS before the first fan-out")
	return nil
}

// fanoutGoal is the goal for wall time over the slowest practice at
// a hub of n practices.
func fanoutGoal(n int) time.Duration {
	switch {
	case n > 200:
		return 30 * time.Millisecond
	case n > 50:
		return 20 * time.Millisecond
	}
	return 10 * time.Millisecond
}

// fanoutHangSlack is how long after the deadline a fan-out with hung
// practices may return (the goal).
const fanoutHangSlack = 30 * time.Millisecond

// fanoutRSSGoal is the peak RSS goal for the hub at 500 practices.
const fanoutRSSGoal = 64 << 20

// rows turns one size's measurements into table rows.
func (r fanoutRow) rows() []bench.Row {
	target, cs := "hub", fmt.Sprintf("%d practices", r.Practices)
	row := func(metric string, v float64, unit string) bench.Row {
		return bench.Row{Bench: "fanout", Target: target, Case: cs, Metric: metric, Value: v, Unit: unit}
	}
	over := row("over slowest p50", ms(r.OverP50), "ms")
	over.Goal = fmt.Sprintf("<= %g ms", ms(fanoutGoal(r.Practices)))
	over.Pass = boolPtr(r.OverP50 <= fanoutGoal(r.Practices))
	over90 := row("over slowest p90", ms(r.OverP90), "ms")

	wall := row("wall p50", ms(r.WallP50), "ms")
	wall.Floor, wall.FloorOf = ms(r.SlowestP50), "slowest practice p50"
	if r.WallP50 > 0 {
		wall.Ratio = float64(r.SlowestP50) / float64(r.WallP50)
	}

	hang := func(metric string, v time.Duration) bench.Row {
		h := row(metric, ms(v), "ms")
		h.Floor, h.FloorOf = ms(r.HangDeadline), "deadline"
		if v > 0 {
			h.Ratio = float64(r.HangDeadline) / float64(v)
		}
		return h
	}
	hangP50 := hang("hang wall p50", r.HangWallP50)
	hangP50.Goal = fmt.Sprintf("<= deadline + %g ms", ms(fanoutHangSlack))
	hangP50.Pass = boolPtr(r.HangRounds > 0 && r.HangWallP50 <= r.HangDeadline+fanoutHangSlack)
	hangMax := hang("hang wall max", r.HangWall)
	out := []bench.Row{over, over90, wall}
	if r.HangRounds > 0 {
		out = append(out, hangP50, hangMax)
	}

	rate := row("fan-outs/s", r.FanOutsPerSec, "/s")
	if r.SlowestP50 > 0 {
		rate.Floor = float64(r.Parallel) / r.SlowestP50.Seconds()
		rate.FloorOf = fmt.Sprintf("%d / slowest practice p50", r.Parallel)
		rate.Ratio = rate.Value / rate.Floor
	}

	rss := row("peak RSS", mb(r.PeakRSS), "MB")
	if r.RestRSS > 0 {
		rss.Floor, rss.FloorOf = mb(r.RestRSS), "RSS before the first fan-out"
		if r.PeakRSS > 0 {
			rss.Ratio = float64(r.RestRSS) / float64(r.PeakRSS)
		}
	}
	if r.Practices >= 500 {
		rss.Goal = fmt.Sprintf("<= %g MB", mb(fanoutRSSGoal))
		rss.Pass = boolPtr(r.PeakRSS > 0 && r.PeakRSS <= fanoutRSSGoal)
	}
	return append(out, rate, rss)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func boolPtr(b bool) *bool { return &b }

func benchOneSize(ctx context.Context, exe, tmp string, n, rounds int, cfg federation.Config, faults sim.Faults, hangP float64,
	parallel int, tput time.Duration, minSlots, maxSlots int, stderr io.Writer) (fanoutRow, error) {
	row := fanoutRow{Practices: n, Parallel: parallel}
	dirFile := filepath.Join(tmp, fmt.Sprintf("dir-%d.json", n))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(cctx, exe, "sim", "--practices", strconv.Itoa(n), "--latency", faults.Latency.String(), "--jitter", faults.Jitter,
		"--sigma", strconv.FormatFloat(faults.Sigma, 'f', -1, 64), "--fail", strconv.FormatFloat(faults.Fail*100, 'f', -1, 64)+"%", "--hang", "0%",
		"--import=false", "--cache-searches", "--directory", dirFile, "--days", "2", "--min-slots", strconv.Itoa(minSlots), "--max-slots", strconv.Itoa(maxSlots),
		"--data", filepath.Join(tmp, "data"))
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	var childErr bytes.Buffer
	cmd.Stderr = &childErr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return row, err
	}
	if err := cmd.Start(); err != nil {
		return row, err
	}
	defer func() { cancel(); cmd.Wait() }()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "sim ready:") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	var line string
	select {
	case l, ok := <-ready:
		if !ok {
			return row, fmt.Errorf("the simulator stopped: %s", childErr.String())
		}
		line = l
	case <-time.After(5 * time.Minute):
		return row, errors.New("the simulator did not start within 5 minutes")
	}
	fmt.Fprintf(stderr, "bench fanout: %s\n", line)
	f, err := federation.ReadDirectoryFile(dirFile)
	if err != nil {
		return row, err
	}
	base := f.Endpoints[0].ServiceRoot
	simURL := base[:strings.Index(base, "/"+f.Endpoints[0].ODS+"/")]
	hubName := f.Hubs[0].Name

	// Hand back what earlier work (bench all: search and book, in this
	// process) left on the heap, so the peak is this size's fan-outs.
	debug.FreeOSMemory()
	row.PeakRSSReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	row.RestRSS = procStatus("VmRSS:")
	hc := federation.NewHTTPClient(cfg.Concurrency)
	defer hc.CloseIdleConnections()
	var id identityConfig
	id.register(flag.NewFlagSet("id", flag.ContinueOnError))
	hub := &federation.Hub{Dir: federation.NewStaticDirectory(f), Client: federation.NewGPConnect(id.identity(), hc, ""), Config: cfg}
	day := scheduling.AddDaysLocal(scheduling.LocalMidnight(time.Now()), 1)
	q := federation.Query{Start: day, End: scheduling.AddDaysLocal(day, 1).Add(-time.Second)}

	for range 2 { // warm up: connections, per-endpoint clients
		if _, err := hub.Search(ctx, hubName, q); err != nil {
			return row, err
		}
	}
	var over, slowest, wall []time.Duration
	var slots, failed []int
	for range rounds {
		res, err := hub.Search(ctx, hubName, q)
		if err != nil {
			return row, err
		}
		var slow time.Duration
		for _, p := range res.Practices {
			if p.Failure == nil {
				slow = max(slow, p.Done)
			}
		}
		over, slowest, wall = append(over, res.Elapsed-slow), append(slowest, slow), append(wall, res.Elapsed)
		slots, failed = append(slots, len(res.Slots)), append(failed, len(res.Failures))
	}
	row.OverP50, row.OverP90 = pct(over, 50), pct(over, 90)
	row.SlowestP50, row.WallP50 = pct(slowest, 50), pct(wall, 50)
	row.SlotsPerFanOut, row.FailedP50 = pctInt(slots, 50), pctInt(failed, 50)

	hf := faults
	hf.Hang = hangP
	if err := putFaults(ctx, simURL, hf); err != nil {
		return row, err
	}
	// In hang rounds the overall deadline is the per-practice one, the
	// earliest a hung practice can be given up: the figure is how soon after
	// it the fan-out returns.
	hangDeadline := min(cfg.Deadline, cfg.PracticeTimeout)
	hub.Config.Deadline = hangDeadline
	row.HangDeadline = hangDeadline
	// Only rounds in which a practice did hang count (at 50 practices and
	// 2%, a third of rounds have none); rounds without one are short, so a
	// few more are run to find enough.
	var hwall []time.Duration
	var hanged []int
	for try := 0; len(hwall) < rounds && try < 5*rounds; try++ {
		res, err := hub.Search(ctx, hubName, q)
		if err != nil {
			return row, err
		}
		t := 0
		for _, fl := range res.Failures {
			if fl.Reason == federation.ReasonTimeout {
				t++
			}
		}
		if t > 0 {
			hwall, hanged = append(hwall, res.Elapsed), append(hanged, t)
		}
	}
	row.HangRounds = len(hwall)
	row.HangWallP50, row.HangWall = pct(hwall, 50), pct(hwall, 100)
	row.HangedP50 = pctInt(hanged, 50)
	row.PeakRSS = procStatus("VmHWM:")
	hub.Config.Deadline = cfg.Deadline

	// Throughput last, with hangs switched off again, so that the peak RSS
	// above is that of one fan-out at a time.
	if err := putFaults(ctx, simURL, faults); err != nil {
		return row, err
	}
	var done atomic.Int64
	tctx, tcancel := context.WithTimeout(ctx, tput)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for tctx.Err() == nil {
				if _, err := hub.Search(context.Background(), hubName, q); err == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	tcancel()
	row.FanOutsPerSec = float64(done.Load()) / time.Since(t0).Seconds()

	return row, nil
}

// putFaults changes the running simulator's faults.
func putFaults(ctx context.Context, simURL string, f sim.Faults) error {
	body, err := f.MarshalJSON()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, simURL+sim.ControlPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("simulator refused new faults: %s", resp.Status)
	}
	return nil
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func pctInt(xs []int, p int) int {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x)
	}
	return int(pct(ds, p))
}

// procStatus reads a size in bytes from /proc/self/status: "VmRSS:" is
// the resident set now, "VmHWM:" its peak since the start of the process or
// the last reset through /proc/self/clear_refs. 0 when it cannot be read.
func procStatus(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
