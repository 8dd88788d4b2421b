package federation_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/federation"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/scheduling"
	"github.com/slotbridge/slotbridge/internal/wiretest"
)

// The hub's slot fan-out builds its own request; it must spell the Ssp-*
// header names as the spec does, as the consumer package does. The request
// head is read off a bare loopback listener because httptest would
// canonicalise the names.
func TestFanoutSpineHeaderNamesOnTheWire(t *testing.T) {
	base, got := wiretest.Serve(t, "application/fhir+json;charset=utf-8", `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	hc := federation.NewHTTPClient(4)
	defer hc.CloseIdleConnections()
	g := federation.NewGPConnect(testIdentity(), hc, "")
	ep := &scheduling.Endpoint{ODS: "F00001", ServiceRoot: base + "/F00001/STU3/1/gpconnect", ASID: "918999198993", Enabled: true}
	start := scheduling.LocalMidnight(time.Now().AddDate(0, 0, 1))
	if _, _, err := g.SearchSlots(context.Background(), ep, federation.SlotRequest{Start: start, End: start.AddDate(0, 0, 2)}); err != nil {
		t.Fatal(err)
	}
	head := <-got
	for _, want := range []string{"Ssp-TraceID: ", "Ssp-From: 200000000359", "Ssp-To: 918999198993", "Ssp-InteractionID: " + string(gpconnect.SearchSlot)} {
		if !strings.Contains(head, "\r\n"+want) {
			t.Errorf("request head lacks %q:\n%s", want, head)
		}
	}
}

// The fan-out refuses, unsent, a window consumer.SearchSlots would refuse:
// a caller that did not split a long period gets an error, not a 422.
func TestFanoutRefusesLongWindowUnsent(t *testing.T) {
	var sent atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		w.Header().Set("Content-Type", "application/fhir+json;charset=utf-8")
		io.WriteString(w, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	}))
	defer srv.Close()
	hc := federation.NewHTTPClient(4)
	defer hc.CloseIdleConnections()
	g := federation.NewGPConnect(testIdentity(), hc, "")
	ep := &scheduling.Endpoint{ODS: "F00001", ServiceRoot: srv.URL + "/F00001/STU3/1/gpconnect", ASID: "918999198993", Enabled: true}
	start := scheduling.LocalMidnight(time.Now().AddDate(0, 0, 1))
	_, _, err := g.SearchSlots(context.Background(), ep, federation.SlotRequest{Start: start, End: start.AddDate(0, 0, 20)})
	if !errors.Is(err, consumer.ErrInvalidRequest) || sent.Load() != 0 {
		t.Fatalf("err %v with %d requests sent, want ErrInvalidRequest and none", err, sent.Load())
	}
	if _, _, err := g.SearchSlots(context.Background(), ep, federation.SlotRequest{Start: start, End: start.AddDate(0, 0, 14)}); err != nil || sent.Load() != 1 {
		t.Fatalf("14 days: err %v, %d requests sent", err, sent.Load())
	}
}
