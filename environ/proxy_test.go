package environ

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gohost/gohost/server"
)

// from sets the peer and appends header lines (name, value, ...).
func from(peer string, fields ...string) func(r *server.Request) {
	return func(r *server.Request) {
		switch peer {
		case "unix":
			r.RemoteAddr, r.LocalAddr = unix(""), unix("/run/gohost.sock")
		default:
			r.RemoteAddr = tcp(peer)
		}
		for i := 0; i < len(fields); i += 2 {
			r.Header = append(r.Header, server.HeaderField{Name: fields[i], Value: fields[i+1]})
		}
	}
}

// trust10 also trusts the proxies of 10.0.0.0/8.
func trust10(c *Config) { c.ForwardedAllowIPs = append(c.ForwardedAllowIPs, "10.0.0.0/8") }

const local = "127.0.0.1:5000"

// localWant is the delta for a request from the trusted local proxy.
func localWant(kv ...string) map[string]string {
	m := map[string]string{"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5000"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func https(kv ...string) []string {
	return append([]string{"wsgi.url_scheme", "https", "HTTPS", "on", "SERVER_PORT", "443"}, kv...)
}

func TestUntrustedPeer(t *testing.T) {
	runCases(t, []envCase{
		{name: "X-Forwarded-For passed through only", req: from("203.0.113.7:54321", "X-Forwarded-For", "1.2.3.4"),
			want: map[string]string{"HTTP_X_FORWARDED_FOR": "1.2.3.4"}},
		{name: "secure scheme headers passed through only", req: from("203.0.113.7:54321",
			"X-Forwarded-Proto", "https", "X-Forwarded-Ssl", "on", "X-Forwarded-Protocol", "ssl"),
			want: map[string]string{"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_SSL": "on", "HTTP_X_FORWARDED_PROTOCOL": "ssl"}},
		{name: "Forwarded passed through only", req: from("203.0.113.7:54321", "Forwarded", "for=1.2.3.4;proto=https"),
			want: map[string]string{"HTTP_FORWARDED": "for=1.2.3.4;proto=https"}},
		{name: "no conflict error from an untrusted peer", req: from("203.0.113.7:54321", "X-Forwarded-Proto", "https", "X-Forwarded-Ssl", "off"),
			want: map[string]string{"HTTP_X_FORWARDED_PROTO": "https", "HTTP_X_FORWARDED_SSL": "off"}},
		{name: "untrusted IPv6 peer", req: from("[2001:db8::5]:80", "X-Forwarded-For", "1.2.3.4"),
			want: map[string]string{"REMOTE_ADDR": "2001:db8::5", "REMOTE_PORT": "80", "HTTP_X_FORWARDED_FOR": "1.2.3.4"}},
		{name: "unix peer not trusted when loopback is not listed", config: func(c *Config) { c.ForwardedAllowIPs = []string{"10.0.0.1"} },
			req:  from("unix", "X-Forwarded-For", "1.2.3.4", "X-Forwarded-Proto", "https"),
			want: map[string]string{"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "0", "HTTP_X_FORWARDED_FOR": "1.2.3.4", "HTTP_X_FORWARDED_PROTO": "https"}},
		{name: "empty allow list trusts nobody", config: func(c *Config) { c.ForwardedAllowIPs = nil },
			req:  from(local, "X-Forwarded-For", "1.2.3.4"),
			want: localWant("HTTP_X_FORWARDED_FOR", "1.2.3.4")},
	})
}

func TestXForwardedFor(t *testing.T) {
	runCases(t, []envCase{
		{name: "single client", req: from(local, "X-Forwarded-For", "198.51.100.1"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "198.51.100.1")},
		{name: "client-forged entries on the left ignored", req: from(local, "X-Forwarded-For", "6.6.6.6, 198.51.100.1"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "6.6.6.6, 198.51.100.1")},
		{name: "a trusted peer forging the proxies' list: still the rightmost untrusted", req: from(local, "X-Forwarded-For", "10.0.0.9, 6.6.6.6"),
			config: trust10,
			want:   localWant("REMOTE_ADDR", "6.6.6.6", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "10.0.0.9, 6.6.6.6")},
		{name: "trusted proxies skipped", config: trust10, req: from(local, "X-Forwarded-For", "6.6.6.6, 198.51.100.1, 10.0.0.2,10.0.0.3"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "6.6.6.6, 198.51.100.1, 10.0.0.2,10.0.0.3")},
		{name: "all trusted: the leftmost", config: trust10, req: from(local, "X-Forwarded-For", "10.0.0.5, 10.0.0.2"),
			want: localWant("REMOTE_ADDR", "10.0.0.5", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "10.0.0.5, 10.0.0.2")},
		{name: "rightmost unknown: the peer stays", req: from(local, "X-Forwarded-For", "198.51.100.1, unknown"),
			want: localWant("HTTP_X_FORWARDED_FOR", "198.51.100.1, unknown")},
		{name: "unusable after trusted: the last usable", config: trust10, req: from(local, "X-Forwarded-For", "198.51.100.1, garbage, 10.0.0.2"),
			want: localWant("REMOTE_ADDR", "10.0.0.2", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "198.51.100.1, garbage, 10.0.0.2")},
		{name: "IPv4 with port", req: from(local, "X-Forwarded-For", "198.51.100.1:4711"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "4711", "HTTP_X_FORWARDED_FOR", "198.51.100.1:4711")},
		{name: "IPv6 bare", req: from(local, "X-Forwarded-For", "2001:DB8::1"),
			want: localWant("REMOTE_ADDR", "2001:db8::1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "2001:DB8::1")},
		{name: "IPv6 in brackets with port", req: from(local, "X-Forwarded-For", "[2001:db8::1]:4711"),
			want: localWant("REMOTE_ADDR", "2001:db8::1", "REMOTE_PORT", "4711", "HTTP_X_FORWARDED_FOR", "[2001:db8::1]:4711")},
		{name: "IPv4-mapped entry unmapped", req: from(local, "X-Forwarded-For", "::ffff:198.51.100.1"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "::ffff:198.51.100.1")},
		{name: "bad port ignored", req: from(local, "X-Forwarded-For", "198.51.100.1:99999"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "198.51.100.1:99999")},
		{name: "several lines are one list", config: trust10, req: from(local, "X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "198.51.100.1", "x-forwarded-for", "10.0.0.2"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "6.6.6.6, 198.51.100.1, 10.0.0.2")},
		{name: "empty elements ignored", req: from(local, "X-Forwarded-For", "198.51.100.1 , ,"),
			want: localWant("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_X_FORWARDED_FOR", "198.51.100.1 , ,")},
		{name: "garbage", req: from(local, "X-Forwarded-For", "not an address"),
			want: localWant("HTTP_X_FORWARDED_FOR", "not an address")},
		{name: "empty value", req: from(local, "X-Forwarded-For", ""),
			want: localWant("HTTP_X_FORWARDED_FOR", "")},
		{name: "IPv6 trusted peer", req: from("[::1]:6000", "X-Forwarded-For", "198.51.100.1"),
			want: map[string]string{"REMOTE_ADDR": "198.51.100.1", "REMOTE_PORT": "0", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}},
		{name: "unix peer trusted as 127.0.0.1", req: from("unix", "X-Forwarded-For", "198.51.100.1"),
			want: map[string]string{"REMOTE_ADDR": "198.51.100.1", "REMOTE_PORT": "0", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}},
		{name: "star trusts everybody", config: func(c *Config) { c.ForwardedAllowIPs = []string{"*"} },
			req:  from("203.0.113.7:54321", "X-Forwarded-For", "198.51.100.1"),
			want: map[string]string{"REMOTE_ADDR": "198.51.100.1", "REMOTE_PORT": "0", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}},
		{name: "star: the walk goes to the leftmost", config: func(c *Config) { c.ForwardedAllowIPs = []string{"*"} },
			req:  from("203.0.113.7:54321", "X-Forwarded-For", "198.51.100.1, 10.0.0.1"),
			want: map[string]string{"REMOTE_ADDR": "198.51.100.1", "REMOTE_PORT": "0", "HTTP_X_FORWARDED_FOR": "198.51.100.1, 10.0.0.1"}},
		{name: "X-Forwarded-Host not applied", req: from(local, "X-Forwarded-Host", "evil.example"),
			want: localWant("HTTP_X_FORWARDED_HOST", "evil.example")},
	})
}

func TestSecureSchemeHeaders(t *testing.T) {
	w := func(kv ...string) map[string]string { return localWant(kv...) }
	runCases(t, []envCase{
		{name: "X-Forwarded-Proto https", req: from(local, "X-Forwarded-Proto", "https"),
			want: w(https("HTTP_X_FORWARDED_PROTO", "https")...)},
		{name: "case-insensitive value", req: from(local, "X-Forwarded-Proto", "HTTPS"),
			want: w(https("HTTP_X_FORWARDED_PROTO", "HTTPS")...)},
		{name: "X-Forwarded-Proto http over TLS: the proxy wins", req: func(r *server.Request) {
			r.TLS = true
			from(local, "X-Forwarded-Proto", "http")(r)
		}, want: w("HTTP_X_FORWARDED_PROTO", "http")},
		{name: "list: the rightmost (appended by our peer)", req: from(local, "X-Forwarded-Proto", "http, https"),
			want: w(https("HTTP_X_FORWARDED_PROTO", "http, https")...)},
		{name: "list: a forged https on the left ignored", req: from(local, "X-Forwarded-Proto", "https, http"),
			want: w("HTTP_X_FORWARDED_PROTO", "https, http")},
		{name: "repeated lines: the last line", req: from(local, "X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http"),
			want: w("HTTP_X_FORWARDED_PROTO", "https, http")},
		{name: "X-Forwarded-Ssl on", req: from(local, "X-Forwarded-Ssl", "on"),
			want: w(https("HTTP_X_FORWARDED_SSL", "on")...)},
		{name: "X-Forwarded-Ssl off", req: from(local, "X-Forwarded-Ssl", "off"),
			want: w("HTTP_X_FORWARDED_SSL", "off")},
		{name: "X-Forwarded-Protocol ssl", req: from(local, "X-Forwarded-Protocol", "ssl"),
			want: w(https("HTTP_X_FORWARDED_PROTOCOL", "ssl")...)},
		{name: "agreeing headers", req: from(local, "X-Forwarded-Proto", "https", "X-Forwarded-Ssl", "on"),
			want: w(https("HTTP_X_FORWARDED_PROTO", "https", "HTTP_X_FORWARDED_SSL", "on")...)},
		{name: "conflicting headers: http and an error", req: from(local, "X-Forwarded-Proto", "https", "X-Forwarded-Ssl", "off"),
			want: w("HTTP_X_FORWARDED_PROTO", "https", "HTTP_X_FORWARDED_SSL", "off"), err: ErrProxyConflict},
		{name: "conflict over TLS: still http", req: func(r *server.Request) {
			r.TLS = true
			from(local, "X-Forwarded-Proto", "http", "X-Forwarded-Protocol", "ssl")(r)
		}, want: w("HTTP_X_FORWARDED_PROTO", "http", "HTTP_X_FORWARDED_PROTOCOL", "ssl"), err: ErrProxyConflict},
		{name: "conflict with Forwarded proto", req: from(local, "X-Forwarded-Proto", "https", "Forwarded", "proto=http"),
			want: w("HTTP_X_FORWARDED_PROTO", "https", "HTTP_FORWARDED", "proto=http"), err: ErrProxyConflict},
		{name: "custom header only", config: func(c *Config) { c.SecureSchemeHeaders = map[string]string{"X-Scheme": "https"} },
			req:  from(local, "X-Forwarded-Proto", "https", "x-scheme", "https"),
			want: w(https("HTTP_X_FORWARDED_PROTO", "https", "HTTP_X_SCHEME", "https")...)},
		{name: "custom header, X-Forwarded-Proto not consulted", config: func(c *Config) { c.SecureSchemeHeaders = map[string]string{"X-Scheme": "https"} },
			req:  from(local, "X-Forwarded-Proto", "https"),
			want: w("HTTP_X_FORWARDED_PROTO", "https")},
		{name: "no secure headers configured", config: func(c *Config) { c.SecureSchemeHeaders = nil },
			req:  from(local, "X-Forwarded-Proto", "https"),
			want: w("HTTP_X_FORWARDED_PROTO", "https")},
		{name: "underscore variant never votes", req: from(local, "X_Forwarded_Proto", "https"),
			want: w()},
	})
}

func TestForwarded(t *testing.T) {
	w := func(kv ...string) map[string]string { return localWant(kv...) }
	fwd := func(vs ...string) func(r *server.Request) {
		var f []string
		for _, v := range vs {
			f = append(f, "Forwarded", v)
		}
		return from(local, f...)
	}
	runCases(t, []envCase{
		{name: "for and proto", req: fwd("for=198.51.100.1;proto=https"),
			want: w(https("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", "for=198.51.100.1;proto=https")...)},
		{name: "quoted IPv6 with port", req: fwd(`for="[2001:db8:cafe::17]:4711"`),
			want: w("REMOTE_ADDR", "2001:db8:cafe::17", "REMOTE_PORT", "4711", "HTTP_FORWARDED", `for="[2001:db8:cafe::17]:4711"`)},
		{name: "quoted IPv4 with port, names case-insensitive", req: fwd(`For="198.51.100.1:8080";PROTO=HTTPS`),
			want: w(https("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "8080", "HTTP_FORWARDED", `For="198.51.100.1:8080";PROTO=HTTPS`)...)},
		{name: "obfuscated port", req: fwd(`for="198.51.100.1:_abc"`),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", `for="198.51.100.1:_abc"`)},
		{name: "obfuscated node: no address, proto kept", req: fwd("for=_hidden;proto=https"),
			want: w(https("HTTP_FORWARDED", "for=_hidden;proto=https")...)},
		{name: "unknown node", req: fwd("for=unknown"),
			want: w("HTTP_FORWARDED", "for=unknown")},
		{name: "forged element on the left ignored", req: fwd("for=6.6.6.6;proto=https, for=198.51.100.1;proto=http"),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", "for=6.6.6.6;proto=https, for=198.51.100.1;proto=http")},
		{name: "trusted proxies skipped; proto of the client's element", config: trust10,
			req:  fwd("for=198.51.100.1;proto=https, for=10.0.0.2;proto=http"),
			want: w(https("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", "for=198.51.100.1;proto=https, for=10.0.0.2;proto=http")...)},
		{name: "obfuscated behind a trusted proxy: the proxy, its element's proto", config: trust10,
			req:  fwd("for=_x;proto=https, for=10.0.0.2;proto=http"),
			want: w(https("REMOTE_ADDR", "10.0.0.2", "REMOTE_PORT", "0", "HTTP_FORWARDED", "for=_x;proto=https, for=10.0.0.2;proto=http")...)},
		{name: "proto only: X-Forwarded-For gives the address", req: from(local, "Forwarded", "proto=https", "X-Forwarded-For", "198.51.100.1"),
			want: w(https("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", "proto=https", "HTTP_X_FORWARDED_FOR", "198.51.100.1")...)},
		{name: "wss is https", req: fwd("proto=wss"),
			want: w(https("HTTP_FORWARDED", "proto=wss")...)},
		{name: "unknown proto does not vote", req: fwd("proto=gopher"),
			want: w("HTTP_FORWARDED", "proto=gopher")},
		{name: "several lines are one list", req: fwd("for=6.6.6.6", "for=198.51.100.1"),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", "for=6.6.6.6, for=198.51.100.1")},
		{name: "empty elements and pairs, OWS", req: fwd(" , for=198.51.100.1 ; ;by=x , "),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", ", for=198.51.100.1 ; ;by=x ,")},
		{name: "quoted-pair unescaped", req: fwd(`for="198.51.100.\1"`),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", `for="198.51.100.\1"`)},
		{name: "comma inside quotes is not a separator", req: fwd(`for="198.51.100.1";x="a,b"`),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", `for="198.51.100.1";x="a,b"`)},
		{name: "host= not applied", req: fwd("for=198.51.100.1;host=evil.example"),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", "for=198.51.100.1;host=evil.example")},
		{name: "syntax error: unterminated quote swallowing the proxy's element", req: fwd(`for="6.6.6.6, for=198.51.100.1`),
			want: w("HTTP_FORWARDED", `for="6.6.6.6, for=198.51.100.1`)},
		{name: "syntax error: unquoted IPv6", req: fwd("for=[2001:db8::1]"),
			want: w("HTTP_FORWARDED", "for=[2001:db8::1]")},
		{name: "syntax error: repeated parameter", req: fwd("for=198.51.100.1;for=6.6.6.6;proto=https"),
			want: w("HTTP_FORWARDED", "for=198.51.100.1;for=6.6.6.6;proto=https")},
		{name: "syntax error in one line ignores all lines", req: fwd("for=198.51.100.1;proto=https", "for"),
			want: w("HTTP_FORWARDED", "for=198.51.100.1;proto=https, for")},
		{name: "syntax error: X-Forwarded-For still used", req: from(local, "Forwarded", "for=", "X-Forwarded-For", "198.51.100.1"),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "0", "HTTP_FORWARDED", "for=", "HTTP_X_FORWARDED_FOR", "198.51.100.1")},
		{name: "agrees with X-Forwarded-For; its port used", req: from(local, "Forwarded", "for=198.51.100.1", "X-Forwarded-For", "198.51.100.1:99"),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "99", "HTTP_FORWARDED", "for=198.51.100.1", "HTTP_X_FORWARDED_FOR", "198.51.100.1:99")},
		{name: "Forwarded port preferred", req: from(local, "Forwarded", `for="198.51.100.1:7"`, "X-Forwarded-For", "198.51.100.1:99"),
			want: w("REMOTE_ADDR", "198.51.100.1", "REMOTE_PORT", "7", "HTTP_FORWARDED", `for="198.51.100.1:7"`, "HTTP_X_FORWARDED_FOR", "198.51.100.1:99")},
		{name: "disagrees with X-Forwarded-For: the peer and an error", req: from(local, "Forwarded", "for=6.6.6.6", "X-Forwarded-For", "198.51.100.1"),
			want: w("HTTP_FORWARDED", "for=6.6.6.6", "HTTP_X_FORWARDED_FOR", "198.51.100.1"), err: ErrProxyConflict},
		{name: "unknown versus an address is a disagreement", req: from(local, "Forwarded", "for=unknown", "X-Forwarded-For", "198.51.100.1"),
			want: w("HTTP_FORWARDED", "for=unknown", "HTTP_X_FORWARDED_FOR", "198.51.100.1"), err: ErrProxyConflict},
	})
}

func TestParseForwarded(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []forwardedElem
		ok   bool
	}{
		{"", nil, true},
		{"for=a", []forwardedElem{{node: "a", hasFor: true}}, true},
		{`for=192.0.2.60;proto=http;by=203.0.113.43`, []forwardedElem{{node: "192.0.2.60", hasFor: true, proto: "http", hasProto: true}}, true},
		{`for=192.0.2.43, for="[2001:db8:cafe::17]"`, []forwardedElem{{node: "192.0.2.43", hasFor: true}, {node: "[2001:db8:cafe::17]", hasFor: true}}, true},
		{`for="_gazonk"`, []forwardedElem{{node: "_gazonk", hasFor: true}}, true},
		{`for=""`, []forwardedElem{{node: "", hasFor: true}}, true},
		{`a="x\"y";for=b`, []forwardedElem{{node: "b", hasFor: true}}, true},
		{`for="a\"b"`, []forwardedElem{{node: `a"b`, hasFor: true}}, true},
		{",,;,", nil, true},
		{"ext=1", []forwardedElem{{}}, true},
		{"for", nil, false},
		{"for=", nil, false},
		{"=x", nil, false},
		{"for =x", nil, false},
		{"for= x", nil, false},
		{"for=a b", nil, false},
		{`for="a`, nil, false},
		{`for="a\`, nil, false},
		{`for="a"b`, nil, false},
		{"for=\"a\x00\"", nil, false},
		{"for=a;FOR=b", nil, false},
		{"proto=a;Proto=b", nil, false},
		{"host=a;host=b", nil, false},
		{"by=a;by=b", nil, false},
	} {
		got, ok := parseForwarded(nil, tc.in)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		if tc.ok {
			assert.Equal(t, tc.want, got, "%q", tc.in)
		}
	}
}

func TestParseNode(t *testing.T) {
	for _, tc := range []struct {
		in, addr, port string
		ok             bool
	}{
		{"192.0.2.1", "192.0.2.1", "", true},
		{"192.0.2.1:80", "192.0.2.1", "80", true},
		{"192.0.2.1:65535", "192.0.2.1", "65535", true},
		{"192.0.2.1:65536", "192.0.2.1", "", true},
		{"192.0.2.1:_obf", "192.0.2.1", "", true},
		{"192.0.2.1:", "192.0.2.1", "", true},
		{"[2001:db8::1]", "2001:db8::1", "", true},
		{"[2001:db8::1]:443", "2001:db8::1", "443", true},
		{"2001:db8::1", "2001:db8::1", "", true},
		{"[::ffff:192.0.2.1]:1", "192.0.2.1", "1", true},
		{"[fe80::1%eth0]", "fe80::1", "", true},
		{"[192.0.2.1]", "", "", false},
		{"[2001:db8::1]x", "", "", false},
		{"[2001:db8::1", "", "", false},
		{"2001:db8::1:x:80", "", "", false},
		{"unknown", "", "", false},
		{"_hidden", "", "", false},
		{"example.com:80", "", "", false},
		{"", "", "", false},
	} {
		a, port, ok := parseNode(tc.in)
		assert.Equal(t, tc.ok, ok, "%q", tc.in)
		if ok {
			assert.Equal(t, netip.MustParseAddr(tc.addr), a, "%q", tc.in)
			assert.Equal(t, tc.port, port, "%q", tc.in)
		}
	}
}
