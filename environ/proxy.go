package environ

import (
	"net/netip"
	"strings"
)

// proxyInfo is what the headers of a trusted peer establish.
type proxyInfo struct {
	scheme    string // "" when no header voted
	fromProxy bool   // remote and port come from a proxy header
	remote    netip.Addr
	port      string // "" when the header gave none
}

// proxy applies the proxy rules (see the package documentation) to the
// classified headers of a request from a trusted peer.
func (b *builder) proxy(c *Config, peer netip.Addr) (p proxyInfo, err error) {
	sc := b.sc
	var fwd walkResult
	fwdOK := true
	for i := range sc.hdr {
		if sc.hdr[i].kind == kindForwarded && fwdOK {
			sc.fwd, fwdOK = parseForwarded(sc.fwd, sc.hdr[i].value)
		}
	}
	if fwdOK {
		fwd = walkForwarded(sc.fwd, c)
	}
	xff := walkXFF(sc.hdr, c)

	// The client address: every header that names one must agree.
	final := func(w walkResult) netip.Addr {
		if w.moved {
			return w.addr
		}
		return peer
	}
	switch {
	case fwd.present && xff.present && final(fwd) != final(xff):
		err = errClientConflict
	case fwd.present && fwd.moved:
		p.remote, p.port, p.fromProxy = fwd.addr, fwd.port, true
		if p.port == "" && xff.present && xff.moved {
			p.port = xff.port
		}
	case !fwd.present && xff.present && xff.moved:
		p.remote, p.port, p.fromProxy = xff.addr, xff.port, true
	}

	// The scheme: every secure scheme header present, and the proto= of
	// the Forwarded element of the client, vote; they must agree.
	vote, conflict := "", false
	cast := func(s string) {
		if vote == "" {
			vote = s
		} else if vote != s {
			conflict = true
		}
	}
	for k := range c.secure {
		// The rightmost list element of the last line: the one our
		// trusted peer wrote if it appends rather than replaces.
		for i := len(sc.hdr) - 1; i >= 0; i-- {
			if sc.hdr[i].secure != int8(k) {
				continue
			}
			if v := lastListElem(sc.hdr[i].value); v != "" {
				if equalFoldASCII(v, c.secure[k].value) {
					cast("https")
				} else {
					cast("http")
				}
				break
			}
		}
	}
	if fwdOK && len(sc.fwd) > 0 {
		if e := &sc.fwd[fwd.chosen]; e.hasProto {
			switch {
			case equalFoldASCII(e.proto, "https"), equalFoldASCII(e.proto, "wss"):
				cast("https")
			case equalFoldASCII(e.proto, "http"), equalFoldASCII(e.proto, "ws"):
				cast("http")
			}
		}
	}
	switch {
	case conflict:
		// gunicorn: "Contradictory scheme headers" → 400. Without the
		// error path, claim no security that was not established.
		p.scheme, err = "http", errSchemeConflict
	case vote != "":
		p.scheme = vote
	}
	return p, err
}

// walkResult is what one proxy header says about the client.
type walkResult struct {
	// present: the trusted peer asserted something about the client address
	// (the header has an entry; for Forwarded, its last element has for=).
	present bool
	// moved: at least one usable address was found; addr/port are the
	// nearest one to the client (port "" when not given).
	moved bool
	addr  netip.Addr
	port  string
	// chosen: Forwarded only, the index of the element describing the
	// connection of the client (the one the walk stopped at).
	chosen int
}

// walkXFF applies the X-Forwarded-For rule: the list (all the lines, in
// order, as one list) is walked from the right, i.e. from the proxy nearest
// to us towards the client. Each proxy appends the address of its own peer,
// so the rightmost entry was written by our trusted peer; an entry naming
// a trusted proxy is skipped; the first untrusted address is the client.
// Entries to the left of it were written by parties we do not trust and
// are never looked at (taking the first entry would let any client choose
// its REMOTE_ADDR). An entry that is not an IP address (e.g.
// "unknown") stops the walk at the last usable address.
func walkXFF(hdr []hdrInfo, c *Config) walkResult {
	var res walkResult
	for h := len(hdr) - 1; h >= 0; h-- {
		if hdr[h].kind != kindXFF {
			continue
		}
		v := hdr[h].value
		for v != "" {
			entry := v
			if i := strings.LastIndexByte(v, ','); i >= 0 {
				entry, v = v[i+1:], v[:i]
			} else {
				v = ""
			}
			// RFC 9110 §5.6.1: a recipient MUST accept (and ignore) empty
			// list elements.
			entry = trimOWS(entry)
			if entry == "" {
				continue
			}
			res.present = true
			a, port, ok := parseNode(entry)
			if !ok {
				return res
			}
			res.moved, res.addr, res.port = true, a, port
			if !c.trusts(a) {
				return res
			}
		}
	}
	return res
}

// walkForwarded applies the same walk to the RFC 7239 elements (one per
// proxy, left to right): it stops at the first element whose for= is not a
// trusted address. That element was written by the proxy that talked to the
// client, so its proto= is the scheme the client used. An element without
// for=, or whose node is "unknown" or obfuscated ("_hidden"), stops the walk
// with no address from it.
func walkForwarded(elems []forwardedElem, c *Config) walkResult {
	var res walkResult
	if len(elems) == 0 {
		return res
	}
	res.present = elems[len(elems)-1].hasFor
	for i := len(elems) - 1; i >= 0; i-- {
		res.chosen = i
		e := &elems[i]
		if !e.hasFor {
			break
		}
		a, port, ok := parseNode(e.node)
		if !ok {
			break
		}
		res.moved, res.addr, res.port = true, a, port
		if !c.trusts(a) {
			break
		}
	}
	return res
}

