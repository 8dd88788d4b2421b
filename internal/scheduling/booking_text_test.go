package scheduling

import (
	"strings"
	"testing"
)

// TestTextProblems: the limits count characters, not bytes, and hold on
// the boundary itself.
func TestTextProblems(t *testing.T) {
	for _, c := range []struct {
		desc, comment string
		want          []string
	}{
		{strings.Repeat("é", MaxDescription), strings.Repeat("ü", MaxComment), nil},
		{strings.Repeat("é", MaxDescription+1), "", []string{"description is 101 characters"}},
		{"d", strings.Repeat("c", MaxComment+1), []string{"comment is 501 characters"}},
		{strings.Repeat("d", 150), strings.Repeat("c", 600), []string{"description is 150", "comment is 600"}},
	} {
		got := TextProblems(c.desc, c.comment)
		if len(got) != len(c.want) {
			t.Fatalf("TextProblems(%d runes, %d runes) = %q, want %d problems", len([]rune(c.desc)), len([]rune(c.comment)), got, len(c.want))
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("problem %d = %q, want it to say %q", i, got[i], w)
			}
		}
	}
}
