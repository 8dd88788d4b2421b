package scheduling

import "testing"

// TestUnsafe: controls (C0, C1) and characters that reorder or hide text
// are unsafe; joiners, soft hyphens and ordinary letters are not.
func TestUnsafe(t *testing.T) {
	for r, want := range map[rune]bool{
		0x00: true, 0x1b: true, 0x7f: true, 0x85: true, 0x9f: true,
		0x061c: true, 0x200e: true, 0x200f: true, 0x202a: true, 0x202e: true, 0x2066: true, 0x2069: true, 0xfeff: true,
		0xfffe: true, 0xffff: true,
		'a': false, 'é': false, 0x200c: false, 0x200d: false, 0x00ad: false, ' ': false, '\t': true, 0xfffd: false,
	} {
		if got := Unsafe(r); got != want {
			t.Errorf("Unsafe(%U) = %v, want %v", r, got, want)
		}
	}
}

// TestPlainTextNoncharacters: U+FFFE and U+FFFF, which XML cannot carry,
// are not plain text; U+FFFD and letters beyond the BMP are.
func TestPlainTextNoncharacters(t *testing.T) {
	for s, want := range map[string]bool{"a\uffffb": false, "\ufffe": false, "a\ufffdb": true, "\U0001F600": true, "Llanelli": true} {
		if got := PlainText(s); got != want {
			t.Errorf("PlainText(%+q) = %v, want %v", s, got, want)
		}
	}
}
