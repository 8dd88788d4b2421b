// Package jsonapitest checks answers of the management JSON APIs in tests
// (the fuzzers of the practice admin API and the federation admin API).
package jsonapitest

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/slotbridge/slotbridge/internal/jsonapi"
)

// Check returns what is wrong with one answer, or nil: any 5xx; a body that
// is not JSON (except on 204); a 4xx without the error body with both its
// fields set. A 3xx is fine: net/http's mux redirects an unclean path
// (/a/../b) before any handler runs.
func Check(status int, body []byte) error {
	switch {
	case status >= 500:
		return fmt.Errorf("%d %s", status, body)
	case status >= 300 && status < 400:
		return nil
	case status != http.StatusNoContent && !json.Valid(body):
		return fmt.Errorf("%d with a body that is not JSON: %q", status, body)
	case status >= 400:
		var e jsonapi.Error
		if json.Unmarshal(body, &e) != nil || e.Message == "" || e.Code == "" {
			return fmt.Errorf("%d without the error body {error, code}: %q", status, body)
		}
	}
	return nil
}
