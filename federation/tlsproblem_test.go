package federation

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestTLSProblemClosedAfterHandshake: under TLS 1.3 a server that refuses
// the client's certificate (or its absence) may be seen by the client only
// as a failed write of the request. TestHubMutualTLS meets this by chance
// (the alert or the broken pipe, whichever the client sees first); here each
// shape is built, so both are explained every run.
func TestTLSProblemClosedAfterHandshake(t *testing.T) {
	broken := func(scheme string, errno syscall.Errno) error {
		return &url.Error{Op: "Get", URL: scheme + "://ssp.example/A20047/STU3/1/gpconnect/Slot",
			Err: fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w",
				&net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", errno)})}
	}
	for _, errno := range []syscall.Errno{syscall.EPIPE, syscall.ECONNRESET} {
		d, ok := tlsProblem(broken("https", errno))
		if !ok || !strings.Contains(d, "TLS") || !strings.Contains(d, "client certificate") || strings.Contains(d, "ssp.example") {
			t.Errorf("https, %v: %q, %v; want a TLS explanation naming the client certificate and not the URL", errno, d, ok)
		}
		if d, ok := tlsProblem(broken("http", errno)); ok {
			t.Errorf("plain http, %v: %q is no TLS problem", errno, d)
		}
	}
	if d, ok := tlsProblem(broken("https", syscall.ECONNREFUSED)); ok {
		t.Errorf("a refused connection: %q is no TLS problem", d)
	}
	// A reset while reading the answer is a provider or proxy dropping the
	// connection, not a refused certificate.
	read := &url.Error{Op: "Get", URL: "https://ssp.example/A20047/STU3/1/gpconnect/Slot",
		Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}
	if d, ok := tlsProblem(read); ok {
		t.Errorf("a reset on reading: %q blames TLS", d)
	}
}
