package proxyproto

import (
	"bytes"
	"errors"
	"net"
	"testing"
)

// FuzzParse: Parse never panics, classifies every input, never claims more
// bytes than it was given or than the limits, decides nothing on a proper
// prefix of a header, and agrees with itself on the header alone.
func FuzzParse(f *testing.F) {
	for _, c := range parseCases() {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, n, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrNoHeader) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("unclassified error %v", err)
			}
			if errors.Is(err, ErrNoHeader) && (bytes.HasPrefix(data, v1Prefix) || bytes.HasPrefix(data, v2Signature)) {
				t.Fatalf("ErrNoHeader for a header signature: %q", data)
			}
			return
		}
		if n <= 0 || n > len(data) {
			t.Fatalf("n = %d of %d", n, len(data))
		}
		switch h.Version {
		case 1:
			if n > MaxV1Length || !bytes.HasSuffix(data[:n], []byte("\r\n")) {
				t.Fatalf("v1 header of %d bytes: %q", n, data[:n])
			}
			if bytes.IndexByte(data[:n-2], '\n') >= 0 || bytes.IndexByte(data[:n-2], '\r') >= 0 {
				t.Fatalf("v1 header with CR or LF inside: %q", data[:n])
			}
		case 2:
			if n > MaxV2Length || n < 16 {
				t.Fatalf("v2 header of %d bytes", n)
			}
		default:
			t.Fatalf("version %d", h.Version)
		}
		if (h.Source == nil) != (h.Destination == nil) {
			t.Fatalf("one address without the other: %+v", h)
		}
		if h.Command == Local && h.Source != nil {
			t.Fatalf("LOCAL with addresses")
		}
		if a, ok := h.Source.(*net.TCPAddr); ok && (a.Port < 0 || a.Port > 65535 || (len(a.IP) != 4 && len(a.IP) != 16)) {
			t.Fatalf("source %v", a)
		}
		// The header alone parses the same; every proper prefix is
		// incomplete.
		h2, n2, err := Parse(data[:n])
		if err != nil || n2 != n || addrString(h2.Source) != addrString(h.Source) ||
			addrString(h2.Destination) != addrString(h.Destination) || h2.Command != h.Command {
			t.Fatalf("header alone: %+v %d %v; with the rest: %+v %d", h2, n2, err, h, n)
		}
		for _, k := range []int{0, 1, n / 2, n - 1} {
			if _, _, err := Parse(data[:k]); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("prefix of %d/%d bytes: %v", k, n, err)
			}
		}
	})
}
