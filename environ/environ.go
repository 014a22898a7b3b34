package environ

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/gohost/gohost/server"
)

// Var is one environ entry. Value holds raw bytes: the bridge decodes it as
// latin-1 into a str (PEP 3333 "native strings"), so any byte survives,
// including non-UTF-8 bytes from a percent-decoded path. Key is ASCII.
type Var struct{ Key, Value string }

// ErrProxyConflict is returned by AppendChecked when a trusted proxy sent
// forwarding headers that contradict each other (a secure scheme header
// saying https and another, or Forwarded proto=, saying http; Forwarded and
// X-Forwarded-For naming different clients). It means a misconfigured proxy
// or one that passes a client's forged header through; the caller should
// answer 400 (gunicorn raises InvalidSchemeHeaders → 400). The Vars are
// complete anyway, with the safe values: scheme "http", REMOTE_ADDR the peer.
var ErrProxyConflict = errors.New("environ: a trusted proxy sent conflicting forwarding headers")

var (
	errSchemeConflict = fmt.Errorf("%w (scheme)", ErrProxyConflict)
	errClientConflict = fmt.Errorf("%w (client address)", ErrProxyConflict)
)

// Append appends the per-request environ variables of r to dst and returns
// the extended slice; reusing dst (dst[:0]) between requests avoids
// allocating it. Conflicting proxy headers are resolved to the safe values
// (see ErrProxyConflict). c is a prepared Config; nil means no root path and
// no trusted proxy. Append is safe for concurrent use.
func Append(dst []Var, r *server.Request, c *Config) []Var {
	dst, _ = AppendChecked(dst, r, c)
	return dst
}

// AppendChecked is Append that also reports ErrProxyConflict (wrapped).
// The returned Vars are valid even then.
func AppendChecked(dst []Var, r *server.Request, c *Config) ([]Var, error) {
	if c == nil {
		c = zeroConfig
	}
	if !c.prepared {
		panic("environ: Config.Prepare was not called")
	}
	sc := scratchPool.Get().(*scratch)
	b := builder{dst: dst, sc: sc}
	err := b.build(r, c)
	dst = b.finish()
	sc.reset()
	scratchPool.Put(sc)
	return dst, err
}

// scratch is the per-call working memory, pooled so that a request costs
// at most the one string holding every byte Append had to build.
type scratch struct {
	// buf collects every built byte (decoded path, HTTP_ keys of unknown
	// headers, joined values, formatted addresses and ports). It is turned
	// into one string at the end and the Vars that point into it are
	// patched through fix.
	buf []byte
	fix []fixup
	hdr []hdrInfo       // one per Request.Header line
	fwd []forwardedElem // the parsed Forwarded elements
}

