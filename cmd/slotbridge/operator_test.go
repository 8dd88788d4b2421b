package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/internal/demo"
	"github.com/slotbridge/slotbridge/internal/lockedbuf"
	"github.com/slotbridge/slotbridge/internal/scheduling"
)

// These tests follow the README as an operator on a fresh clone would, and
// check that each mistake met that way is refused, with a message naming
// it, instead of being half-obeyed.

// runShort runs the command with a deadline, so that a command which
// wrongly starts serving (a regression) returns instead of hanging the test.
func runShort(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errb lockedbuf.Buffer
	err := run(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

// demoData makes a data directory holding the demo practices.
func demoData(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := dbConfig{data: dir, sync: "NORMAL"}
	st, err := db.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := demo.Load(context.Background(), st, time.Now(), 2*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOperatorStrayArguments: a word that is not a flag stops the flag
// package, so the flags after it were silently left at their defaults
// (serve started on 8080 with the default data). Each command that takes
// no positional arguments refuses the word by name.
func TestOperatorStrayArguments(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	for _, args := range [][]string{
		{"serve", "--data", data, "--addr", "127.0.0.1:0", "demo", "--addr", "256.0.0.1:1"},
		{"audit", "--data", data, "demo", "--ods", "A20047"},
		{"migrate", "--data", data, "demo"},
		{"token", "demo", "--interaction", "metadata"},
		{"slots", "--data", data, "--hub", "sim", "demo"},
		{"book", "--data", data, "--hub", "sim", "--slot", "Y00001/1", "--patient", "9990000018", "demo"},
		{"book", "list", "--data", data, "--hub", "sim", "--patient", "9990000018", "demo"},
		{"sim", "--data", data, "--addr", "127.0.0.1:0", "--practices", "1", "--directory", filepath.Join(dir, "sim.json"), "demo"},
		{"conformance", "--base", "http://127.0.0.1:9", "demo"},
		{"directory", "list", "--data", data, "demo"},
		{"bench", "search", "--quick", "demo"},
	} {
		_, _, err := runShort(t, args...)
		if err == nil || !strings.Contains(err.Error(), `unexpected argument "demo"`) {
			t.Errorf("slotbridge %s: %v, want unexpected argument \"demo\"", strings.Join(args, " "), err)
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command created %s (%v)", data, err)
	}
	// The commands that take words still count them.
	for _, args := range [][]string{
		{"hub", "list", "--data", data, "demo"},
		{"hub", "create", "a", "b", "--data", data},
		{"directory", "set", "--data", data},
		{"directory", "import", "--data", data},
	} {
		if _, _, err := runShort(t, args...); err == nil {
			t.Errorf("slotbridge %s: no error", strings.Join(args, " "))
		}
	}
}

// TestOperatorHelp: --help and -h print the usage and succeed, as
// `slotbridge --help` does, on every command; the usage reads correctly.
func TestOperatorHelp(t *testing.T) {
	// The flag package turns a backquoted word into the flag's placeholder:
	// "-slot slotbridge" instead of "-slot string".
	broken := regexp.MustCompile(`(?m)^\s+-[a-z-]+ slotbridge`)
	for _, args := range [][]string{
		{"serve", "--help"}, {"token", "-h"}, {"audit", "--help"}, {"migrate", "-help"}, {"slots", "--help"},
		{"book", "--help"}, {"book", "amend", "-h"}, {"book", "help"}, {"sim", "--help"}, {"conformance", "--help"},
		{"hub", "--help"}, {"hub", "list", "--help"}, {"directory", "-h"}, {"directory", "import", "--help"},
		{"bench", "--help"}, {"bench", "search", "-h"}, {"admin", "--help"},
	} {
		out, errOut, err := runShort(t, args...)
		if err != nil {
			t.Errorf("slotbridge %s: %v, want success", strings.Join(args, " "), err)
		}
		if out+errOut == "" {
			t.Errorf("slotbridge %s printed no usage", strings.Join(args, " "))
		}
		if m := broken.FindString(out + errOut); m != "" {
			t.Errorf("slotbridge %s: usage shows %q", strings.Join(args, " "), strings.TrimSpace(m))
		}
	}
	_, usage, _ := runShort(t, "book", "--help")
	for _, sub := range []string{"book amend", "book cancel", "book list"} {
		if !strings.Contains(usage, sub) {
			t.Errorf("book --help does not name %q:\n%s", sub, usage)
		}
	}
	// Without the word the usage was printed for, it is still a failure.
	for _, args := range [][]string{{}, {"bench"}, {"admin"}} {
		if _, _, err := runShort(t, args...); err == nil {
			t.Errorf("slotbridge %s: success, want a failure", strings.Join(args, " "))
		}
	}
}

// TestOperatorSQLiteSynchronous: SQLite reads an unknown synchronous value
// as NORMAL, so FAST would silently lower durability.
func TestOperatorSQLiteSynchronous(t *testing.T) {
	if _, _, err := runShort(t, "migrate", "--data", t.TempDir(), "--sqlite-synchronous", "FAST"); err == nil ||
		!strings.Contains(err.Error(), "--sqlite-synchronous") {
		t.Errorf("--sqlite-synchronous FAST: %v, want an error naming the flag", err)
	}
	t.Setenv("SLOTBRIDGE_SQLITE_SYNCHRONOUS", "full)&_pragma=x(")
	if _, _, err := runShort(t, "migrate", "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "SLOTBRIDGE_SQLITE_SYNCHRONOUS") {
		t.Errorf("SLOTBRIDGE_SQLITE_SYNCHRONOUS with a DSN in it: %v, want an error naming the variable", err)
	}
	for _, v := range []string{"off", "Normal", "FULL", "extra"} {
		if _, _, err := runShort(t, "migrate", "--data", t.TempDir(), "--sqlite-synchronous", v); err != nil {
			t.Errorf("--sqlite-synchronous %s: %v", v, err)
		}
	}
}

// TestOperatorPGDriver: a driver name that is neither pgx nor postgres is
// refused naming the flag and the variable, before any connection is tried
// (the URL's port has nothing listening).
func TestOperatorPGDriver(t *testing.T) {
	const url = "postgres://postgres@127.0.0.1:1/none?sslmode=disable"
	if _, _, err := runShort(t, "migrate", "--database", url, "--pg-driver", "pq"); err == nil ||
		!strings.Contains(err.Error(), "--pg-driver (SLOTBRIDGE_PG_DRIVER)") {
		t.Errorf("--pg-driver pq: %v, want an error naming the flag and the variable", err)
	}
	// On SQLite as well: the setting must not wait, unread, for a move to PostgreSQL.
	if _, _, err := runShort(t, "migrate", "--data", t.TempDir(), "--pg-driver", "pq"); err == nil ||
		!strings.Contains(err.Error(), "--pg-driver (SLOTBRIDGE_PG_DRIVER)") {
		t.Errorf("--pg-driver pq on SQLite: %v, want an error naming the flag and the variable", err)
	}
	t.Setenv("SLOTBRIDGE_PG_DRIVER", "foo")
	if _, _, err := runShort(t, "migrate", "--database", url); err == nil || !strings.Contains(err.Error(), "SLOTBRIDGE_PG_DRIVER") {
		t.Errorf("SLOTBRIDGE_PG_DRIVER=foo: %v, want an error naming the variable", err)
	}
}

// TestOperatorDebugAddr: the pprof listener is for the host only.
func TestOperatorDebugAddr(t *testing.T) {
	for _, a := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6184", "example.com:6184", "6184"} {
		_, _, err := runShort(t, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--debug-addr", a)
		if err == nil || !strings.Contains(err.Error(), "--debug-addr") {
			t.Errorf("--debug-addr %s: %v, want an error naming the flag", a, err)
		}
	}
	for _, a := range []string{"127.0.0.1:6184", "[::1]:6184", "localhost:6184", "127.0.0.2:0"} {
		if err := checkDebugAddr(a); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
}

// TestOperatorAddrInUse: a listen address that cannot be had stops serve
// before the store opens (no data directory, no demo load into a database),
// with an error naming the flag; and timeouts of zero or less, which would
// turn the slowloris protection off, are refused.
func TestOperatorAddrInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--addr", taken.Addr().String()}, "--addr"},
		{[]string{"--addr", "bogus"}, "--addr"},
		{[]string{"--addr", "127.0.0.1:0", "--debug-addr", taken.Addr().String()}, "--debug-addr"},
		{[]string{"--addr", "127.0.0.1:0", "--read-timeout", "0s"}, "--read-timeout"},
		{[]string{"--addr", "127.0.0.1:0", "--read-header-timeout", "-1s"}, "--read-header-timeout"},
	} {
		data := filepath.Join(t.TempDir(), "data")
		_, _, err := runShort(t, append([]string{"serve", "--demo", "--data", data}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("serve %s: %v, want an error naming %s", strings.Join(c.args, " "), err, c.flag)
		}
		if _, err := os.Stat(data); err == nil {
			t.Errorf("serve %s: the data directory was created before the error", strings.Join(c.args, " "))
		}
	}
}

// TestOperatorNoDatabase: a command that reads or changes existing data,
// pointed at a directory with no database, says so and creates nothing;
// the commands that may start a data directory still do.
func TestOperatorNoDatabase(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"audit", "--ods", "A20047"},
		{"hub", "list"},
		{"hub", "add-practice", "pcn", "Y00001"},
		{"hub", "remove-practice", "pcn", "Y00001"},
		{"hub", "delete", "pcn"},
		{"directory", "list"},
		{"directory", "remove", "Y00001"},
		{"slots", "--hub", "pcn"},
		{"book", "--hub", "pcn", "--slot", "Y00001/1", "--patient", "9990000018"},
		{"book", "list", "--hub", "pcn", "--patient", "9990000018"},
		{"book", "cancel", "--hub", "pcn", "--appointment", "Y00001/1", "--reason", "r"},
	} {
		_, _, err := runShort(t, append(args, "--data", missing)...)
		want := "no database at " + filepath.Join(missing, "slotbridge.db") + ": give --data (or SLOTBRIDGE_DATA)"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("slotbridge %s on a missing database: %v, want %q", strings.Join(args, " "), err, want)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("slotbridge %s created %s", strings.Join(args, " "), missing)
		}
	}
	for _, args := range [][]string{{"hub", "create", "pcn"}, {"migrate"}} {
		fresh := filepath.Join(t.TempDir(), "fresh")
		if _, errOut, err := runShort(t, append(args, "--data", fresh)...); err != nil {
			t.Errorf("slotbridge %s on a fresh directory: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		if _, err := os.Stat(filepath.Join(fresh, "slotbridge.db")); err != nil {
			t.Errorf("slotbridge %s made no database: %v", strings.Join(args, " "), err)
		}
	}
}

// TestOperatorAudit: the ODS code is read in any case, an unknown one is an
// error rather than an empty table, and --since takes days.
func TestOperatorAudit(t *testing.T) {
	data := demoData(t)
	db := dbConfig{data: data, sync: "NORMAL"}
	st, err := db.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ods := range []string{"A20047", "QQ999"} {
		if err := st.Audit(context.Background(), &scheduling.AuditRecord{At: time.Now().Add(-30 * time.Hour), TraceID: "trace-" + ods,
			Interaction: "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-1", Method: "GET", PracticeODS: ods, Status: 200}); err != nil {
			t.Fatal(err)
		}
	}
	// A trace id is whatever the consumer sent (net/http lets a tab and a
	// bidi override through): the table shows it escaped, so it can neither
	// reorder the terminal's text nor shift the columns.
	if err := st.Audit(context.Background(), &scheduling.AuditRecord{At: time.Now().Add(-10 * time.Minute), TraceID: "evil\u202etab\there",
		Interaction: "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-1", Method: "GET", PracticeODS: "A20047", Status: 200}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if out, _, err := runShort(t, "audit", "--data", data, "--ods", "A20047"); err != nil || !strings.Contains(out, `evil\u202etab\u0009here`) ||
		strings.ContainsAny(out, "\u202e") {
		t.Errorf("audit with a bidi override and a tab in a trace id: %v\n%q", err, out)
	}
	out, _, err := runShort(t, "audit", "--data", data, "--ods", "a20047", "--since", "2d")
	if err != nil || !strings.Contains(out, "trace-A20047") {
		t.Errorf("audit --ods a20047 --since 2d: %v\n%s", err, out)
	}
	if out, _, err := runShort(t, "audit", "--data", data, "--since", "1d7h"); err != nil || !strings.Contains(out, "trace-A20047") {
		t.Errorf("audit --since 1d7h: %v\n%s", err, out)
	}
	if out, _, err := runShort(t, "audit", "--data", data, "--since", "90m"); err != nil || strings.Contains(out, "trace-") {
		t.Errorf("audit --since 90m: %v\n%s", err, out)
	}
	if _, _, err := runShort(t, "audit", "--data", data, "--ods", "ZZZZZ"); err == nil || !strings.Contains(err.Error(), "not_found") ||
		!strings.Contains(err.Error(), "ZZZZZ") {
		t.Errorf("audit --ods ZZZZZ: %v, want a not_found error naming it", err)
	}
	// Requests to a service root no practice has are audited under its
	// code; they are shown, not refused.
	if out, _, err := runShort(t, "audit", "--data", data, "--ods", "qq999", "--since", "2d"); err != nil || !strings.Contains(out, "trace-QQ999") {
		t.Errorf("audit --ods qq999: %v\n%s", err, out)
	}
	if _, _, err := runShort(t, "audit", "--data", data, "--since", "1x"); err == nil || !strings.Contains(err.Error(), "14d") {
		t.Errorf("audit --since 1x: %v, want the forms accepted", err)
	}
}

// TestOperatorDatabaseURL: --database takes a PostgreSQL URL only.
func TestOperatorDatabaseURL(t *testing.T) {
	want := "--database wants a postgres:// URL; use --data for a SQLite directory"
	for _, v := range []string{t.TempDir(), "mysql://x", "host=localhost dbname=x"} {
		if _, _, err := runShort(t, "migrate", "--database", v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--database %s: %v, want %q", v, err, want)
		}
		if _, _, err := runShort(t, "bench", "search", "--quick", "--database", v); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bench --database %s: %v, want %q", v, err, want)
		}
	}
	t.Setenv("SLOTBRIDGE_DATABASE_URL", "sqlite:///tmp/x.db")
	if _, _, err := runShort(t, "migrate"); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("SLOTBRIDGE_DATABASE_URL=sqlite://: %v, want %q", err, want)
	}
	for _, v := range []string{"postgres://u@127.0.0.1:1/x", "PostgreSQL://u@127.0.0.1:1/x"} {
		if err := checkDatabaseURL(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
}

// TestOperatorBookWords: a mistyped subcommand is named, not read as a
// booking; registration details are checked here and named by flag, not
// refused by the practice as a bare HTTP 400.
func TestOperatorBookWords(t *testing.T) {
	data := t.TempDir()
	_, _, err := runShort(t, "book", "lsit", "--hub", "sim", "--patient", "9990000018", "--data", data)
	if err == nil || !strings.Contains(err.Error(), `"lsit"`) || !strings.Contains(err.Error(), "amend|cancel|list") {
		t.Errorf("book lsit: %v, want an error naming the word and the subcommands", err)
	}
	book := []string{"book", "--hub", "sim", "--slot", "Y00001/1", "--patient", "9990000018", "--data", data}
	for flag, bad := range map[string]string{"--birth-date": "11/02/1961", "--gender": "man"} {
		if _, _, err := runShort(t, append(book, flag, bad)...); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("book %s %s: %v, want an error naming the flag", flag, bad, err)
		}
	}
	if _, _, err := runShort(t, append(book, "--birth-date", "1961-02-30")...); err == nil || !strings.Contains(err.Error(), "--birth-date") {
		t.Errorf("book --birth-date 1961-02-30: %v, want an error naming the flag", err)
	}
	if err := checkRegistration("female", "1961-02-11"); err != nil {
		t.Errorf("good details refused: %v", err)
	}
}

// TestOperatorTokenNeedsInteraction: token without --interaction says so.
func TestOperatorTokenNeedsInteraction(t *testing.T) {
	_, errOut, err := runShort(t, "token")
	if err == nil || !strings.Contains(err.Error(), "--interaction is required") {
		t.Errorf("token: %v, want --interaction is required", err)
	}
	if !strings.Contains(errOut, "metadata") {
		t.Errorf("token still lists the short names:\n%s", errOut)
	}
}

// TestOperatorSim: sim refuses settings it would otherwise replace by its
// defaults, and its printed hint finds the database it imported into.
func TestOperatorSim(t *testing.T) {
	dir := t.TempDir()
	base := []string{"sim", "--data", filepath.Join(dir, "refused"), "--addr", "127.0.0.1:0", "--directory", filepath.Join(dir, "refused.json")}
	for _, bad := range [][]string{{"--jitter", "foo"}, {"--practices", "0"}, {"--practices", "-3"}, {"--days", "0"}, {"--min-slots", "10", "--max-slots", "5"}} {
		if _, _, err := runShort(t, append(base, bad...)...); err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(bad[0], "-")) {
			t.Errorf("sim %s: %v, want an error naming it", strings.Join(bad, " "), err)
		}
	}
	if _, _, err := runShort(t, "bench", "fanout", "--jitter", "foo"); err == nil || !strings.Contains(err.Error(), "--jitter") {
		t.Errorf("bench fanout --jitter foo: %v", err)
	}

	data := filepath.Join(dir, "my data")
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedbuf.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sim", "--data", data, "--addr", "127.0.0.1:0", "--practices", "2", "--days", "2",
			"--directory", filepath.Join(dir, "sim.json"), "--latency", "0s"}, &out, io.Discard)
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "try: ") {
		select {
		case err := <-done:
			t.Fatalf("sim stopped: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sim gave no hint within 30 s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	hint := out.String()[strings.Index(out.String(), "try: "):]
	if want := "--data '" + data + "'"; !strings.Contains(hint, want) {
		t.Errorf("sim hint %q lacks %s", hint, want)
	}
	if !strings.Contains(out.String(), "2 practices") {
		t.Errorf("sim output:\n%s", out.String())
	}
}

// TestOperatorFailedPracticesPlural: one failed practice is "1 practice".
func TestOperatorFailedPracticesPlural(t *testing.T) {
	r := &federation.Result{Hub: "pcn", Practices: []federation.PracticeOutcome{{ODS: "Y00001"}, {ODS: "Y00002"}},
		Failures: []federation.Failure{{ODS: "Y00002", Reason: federation.ReasonTimeout}}}
	var b bytes.Buffer
	printResult(&b, r, 10)
	if !strings.Contains(b.String(), "\n1 practice failed:") {
		t.Errorf("one failure:\n%s", b.String())
	}
	r.Failures = append(r.Failures, federation.Failure{ODS: "Y00001", Reason: federation.ReasonTimeout})
	b.Reset()
	printResult(&b, r, 10)
	if !strings.Contains(b.String(), "\n2 practices failed:") {
		t.Errorf("two failures:\n%s", b.String())
	}
}

// TestOperatorTermWriter: a practice's diagnostics reach the terminal with
// escape sequences and bidi overrides shown as \u escapes, not acted on;
// tabs and newlines (the table's own) pass.
func TestOperatorTermWriter(t *testing.T) {
	r := &federation.Result{Hub: "pcn", Practices: []federation.PracticeOutcome{{ODS: "Y00001"}},
		Failures: []federation.Failure{{ODS: "Y00001", Reason: federation.ReasonProviderError, Detail: "bad \x1b[31mred\u202e"}}}
	var b bytes.Buffer
	printResult(termWriter{&b}, r, 10)
	out := b.String()
	if strings.ContainsAny(out, "\x1b\u202e") || !strings.Contains(out, `bad \u001b[31mred\u202e`) || !strings.Contains(out, "\n") {
		t.Errorf("output:\n%q", out)
	}
}

// TestOperatorServeChecksJWKSFirst: a missing JWKS file stops serve with
// its own error, before the store opens or the horizon top-up starts (it
// logged "database is closed" after the real error), and creates nothing.
func TestOperatorServeChecksJWKSFirst(t *testing.T) {
	t.Setenv("SLOTBRIDGE_JWKS", filepath.Join(t.TempDir(), "nonexistent.json"))
	data := filepath.Join(t.TempDir(), "data")
	var errb lockedbuf.Buffer
	err := runServe(context.Background(), []string{"--data", data, "--addr", "127.0.0.1:0"}, io.Discard, &errb)
	if err == nil || !strings.Contains(err.Error(), "JWKS") {
		t.Fatalf("serve with a missing JWKS: %v", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve opened the store before checking the JWKS (%s exists)", data)
	}
	// runServe waits for its top-up before it returns, so the log is complete.
	if strings.Contains(errb.String(), "top-up failed") || strings.Contains(errb.String(), "database is closed") {
		t.Errorf("serve logged:\n%s", errb.String())
	}
}

// TestOperatorServeChecksHubFirst: a malformed hub setting stops serve
// before the store opens, so nothing is created.
func TestOperatorServeChecksHubFirst(t *testing.T) {
	t.Setenv("SLOTBRIDGE_SSP_URL", "notaurl")
	data := filepath.Join(t.TempDir(), "data")
	err := runServe(context.Background(), []string{"--data", data, "--addr", "127.0.0.1:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "notaurl") {
		t.Fatalf("serve with a bad SLOTBRIDGE_SSP_URL: %v", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve opened the store before checking the hub settings (%s exists)", data)
	}
}
