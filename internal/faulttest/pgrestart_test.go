package faulttest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/internal/store"
	"github.com/slotbridge/slotbridge/internal/store/storetest"
)

// mustRunOrSkip skips with the reason, except under CI=true, where a fault
// test that cannot run is a failure.
func mustRunOrSkip(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but this fault test cannot run: %s", why)
	}
	t.Skip(why)
}

// pgCluster is a private, throw-away PostgreSQL cluster made with the
// installed server's initdb. Restarting it breaks no one else's connections,
// which restarting the shared CI cluster would: go test ./... runs packages
// in parallel, and the store and provider tests use that cluster.
type pgCluster struct {
	bin, data string
	port      int
	cred      *syscall.Credential
}

// pgBinDir finds the PostgreSQL server programs.
func pgBinDir() (string, error) {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server programs (initdb, pg_ctl) found via pg_config or /usr/lib/postgresql/*/bin")
}

// startCluster makes and starts a private cluster on a free loopback port.
// PostgreSQL refuses to run as root, so as root it runs as user postgres.
func startCluster(t *testing.T) *pgCluster {
	t.Helper()
	bin, err := pgBinDir()
	if err != nil {
		mustRunOrSkip(t, err.Error())
	}
	c := &pgCluster{bin: bin, port: freePort(t)}
	root := worldDir(t)
	c.data = filepath.Join(root, "pgdata")
	if err := os.Mkdir(c.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			mustRunOrSkip(t, "running as root, and there is no user postgres to run a private PostgreSQL cluster as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(c.data, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	c.run(t, "initdb", "-D", c.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
	c.run(t, "pg_ctl", "-D", c.data, "-l", filepath.Join(c.data, "server.log"), "-w", "-t", "180", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100", c.port, c.data), "start")
	t.Cleanup(func() {
		cmd := c.cmd("pg_ctl", "-D", c.data, "-m", "immediate", "-w", "stop")
		cmd.Run()
	})
	return c
}

func (c *pgCluster) cmd(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = "/"
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd
}

// run runs a PostgreSQL program and fails the test if it fails. Its output
// goes to a file, not a pipe: a server that pg_ctl starts inherits the
// descriptors, and a pipe would never close.
func (c *pgCluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	f, err := os.CreateTemp("", "slotbridge-pg-*.out")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd := c.cmd(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.data, "server.log"))
		t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", name, args, err, out, tail(string(log), 3000))
	}
}

// url is the URL of database db on the cluster.
func (c *pgCluster) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// TestPostgresRestartDuringLoad restarts PostgreSQL under the server while
// clients book. Requests caught by the restart get a 500 OperationOutcome
// (never a dropped connection); afterwards the same server process, without
// a restart of its own, books again; and every 201 is there once, busy slots
// match appointments, and the audit matches. Both drivers are tried.
func TestPostgresRestartDuringLoad(t *testing.T) {
	if os.Getenv(storetest.EnvURL) == "" {
		mustRunOrSkip(t, storetest.EnvURL+" is not set: PostgreSQL fault tests are off")
	}
	c := startCluster(t)
	admin, err := sql.Open("pgx", c.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, drv := range []string{store.DriverPgx, store.DriverPQ} {
		t.Run(drv, func(t *testing.T) {
			db := "restart_" + drv
			if _, err := admin.Exec("CREATE DATABASE " + db); err != nil {
				t.Fatal(err)
			}
			url := c.url(db)
			srv := startServe(t, serveOpts{args: []string{"--demo", "--database", url, "--pg-driver", drv}})
			st, err := store.Open(context.Background(), store.Config{URL: url, PGDriver: drv, MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			targets := freeTargets(t, st, 1000)
			patient := patientID(t, st)
			st.Close() // its connections would not survive the restart
			run := fmt.Sprintf("pgrestart-%s-%d", drv, time.Now().UnixNano())
			description := "Fault test " + run
			b := newBookings()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			wg := b.load(ctx, srv.base, targets, patient, 6, run, description)

			waitFor(t, 3*time.Minute, "20 bookings before the restart", func() bool { return b.count201() >= 20 })
			c.run(t, "pg_ctl", "-D", c.data, "-l", filepath.Join(c.data, "server.log"), "-m", "fast", "-w", "-t", "180", "restart")
			atRestart := b.count201()
			waitFor(t, 3*time.Minute, "20 bookings after the restart", func() bool { return b.count201() >= atRestart+20 || !srv.running() })
			cancel()
			wg.Wait()
			if !srv.running() {
				t.Fatalf("the server exited: %v", srv.err)
			}
			if b.count201() < atRestart+20 {
				t.Fatalf("the server did not book again after PostgreSQL restarted: %v", b.statuses)
			}
			b.mu.Lock()
			for k, n := range b.statuses {
				if k != "201" && k != "500 INTERNAL_SERVER_ERROR database unavailable" {
					t.Errorf("%d answers %q: during a restart a request should get 201 or a 500 OperationOutcome saying the database is unavailable", n, k)
					for _, line := range strings.Split(srv.stderr.String(), "\n") {
						if strings.Contains(line, "internal error") && !strings.Contains(line, "database is unavailable") {
							t.Log("server: " + line)
						}
					}
				}
			}
			b.mu.Unlock()
			st, err = store.Open(context.Background(), store.Config{URL: url, PGDriver: drv, MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			checkBookings(t, st, b, description, run)
		})
	}
}