// parseNode parses a node of Forwarded (RFC 7239 §6: node = nodename
// [ ":" node-port ]; nodename = IPv4address / "[" IPv6address "]" /
// "unknown" / obfnode) or an X-Forwarded-For entry (where "ip:port" and
// bare IPv6 also occur). ok is false when there is no usable IP address
// ("unknown", obfuscated identifiers, garbage). An obfuscated or invalid
// port gives port "". The address is returned without zone and unmapped.
func parseNode(s string) (a netip.Addr, port string, ok bool) {
	var err error
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return a, "", false
		}
		a, err = netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() {
			return a, "", false
		}
		if rest := s[end+1:]; rest != "" {
			if rest[0] != ':' {
				return a, "", false
			}
			port = rest[1:]
		}
	default:
		// A bare address: IPv4, or IPv6 without brackets (not allowed in
		// Forwarded, but it is what X-Forwarded-For carries).
		if a, err = netip.ParseAddr(s); err == nil {
			break
		}
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return a, "", false
		}
		a, err = netip.ParseAddr(s[:i])
		if err != nil || !a.Is4() {
			return a, "", false
		}
		port = s[i+1:]
	}
	if !isPort(port) {
		port = ""
	}
	return a.WithZone("").Unmap(), port, true
}

// isPort reports whether s is a decimal port number 0-65535.
func isPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

// forwardedElem is one forwarded-element of RFC 7239: what one proxy says
// about the request it received.
type forwardedElem struct {
	node     string // for=, unquoted
	proto    string // proto=, unquoted
	hasFor   bool
	hasProto bool
}

// parseForwarded appends the elements of one Forwarded field line to dst.
// ok is false on a syntax error; the caller then ignores every Forwarded
// line of the request, because element boundaries are no longer known (an
// unterminated quote from the client could swallow the element appended by
// the proxy).
//
// RFC 7239 §4:
//
//	Forwarded   = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair = token "=" value
//	value          = token / quoted-string
//
// Parameter names are case-insensitive; OWS is accepted around ";" and ",".
func parseForwarded(dst []forwardedElem, v string) ([]forwardedElem, bool) {
	var e forwardedElem
	var seen uint8 // bits of the parameters of e seen so far
	empty := true
	i := 0
	for {
		i = skipOWS(v, i)
		if i == len(v) || v[i] == ',' {
			if !empty { // RFC 9110 §5.6.1: empty list elements are ignored
				dst = append(dst, e)
			}
			if i == len(v) {
				return dst, true
			}
			e, seen, empty = forwardedElem{}, 0, true
			i++
			continue
		}
		if v[i] == ';' {
			i++
			continue
		}
		j := i
		for j < len(v) && isTchar(v[j]) {
			j++
		}
		if j == i || j == len(v) || v[j] != '=' {
			return dst, false
		}
		name := v[i:j]
		i = j + 1
		var val string
		if i < len(v) && v[i] == '"' {
			var ok bool
			if val, i, ok = parseQuoted(v, i); !ok {
				return dst, false
			}
		} else {
			j = i
			for j < len(v) && isTchar(v[j]) {
				j++
			}
			if j == i {
				return dst, false
			}
			val, i = v[i:j], j
		}
		var bit uint8
		switch {
		case equalFoldASCII(name, "for"):
			bit, e.node, e.hasFor = 1, val, true
		case equalFoldASCII(name, "proto"):
			bit, e.proto, e.hasProto = 2, val, true
		case equalFoldASCII(name, "host"):
			bit = 4
		case equalFoldASCII(name, "by"):
			bit = 8
		}
		// RFC 7239 §4: "Each parameter MUST NOT occur more than once per
		// forwarded-element."
		if seen&bit != 0 {
			return dst, false
		}
		seen |= bit
		empty = false
		i = skipOWS(v, i)
		if i < len(v) && v[i] != ';' && v[i] != ',' {
			return dst, false
		}
	}
}

// parseQuoted parses the quoted-string starting at v[i] == '"' (RFC 9110
// §5.6.4) and returns its content unescaped and the index after it.
func parseQuoted(v string, i int) (s string, next int, ok bool) {
	start := i + 1
	escaped := false
	for j := start; j < len(v); j++ {
		switch c := v[j]; {
		case c == '"':
			s = v[start:j]
			if escaped {
				s = unescapeQuoted(s)
			}
			return s, j + 1, true
		case c == '\\':
			// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
			if j+1 == len(v) || !isPairChar(v[j+1]) {
				return "", 0, false
			}
			escaped = true
			j++
		case !isQdtext(c):
			return "", 0, false
		}
	}
	return "", 0, false // unterminated
}

// isQdtext: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func isQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || 0x23 <= c && c <= 0x5B || 0x5D <= c && c <= 0x7E || c >= 0x80
}

// isPairChar: what may follow the backslash of a quoted-pair: HTAB / SP / VCHAR / obs-text.
func isPairChar(c byte) bool {
	return c == '\t' || c == ' ' || 0x21 <= c && c <= 0x7E || c >= 0x80
}

// unescapeQuoted removes the backslashes of quoted-pairs. Rare (an address
// never needs one), so it may allocate.
func unescapeQuoted(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// skipOWS returns the index of the first byte at or after i that is not
// SP or HTAB.
func skipOWS(v string, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}

// lastListElem returns the rightmost non-empty element of a comma-separated
// list value, OWS trimmed, and "" when there is none.
func lastListElem(v string) string {
	for v != "" {
		e := v
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			e, v = v[i+1:], v[:i]
		} else {
			v = ""
		}
		if e = trimOWS(e); e != "" {
			return e
		}
	}
	return ""
}
