package environ

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gohost/gohost/server"
)

// absent in a want map means "this key must not be in the environ".
const absent = "\x00absent"

func tcp(s string) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s))
}

func unix(path string) *net.UnixAddr { return &net.UnixAddr{Name: path, Net: "unix"} }

// baseRequest is a plain GET from an untrusted browser.
func baseRequest() *server.Request {
	return &server.Request{
		Method:     "GET",
		RequestURI: "/",
		Path:       "/",
		Proto:      "HTTP/1.1",
		ProtoMinor: 1,
		Header:     []server.HeaderField{{Name: "Host", Value: "example.com"}},
		Host:       "example.com",
		RemoteAddr: tcp("203.0.113.7:54321"),
		LocalAddr:  tcp("10.0.0.1:8000"),
	}
}

// baseWant is the environ of baseRequest with NewConfig.
func baseWant() map[string]string {
	return map[string]string{
		"REQUEST_METHOD":  "GET",
		"SCRIPT_NAME":     "",
		"PATH_INFO":       "/",
		"QUERY_STRING":    "",
		"RAW_URI":         "/",
		"SERVER_NAME":     "example.com",
		"SERVER_PORT":     "80",
		"SERVER_PROTOCOL": "HTTP/1.1",
		"REMOTE_ADDR":     "203.0.113.7",
		"REMOTE_PORT":     "54321",
		"wsgi.url_scheme": "http",
		"HTTP_HOST":       "example.com",
	}
}

func prepared(t testing.TB, c *Config) *Config {
	t.Helper()
	require.NoError(t, c.Prepare())
	return c
}

// toMap converts the Vars, failing on a duplicate key.
func toMap(t testing.TB, vars []Var) map[string]string {
	t.Helper()
	m := make(map[string]string, len(vars))
	for _, v := range vars {
		_, dup := m[v.Key]
		require.False(t, dup, "duplicate key %q", v.Key)
		m[v.Key] = v.Value
	}
	return m
}

// merge applies delta to base (absent deletes).
func merge(base, delta map[string]string) map[string]string {
	for k, v := range delta {
		if v == absent {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	return base
}

type envCase struct {
	name   string
	config func(c *Config) // changes to NewConfig (nil: none)
	req    func(r *server.Request)
	want   map[string]string // delta over baseWant
	err    error             // wanted from AppendChecked
}

func runCases(t *testing.T, cases []envCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConfig()
			if tc.config != nil {
				tc.config(c)
			}
			prepared(t, c)
			r := baseRequest()
			if tc.req != nil {
				tc.req(r)
			}
			vars, err := AppendChecked(nil, r, c)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, merge(baseWant(), tc.want), toMap(t, vars))
			// Append gives the same Vars without the error.
			assert.Equal(t, vars, Append(nil, r, c))
		})
	}
}

func setPath(target, path, query string) func(r *server.Request) {
	return func(r *server.Request) { r.RequestURI, r.Path, r.RawQuery = target, path, query }
}

