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
}