func (sc *scratch) reset() {
	if cap(sc.buf) > 64<<10 {
		sc.buf = nil // do not keep a huge request's arena forever
	}
	sc.buf, sc.fix, sc.hdr, sc.fwd = sc.buf[:0], sc.fix[:0], sc.hdr[:0], sc.fwd[:0]
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// fixup records a Var field that points into scratch.buf.
type fixup struct {
	idx        int
	value      bool // the Value, else the Key
	start, end int32
}

// piece is a Key or Value being built: either a string s, or the bytes
// buf[start:end] of the arena (arena true).
type piece struct {
	s          string
	start, end int32
	arena      bool
}

func str(s string) piece { return piece{s: s} }

// hdrInfo is what the first pass learns about one header line.
type hdrInfo struct {
	value  string // the field value without surrounding OWS
	key    string // interned "HTTP_..." key; "" when built into the arena at [ks, ke)
	ks, ke int32
	kind   uint8
	secure int8  // index in Config.secure when the peer is trusted, else -1
	first  int32 // index of the first line with the same key (its own index if first)
	more   bool  // a later line has the same key
}

// builder appends the Vars of one request.
type builder struct {
	dst []Var
	sc  *scratch
}

// since returns the arena bytes written since start.
func (b *builder) since(start int) piece {
	return piece{start: int32(start), end: int32(len(b.sc.buf)), arena: true}
}

func (b *builder) add(k, v piece) {
	idx := len(b.dst)
	b.dst = append(b.dst, Var{Key: k.s, Value: v.s})
	if k.arena {
		b.sc.fix = append(b.sc.fix, fixup{idx: idx, start: k.start, end: k.end})
	}
	if v.arena {
		b.sc.fix = append(b.sc.fix, fixup{idx: idx, value: true, start: v.start, end: v.end})
	}
}

// finish converts the arena into one string and points the Vars into it.
func (b *builder) finish() []Var {
	if len(b.sc.fix) > 0 {
		s := string(b.sc.buf)
		for _, f := range b.sc.fix {
			if f.value {
				b.dst[f.idx].Value = s[f.start:f.end]
			} else {
				b.dst[f.idx].Key = s[f.start:f.end]
			}
		}
	}
	return b.dst
}

// Default ports by scheme, used for SERVER_PORT when the Host has no port.
func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// build appends the Vars in a fixed order: REQUEST_METHOD, SCRIPT_NAME,
// PATH_INFO, QUERY_STRING, RAW_URI, CONTENT_TYPE, CONTENT_LENGTH,
// SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL, REMOTE_ADDR, REMOTE_PORT,
// wsgi.url_scheme, HTTPS, then HTTP_HOST and the other HTTP_ variables in the
// order their first line was received.
func (b *builder) build(r *server.Request, c *Config) error {
	sc := b.sc
	var err error

	// The peer. A Unix-socket (or unknown) peer is a process of this host:
	// it is 127.0.0.1 for REMOTE_ADDR and for the trust check.
	peer, peerPort, inet := addrOf(r.RemoteAddr)
	if !inet {
		peer = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	trusted := c.trusts(peer)

	// First pass: classify every header line, intern or build its key and
	// link repeated lines to the first one.
	ctIdx, clIdx := -1, -1
	for i := range r.Header {
		h := &r.Header[i]
		info := hdrInfo{value: trimOWS(h.Value), first: int32(i), secure: -1}
		b.classify(h.Name, &info)
		if info.kind != kindDrop {
			for j := range sc.hdr {
				o := &sc.hdr[j]
				if o.first == int32(j) && o.kind != kindDrop && sameKey(sc.buf, o, &info) {
					info.first, o.more = int32(j), true
					break
				}
			}
			if trusted {
				for k := range c.secure {
					if equalFoldASCII(h.Name, c.secure[k].name) {
						info.secure = int8(k)
					}
				}
			}
		}
		switch {
		case info.kind == kindContentType && ctIdx < 0:
			ctIdx = i
		case info.kind == kindContentLength && clIdx < 0:
			clIdx = i
		}
		sc.hdr = append(sc.hdr, info)
	}

	// The proxy rules, only for a trusted peer; from anyone else these
	// headers are mere HTTP_ variables.
	scheme := "http"
	if r.TLS {
		scheme = "https"
	}
	remote, remotePort, remoteFromProxy := peer, "", false
	if trusted {
		var p proxyInfo
		p, err = b.proxy(c, peer)
		if p.scheme != "" {
			scheme = p.scheme
		}
		if p.fromProxy {
			remote, remotePort, remoteFromProxy = p.remote, p.port, true
		}
	}

	// PEP 3333: "REQUEST_METHOD: The HTTP request method, such as "GET" or
	// "POST". This cannot ever be an empty string, and so is always
	// required."
	b.add(str("REQUEST_METHOD"), str(r.Method))

	// PEP 3333: "SCRIPT_NAME: The initial portion of the request URL's
	// "path" that corresponds to the application object [...] This may be
	// an empty string, if the application corresponds to the "root" of the
	// server." and "PATH_INFO: The remainder of the request URL's "path"
	// [...] This may be an empty string, if the request URL targets the
	// application root and does not have a trailing slash."
	// SCRIPT_NAME is always the root path. PATH_INFO is the percent-decoded
	// path (CGI, RFC 3875 §4.1.5: "PATH_INFO is not URL-encoded"), without
	// the root path when it starts with it at a segment boundary; a path
	// that does not start with it (a proxy that already removed the prefix)
	// is kept whole.
	b.add(str("SCRIPT_NAME"), str(c.root))
	path := r.Path
	var pathInfo piece
	if strings.IndexByte(path, '%') < 0 {
		if hasRoot(path, c.root) {
			path = path[len(c.root):]
		}
		if path == "" && c.root == "" {
			path = "/" // wsgiref.validate: PATH_INFO "should at least be '/' if SCRIPT_NAME is empty"
		}
		pathInfo = str(path)
	} else {
		start := len(sc.buf)
		sc.buf = appendUnquote(sc.buf, path)
		if hasRootBytes(sc.buf[start:], c.root) {
			start += len(c.root)
		}
		pathInfo = b.since(start)
	}
	b.add(str("PATH_INFO"), pathInfo)

	// PEP 3333: "QUERY_STRING: The portion of the request URL that follows
	// the "?", if any. May be empty or absent." Always present (wsgiref.
	// validate warns when absent), never decoded.
	b.add(str("QUERY_STRING"), str(r.RawQuery))
	// The request-target as sent, for applications that need the path
	// undecoded (gunicorn's RAW_URI).
	b.add(str("RAW_URI"), str(r.RequestURI))

	// PEP 3333: "CONTENT_TYPE: The contents of any Content-Type fields in
	// the HTTP request. May be empty or absent." and the same for
	// CONTENT_LENGTH. Present only when the client sent the field; a
	// chunked body has no length.
	if ctIdx >= 0 {
		b.add(str("CONTENT_TYPE"), b.joined(ctIdx, ", "))
	}
	if clIdx >= 0 && r.ContentLength >= 0 {
		v := sc.hdr[clIdx].value
		if isDigits(v) && !sc.hdr[clIdx].more {
			b.add(str("CONTENT_LENGTH"), str(v))
		} else { // "5, 5" or repeated lines the server accepted as one length
			start := len(sc.buf)
			sc.buf = strconv.AppendInt(sc.buf, r.ContentLength, 10)
			b.add(str("CONTENT_LENGTH"), b.since(start))
		}
	}

	// PEP 3333: "SERVER_NAME, SERVER_PORT: When HTTP_HOST is not set, these
	// variables can be combined to determine a default. [...] SERVER_NAME
	// and SERVER_PORT are required strings and must never be empty."
	// From the Host (Apache's UseCanonicalName Off): the name and port the
	// client addressed, the port defaulting to the scheme's. Without a Host
	// (HTTP/1.0), the local socket address; on a Unix socket "localhost" and
	// the scheme's default port (gunicorn leaves SERVER_PORT empty there,
	// which the PEP forbids and Django turns into "localhost:").
	name, port := splitHost(r.Host)
	if name == "" {
		local, localPort, inetLocal := addrOf(r.LocalAddr)
		if inetLocal {
			start := len(sc.buf)
			if local.Is6() {
				sc.buf = append(sc.buf, '[')
				sc.buf = local.AppendTo(sc.buf)
				sc.buf = append(sc.buf, ']')
			} else {
				sc.buf = local.AppendTo(sc.buf)
			}
			b.add(str("SERVER_NAME"), b.since(start))
			start = len(sc.buf)
			sc.buf = strconv.AppendInt(sc.buf, int64(localPort), 10)
			b.add(str("SERVER_PORT"), b.since(start))
		} else {
			b.add(str("SERVER_NAME"), str("localhost"))
			b.add(str("SERVER_PORT"), str(defaultPort(scheme)))
		}
	} else {
		if !isPort(port) {
			port = defaultPort(scheme)
		}
		b.add(str("SERVER_NAME"), str(name))
		b.add(str("SERVER_PORT"), str(port))
	}

	// PEP 3333: "SERVER_PROTOCOL: The version of the protocol the client
	// used to send the request."
	proto := r.Proto
	if proto == "" {
		proto = "HTTP/1.0"
		if r.ProtoMinor == 1 {
			proto = "HTTP/1.1"
		}
	}
	b.add(str("SERVER_PROTOCOL"), str(proto))

	// RFC 3875 §4.1.8: REMOTE_ADDR = hostnumber (no brackets, no zone).
	// REMOTE_PORT is not CGI but every server sets it: the peer's port; the
	// port a proxy header gave, or "0" when it gave none; "0" on a Unix
	// socket.
	if !inet && !remoteFromProxy {
		b.add(str("REMOTE_ADDR"), str("127.0.0.1"))
		b.add(str("REMOTE_PORT"), str("0"))
	} else {
		start := len(sc.buf)
		sc.buf = remote.AppendTo(sc.buf)
		b.add(str("REMOTE_ADDR"), b.since(start))
		switch {
		case !remoteFromProxy:
			start = len(sc.buf)
			sc.buf = strconv.AppendInt(sc.buf, int64(peerPort), 10)
			b.add(str("REMOTE_PORT"), b.since(start))
		case remotePort != "":
			b.add(str("REMOTE_PORT"), str(remotePort))
		default:
			b.add(str("REMOTE_PORT"), str("0"))
		}
	}

	// PEP 3333: "wsgi.url_scheme: A string representing the "scheme"
	// portion of the URL at which the application is being invoked.
	// Normally, this will have the value "http" or "https", as
	// appropriate." And: "if SSL is in use, the server or gateway should
	// also provide as many of the Apache SSL environment variables as are
	// applicable, such as HTTPS=on".
	b.add(str("wsgi.url_scheme"), str(scheme))
	if scheme == "https" {
		b.add(str("HTTPS"), str("on"))
	}

	// PEP 3333: "HTTP_ Variables: Variables corresponding to the
	// client-supplied HTTP request headers [...]. The presence or absence of
	// these variables should correspond with the presence or absence of the
	// appropriate HTTP header in the request."
	// HTTP_HOST is Request.Host: RFC 9112 §3.2.2, with an absolute-form
	// target "the origin server MUST ignore the received Host header field
	// (if any) and instead use the host information of the request-target".
	if r.Host != "" {
		b.add(str("HTTP_HOST"), str(r.Host))
	}
	for i := range sc.hdr {
		h := &sc.hdr[i]
		if h.first != int32(i) {
			continue
		}
		switch h.kind {
		case kindDrop, kindHost, kindContentType, kindContentLength:
			continue
		}
		key := str(h.key)
		if h.key == "" {
			key = piece{start: h.ks, end: h.ke, arena: true}
		}
		sep := ", " // RFC 9110 §5.3: combined "in order, [...] separated by a comma"
		if h.kind == kindCookie {
			sep = "; " // RFC 9113 §8.2.3 / RFC 6265 §5.4: cookie-pairs are joined with "; "
		}
		b.add(key, b.joined(i, sep))
	}
	return err
}

// classify sets the key and kind of a header line from its name. Names that
// are not tokens are dropped (the server should have refused them); so are
// names containing '_': "X_Forwarded_For" would otherwise give the same
// HTTP_X_FORWARDED_FOR as "X-Forwarded-For" and could overwrite what the
// proxy set (nginx's underscores_in_headers off, gunicorn >= 22).
func (b *builder) classify(name string, info *hdrInfo) {
	if name == "" {
		info.kind = kindDrop
		return
	}
	var lower [maxKnownName]byte
	for j := 0; j < len(name); j++ {
		ch := name[j]
		if ch == '_' || !isTchar(ch) {
			info.kind = kindDrop
			return
		}
		if j < maxKnownName {
			lower[j] = lowerASCII(ch)
		}
	}
	if len(name) <= maxKnownName {
		if k, ok := knownHeaders[string(lower[:len(name)])]; ok {
			info.key, info.kind = k.key, k.kind
			return
		}
	}
	start := len(b.sc.buf)
	b.sc.buf = appendHTTPKey(b.sc.buf, name)
	info.ks, info.ke, info.kind = int32(start), int32(len(b.sc.buf)), kindPlain
}

// sameKey reports whether two classified lines give the same environ key.
// A name is either in the table or not, so an interned key never equals a
// built one.
func sameKey(buf []byte, a, b *hdrInfo) bool {
	switch {
	case a.kind != b.kind:
		return false
	case a.kind != kindPlain:
		return true // each other kind is exactly one header name
	case a.key != "" || b.key != "":
		return a.key == b.key
	}
	return string(buf[a.ks:a.ke]) == string(buf[b.ks:b.ke])
}

// joined returns the value of header line i followed by the values of its
// repeats, separated by sep.
func (b *builder) joined(i int, sep string) piece {
	h := &b.sc.hdr[i]
	if !h.more {
		return str(h.value)
	}
	start := len(b.sc.buf)
	b.sc.buf = append(b.sc.buf, h.value...)
	for j := i + 1; j < len(b.sc.hdr); j++ {
		if b.sc.hdr[j].first == int32(i) {
			b.sc.buf = append(b.sc.buf, sep...)
			b.sc.buf = append(b.sc.buf, b.sc.hdr[j].value...)
		}
	}
	return b.since(start)
}

// addrOf returns the IP address (unmapped, without zone) and port of a
// connection end; inet is false for a Unix socket, a nil address or
// anything else that is not IP.
func addrOf(a net.Addr) (ip netip.Addr, port int, inet bool) {
	switch a := a.(type) {
	case nil, *net.UnixAddr:
		return ip, 0, false
	case *net.TCPAddr:
		if a == nil {
			return ip, 0, false
		}
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			return ip.Unmap(), a.Port, true
		}
		return ip, 0, false
	default:
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return ap.Addr().WithZone("").Unmap(), int(ap.Port()), true
		}
		return ip, 0, false
	}
}

// splitHost splits a Host value (RFC 9110 §7.2: uri-host [ ":" port ])
// into the name, brackets of an IPv6 literal kept (RFC 3875 §4.1.14:
// SERVER_NAME = hostname | ipv4-address | ( "[" ipv6-address "]" )), and
// the port text ("" when none).
func splitHost(host string) (name, port string) {
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return host, ""
		}
		name, rest := host[:end+1], host[end+1:]
		if strings.HasPrefix(rest, ":") {
			port = rest[1:]
		}
		return name, port
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		return host[:i], host[i+1:]
	}
	return host, ""
}

// hasRoot reports whether path starts with root at a segment boundary:
// "/app" matches "/app" and "/app/x", not "/apple". root "" matches all.
func hasRoot(path, root string) bool {
	return len(path) >= len(root) && path[:len(root)] == root &&
		(len(path) == len(root) || path[len(root)] == '/' || root == "")
}

// hasRootBytes is hasRoot for the decoded path in the arena.
func hasRootBytes(path []byte, root string) bool {
	return len(path) >= len(root) && string(path[:len(root)]) == root &&
		(len(path) == len(root) || path[len(root)] == '/' || root == "")
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
