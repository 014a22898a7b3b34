package proxyproto

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net"
	"strings"
	"testing"
)

// v2 builds a version 2 header: verCmd, fam, then the block (addresses and
// TLVs) with its length filled in.
func v2(verCmd, fam byte, block ...[]byte) []byte {
	b := append([]byte(nil), v2Signature...)
	b = append(b, verCmd, fam, 0, 0)
	for _, p := range block {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint16(b[14:16], uint16(len(b)-16))
	return b
}

func ip4Block(src, dst string, sport, dport uint16) []byte {
	b := append([]byte(nil), net.ParseIP(src).To4()...)
	b = append(b, net.ParseIP(dst).To4()...)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, sport), dport)
}

func ip6Block(src, dst string, sport, dport uint16) []byte {
	b := append([]byte(nil), net.ParseIP(src).To16()...)
	b = append(b, net.ParseIP(dst).To16()...)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, sport), dport)
}

func unixBlock(src, dst string) []byte {
	b := make([]byte, 216)
	copy(b, src)
	copy(b[108:], dst)
	return b
}

func tlv(typ byte, v []byte) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{typ}, uint16(len(v))), v...)
}

// withCRC appends a CRC32C TLV computed over the whole header.
func withCRC(h []byte) []byte {
	h = append(h, tlv(tlvCRC32C, []byte{0, 0, 0, 0})...)
	binary.BigEndian.PutUint16(h[14:16], uint16(len(h)-16))
	c := crc32.Checksum(h, crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(h[len(h)-4:], c)
	return h
}

type parseCase struct {
	name string
	in   []byte
	err  error // nil, ErrIncomplete, ErrNoHeader, ErrInvalid
	n    int   // header length when err == nil (0: len(in))
	cmd  Command
	src  string // Source.String(); "" for none
	dst  string
}

func parseCases() []parseCase {
	long := "PROXY UNKNOWN " + strings.Repeat("f", MaxV1Length-len("PROXY UNKNOWN ")-2)
	return []parseCase{
		// Version 1.
		{name: "v1 TCP4", in: []byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n"),
			n: 47, cmd: Proxy, src: "192.168.0.1:56324", dst: "192.168.0.11:443"},
		{name: "v1 TCP6", in: []byte("PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n"),
			cmd: Proxy, src: "[2001:db8::1]:1", dst: "[2001:db8::2]:65535"},
		{name: "v1 TCP6 full", in: []byte("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
			cmd: Proxy, src: "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", dst: "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
		{name: "v1 port 0", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n"), cmd: Proxy, src: "1.2.3.4:0", dst: "5.6.7.8:0"},
		{name: "v1 UNKNOWN short", in: []byte("PROXY UNKNOWN\r\n"), cmd: Proxy},
		{name: "v1 UNKNOWN long", in: []byte("PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n"), cmd: Proxy},
		{name: "v1 UNKNOWN garbage", in: []byte("PROXY UNKNOWN \x01\xff anything\r\n"), cmd: Proxy},
		{name: "v1 107 bytes", in: []byte(long + "\r\n"), cmd: Proxy},
		{name: "v1 108 bytes", in: []byte(long + "f\r\n"), err: ErrInvalid},
		{name: "v1 no CRLF in 107", in: []byte(long + "ff"), err: ErrInvalid},
		{name: "v1 incomplete", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"), err: ErrIncomplete},
		{name: "v1 incomplete 2", in: []byte("PROXY TCP4 1.2"), err: ErrIncomplete},
		{name: "v1 prefix", in: []byte("PROX"), err: ErrIncomplete},
		{name: "v1 bare LF", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), err: ErrInvalid},
		{name: "v1 bare CR", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rx\n"), err: ErrInvalid},
		{name: "v1 LF inside", in: []byte("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 lower case", in: []byte("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 no space after PROXY", in: []byte("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), err: ErrNoHeader},
		{name: "v1 two spaces", in: []byte("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 tab", in: []byte("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 trailing space", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), err: ErrInvalid},
		{name: "v1 missing port", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), err: ErrInvalid},
		{name: "v1 extra field", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n"), err: ErrInvalid},
		{name: "v1 bare PROXY", in: []byte("PROXY \r\n"), err: ErrInvalid},
		{name: "v1 TCP4 only", in: []byte("PROXY TCP4\r\n"), err: ErrInvalid},
		{name: "v1 UDP4", in: []byte("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 octal-looking IPv4", in: []byte("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 IPv4 overflow", in: []byte("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 IPv4 short", in: []byte("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 IPv6 in TCP4", in: []byte("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 IPv4 in TCP6", in: []byte("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), err: ErrInvalid},
		{name: "v1 mapped dotted in TCP6", in: []byte("PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n"), err: ErrInvalid},
		{name: "v1 zone in TCP6", in: []byte("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), err: ErrInvalid},
		{name: "v1 hostname", in: []byte("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), err: ErrInvalid},
		{name: "v1 port leading zero", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), err: ErrInvalid},
		{name: "v1 port 65536", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n"), err: ErrInvalid},
		{name: "v1 port sign", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), err: ErrInvalid},
		{name: "v1 port hex", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 0x1 2\r\n"), err: ErrInvalid},
		{name: "v1 port empty", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8  2\r\n"), err: ErrInvalid},
		{name: "v1 port too long", in: []byte("PROXY TCP4 1.2.3.4 5.6.7.8 000001 2\r\n"), err: ErrInvalid},

		// Version 2.
		{name: "v2 TCP4", in: append(v2(0x21, famTCP4, ip4Block("10.1.2.3", "10.0.0.1", 40000, 8000)), "GET"...),
			n: 28, cmd: Proxy, src: "10.1.2.3:40000", dst: "10.0.0.1:8000"},
		{name: "v2 TCP6", in: v2(0x21, famTCP6, ip6Block("2001:db8::7", "2001:db8::1", 1, 2)),
			cmd: Proxy, src: "[2001:db8::7]:1", dst: "[2001:db8::1]:2"},
		{name: "v2 UNIX stream", in: v2(0x21, famUnixStream, unixBlock("/run/client.sock", "/run/gohost.sock")),
			cmd: Proxy, src: "/run/client.sock", dst: "/run/gohost.sock"},
		{name: "v2 UNIX abstract", in: v2(0x21, famUnixStream, unixBlock("\x00abs", "")),
			cmd: Proxy, src: "@abs", dst: ""},
		{name: "v2 UNSPEC", in: v2(0x21, famUnspec), cmd: Proxy},
		{name: "v2 UNSPEC with bytes", in: v2(0x21, famUnspec, []byte("ignored")), cmd: Proxy},
		{name: "v2 UDP4 falls back", in: v2(0x21, famUDP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)), cmd: Proxy},
		{name: "v2 UDP6 falls back", in: v2(0x21, famUDP6, ip6Block("::1", "::2", 1, 2)), cmd: Proxy},
		{name: "v2 UNIX dgram falls back", in: v2(0x21, famUnixDgram, unixBlock("a", "b")), cmd: Proxy},
		{name: "v2 LOCAL", in: v2(0x20, famUnspec), cmd: Local},
		{name: "v2 LOCAL with address", in: v2(0x20, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)), cmd: Local},
		{name: "v2 LOCAL short block ignored", in: v2(0x20, famTCP6, []byte{1, 2}), cmd: Local},
		{name: "v2 TLVs", in: v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2),
			tlv(0x01, []byte("h2")), tlv(0x02, []byte("example.com")), tlv(0x04, nil), tlv(0xE0, []byte{1, 2, 3})),
			cmd: Proxy, src: "1.2.3.4:1", dst: "5.6.7.8:2"},
		{name: "v2 CRC32C ok", in: withCRC(v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2))),
			cmd: Proxy, src: "1.2.3.4:1", dst: "5.6.7.8:2"},
		{name: "v2 CRC32C bad", in: func() []byte {
			h := withCRC(v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)))
			h[16] ^= 1 // the source address changed on the way
			return h
		}(), err: ErrInvalid},
		{name: "v2 CRC32C wrong size", in: v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2), tlv(tlvCRC32C, []byte{1, 2})), err: ErrInvalid},
		{name: "v2 TLV overrun", in: v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2), []byte{0x01, 0, 9, 'x'}), err: ErrInvalid},
		{name: "v2 TLV truncated", in: v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2), []byte{0x01, 0}), err: ErrInvalid},
		{name: "v2 max length", in: v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2), tlv(0x04, make([]byte, MaxV2Length-16-12-3))),
			cmd: Proxy, src: "1.2.3.4:1", dst: "5.6.7.8:2"},
		{name: "v2 over max length", in: v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2), tlv(0x04, make([]byte, MaxV2Length-16-12-2))), err: ErrInvalid},
		{name: "v2 over max length announced", in: append(append([]byte(nil), v2Signature...), 0x21, 0x11, 0xff, 0xff), err: ErrInvalid},
		{name: "v2 short address block", in: v2(0x21, famTCP4, make([]byte, 11)), err: ErrInvalid},
		{name: "v2 short address block 6", in: v2(0x21, famTCP6, make([]byte, 12)), err: ErrInvalid},
		{name: "v2 short address block unix", in: v2(0x21, famUnixStream, make([]byte, 215)), err: ErrInvalid},
		{name: "v2 version 1", in: v2(0x11, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)), err: ErrInvalid},
		{name: "v2 version 3", in: v2(0x31, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)), err: ErrInvalid},
		{name: "v2 command 2", in: v2(0x22, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)), err: ErrInvalid},
		{name: "v2 command F", in: v2(0x2F, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)), err: ErrInvalid},
		{name: "v2 family 4", in: v2(0x21, 0x41, make([]byte, 12)), err: ErrInvalid},
		{name: "v2 transport 3", in: v2(0x21, 0x13, make([]byte, 12)), err: ErrInvalid},
		{name: "v2 INET UNSPEC transport", in: v2(0x21, 0x10, make([]byte, 12)), err: ErrInvalid},
		{name: "v2 UNSPEC family STREAM", in: v2(0x21, 0x01, nil), err: ErrInvalid},
		{name: "v2 fixed part incomplete", in: v2Signature[:12], err: ErrIncomplete},
		{name: "v2 block incomplete", in: v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2))[:20], err: ErrIncomplete},
		{name: "v2 signature prefix", in: []byte("\r\n\r\n\x00"), err: ErrIncomplete},
		{name: "v2 signature wrong", in: []byte("\r\n\r\n\x00\r\nQUIT\r"), err: ErrNoHeader},

		// Not a header.
		{name: "empty", in: nil, err: ErrIncomplete},
		{name: "HTTP", in: []byte("GET / HTTP/1.1\r\n"), err: ErrNoHeader},
		{name: "HTTP POST", in: []byte("POST / HTTP/1.1\r\n"), err: ErrNoHeader},
		{name: "HTTP empty lines", in: []byte("\r\n\r\nGET / HTTP/1.1\r\n"), err: ErrNoHeader},
		{name: "lower-case proxy", in: []byte("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), err: ErrNoHeader},
		{name: "TLS", in: []byte("\x16\x03\x01\x02\x00\x01"), err: ErrNoHeader},
	}
}

