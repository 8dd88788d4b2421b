package consumer_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/slotbridge/slotbridge/consumer"
	"github.com/slotbridge/slotbridge/fhir/gpconnect"
	"github.com/slotbridge/slotbridge/internal/wiretest"
)

// rawServer is a wiretest server answering every request with an empty 200.
func rawServer(t *testing.T) (string, <-chan string) { return wiretest.Serve(t, "", "") }

// headerLines returns the request head's header lines whose name is name in any case.
func headerLines(head, name string) []string {
	var out []string
	for _, l := range strings.Split(head, "\r\n") {
		if k, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			out = append(out, l)
		}
	}
	return out
}

func TestSpineHeaderNamesOnTheWire(t *testing.T) {
	base, got := rawServer(t)
	c := newClient(t, testConfig(base+"/A20047/STU3/1/gpconnect", leggASID))
	send := func(opts ...consumer.Option) string {
		t.Helper()
		if _, err := c.Do(context.Background(), consumer.Request{Method: http.MethodGet, Path: "metadata", Interaction: gpconnect.ReadMetadata}, opts...); err != nil {
			t.Fatal(err)
		}
		return <-got
	}
	t.Run("SpelledAsTheSpec", func(t *testing.T) {
		head := send()
		for _, want := range []string{"Ssp-TraceID: ", "Ssp-From: " + consumerASID, "Ssp-To: " + leggASID, "Ssp-InteractionID: " + string(gpconnect.ReadMetadata)} {
			if !strings.Contains(head, "\r\n"+want) {
				t.Errorf("request head lacks %q:\n%s", want, head)
			}
		}
	})
	// The options that conformance uses to send bad headers still work on
	// the spec spelling: one header replaced, or none left.
	t.Run("WithHeaderReplaces", func(t *testing.T) {
		head := send(consumer.WithHeader("ssp-traceid", "not-a-uuid"))
		if l := headerLines(head, "Ssp-TraceID"); len(l) != 1 || l[0] != "Ssp-TraceID: not-a-uuid" {
			t.Fatalf("trace id lines %q", l)
		}
	})
	t.Run("WithoutHeaderRemoves", func(t *testing.T) {
		head := send(consumer.WithoutHeader(gpconnect.HeaderInteractionID), consumer.WithoutHeader("Ssp-To"))
		if l := append(headerLines(head, "Ssp-InteractionID"), headerLines(head, "Ssp-To")...); len(l) != 0 {
			t.Fatalf("removed headers were sent: %q", l)
		}
	})
	t.Run("SetSpineHeaders", func(t *testing.T) {
		h := http.Header{}
		h.Set("Ssp-Traceid", "old")
		consumer.SetSpineHeaders(h, "t", "f", "to", gpconnect.SearchSlot)
		if len(h) != 4 || h["Ssp-TraceID"][0] != "t" || h["Ssp-InteractionID"][0] != string(gpconnect.SearchSlot) || h["Ssp-From"][0] != "f" || h["Ssp-To"][0] != "to" {
			t.Fatalf("header map %v", h)
		}
	})
}
