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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/federation/sim"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// fanoutRow is one hub size's figures.
type fanoutRow struct {
	Practices int `json:"practices"`
	// SlotsPerFanOut is the median number of slots merged per fan-out.
	SlotsPerFanOut int `json:"slotsPerFanOut"`
	// Overhead is wall time minus the slowest successful practice's finish, per round (no hangs).
	OverheadP50Ms float64 `json:"overheadP50Ms"`
	OverheadP90Ms float64 `json:"overheadP90Ms"`
	SlowestP50Ms  float64 `json:"slowestP50Ms"`
	WallP50Ms     float64 `json:"wallP50Ms"`
	// FailedP50 is the median count of failed practices per round (5xx after a retry).
	FailedP50 int `json:"failedP50"`
	// FanOutsPerSec is the rate with Parallel fan-outs running at once (no hangs).
	FanOutsPerSec float64 `json:"fanOutsPerSec"`
	Parallel      int     `json:"parallel"`
	// HangWall is the wall time of rounds in which practices hang; the
	// per-practice deadline is what bounds them.
	HangWallP50Ms   float64 `json:"hangWallP50Ms"`
	HangWallMaxMs   float64 `json:"hangWallMaxMs"`
	HangOverP50Ms   float64 `json:"hangOverDeadlineP50Ms"`
	HangOverMaxMs   float64 `json:"hangOverDeadlineMaxMs"`
	HangedP50       int     `json:"hangTimeoutsP50"`
	PeakRSSMB       float64 `json:"peakRssMB"`
	PeakRSSMeasured bool    `json:"peakRssPerSize"`
	Goals           string  `json:"goals"`
}