func TestPathAndQuery(t *testing.T) {
	root := func(p string) func(c *Config) { return func(c *Config) { c.RootPath = p } }
	runCases(t, []envCase{
		{name: "plain", req: setPath("/a/b", "/a/b", ""),
			want: map[string]string{"PATH_INFO": "/a/b", "RAW_URI": "/a/b"}},
		{name: "encoded slash decodes like gunicorn and wsgiref", req: setPath("/a%2Fb%2fc", "/a%2Fb%2fc", ""),
			want: map[string]string{"PATH_INFO": "/a/b/c", "RAW_URI": "/a%2Fb%2fc"}},
		{name: "percent sign", req: setPath("/100%25", "/100%25", ""),
			want: map[string]string{"PATH_INFO": "/100%", "RAW_URI": "/100%25"}},
		{name: "invalid escapes kept", req: setPath("/%zz/%4/%", "/%zz/%4/%", ""),
			want: map[string]string{"PATH_INFO": "/%zz/%4/%", "RAW_URI": "/%zz/%4/%"}},
		{name: "escape cut at the end", req: setPath("/a%f", "/a%f", ""),
			want: map[string]string{"PATH_INFO": "/a%f", "RAW_URI": "/a%f"}},
		{name: "non-UTF-8 byte survives", req: setPath("/%ff%FE", "/%ff%FE", ""),
			want: map[string]string{"PATH_INFO": "/\xff\xfe", "RAW_URI": "/%ff%FE"}},
		{name: "UTF-8 stays bytes (latin-1 in Python)", req: setPath("/caf%C3%A9", "/caf%C3%A9", ""),
			want: map[string]string{"PATH_INFO": "/caf\xc3\xa9", "RAW_URI": "/caf%C3%A9"}},
		{name: "plus is not a space", req: setPath("/a+b", "/a+b", ""),
			want: map[string]string{"PATH_INFO": "/a+b", "RAW_URI": "/a+b"}},
		{name: "dot segments not normalized", req: setPath("/%2e%2e/x", "/%2e%2e/x", ""),
			want: map[string]string{"PATH_INFO": "/../x", "RAW_URI": "/%2e%2e/x"}},
		{name: "query raw and undecoded", req: setPath("/s?q=a%20b&x=%zz+1", "/s", "q=a%20b&x=%zz+1"),
			want: map[string]string{"PATH_INFO": "/s", "QUERY_STRING": "q=a%20b&x=%zz+1", "RAW_URI": "/s?q=a%20b&x=%zz+1"}},
		{name: "empty query after ?", req: setPath("/s?", "/s", ""),
			want: map[string]string{"PATH_INFO": "/s", "RAW_URI": "/s?"}},
		{name: "absolute-form: path part only", req: setPath("http://example.com/p%20q?x=1", "/p%20q", "x=1"),
			want: map[string]string{"PATH_INFO": "/p q", "QUERY_STRING": "x=1", "RAW_URI": "http://example.com/p%20q?x=1"}},
		{name: "asterisk-form: PATH_INFO * like gunicorn and wsgiref", req: func(r *server.Request) {
			r.Method, r.RequestURI, r.Path = "OPTIONS", "*", "*"
		}, want: map[string]string{"REQUEST_METHOD": "OPTIONS", "PATH_INFO": "*", "RAW_URI": "*"}},
		{name: "empty path is / without root", req: setPath("http://example.com", "", ""),
			want: map[string]string{"PATH_INFO": "/", "RAW_URI": "http://example.com"}},

		{name: "root: path is the root", config: root("/app"), req: setPath("/app", "/app", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "", "RAW_URI": "/app"}},
		{name: "root: root with slash", config: root("/app"), req: setPath("/app/", "/app/", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/", "RAW_URI": "/app/"}},
		{name: "root: below the root", config: root("/app"), req: setPath("/app/x/y", "/app/x/y", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x/y", "RAW_URI": "/app/x/y"}},
		{name: "root: not at a segment boundary", config: root("/app"), req: setPath("/apple", "/apple", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/apple", "RAW_URI": "/apple"}},
		{name: "root: proxy already stripped it", config: root("/app"), req: setPath("/x", "/x", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x", "RAW_URI": "/x"}},
		{name: "root: matched after decoding", config: root("/app"), req: setPath("/%61pp/x", "/%61pp/x", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x", "RAW_URI": "/%61pp/x"}},
		{name: "root: encoded slash after root", config: root("/app"), req: setPath("/app%2Fx", "/app%2Fx", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x", "RAW_URI": "/app%2Fx"}},
		{name: "root: decoded, not at a boundary", config: root("/app"), req: setPath("/app%6Ce", "/app%6Ce", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/apple", "RAW_URI": "/app%6Ce"}},
		{name: "root: case-sensitive", config: root("/app"), req: setPath("/APP/x", "/APP/x", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/APP/x", "RAW_URI": "/APP/x"}},
		{name: "root: asterisk", config: root("/app"), req: func(r *server.Request) {
			r.Method, r.RequestURI, r.Path = "OPTIONS", "*", "*"
		}, want: map[string]string{"REQUEST_METHOD": "OPTIONS", "SCRIPT_NAME": "/app", "PATH_INFO": "*", "RAW_URI": "*"}},
		{name: "root: trailing slashes removed", config: root("/app//"), req: setPath("/app/x", "/app/x", ""),
			want: map[string]string{"SCRIPT_NAME": "/app", "PATH_INFO": "/x", "RAW_URI": "/app/x"}},
		{name: "root: / means none", config: root("/"), req: setPath("/x", "/x", ""),
			want: map[string]string{"SCRIPT_NAME": "", "PATH_INFO": "/x", "RAW_URI": "/x"}},
		{name: "root: nested", config: root("/a/b"), req: setPath("/a/b/c", "/a/b/c", ""),
			want: map[string]string{"SCRIPT_NAME": "/a/b", "PATH_INFO": "/c", "RAW_URI": "/a/b/c"}},
	})
}

func TestHeaders(t *testing.T) {
	hdr := func(fields ...string) func(r *server.Request) {
		return func(r *server.Request) {
			for i := 0; i < len(fields); i += 2 {
				r.Header = append(r.Header, server.HeaderField{Name: fields[i], Value: fields[i+1]})
			}
		}
	}
	runCases(t, []envCase{
		{name: "known and unknown names", req: hdr("User-Agent", "curl/8", "X-Custom-Thing", "1", "x-lower", "2"),
			want: map[string]string{"HTTP_USER_AGENT": "curl/8", "HTTP_X_CUSTOM_THING": "1", "HTTP_X_LOWER": "2"}},
		{name: "other token characters kept", req: hdr("X-A.B", "1", "X~Y!", "2"),
			want: map[string]string{"HTTP_X_A.B": "1", "HTTP_X~Y!": "2"}},
		{name: "underscores dropped: no spoofing of X-Forwarded-For", req: hdr("X_Forwarded_For", "1.2.3.4", "SCRIPT_NAME", "/evil", "x_y", "1"),
			want: map[string]string{}},
		{name: "underscore line dropped, dash line kept", req: hdr("X-Forwarded-For", "198.51.100.1", "X_Forwarded_For", "1.2.3.4"),
			want: map[string]string{"HTTP_X_FORWARDED_FOR": "198.51.100.1"}},
		{name: "names that are not tokens dropped", req: hdr("Bad Name", "1", "", "2", "Caf\xe9", "3"),
			want: map[string]string{}},
		{name: "repeated lines joined, case-insensitive, in order", req: hdr("Accept", "text/html", "X-Foo", "a", "accept", "*/*", "x-FOO", "b", "ACCEPT", "a/b"),
			want: map[string]string{"HTTP_ACCEPT": "text/html, */*, a/b", "HTTP_X_FOO": "a, b"}},
		{name: "cookies joined with semicolon", req: hdr("Cookie", "a=1", "Accept", "x", "cookie", "b=2; c=3"),
			want: map[string]string{"HTTP_COOKIE": "a=1; b=2; c=3", "HTTP_ACCEPT": "x"}},
		{name: "surrounding whitespace trimmed, inner kept", req: hdr("X-Foo", " \ta  b\t "),
			want: map[string]string{"HTTP_X_FOO": "a  b"}},
		{name: "empty value kept", req: hdr("X-Empty", ""),
			want: map[string]string{"HTTP_X_EMPTY": ""}},
		{name: "raw bytes kept", req: hdr("X-Bytes", "caf\xc3\xa9 \xff"),
			want: map[string]string{"HTTP_X_BYTES": "caf\xc3\xa9 \xff"}},
		{name: "httpoxy: Proxy dropped", req: hdr("Proxy", "http://evil:3128"),
			want: map[string]string{}},
		{name: "hop-by-hop passed like gunicorn", req: hdr("Connection", "keep-alive", "Upgrade", "websocket", "TE", "trailers"),
			want: map[string]string{"HTTP_CONNECTION": "keep-alive", "HTTP_UPGRADE": "websocket", "HTTP_TE": "trailers"}},
		{name: "content type and length from the client", req: func(r *server.Request) {
			r.Method, r.ContentLength = "POST", 11
			hdr("Content-Type", "application/json", "Content-Length", "11")(r)
		}, want: map[string]string{"REQUEST_METHOD": "POST", "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": "11"}},
		{name: "content length 0 sent", req: func(r *server.Request) {
			r.Method = "POST"
			hdr("Content-Length", "0")(r)
		}, want: map[string]string{"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "0"}},
		{name: "no content headers, none in environ", req: func(r *server.Request) { r.Method = "POST" },
			want: map[string]string{"REQUEST_METHOD": "POST"}},
		{name: "chunked: no CONTENT_LENGTH", req: func(r *server.Request) {
			r.Method, r.ContentLength = "POST", -1
			hdr("Transfer-Encoding", "chunked", "Content-Type", "text/plain")(r)
		}, want: map[string]string{"REQUEST_METHOD": "POST", "HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_TYPE": "text/plain"}},
		{name: "content length list accepted by the server: the number", req: func(r *server.Request) {
			r.Method, r.ContentLength = "POST", 1234
			hdr("Content-Length", "1234, 1234")(r)
		}, want: map[string]string{"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "1234"}},
		{name: "content length repeated lines: the number", req: func(r *server.Request) {
			r.Method, r.ContentLength = "POST", 5
			hdr("Content-Length", "5", "content-length", "5")(r)
		}, want: map[string]string{"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "5"}},
		{name: "host from absolute-form wins over Host", req: func(r *server.Request) {
			r.RequestURI, r.Host = "http://other.example:8080/", "other.example:8080"
		}, want: map[string]string{"HTTP_HOST": "other.example:8080", "SERVER_NAME": "other.example", "SERVER_PORT": "8080", "RAW_URI": "http://other.example:8080/"}},
		{name: "HTTP/1.0 without Host", req: func(r *server.Request) {
			r.Proto, r.ProtoMinor, r.Header, r.Host = "HTTP/1.0", 0, nil, ""
		}, want: map[string]string{"SERVER_PROTOCOL": "HTTP/1.0", "HTTP_HOST": absent, "SERVER_NAME": "10.0.0.1", "SERVER_PORT": "8000"}},
	})
}

func TestServerAndRemote(t *testing.T) {
	runCases(t, []envCase{
		{name: "host with port", req: func(r *server.Request) { r.Host = "example.com:8443" },
			want: map[string]string{"HTTP_HOST": "example.com:8443", "SERVER_PORT": "8443"}},
		{name: "host without port over TLS", req: func(r *server.Request) { r.TLS = true },
			want: map[string]string{"SERVER_PORT": "443", "wsgi.url_scheme": "https", "HTTPS": "on"}},
		{name: "IPv6 literal host keeps brackets", req: func(r *server.Request) { r.Host = "[2001:db8::1]:8080" },
			want: map[string]string{"HTTP_HOST": "[2001:db8::1]:8080", "SERVER_NAME": "[2001:db8::1]", "SERVER_PORT": "8080"}},
		{name: "IPv6 literal host without port", req: func(r *server.Request) { r.Host = "[::1]" },
			want: map[string]string{"HTTP_HOST": "[::1]", "SERVER_NAME": "[::1]", "SERVER_PORT": "80"}},
		{name: "empty or bad host port: scheme default", req: func(r *server.Request) { r.Host = "example.com:" },
			want: map[string]string{"HTTP_HOST": "example.com:", "SERVER_PORT": "80"}},
		{name: "host without name: local address", req: func(r *server.Request) { r.Host = ":81" },
			want: map[string]string{"HTTP_HOST": ":81", "SERVER_NAME": "10.0.0.1", "SERVER_PORT": "8000"}},
		{name: "no host on IPv6 listener", req: func(r *server.Request) {
			r.Header, r.Host, r.LocalAddr = nil, "", tcp("[2001:db8::2]:8000")
		}, want: map[string]string{"HTTP_HOST": absent, "SERVER_NAME": "[2001:db8::2]", "SERVER_PORT": "8000"}},
		{name: "IPv6 peer without brackets", req: func(r *server.Request) { r.RemoteAddr = tcp("[2001:db8::7]:40000") },
			want: map[string]string{"REMOTE_ADDR": "2001:db8::7", "REMOTE_PORT": "40000"}},
		{name: "IPv4-mapped peer on a dual-stack listener", req: func(r *server.Request) {
			r.RemoteAddr = &net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.9"), Port: 1}
		}, want: map[string]string{"REMOTE_ADDR": "192.0.2.9", "REMOTE_PORT": "1"}},
		{name: "link-local peer: zone left out", req: func(r *server.Request) {
			r.RemoteAddr = &net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 2, Zone: "eth0"}
		}, want: map[string]string{"REMOTE_ADDR": "fe80::1", "REMOTE_PORT": "2"}},
		{name: "unix socket with Host", req: func(r *server.Request) {
			r.RemoteAddr, r.LocalAddr = unix(""), unix("/run/gohost.sock")
		}, want: map[string]string{"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "0"}},
		{name: "unix socket with Host and port", req: func(r *server.Request) {
			r.RemoteAddr, r.LocalAddr, r.Host = unix(""), unix("/run/gohost.sock"), "example.com:8080"
		}, want: map[string]string{"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "0", "HTTP_HOST": "example.com:8080", "SERVER_PORT": "8080"}},
		{name: "unix socket without Host", req: func(r *server.Request) {
			r.RemoteAddr, r.LocalAddr, r.Header, r.Host = unix(""), unix("/run/gohost.sock"), nil, ""
		}, want: map[string]string{"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "0", "HTTP_HOST": absent, "SERVER_NAME": "localhost", "SERVER_PORT": "80"}},
		{name: "unix socket without Host over https proxy", req: func(r *server.Request) {
			r.RemoteAddr, r.LocalAddr, r.Host = unix(""), unix("/run/gohost.sock"), ""
			r.Header = []server.HeaderField{{Name: "X-Forwarded-Proto", Value: "https"}}
		}, want: map[string]string{"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "0", "HTTP_HOST": absent, "SERVER_NAME": "localhost",
			"SERVER_PORT": "443", "wsgi.url_scheme": "https", "HTTPS": "on", "HTTP_X_FORWARDED_PROTO": "https"}},
		{name: "nil addresses", req: func(r *server.Request) { r.RemoteAddr, r.LocalAddr, r.Host, r.Header = nil, nil, "", nil },
			want: map[string]string{"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "0", "HTTP_HOST": absent, "SERVER_NAME": "localhost"}},
		{name: "empty Proto from ProtoMinor", req: func(r *server.Request) { r.Proto = "" },
			want: map[string]string{"SERVER_PROTOCOL": "HTTP/1.1"}},
	})
}

func TestOrder(t *testing.T) {
	c := prepared(t, NewConfig())
	r := baseRequest()
	r.Method, r.ContentLength, r.TLS = "POST", 2, true
	r.Header = []server.HeaderField{
		{Name: "X-B", Value: "1"}, {Name: "Content-Length", Value: "2"}, {Name: "Host", Value: "example.com"},
		{Name: "Accept", Value: "a"}, {Name: "Content-Type", Value: "t"}, {Name: "X-A", Value: "2"}, {Name: "X-B", Value: "3"},
	}
	var keys []string
	for _, v := range Append(nil, r, c) {
		keys = append(keys, v.Key)
	}
	assert.Equal(t, []string{
		"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "RAW_URI", "CONTENT_TYPE", "CONTENT_LENGTH",
		"SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme", "HTTPS",
		"HTTP_HOST", "HTTP_X_B", "HTTP_ACCEPT", "HTTP_X_A",
	}, keys)
}

func TestAppendReusesDst(t *testing.T) {
	c := prepared(t, NewConfig())
	prefix := []Var{{Key: "wsgi.keep", Value: "x"}}
	dst := Append(prefix, baseRequest(), c)
	assert.Equal(t, Var{Key: "wsgi.keep", Value: "x"}, dst[0], "existing entries are kept")
	assert.Equal(t, baseWant(), toMap(t, dst[1:]))

	// A second request into the same backing array: nothing of the first
	// one leaks (values built in the arena belong to each call).
	r2 := baseRequest()
	r2.RemoteAddr = tcp("[2001:db8::9]:7")
	r2.Path, r2.RequestURI = "/%41", "/%41"
	dst2 := Append(dst[:0], r2, c)
	assert.Equal(t, merge(baseWant(), map[string]string{"REMOTE_ADDR": "2001:db8::9", "REMOTE_PORT": "7", "PATH_INFO": "/A", "RAW_URI": "/%41"}),
		toMap(t, dst2))
}

func TestNilConfig(t *testing.T) {
	r := baseRequest()
	r.RemoteAddr = tcp("127.0.0.1:5000")
	r.Header = append(r.Header, server.HeaderField{Name: "X-Forwarded-For", Value: "1.2.3.4"},
		server.HeaderField{Name: "X-Forwarded-Proto", Value: "https"})
	got := toMap(t, Append(nil, r, nil))
	assert.Equal(t, merge(baseWant(), map[string]string{
		"REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "5000",
		"HTTP_X_FORWARDED_FOR": "1.2.3.4", "HTTP_X_FORWARDED_PROTO": "https",
	}), got, "nil Config trusts no proxy")
}

func TestUnpreparedConfigPanics(t *testing.T) {
	assert.PanicsWithValue(t, "environ: Config.Prepare was not called", func() {
		Append(nil, baseRequest(), NewConfig())
	})
}

func TestPrepare(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		err  string
	}{
		{"root without slash", Config{RootPath: "app"}, `root path "app" does not start with "/"`},
		{"bad IP", Config{ForwardedAllowIPs: []string{"1.2.3"}}, `invalid IP address "1.2.3"`},
		{"bad CIDR", Config{ForwardedAllowIPs: []string{"10.0.0.0/33"}}, `invalid CIDR "10.0.0.0/33"`},
		{"zone", Config{ForwardedAllowIPs: []string{"fe80::1%eth0"}}, `invalid IP address "fe80::1%eth0"`},
		{"secure header with underscore", Config{SecureSchemeHeaders: map[string]string{"X_Proto": "https"}}, `"X_Proto"`},
		{"secure header bad name", Config{SecureSchemeHeaders: map[string]string{"X Proto": "https"}}, `"X Proto"`},
		{"secure header empty value", Config{SecureSchemeHeaders: map[string]string{"X-Proto": " "}}, `empty value`},
		{"secure header twice", Config{SecureSchemeHeaders: map[string]string{"X-Proto": "a", "x-proto": "b"}}, `listed twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, tc.c.Prepare(), tc.err)
		})
	}

	c := Config{ForwardedAllowIPs: []string{" 10.0.0.0/8 , 192.0.2.1", "::ffff:172.16.0.0/108", "2001:db8::/32"}}
	require.NoError(t, c.Prepare())
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"),
		netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("2001:db8::/32"),
	}, c.trusted)
	for addr, want := range map[string]bool{
		"10.1.2.3": true, "192.0.2.1": true, "192.0.2.2": false, "172.31.0.1": true,
		"172.32.0.1": false, "2001:db8:1::1": true, "2001:db9::1": false, "::1": false,
	} {
		assert.Equal(t, want, c.trusts(netip.MustParseAddr(addr)), addr)
	}
	assert.False(t, c.trustAll)
}

func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	c := prepared(t, NewConfig())
	r := browserRequest()
	dst := Append(nil, r, c)
	allocs := testing.AllocsPerRun(200, func() { dst = Append(dst[:0], r, c) })
	// One string: REMOTE_ADDR and REMOTE_PORT formatted into the arena.
	assert.LessOrEqual(t, allocs, 1.0)

	// A Unix-socket request with no % in the path and no proxy address
	// builds nothing at all.
	r.RemoteAddr, r.LocalAddr = unix(""), unix("/run/x.sock")
	r.Header = r.Header[:len(r.Header)-2]
	require.Equal(t, "X-Forwarded-For", browserRequest().Header[len(r.Header)].Name)
	allocs = testing.AllocsPerRun(200, func() { dst = Append(dst[:0], r, c) })
	assert.Equal(t, 0.0, allocs)
}

// browserRequest is what a current browser sends for a page, behind a
// local reverse proxy.
func browserRequest() *server.Request {
	h := []server.HeaderField{
		{Name: "Host", Value: "www.example.com"},
		{Name: "User-Agent", Value: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
		{Name: "Accept", Value: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		{Name: "Accept-Language", Value: "en-US,en;q=0.5"},
		{Name: "Accept-Encoding", Value: "gzip, deflate, br, zstd"},
		{Name: "Referer", Value: "https://www.example.com/"},
		{Name: "Connection", Value: "keep-alive"},
		{Name: "Cookie", Value: "sessionid=abcdef0123456789; csrftoken=0123456789abcdef"},
		{Name: "Upgrade-Insecure-Requests", Value: "1"},
		{Name: "Sec-Fetch-Dest", Value: "document"},
		{Name: "Sec-Fetch-Mode", Value: "navigate"},
		{Name: "Sec-Fetch-Site", Value: "same-origin"},
		{Name: "Sec-Fetch-User", Value: "?1"},
		{Name: "Priority", Value: "u=0, i"},
		{Name: "X-Forwarded-For", Value: "198.51.100.23"},
		{Name: "X-Forwarded-Proto", Value: "https"},
	}
	return &server.Request{
		Method: "GET", RequestURI: "/articles/2024/hello-world?page=2", Path: "/articles/2024/hello-world",
		RawQuery: "page=2", Proto: "HTTP/1.1", ProtoMinor: 1, Header: h, Host: "www.example.com",
		RemoteAddr: tcp("127.0.0.1:51234"), LocalAddr: tcp("127.0.0.1:8000"),
	}
}

func TestBrowserRequest(t *testing.T) {
	c := prepared(t, NewConfig())
	assert.Equal(t, map[string]string{
		"REQUEST_METHOD":                 "GET",
		"SCRIPT_NAME":                    "",
		"PATH_INFO":                      "/articles/2024/hello-world",
		"QUERY_STRING":                   "page=2",
		"RAW_URI":                        "/articles/2024/hello-world?page=2",
		"SERVER_NAME":                    "www.example.com",
		"SERVER_PORT":                    "443",
		"SERVER_PROTOCOL":                "HTTP/1.1",
		"REMOTE_ADDR":                    "198.51.100.23",
		"REMOTE_PORT":                    "0",
		"wsgi.url_scheme":                "https",
		"HTTPS":                          "on",
		"HTTP_HOST":                      "www.example.com",
		"HTTP_USER_AGENT":                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"HTTP_ACCEPT":                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"HTTP_ACCEPT_LANGUAGE":           "en-US,en;q=0.5",
		"HTTP_ACCEPT_ENCODING":           "gzip, deflate, br, zstd",
		"HTTP_REFERER":                   "https://www.example.com/",
		"HTTP_CONNECTION":                "keep-alive",
		"HTTP_COOKIE":                    "sessionid=abcdef0123456789; csrftoken=0123456789abcdef",
		"HTTP_UPGRADE_INSECURE_REQUESTS": "1",
		"HTTP_SEC_FETCH_DEST":            "document",
		"HTTP_SEC_FETCH_MODE":            "navigate",
		"HTTP_SEC_FETCH_SITE":            "same-origin",
		"HTTP_SEC_FETCH_USER":            "?1",
		"HTTP_PRIORITY":                  "u=0, i",
		"HTTP_X_FORWARDED_FOR":           "198.51.100.23",
		"HTTP_X_FORWARDED_PROTO":         "https",
	}, toMap(t, Append(nil, browserRequest(), c)))
}

func BenchmarkAppend(b *testing.B) {
	c := prepared(b, NewConfig())
	r := browserRequest()
	var dst []Var
	b.ReportAllocs()
	for b.Loop() {
		dst = Append(dst[:0], r, c)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := prepared(t, NewConfig())
	want := toMap(t, Append(nil, browserRequest(), c))
	done := make(chan map[string]string)
	for g := 0; g < 4; g++ {
		go func() {
			var dst []Var
			r := browserRequest()
			r.Path, r.RequestURI = "/%41", "/%41?page=2" // the arena is used for the path too
			for i := 0; i < 200; i++ {
				dst = Append(dst[:0], r, c)
			}
			m := make(map[string]string)
			for _, v := range dst {
				m[v.Key] = v.Value
			}
			done <- m
		}()
	}
	want["PATH_INFO"], want["RAW_URI"] = "/A", "/%41?page=2"
	for g := 0; g < 4; g++ {
		assert.Equal(t, want, <-done)
	}
}
