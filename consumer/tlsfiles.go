package consumer

import (
	"crypto/tls"
	"time"

	"github.com/slotbridge/slotbridge/internal/tlsfiles"
)

// ClientTLS loads a client's TLS identity from PEM files into a
// configuration of TLS 1.2 or later (spec §1.4 wants mutual TLS towards
// the Spine Secure Proxy). certFile is the client certificate (its chain may
// follow it) and keyFile its key, both or neither; caFile is the bundle of
// CAs trusted for servers, empty for the system's roots. It fails, naming
// the file, when a file cannot be read or holds no PEM certificate, the key
// does not match, or the certificate has expired or is not valid yet at
// now: better when a client is built than as every handshake failing.
func ClientTLS(certFile, keyFile, caFile string, now time.Time) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if certFile != "" || keyFile != "" {
		pair, err := tlsfiles.KeyPair("TLS client certificate", certFile, keyFile, now)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	if caFile != "" {
		pool, _, err := tlsfiles.Bundle("TLS CA bundle", caFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
