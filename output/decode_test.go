package output

import (
	"strings"
	"testing"
)

// decodeRef is the specification of the decoder: Go's per-byte decoding of the whole stream at once.
func decodeRef(p []byte) string {
	var sb strings.Builder
	for _, r := range string(p) {
		sb.WriteRune(r)
	}
	return sb.String()
}

func decodeParts(parts ...[]byte) string {
	var d Decoder
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(d.Decode(p))
	}
	sb.WriteString(d.Flush())
	return sb.String()
}

func TestDecoder(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name  string
		parts [][]byte
		want  string
	}{
		{"split euro (reference example)", [][]byte{{0xE2, 0x82}, {0xAC, 0x0A}}, "€\n"},
		{"invalid byte (reference example)", [][]byte{b("a\377b\n")}, "a\uFFFDb\n"},
		{"per-byte semantics", [][]byte{{0xE2, 0x82, 0x41}}, "\uFFFD\uFFFDA"},
		{"held prefix turns invalid", [][]byte{{0xE2, 0x82}, {0x41}}, "\uFFFD\uFFFDA"},
		{"held lead turns invalid", [][]byte{{0xE2}, {0x82, 0x41}}, "\uFFFD\uFFFDA"},
		{"held lead then continuation garbage", [][]byte{{0xF0}, {0x80, 0x80}}, "\uFFFD\uFFFD\uFFFD"},
		{"held lead then new lead", [][]byte{{0xE2}, {0xE2, 0x82, 0xAC}}, "\uFFFD€"},
		{"four-byte over three reads", [][]byte{{0xF0, 0x9F}, {0x98}, {0x80, 'x'}}, "😀x"},
		{"empty reads keep the held bytes", [][]byte{{0xF0}, {}, {0x9F, 0x98}, nil, {0x80}}, "😀"},
		{"flush of held bytes", [][]byte{{'a', 0xE2, 0x82}}, "a\uFFFD\uFFFD"},
		{"flush of one held byte", [][]byte{{0xF0}}, "\uFFFD"},
		{"overlong", [][]byte{{0xC0, 0x80}}, "\uFFFD\uFFFD"},
		{"overlong split", [][]byte{{0xE0}, {0x80, 0x80}}, "\uFFFD\uFFFD\uFFFD"},
		{"surrogate", [][]byte{{0xED, 0xA0, 0x80}}, "\uFFFD\uFFFD\uFFFD"},
		{"surrogate split", [][]byte{{0xED}, {0xA0}, {0x80}}, "\uFFFD\uFFFD\uFFFD"},
		{"beyond U+10FFFF", [][]byte{{0xF4, 0x90, 0x80, 0x80}}, "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"valid U+FFFD kept", [][]byte{b("\uFFFD")}, "\uFFFD"},
		{"lone continuation", [][]byte{{0x80}, {0xBF}}, "\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeParts(tt.parts...); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			var whole []byte
			for _, p := range tt.parts {
				whole = append(whole, p...)
			}
			if ref := decodeRef(whole); ref != tt.want {
				t.Errorf("reference %q, want %q", ref, tt.want)
			}
		})
	}
}

func TestDecoderHoldsOnlyIncomplete(t *testing.T) {
	var d Decoder
	if got := d.Decode([]byte{0xE2, 0x82}); got != "" {
		t.Fatalf("incomplete sequence decoded early: %q", got)
	}
	if got := d.Decode([]byte{0xAC}); got != "€" {
		t.Fatalf("got %q", got)
	}
	if got := d.Flush(); got != "" {
		t.Fatalf("flush after complete: %q", got)
	}
}

// Every split of a set of tricky sequences must give the reference result.
func TestDecoderAllSplits(t *testing.T) {
	inputs := []string{
		"a€b😀c", "\xE2\x82\x41", "\xF0\x9F\x98", "\xED\xA0\x80x", "\xC3\xA9\xC3", "\xF4\x8F\xBF\xBF\xF4\x90",
		"\xE0\xA0\x80\xE0\x9F\xBF", "\xF0\x90\x80\xF0\x90\x80\x80",
	}
	for _, in := range inputs {
		p := []byte(in)
		want := decodeRef(p)
		for i := 0; i <= len(p); i++ {
			for j := i; j <= len(p); j++ {
				if got := decodeParts(p[:i], p[i:j], p[j:]); got != want {
					t.Errorf("%q split %d,%d: got %q, want %q", in, i, j, got, want)
				}
			}
		}
	}
}