// runBenchFanout measures the fan-out against simulated federations of 50,
// 200 and 500 practices served by a child `slotbridge sim` process (so the
// figures are the consumer's alone), all through one host as through the SSP.
func runBenchFanout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench fanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizesS := fs.String("sizes", "50,200,500", "hub sizes (practices)")
	rounds := fs.Int("rounds", 20, "fan-outs per size for each of the two phases")
	latency := fs.Duration("latency", 60*time.Millisecond, "median provider latency")
	jitter := fs.String("jitter", "lognormal", "latency distribution: none, lognormal, uniform")
	sigma := fs.Float64("sigma", 0.5, "lognormal shape")
	failS := fs.String("fail", "2%", "share of requests answered 502/503/504")
	hangS := fs.String("hang", "2%", "share of requests never answered, in the hang phase")
	concurrency := fs.Int("concurrency", 128, "most calls in flight per fan-out")
	practiceTimeout := fs.Duration("practice-timeout", time.Second, "per-practice deadline")
	deadline := fs.Duration("deadline", 2500*time.Millisecond, "overall fan-out deadline")
	parallel := fs.Int("parallel", 4, "fan-outs at once in the throughput phase")
	tput := fs.Duration("throughput-for", 3*time.Second, "how long the throughput phase runs")
	minSlots := fs.Int("min-slots", 20, "fewest slots per practice")
	maxSlots := fs.Int("max-slots", 100, "most slots per practice")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var sizes []int
	for _, s := range splitComma(*sizesS) {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("--sizes: %q", s)
		}
		sizes = append(sizes, n)
	}
	failP, err := parsePercent(*failS)
	if err != nil {
		return err
	}
	hangP, err := parsePercent(*hangS)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "slotbridge-bench-fanout-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg := federation.Config{Concurrency: *concurrency, PracticeTimeout: *practiceTimeout, Deadline: *deadline}
	var rows []fanoutRow
	for _, n := range sizes {
		fmt.Fprintf(stderr, "bench fanout: %d practices: starting the simulator…\n", n)
		row, err := benchOneSize(ctx, exe, tmp, n, *rounds, cfg, sim.Faults{Latency: *latency, Jitter: *jitter, Sigma: *sigma, Fail: failP},
			hangP, *parallel, *tput, *minSlots, *maxSlots, stderr)
		if err != nil {
			return fmt.Errorf("%d practices: %w", n, err)
		}
		rows = append(rows, row)
	}
	if *asJSON {
		return writeJSONTo(stdout, map[string]any{"latency": latency.String(), "jitter": *jitter, "sigma": *sigma, "fail": failP, "hang": hangP,
			"concurrency": *concurrency, "practiceTimeoutMs": ms(*practiceTimeout), "deadlineMs": ms(*deadline), "rounds": *rounds,
			"goMaxProcs": runtime.GOMAXPROCS(0), "results": rows})
	}
	fmt.Fprintf(stdout, "fan-out over a simulated federation: latency %s %s (sigma %.2f), %.0f%% 5xx, %.0f%% hangs in the hang phase; concurrency %d, per-practice deadline %s, overall %s; %d rounds; GOMAXPROCS %d\n\n",
		*latency, *jitter, *sigma, failP*100, hangP*100, *concurrency, *practiceTimeout, *deadline, *rounds, runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "practices\tslots\tover slowest p50\tp90\tslowest p50\twall p50\tfan-outs/s\thang wall p50\tover deadline p50\tmax\tpeak RSS MB\tgoals\t")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%d\t%.1f ms\t%.1f ms\t%.0f ms\t%.0f ms\t%.1f (×%d)\t%.0f ms\t%+.1f ms\t%+.1f ms\t%.1f\t%s\t\n", r.Practices, r.SlotsPerFanOut,
			r.OverheadP50Ms, r.OverheadP90Ms, r.SlowestP50Ms, r.WallP50Ms, r.FanOutsPerSec, r.Parallel, r.HangWallP50Ms,
			r.HangOverP50Ms, r.HangOverMaxMs, r.PeakRSSMB, r.Goals)
	}
	tw.Flush()
	fmt.Fprintln(stdout, "\nover slowest: wall time minus the finish of the slowest successful practice, rounds without hangs.")
	fmt.Fprintln(stdout, "hang wall: rounds with hangs, the overall deadline set to the per-practice one (the earliest a hung practice can be given up); over deadline: hang wall minus that deadline.")
	fmt.Fprintln(stdout, "peak RSS: the hub process (the simulator is a child process), over both phases with one fan-out at a time.")
	fmt.Fprintln(stdout, "goals: over slowest p50 <= 10/20/30 ms at 50/200/500; hang wall p50 <= deadline + 30 ms; peak RSS <= 64 MB at 500.")
	return nil
}

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

	rssReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	row.PeakRSSMeasured = rssReset
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
	row.OverheadP50Ms, row.OverheadP90Ms = ms(pct(over, 50)), ms(pct(over, 90))
	row.SlowestP50Ms, row.WallP50Ms = ms(pct(slowest, 50)), ms(pct(wall, 50))
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
	var hwall, hover []time.Duration
	var hanged []int
	for range rounds {
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
		hwall, hover, hanged = append(hwall, res.Elapsed), append(hover, res.Elapsed-hangDeadline), append(hanged, t)
	}
	row.HangWallP50Ms, row.HangWallMaxMs = ms(pct(hwall, 50)), ms(pct(hwall, 100))
	row.HangOverP50Ms, row.HangOverMaxMs = ms(pct(hover, 50)), ms(pct(hover, 100))
	row.HangedP50 = pctInt(hanged, 50)
	row.PeakRSSMB = float64(peakRSS()) / (1 << 20)
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

	goal := 10.0 // ms over the slowest practice, by hub size
	switch {
	case n > 200:
		goal = 30
	case n > 50:
		goal = 20
	}
	var misses []string
	if row.OverheadP50Ms > goal {
		misses = append(misses, "overhead")
	}
	if row.HangOverP50Ms > 30 {
		misses = append(misses, "hang")
	}
	if n >= 500 && row.PeakRSSMB > 64 {
		misses = append(misses, "RSS")
	}
	row.Goals = "met"
	if len(misses) > 0 {
		row.Goals = "missed: " + strings.Join(misses, ",")
	}
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

// peakRSS is the process's peak resident set (VmHWM) in bytes, since start
// or since the last reset through /proc/self/clear_refs.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
