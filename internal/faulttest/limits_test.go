package faulttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/auth"
)

// limitServer runs the binary with short read timeouts, so the tests see
// them act without waiting for the production defaults (10s and 30s).
func limitServer(t *testing.T) *server {
	return startServe(t, serveOpts{args: []string{"--demo", "--data", t.TempDir(), "--read-header-timeout", "1s", "--read-timeout", "3s"}})
}

// closedWithin reads from conn until the server closes it (or answers and
// closes); it fails the test if that does not happen within d.
func closedWithin(t *testing.T, conn net.Conn, d time.Duration) []byte {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still held the connection after %s (read %q)", d, b)
	}
	return b
}

// TestSlowloris: connections that send their headers a byte at a time are
// dropped after the header timeout, and while two hundred of them are open
// the server still answers others.
func TestSlowloris(t *testing.T) {
	srv := limitServer(t)
	const n = 200
	conns := make([]net.Conn, 0, n)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /%s/STU3/1/gpconnect/metadata HTTP/1.1\r\nHost: x\r\nX-Slow: ", ods)
		conns = append(conns, c)
	}
	// Keep trickling on one of them: activity must not extend the deadline.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := conns[0].Write([]byte("a")); err != nil {
					return
				}
			}
		}
	}()
	resp, err := (&http.Client{Timeout: requestTimeout}).Get(srv.base + "/healthz")
	if err != nil {
		t.Fatalf("with %d slow connections open the server does not answer: %v", n, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz with slow connections open: %d", resp.StatusCode)
	}
	for _, c := range conns {
		if b := closedWithin(t, c, time.Minute); len(b) > 0 && !bytes.HasPrefix(b, []byte("HTTP/1.1 4")) {
			t.Fatalf("a slow connection got %q", b)
		}
	}
}

// gpcRequest writes the head of a booking request, with a Content-Length.
func gpcRequest(t *testing.T, w io.Writer, length int, chunked bool) {
	t.Helper()
	tok, err := auth.Mint(auth.DefaultTestIdentity(), gpconnect.ScopePatientWrite, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "POST /%s/STU3/1/gpconnect/Appointment HTTP/1.1\r\nHost: x\r\nSsp-TraceID: limits\r\nSsp-From: %s\r\nSsp-To: %s\r\n"+
		"Ssp-InteractionID: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/fhir+json\r\n",
		ods, fromASID, asid, gpconnect.CreateAppointment, tok)
	if chunked {
		fmt.Fprint(w, "Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", length)
	}
}

// readOutcome reads one HTTP response and its OperationOutcome.
func readOutcome(t *testing.T, conn net.Conn) (int, string, string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var oo struct {
		Issue []struct{ Diagnostics string } `json:"issue"`
	}
	json.Unmarshal(b, &oo)
	diag := ""
	if len(oo.Issue) > 0 {
		diag = oo.Issue[0].Diagnostics
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		t.Errorf("Content-Type %q, want an OperationOutcome in application/fhir+json: %s", ct, b)
	}
	return resp.StatusCode, spineCode(b), diag
}

// TestSlowBody: a booking whose body trickles in is cut off at the read
// timeout with a 400 OperationOutcome, not waited for.
func TestSlowBody(t *testing.T) {
	srv := limitServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const length = 100000
	gpcRequest(t, c, length, false)
	stop := make(chan struct{})
	defer close(stop)
	go func() { // 100 bytes every 200ms: the whole body would take over three minutes
		for sent := 0; sent < length; sent += 100 {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := c.Write(bytes.Repeat([]byte(" "), 100)); err != nil {
					return
				}
			}
		}
	}()
	status, code, diag := readOutcome(t, c)
	if status != http.StatusBadRequest || code != string(gpconnect.BadRequest) {
		t.Fatalf("slow body: %d %s %q, want 400 BAD_REQUEST", status, code, diag)
	}
}

// TestOversizedBody: a body over the 1 MiB limit is refused with 413 and a
// BAD_REQUEST OperationOutcome (GP Connect has no code of its own for it;
// 413 is the status HTTP gives it, as 415 goes with BAD_REQUEST for media
// types), whether its length is declared or it comes chunked; and a header
// block over 64 KiB is refused by net/http with 431.
func TestOversizedBody(t *testing.T) {
	srv := limitServer(t)
	addr := strings.TrimPrefix(srv.base, "http://")
	body := append([]byte(`{"resourceType":"Appointment","description":"`), bytes.Repeat([]byte("x"), 2<<20)...)
	body = append(body, `"}`...)
	for _, chunked := range []bool{false, true} {
		t.Run(map[bool]string{false: "ContentLength", true: "Chunked"}[chunked], func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			gpcRequest(t, c, len(body), chunked)
			go func() {
				if chunked {
					for off := 0; off < len(body); off += 64 << 10 {
						end := min(off+64<<10, len(body))
						if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", end-off, body[off:end]); err != nil {
							return
						}
					}
					fmt.Fprint(c, "0\r\n\r\n")
					return
				}
				c.Write(body)
			}()
			status, code, diag := readOutcome(t, c)
			if status != http.StatusRequestEntityTooLarge || code != string(gpconnect.BadRequest) || !strings.Contains(diag, "larger than") {
				t.Fatalf("oversized body: %d %s %q, want 413 BAD_REQUEST", status, code, diag)
			}
		})
	}
	// A declared length over the limit is refused at once: nothing of the
	// body is sent, and waiting for it would end at the read timeout in a
	// 400 that blamed the client's slowness.
	t.Run("DeclaredOnly", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		gpcRequest(t, c, 1_000_000_000_000, false)
		status, code, diag := readOutcome(t, c)
		if status != http.StatusRequestEntityTooLarge || code != string(gpconnect.BadRequest) || !strings.Contains(diag, "larger than") {
			t.Fatalf("a declared 1 TB body, none sent: %d %s %q, want 413 BAD_REQUEST", status, code, diag)
		}
	})
	t.Run("Headers", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.base+"/"+ods+"/STU3/1/gpconnect/metadata", nil)
		req.Header.Set("X-Big", strings.Repeat("h", 100<<10))
		resp, err := (&http.Client{Timeout: requestTimeout}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("100 KiB of headers: %d, want 431", resp.StatusCode)
		}
	})
	// The server is still fine.
	if err := srv.waitHealthy(time.Minute); err != nil {
		t.Fatal(err)
	}
}
