package e2e

// The WSGI environ (issue 3, point 3), as the app sees it.

import (
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvironPEP3333Keys(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	e := environOf(t, c, "GET /environ/x?a=1 HTTP/1.1\r\nHost: myhost.example:1234\r\nUser-Agent: e2e\r\n\r\n")
	str := func(k string) string {
		v, ok := e.Vars[k]
		require.True(t, ok, "environ[%q] missing", k)
		require.Equal(t, "str", e.Types[k], "environ[%q] must be str", k)
		return v.(string)
	}
	assert.Equal(t, "GET", str("REQUEST_METHOD"))
	assert.Equal(t, "", str("SCRIPT_NAME"))
	assert.Equal(t, "/environ/x", str("PATH_INFO"))
	assert.Equal(t, "a=1", str("QUERY_STRING"))
	assert.Equal(t, "HTTP/1.1", str("SERVER_PROTOCOL"))
	assert.NotEmpty(t, str("SERVER_NAME"))
	sp := str("SERVER_PORT")
	_, err := strconv.Atoi(sp)
	assert.NoError(t, err, "SERVER_PORT %q", sp)
	assert.Equal(t, "127.0.0.1", str("REMOTE_ADDR"))
	local := c.LocalAddr().(*net.TCPAddr)
	assert.Equal(t, strconv.Itoa(local.Port), str("REMOTE_PORT"))
	assert.Equal(t, "myhost.example:1234", str("HTTP_HOST"))
	assert.Equal(t, "e2e", str("HTTP_USER_AGENT"))

	assert.Equal(t, "tuple", e.Types["wsgi.version"])
	assert.Equal(t, []any{1.0, 0.0}, e.Vars["wsgi.version"])
	assert.Equal(t, "http", e.Vars["wsgi.url_scheme"])
	assert.Equal(t, "bool", e.Types["wsgi.multithread"])
	assert.Equal(t, "bool", e.Types["wsgi.multiprocess"])
	assert.Equal(t, false, e.Vars["wsgi.run_once"])
	assert.Equal(t, "bool", e.Types["wsgi.run_once"])
	assert.Equal(t, true, e.Vars["wsgi.input_terminated"])
	for _, k := range []string{"wsgi.input", "wsgi.errors", "wsgi.file_wrapper"} {
		assert.Contains(t, e.Types, k)
	}
	_, hasCT := e.Vars["CONTENT_TYPE"]
	_, hasCL := e.Vars["CONTENT_LENGTH"]
	assert.False(t, hasCT, "CONTENT_TYPE only when sent")
	assert.False(t, hasCL, "CONTENT_LENGTH only when sent")
	for k, ty := range e.Types {
		if !strings.Contains(k, ".") {
			assert.Equal(t, "str", ty, "CGI key %q must be a native str", k)
		}
	}

	// SERVER_PORT: the Host port or the bound port (both are fine), and the
	// bound port when Host has none.
	e = environOf(t, c, "GET /environ HTTP/1.1\r\nHost: plainhost\r\n\r\n")
	sp, _ = e.Str("SERVER_PORT")
	assert.Contains(t, []string{strconv.Itoa(s.Port), "80"}, sp)
	// No query string: QUERY_STRING is present and empty.
	q, ok := e.Str("QUERY_STRING")
	assert.True(t, ok, "QUERY_STRING must be present even when empty")
	assert.Equal(t, "", q)
}

func TestEnvironPathInfoDecoding(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	cases := []struct {
		target string
		want   string
	}{
		{"/environ/plain", "/environ/plain"},
		{"/environ/a%20b", "/environ/a b"},
		{"/environ/caf%C3%A9", "/environ/caf" + latin1([]byte{0xC3, 0xA9})}, // UTF-8 bytes as latin-1 code points
		{"/environ/%E9t%E9", "/environ/" + latin1([]byte{0xE9}) + "t" + latin1([]byte{0xE9})},
		{"/environ/%FF%00x", "/environ/" + latin1([]byte{0xFF, 0x00}) + "x"},
		{"/environ/a%2Fb", "/environ/a/b"},
		{"/environ/%25", "/environ/%"},
		{"/environ/a+b", "/environ/a+b"},
	}
	for _, tc := range cases {
		e := environOf(t, c, "GET "+tc.target+"?q=%41%20 HTTP/1.1\r\nHost: t\r\n\r\n")
		p, _ := e.Str("PATH_INFO")
		assert.Equal(t, tc.want, p, "PATH_INFO for %s (%+q)", tc.target, p)
		q, _ := e.Str("QUERY_STRING")
		assert.Equal(t, "q=%41%20", q, "QUERY_STRING stays raw")
	}
}

func TestEnvironQueryStringRaw(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	for _, q := range []string{"a=1&b=2", "x=%20y+z&&k", "caf%C3%A9=%FF", "q=a?b", "=", "a=1;b=2"} {
		e := environOf(t, c, "GET /environ?"+q+" HTTP/1.1\r\nHost: t\r\n\r\n")
		got, _ := e.Str("QUERY_STRING")
		assert.Equal(t, q, got)
	}
	e := environOf(t, c, "GET /environ? HTTP/1.1\r\nHost: t\r\n\r\n")
	got, ok := e.Str("QUERY_STRING")
	assert.True(t, ok)
	assert.Equal(t, "", got)
}

func TestEnvironContentHeaders(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("POST /environ HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-test; a=b\r\nContent-Length: 5\r\n\r\nhello")
	r := c.MustRead("POST")
	require.Equal(t, 200, r.Code)
	var e environResult
	require.NoError(t, json.Unmarshal(r.Body, &e))
	ct, _ := e.Str("CONTENT_TYPE")
	cl, _ := e.Str("CONTENT_LENGTH")
	assert.Equal(t, "application/x-test; a=b", ct)
	assert.Equal(t, "5", cl)
	assert.NotContains(t, e.Vars, "HTTP_CONTENT_TYPE")
	assert.NotContains(t, e.Vars, "HTTP_CONTENT_LENGTH")
	assert.Equal(t, "POST", e.Vars["REQUEST_METHOD"])

	// Content-Type without a body, and an explicit Content-Length: 0.
	e = environOf(t, c, "GET /environ HTTP/1.1\r\nHost: t\r\nContent-Type: text/x-only\r\n\r\n")
	ct, _ = e.Str("CONTENT_TYPE")
	assert.Equal(t, "text/x-only", ct)
	assert.NotContains(t, e.Vars, "CONTENT_LENGTH")
	e = environOf(t, c, "GET /environ HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
	cl, _ = e.Str("CONTENT_LENGTH")
	assert.Equal(t, "0", cl)
}

func TestEnvironHTTPHeaders(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	e := environOf(t, c, "GET /environ HTTP/1.1\r\nHost: t\r\n"+
		"X-Custom-Header: v1\r\n"+
		"x-lower: low\r\n"+
		"X-Multi: a\r\n"+
		"X-Other: o\r\n"+
		"X-Multi: b\r\n"+
		"X-Spaces:   padded value  \r\n"+
		"X-Empty:\r\n"+
		"X_Under: spoofed\r\n"+
		"X-Under: real\r\n"+
		"Accept: text/html\r\n"+
		"X-Latin: caf\xe9\r\n"+
		"\r\n")
	get := func(k string) string { v, _ := e.Str(k); return v }
	assert.Equal(t, "v1", get("HTTP_X_CUSTOM_HEADER"))
	assert.Equal(t, "low", get("HTTP_X_LOWER"))
	assert.Equal(t, "a, b", get("HTTP_X_MULTI"), "repeated headers joined with \", \"")
	assert.Equal(t, "padded value", get("HTTP_X_SPACES"), "leading/trailing whitespace stripped")
	v, ok := e.Str("HTTP_X_EMPTY")
	assert.True(t, ok, "an empty header is still passed")
	assert.Equal(t, "", v)
	assert.Equal(t, "real", get("HTTP_X_UNDER"), "a header with '_' in its name must be dropped, not allowed to spoof X-Under")
	assert.Equal(t, "text/html", get("HTTP_ACCEPT"))
	assert.Equal(t, "caf"+latin1([]byte{0xE9}), get("HTTP_X_LATIN"), "obs-text byte as a latin-1 code point")

	// Only the underscore header: dropped entirely.
	e = environOf(t, c, "GET /environ HTTP/1.1\r\nHost: t\r\nX_Only_Under: spoofed\r\n\r\n")
	for k, val := range e.Vars {
		if s, ok := val.(string); ok {
			assert.NotEqual(t, "spoofed", s, "underscore header reached the app as %s", k)
		}
	}
}

func TestEnvironHTTP10(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /environ HTTP/1.0\r\n\r\n")
	r := c.MustRead("GET")
	var e environResult
	require.NoError(t, json.Unmarshal(r.Body, &e))
	p, _ := e.Str("SERVER_PROTOCOL")
	assert.Equal(t, "HTTP/1.0", p)
	n, _ := e.Str("SERVER_NAME")
	assert.NotEmpty(t, n, "SERVER_NAME without a Host header")
	assert.NotContains(t, e.Vars, "HTTP_HOST")
}

func TestEnvironRootPath(t *testing.T) {
	t.Run("--root-path", func(t *testing.T) {
		s := startServer(t, ServerOpts{Args: []string{"--root-path", "/prefix"}})
		c := s.Dial(t)
		e := environOf(t, c, "GET /prefix/environ/deep?x=1 HTTP/1.1\r\nHost: t\r\n\r\n")
		sn, _ := e.Str("SCRIPT_NAME")
		pi, _ := e.Str("PATH_INFO")
		assert.Equal(t, "/prefix", sn)
		assert.Equal(t, "/environ/deep", pi)
		e = environOf(t, c, "GET /prefix/environ HTTP/1.1\r\nHost: t\r\n\r\n")
		pi, _ = e.Str("PATH_INFO")
		assert.Equal(t, "/environ", pi)
	})
	t.Run("SCRIPT_NAME variable", func(t *testing.T) {
		s := startServer(t, ServerOpts{Env: []string{"SCRIPT_NAME=/app"}})
		c := s.Dial(t)
		e := environOf(t, c, "GET /app/environ HTTP/1.1\r\nHost: t\r\n\r\n")
		sn, _ := e.Str("SCRIPT_NAME")
		pi, _ := e.Str("PATH_INFO")
		assert.Equal(t, "/app", sn)
		assert.Equal(t, "/environ", pi)
	})
}

func TestEnvironConcurrencyFlags(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--threads", "4"}})
	c := s.Dial(t)
	e := environOf(t, c, "GET /environ HTTP/1.1\r\nHost: t\r\n\r\n")
	assert.Equal(t, true, e.Vars["wsgi.multithread"], "--threads 4: the app may be called from several threads at once")
	s.Stop()

	s2 := startServer(t, ServerOpts{Workers: 2, Args: []string{"--threads", "1"}})
	c = s2.Dial(t)
	e = environOf(t, c, "GET /environ HTTP/1.1\r\nHost: t\r\n\r\n")
	assert.Equal(t, true, e.Vars["wsgi.multiprocess"], "-w 2: several processes serve the app")
}

func TestEnvironIPv6Bind(t *testing.T) {
	if !haveIPv6Loopback() {
		t.Skip("this machine has no IPv6 loopback (cannot listen on [::1])")
	}
	port := freePort(t, "::1")
	s := startServer(t, ServerOpts{Binds: []string{fmt.Sprintf("[::1]:%d", port)}})
	c := dialNet(t, "tcp", fmt.Sprintf("[::1]:%d", port))
	e := environOf(t, c, fmt.Sprintf("GET /environ HTTP/1.1\r\nHost: [::1]:%d\r\n\r\n", port))
	ra, _ := e.Str("REMOTE_ADDR")
	assert.Equal(t, "::1", ra)
	sp, _ := e.Str("SERVER_PORT")
	assert.Equal(t, strconv.Itoa(port), sp)
	sn, _ := e.Str("SERVER_NAME")
	assert.NotEmpty(t, sn)
	_ = s
}

func TestEnvironUnixSocketBind(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gohost.sock")
	port := freePort(t, "127.0.0.1")
	s := startServer(t, ServerOpts{Binds: []string{"unix:" + sock, fmt.Sprintf("127.0.0.1:%d", port)}})
	c := dialNet(t, "unix", sock)
	e := environOf(t, c, "GET /environ HTTP/1.1\r\nHost: localhost\r\n\r\n")
	for _, k := range []string{"SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR"} {
		v, ok := e.Str(k)
		assert.True(t, ok, "%s must be a str on a unix socket", k)
		_ = v
	}
	sn, _ := e.Str("SERVER_NAME")
	assert.NotEmpty(t, sn, "SERVER_NAME on a unix socket")
	// The TCP bind serves too.
	_, b := s.Get(t, "/headers")
	assert.Equal(t, "headers-body", string(b))
	// Unix requests keep-alive as well.
	c.Send("GET /headers HTTP/1.1\r\nHost: localhost\r\n\r\n")
	assert.Equal(t, "headers-body", string(c.MustRead("GET").Body))
	c.ExpectOpen(100 * time.Millisecond)
}
