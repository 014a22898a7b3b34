package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"strings"
)

// Limits of the wire format.
const (
	// MaxV1Length is the longest version 1 line, CRLF included: "If the CRLF
	// sequence is not found in the first 107 characters, the receiver should
	// declare the line invalid."
	MaxV1Length = 107
	// MaxV2Length bounds a version 2 header (16 fixed bytes and the
	// announced length). The field allows 65,535 bytes; real senders put
	// at most the 216-byte AF_UNIX block and a few small TLVs (SSL,
	// AUTHORITY, AWS/GCP/Azure endpoint IDs) there, so 4 KiB leaves room
	// without letting one connection buffer 64 KiB.
	MaxV2Length = 16 + 4096
)

// v2Signature starts every version 2 header.
var v2Signature = []byte("\r\n\r\n\x00\r\nQUIT\n")

// v1Prefix starts every version 1 header.
var v1Prefix = []byte("PROXY ")

// Errors. Compare with errors.Is: the errors returned wrap these with detail.
var (
	// ErrIncomplete: the bytes are a valid beginning of a header; more
	// are needed.
	ErrIncomplete = errors.New("proxyproto: incomplete header")
	// ErrNoHeader: the bytes do not start with a PROXY protocol header.
	ErrNoHeader = errors.New("proxyproto: no PROXY protocol header")
	// ErrInvalid: the bytes start like a header but break the
	// specification.
	ErrInvalid = errors.New("proxyproto: invalid PROXY protocol header")
	// ErrUntrusted: a peer that is not a trusted proxy sent a header.
	ErrUntrusted = errors.New("proxyproto: PROXY protocol header from an untrusted peer")
)

// Command is what a header says about the connection.
type Command uint8

const (
	// Local: the proxy opened the connection itself (a health check); the
	// real endpoints stand.
	Local Command = iota
	// Proxy: the connection is relayed on behalf of Source.
	Proxy
)

func (c Command) String() string {
	if c == Local {
		return "LOCAL"
	}
	return "PROXY"
}

// Header is a parsed PROXY protocol header.
type Header struct {
	Version int // 1 or 2
	Command Command
	// Source is the client, Destination the address it connected to:
	// *net.TCPAddr for TCP4/TCP6 (v1) and stream AF_INET/AF_INET6 (v2),
	// *net.UnixAddr for stream AF_UNIX. Both nil when the header carries no
	// usable address (v1 UNKNOWN, LOCAL, AF_UNSPEC, datagram transports):
	// the connection's own endpoints then stand.
	Source, Destination net.Addr
}

// sniff says whether b starts, or may start once more bytes arrive, like a
// header.
type sniffResult uint8

const (
	sniffNo    sniffResult = iota // not a header
	sniffMaybe                    // a prefix of a signature: read more
	sniffV1                       // "PROXY "
	sniffV2                       // the v2 signature
)

func sniff(b []byte) sniffResult {
	switch {
	case bytes.HasPrefix(b, v1Prefix):
		return sniffV1
	case bytes.HasPrefix(b, v2Signature):
		return sniffV2
	case bytes.HasPrefix(v1Prefix, b), bytes.HasPrefix(v2Signature, b):
		return sniffMaybe // includes len(b) == 0
	}
	return sniffNo
}

