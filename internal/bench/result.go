package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one figure of a benchmark run, with the floor measured in the same
// run (0 when there is none) and the figure's ratio to it.
type Row struct {
	// Bench is the benchmark: "search", "book" or "fanout".
	Bench string `json:"bench"`
	// Target is what was measured, e.g. "sqlite", "postgres/pgx".
	Target string `json:"target"`
	// Case names the workload, e.g. "100 slots c=32".
	Case string `json:"case"`
	// Metric is "p50", "p99", "req/s", "allocs/req", ...
	Metric string `json:"metric"`
	// Value is the figure, in Unit.
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	// Floor is the same metric for the bare work (SQL, static HTTP, raw
	// transaction) measured in this run; FloorOf says what it was.
	Floor   float64 `json:"floor,omitempty"`
	FloorOf string  `json:"floor_of,omitempty"`
	// Ratio is Value/Floor for rates, Floor/Value for latencies: 1 is the floor, lower is worse.
	Ratio float64 `json:"ratio,omitempty"`
	// Goal is the target as text, and Pass whether it was met (nil when there is no goal).
	Goal string `json:"goal,omitempty"`
	Pass *bool  `json:"pass,omitempty"`
}

// Table is the result of a bench command: metadata and rows.
type Table struct {
	Title string            `json:"title"`
	Meta  map[string]string `json:"meta,omitempty"`
	Rows  []Row             `json:"rows"`
	// Notes are remarks shown under the table (skipped targets, checks run).
	Notes []string `json:"notes,omitempty"`
}

// Add appends rows.
func (t *Table) Add(rows ...Row) { t.Rows = append(t.Rows, rows...) }

// Note appends a remark.
func (t *Table) Note(format string, args ...any) {
	t.Notes = append(t.Notes, fmt.Sprintf(format, args...))
}

// WriteJSON writes the table as indented JSON.
func (t *Table) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(t)
}

// WriteText writes the table as aligned columns.
func (t *Table) WriteText(w io.Writer) error {
	if t.Title != "" {
		fmt.Fprintln(w, t.Title)
	}
	for _, k := range sortedKeys(t.Meta) {
		fmt.Fprintf(w, "  %s: %s\n", k, t.Meta[k])
	}
	if len(t.Rows) == 0 {
		for _, n := range t.Notes {
			fmt.Fprintln(w, "  -", n)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "bench\ttarget\tcase\tmetric\tvalue\tfloor\tratio\tgoal\tok\t")
	for _, r := range t.Rows {
		floor, ratio := "", ""
		if r.Floor != 0 {
			floor = num(r.Floor) + " " + r.Unit
		}
		if r.Ratio != 0 {
			ratio = strconv.FormatFloat(r.Ratio, 'f', 2, 64)
		}
		ok := ""
		if r.Pass != nil {
			ok = "no"
			if *r.Pass {
				ok = "yes"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Bench, r.Target, r.Case, r.Metric, num(r.Value)+" "+r.Unit, floor, ratio, r.Goal, ok)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range t.Notes {
		fmt.Fprintln(w, "  -", n)
	}
	return nil
}

func num(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Latency makes a latency row in milliseconds; floor (0 = none) is the bare
// work's latency, and limit (0 = none) the goal.
func Latency(bench, target, cs, metric string, v, floor, limit time.Duration, floorOf string) Row {
	r := Row{Bench: bench, Target: target, Case: cs, Metric: metric, Value: ms(v), Unit: "ms"}
	if floor > 0 {
		r.Floor, r.FloorOf = ms(floor), floorOf
		if v > 0 {
			r.Ratio = float64(floor) / float64(v)
		}
	}
	if limit > 0 {
		r.Goal = "<= " + num(ms(limit)) + " ms"
		r.Pass = boolp(v <= limit)
	}
	return r
}

// Rate makes a throughput row; floor (0 = none) is the bare work's rate. The
// goal is met when the rate is at least minRate and, with a floor, the ratio
// is at least minRatio (each 0 = not part of the goal).
func Rate(bench, target, cs, metric string, v, floor, minRate, minRatio float64, floorOf string) Row {
	r := Row{Bench: bench, Target: target, Case: cs, Metric: metric, Value: v, Unit: "/s"}
	if floor > 0 {
		r.Floor, r.FloorOf, r.Ratio = floor, floorOf, v/floor
	}
	var goals []string
	pass := true
	if minRate > 0 {
		goals = append(goals, ">= "+num(minRate))
		pass = pass && v >= minRate
	}
	if minRatio > 0 && floor > 0 {
		goals = append(goals, "ratio >= "+strconv.FormatFloat(minRatio, 'f', 2, 64))
		pass = pass && r.Ratio >= minRatio
	}
	if len(goals) > 0 {
		r.Goal = strings.Join(goals, ", ")
		r.Pass = boolp(pass)
	}
	return r
}

func boolp(b bool) *bool { return &b }

// Combined is the rate of doing two pieces of work one after the other on
// the same machine, given each one's rate alone: 1/(1/a + 1/b).
func Combined(a, b float64) float64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	return 1 / (1/a + 1/b)
}
