// Package proxyproto reads the PROXY protocol header (versions 1 and 2,
// haproxy's doc/proxy-protocol.txt) that a TCP load balancer (haproxy
// "send-proxy", AWS NLB, GCP, nginx "proxy_protocol on") puts in front of
// each connection, so that gohost sees the client's address instead of the
// balancer's.
//
// # Use
//
//	ln = proxyproto.Wrap(ln, trusted, readHeaderTimeout)
//
// wraps a listener; its connections report the client's address as
// RemoteAddr and the address the client connected to as LocalAddr. The
// wrapper goes under any TLS listener: the PROXY header precedes the TLS
// handshake on the wire.
//
// # Trust model
//
// The peer of the TCP connection (the balancer) decides how the first bytes
// are read:
//
//   - From a trusted peer (trusted(ip) is true: --forwarded-allow-ips,
//     loopback by default) the header is required and believed. A
//     connection that does not start with a complete, valid header within
//     the header timeout is closed without an answer ("Any sequence which
//     does not exactly match the protocol must be discarded and cause the
//     receiver to abort the connection").
//   - From any other peer no header is expected and none is ever believed:
//     a connection whose first bytes are a PROXY header (the v1 "PROXY "
//     prefix or the 12-byte v2 signature) is closed, as it can only be an
//     attempt to choose its own address; anything else is passed through
//     untouched, so clients on the local network may still talk to gohost
//     directly.
//
// The specification asks receivers not to "guess whether the protocol header
// is present". The rule above never guesses in the direction that matters:
// an address is taken from a header only when the peer is trusted, and a
// trusted peer must send one.
//
// # Strictness
//
// Version 1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport
// CRLF, at most 107 bytes with the CRLF; exactly one space between fields;
// IPv4 in dotted decimal without leading zeros, IPv6 in hexadecimal groups
// (no dotted or zoned forms) of the announced family; ports 0–65535 without
// leading zeros; a bare CR or LF is an error. "PROXY UNKNOWN" ignores the
// rest of its line and keeps the real endpoints.
//
// Version 2: the 12-byte signature, version 2 with command LOCAL (real
// endpoints, the address block skipped whatever its family) or PROXY; the
// family/transport byte one of \x00, \x11, \x12, \x21, \x22, \x31, \x32
// (anything else is refused); the declared length at most MaxV2Length and
// at least the address block of the family; TLVs walked (a TLV that
// overruns the block is an error; a CRC32C TLV is verified) and otherwise
// ignored. UNSPEC and datagram transports fall back to the real endpoints,
// as the specification allows.
//
// # Where the header is read
//
// Accept returns at once. The header is read by the connection's own
// goroutine on its first Read, or by the first caller of RemoteAddr,
// LocalAddr or Header, whichever comes first (they wait for each other), so
// a slow or silent client never holds the accept loop. The read waits at
// most the header timeout, or less when the caller's own read deadline comes
// first; the caller's deadline is restored afterwards.
package proxyproto