// Parse reads the header at the start of b. It returns the header and its
// length in bytes; the bytes after it belong to the proxied connection.
// Errors wrap ErrIncomplete (b is a valid beginning: read more and call
// again), ErrNoHeader or ErrInvalid. For every header, Parse of any shorter
// prefix of it reports ErrIncomplete, never a different header.
func Parse(b []byte) (Header, int, error) {
	switch sniff(b) {
	case sniffV1:
		return parseV1(b)
	case sniffV2:
		return parseV2(b)
	case sniffMaybe:
		return Header{}, 0, ErrIncomplete
	}
	return Header{}, 0, ErrNoHeader
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// parseV1 parses the text form; b starts with "PROXY ".
func parseV1(b []byte) (Header, int, error) {
	// "The receiver must wait for the CRLF sequence before starting to
	// decode the addresses [...] The receiver must not tolerate a single CR
	// or LF character to end the line."
	end := -1
	for i := 0; i < len(b) && i < MaxV1Length; i++ {
		if b[i] == '\n' {
			return Header{}, 0, invalid("v1: bare LF")
		}
		if b[i] == '\r' {
			if i+1 >= MaxV1Length {
				break
			}
			if i+1 == len(b) {
				return Header{}, 0, ErrIncomplete
			}
			if b[i+1] != '\n' {
				return Header{}, 0, invalid("v1: bare CR")
			}
			end = i
			break
		}
	}
	if end < 0 {
		if len(b) >= MaxV1Length {
			return Header{}, 0, invalid("v1: no CRLF in the first %d bytes", MaxV1Length)
		}
		return Header{}, 0, ErrIncomplete
	}
	n := end + 2
	line := string(b[len(v1Prefix):end])

	proto, rest, _ := strings.Cut(line, " ")
	h := Header{Version: 1, Command: Proxy}
	switch proto {
	case "UNKNOWN":
		// "the receiver must ignore anything presented before the CRLF is
		// found" and "use the real connection's parameters".
		return h, n, nil
	case "TCP4", "TCP6":
	default:
		return Header{}, 0, invalid("v1: protocol %q", proto)
	}
	f := strings.Split(rest, " ")
	if len(f) != 4 {
		return Header{}, 0, invalid("v1: %d address fields, want 4 separated by single spaces", len(f))
	}
	src, err1 := parseV1Addr(f[0], proto)
	dst, err2 := parseV1Addr(f[1], proto)
	sport, err3 := parseV1Port(f[2])
	dport, err4 := parseV1Port(f[3])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Header{}, 0, err
	}
	h.Source = &net.TCPAddr{IP: src.AsSlice(), Port: sport}
	h.Destination = &net.TCPAddr{IP: dst.AsSlice(), Port: dport}
	return h, n, nil
}

// parseV1Addr parses an address in the canonical form of proto: "IPv4
// addresses must be indicated as a series of exactly 4 integers [...]
// Heading zeroes are not permitted"; IPv6 "as series of sets of 4
// hexadecimal digits [...] with the acceptance of one double colon".
func parseV1Addr(s, proto string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s) // refuses IPv4 leading zeros
	switch {
	case err != nil:
		return netip.Addr{}, invalid("v1: address %q", s)
	case proto == "TCP4" && !a.Is4():
		return netip.Addr{}, invalid("v1: %q is not an IPv4 address", s)
	case proto == "TCP6" && (!a.Is6() || strings.ContainsAny(s, ".%")):
		return netip.Addr{}, invalid("v1: %q is not an IPv6 address in hexadecimal groups", s)
	}
	return a, nil
}

// parseV1Port parses "a decimal integer in the range [0..65535] inclusive.
// Heading zeroes are not permitted".
func parseV1Port(s string) (int, error) {
	if s == "" || len(s) > 5 || (s[0] == '0' && len(s) > 1) {
		return 0, invalid("v1: port %q", s)
	}
	p := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, invalid("v1: port %q", s)
		}
		p = p*10 + int(s[i]-'0')
	}
	if p > 65535 {
		return 0, invalid("v1: port %q", s)
	}
	return p, nil
}

// v2 family/transport bytes (the 14th byte).
const (
	famUnspec     = 0x00
	famTCP4       = 0x11
	famUDP4       = 0x12
	famTCP6       = 0x21
	famUDP6       = 0x22
	famUnixStream = 0x31
	famUnixDgram  = 0x32
)