func TestParse(t *testing.T) {
	for _, c := range parseCases() {
		t.Run(c.name, func(t *testing.T) {
			h, n, err := Parse(c.in)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("err = %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			want := c.n
			if want == 0 {
				want = len(c.in)
			}
			if n != want {
				t.Errorf("n = %d, want %d", n, want)
			}
			if h.Command != c.cmd {
				t.Errorf("command %v, want %v", h.Command, c.cmd)
			}
			if got := addrString(h.Source); got != c.src {
				t.Errorf("source %q, want %q", got, c.src)
			}
			if got := addrString(h.Destination); got != c.dst {
				t.Errorf("destination %q, want %q", got, c.dst)
			}
			if (h.Source == nil) != (h.Destination == nil) {
				t.Errorf("one address without the other")
			}
			checkPrefixes(t, c.in[:n])
		})
	}
}

// addrString: "" for nil, and a UnixAddr's name even when empty.
func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// checkPrefixes: every proper prefix of a header is ErrIncomplete (the conn
// reads incrementally and must never decide early).
func checkPrefixes(t *testing.T, hdr []byte) {
	t.Helper()
	for k := 0; k < len(hdr); k++ {
		if _, _, err := Parse(hdr[:k]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("prefix of %d/%d bytes: %v, want ErrIncomplete", k, len(hdr), err)
		}
	}
}

func TestSniff(t *testing.T) {
	for in, want := range map[string]sniffResult{
		"":                   sniffMaybe,
		"P":                  sniffMaybe,
		"PROXY":              sniffMaybe,
		"PROXY ":             sniffV1,
		"PROXY TCP4":         sniffV1,
		"POST":               sniffNo,
		"\r\n\r\n":           sniffMaybe,
		"\r\n\r\nGET":        sniffNo,
		string(v2Signature):  sniffV2,
		"\r\n\r\n\x00\r\nQU": sniffMaybe,
		"GET":                sniffNo,
	} {
		if got := sniff([]byte(in)); got != want {
			t.Errorf("sniff(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestAllowList(t *testing.T) {
	trust, err := AllowList([]string{"127.0.0.1,::1", "10.0.0.0/8", "::ffff:192.168.0.0/112"})
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "::ffff:127.0.0.1": true, "10.9.8.7": true,
		"192.168.1.1": true, "192.169.0.1": false, "127.0.0.2": false, "2001:db8::1": false,
	} {
		if got := trust(net.ParseIP(ip)); got != want {
			t.Errorf("trust(%s) = %v, want %v", ip, got, want)
		}
	}
	if trust(nil) {
		t.Error("nil IP trusted")
	}
	all, _ := AllowList([]string{"*"})
	if !all(net.ParseIP("203.0.113.9")) {
		t.Error("* does not trust everyone")
	}
	none, _ := AllowList(nil)
	if none(net.ParseIP("127.0.0.1")) {
		t.Error("empty list trusts")
	}
	for _, bad := range []string{"1.2.3", "10.0.0.0/33", "fe80::1%eth0", "host"} {
		if _, err := AllowList([]string{bad}); err == nil {
			t.Errorf("AllowList(%q) accepted", bad)
		}
	}
}

func TestParseDoesNotKeepInput(t *testing.T) {
	in := v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2))
	h, _, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	if h.Source.String() != "1.2.3.4:1" || h.Destination.String() != "5.6.7.8:2" {
		t.Fatalf("addresses alias the input: %v %v", h.Source, h.Destination)
	}
}
