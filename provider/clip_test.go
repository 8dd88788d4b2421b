package provider_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slotbridge/slotbridge/provider"
)

// TestClipReasonKeepsUTF8: a long cancellation reason may be cut (spec §7.3),
// but never inside a character.
func TestClipReasonKeepsUTF8(t *testing.T) {
	for _, in := range []string{strings.Repeat("é", 1500), "x" + strings.Repeat("€", 700), strings.Repeat("a", 2500)} {
		out := provider.ClipReasonForTest(in)
		if len(out) > 2000 || !utf8.ValidString(out) || !strings.HasPrefix(in, out) || len(out) < 1997 {
			t.Errorf("clip of %d bytes gave %d bytes, valid UTF-8 %v", len(in), len(out), utf8.ValidString(out))
		}
	}
	if got := provider.ClipReasonForTest("short"); got != "short" {
		t.Errorf("short reason changed to %q", got)
	}
}
