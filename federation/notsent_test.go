package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/slotbridge/slotbridge/consumer"

	"github.com/slotbridge/slotbridge/internal/tlstest"
)

// TestNotSentTLS: a request whose TLS handshake failed never reached the
// practice, so a booking that fails that way is not reported as "may have
// been made"; an answer that was cut off still is.
func TestNotSentTLS(t *testing.T) {
	pki := tlstest.New(t)
	ssp := tlstest.StartSSP(t, pki.ServerTLS())
	get := func(files TLSFiles) error {
		t.Helper()
		hc, err := NewHubTLSClient(Config{}, files)
		if err != nil {
			t.Fatal(err)
		}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get(ssp.URL + "/A20047/STU3/1/gpconnect/metadata")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET succeeded with %+v", files)
		}
		return err
	}
	for name, files := range map[string]TLSFiles{
		"no client certificate": {CAFile: pki.CAFile},
		"server not trusted":    {CertFile: pki.ClientCert, KeyFile: pki.ClientKey},
	} {
		if err := get(files); !notSent(err) {
			t.Errorf("%s: %v counts as possibly sent", name, err)
		}
	}
	// Refused at the proxy's handshake, as GPConnect reports it: not sent.
	if !notSent(&CallError{Reason: ReasonSSP, Detail: "the hub's TLS connection to the Spine Secure Proxy failed"}) {
		t.Error("a handshake the proxy refused counts as possibly sent")
	}
	if !notSent(fmt.Errorf("%w: the slot search range is empty", consumer.ErrInvalidRequest)) {
		t.Error("a request the hub's client refused to send counts as possibly sent")
	}
	// A TLS alert that is not about a certificate may come after the
	// request was read (a proxy failing mid-answer).
	late := &net.OpError{Op: "remote error", Err: errors.New("tls: internal error")}
	for _, err := range []error{io.ErrUnexpectedEOF, context.DeadlineExceeded, fmt.Errorf("read: %w", io.EOF), late} {
		if notSent(err) {
			t.Errorf("%v (an answer cut off or late) counts as not sent", err)
		}
	}
}