// v2 TLV types this package looks at.
const (
	tlvCRC32C = 0x03
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// parseV2 parses the binary form; b starts with the signature.
func parseV2(b []byte) (Header, int, error) {
	if len(b) < 16 {
		return Header{}, 0, ErrIncomplete
	}
	// "The highest four bits contains the version [...] the receiver must
	// only accept this value." Commands other than LOCAL and PROXY:
	// "Receivers must drop connections presenting unexpected values here."
	if b[12]>>4 != 2 {
		return Header{}, 0, invalid("v2: version %d", b[12]>>4)
	}
	cmd := Command(b[12] & 0x0f)
	if cmd > Proxy {
		return Header{}, 0, invalid("v2: command %#x", b[12]&0x0f)
	}
	fam := b[13]
	addrLen := 0
	switch fam {
	case famUnspec:
	case famTCP4, famUDP4:
		addrLen = 12
	case famTCP6, famUDP6:
		addrLen = 36
	case famUnixStream, famUnixDgram:
		addrLen = 216
	default:
		return Header{}, 0, invalid("v2: family/transport byte %#02x", fam)
	}
	n := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if n > MaxV2Length {
		return Header{}, 0, invalid("v2: length %d over %d", n-16, MaxV2Length-16)
	}
	if len(b) < n {
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Version: 2, Command: cmd}
	if cmd == Local {
		// "The receiver must accept this connection as valid and must use
		// the real connection endpoints and discard the protocol block
		// including the family which is ignored."
		return h, n, nil
	}
	if n-16 < addrLen {
		return Header{}, 0, invalid("v2: length %d shorter than the %d-byte address block", n-16, addrLen)
	}
	if fam != famUnspec {
		// After a known address block come TLVs. (AF_UNSPEC: "The receiver
		// should ignore address information", so the whole block.)
		if err := checkTLVs(b[:n], 16+addrLen); err != nil {
			return Header{}, 0, err
		}
	}
	a := b[16 : 16+addrLen]
	switch fam {
	case famTCP4:
		h.Source = &net.TCPAddr{IP: net.IP(clone(a[0:4])), Port: int(binary.BigEndian.Uint16(a[8:10]))}
		h.Destination = &net.TCPAddr{IP: net.IP(clone(a[4:8])), Port: int(binary.BigEndian.Uint16(a[10:12]))}
	case famTCP6:
		h.Source = &net.TCPAddr{IP: net.IP(clone(a[0:16])), Port: int(binary.BigEndian.Uint16(a[32:34]))}
		h.Destination = &net.TCPAddr{IP: net.IP(clone(a[16:32])), Port: int(binary.BigEndian.Uint16(a[34:36]))}
	case famUnixStream:
		h.Source = &net.UnixAddr{Name: unixName(a[0:108]), Net: "unix"}
		h.Destination = &net.UnixAddr{Name: unixName(a[108:216]), Net: "unix"}
	}
	// famUnspec and the datagram transports: "A receiver is not required
	// to implement other ones, provided that it automatically falls back to
	// the UNSPEC mode" — no addresses, the real endpoints stand.
	return h, n, nil
}

// checkTLVs walks the TLVs of header hdr from offset off: each must fit in
// the block. A CRC32C TLV is verified ("the receiver MUST treat the TCP
// connection providing the header as invalid" when it differs).
func checkTLVs(hdr []byte, off int) error {
	for off < len(hdr) {
		if len(hdr)-off < 3 {
			return invalid("v2: truncated TLV at offset %d", off)
		}
		typ := hdr[off]
		l := int(binary.BigEndian.Uint16(hdr[off+1 : off+3]))
		v := off + 3
		if l > len(hdr)-v {
			return invalid("v2: TLV %#02x of %d bytes overruns the header", typ, l)
		}
		if typ == tlvCRC32C {
			if l != 4 {
				return invalid("v2: CRC32C TLV of %d bytes", l)
			}
			want := binary.BigEndian.Uint32(hdr[v : v+4])
			c := crc32.Update(0, castagnoli, hdr[:v])
			c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
			c = crc32.Update(c, castagnoli, hdr[v+4:])
			if c != want {
				return invalid("v2: CRC32C mismatch")
			}
		}
		off = v + l
	}
	return nil
}

// unixName is the path in a 108-byte sun_path block: up to the first NUL;
// an abstract socket (leading NUL) is written "@name" as Go does.
func unixName(p []byte) string {
	if len(p) > 0 && p[0] == 0 {
		rest := bytes.TrimRight(p[1:], "\x00")
		if len(rest) == 0 {
			return ""
		}
		return "@" + string(rest)
	}
	if i := bytes.IndexByte(p, 0); i >= 0 {
		p = p[:i]
	}
	return string(p)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }
