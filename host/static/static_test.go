package static

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gohost/gohost/server"
)

// fixture is a server.Server on 127.0.0.1 serving two mounts in front of a
// "next" handler that answers "next <method> <path>".
//
//	base/secret.txt           outside every mount
//	base/public/  → /static   app.js (+ .br, .gz), plain.txt, ...
//	base/img/     → /static/img
type fixture struct {
	t         testing.TB
	addr      string
	base      string
	public    string
	nextCalls atomic.Int32
}

const (
	secret   = "TOPSECRET"
	plain    = "0123456789abcdef"
	appJS    = "console.log('identity');\n"
	appJSBr  = "BROTLI-BYTES"
	appJSGz  = "GZIP-BYTES!!"
	bigSize  = 3<<20 + 123 // several sendfile segments
	fixedMod = "Tue, 02 Jan 2024 03:04:05 GMT"
)

// modTime is plain.txt's mtime: not on a second boundary.
var modTime = time.Date(2024, 1, 2, 3, 4, 5, 123456789, time.UTC)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	fx := &fixture{t: t, base: base, public: filepath.Join(base, "public")}
	write := func(name, content string) {
		p := filepath.Join(base, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("secret.txt", secret)
	write("public/plain.txt", plain)
	require.NoError(t, os.Chtimes(filepath.Join(fx.public, "plain.txt"), modTime, modTime))
	write("public/app.js", appJS)
	write("public/app.js.br", appJSBr)
	write("public/app.js.gz", appJSGz)
	write("public/only-gz.css", "body{}")
	write("public/only-gz.css.gz", "GZ-CSS")
	write("public/dirsib.js", "dirsib")
	require.NoError(t, os.MkdirAll(filepath.Join(fx.public, "dirsib.js.br"), 0o755))
	write("public/empty.bin", "")
	write("public/sub/page.html", "<p>page</p>")
	write("public/.env", secret)
	write("public/.hidden/x.txt", secret)
	write("public/100%", "percent")
	write("public/sp ace.txt", "space")
	write("public/x.woff2", "w")
	write("public/x.json", "{}")
	write("public/x.wasm", "w")
	write("public/x.map", "{}")
	write("public/x.css", "c")
	write("public/X.SVG", "<svg/>")
	write("public/x.unknownext", "?")
	write("img/logo.svg", "<svg/>")
	big := make([]byte, bigSize)
	_, err = rand.Read(big)
	require.NoError(t, err)
	write("public/big.bin", string(big))
	require.NoError(t, os.Symlink("../secret.txt", filepath.Join(fx.public, "link-out")))
	require.NoError(t, os.Symlink(base, filepath.Join(fx.public, "dir-out")))
	require.NoError(t, os.Symlink("plain.txt", filepath.Join(fx.public, "link-in")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(fx.public, "fifo"), 0o644))

	t.Chdir(base)
	mounts, err := ParseMounts([]string{"/static=public", "/static/img=img"})
	require.NoError(t, err)
	next := server.HandlerFunc(func(w *server.ResponseWriter, r *server.Request) {
		fx.nextCalls.Add(1)
		w.Start("200 OK", []server.HeaderField{{Name: "Content-Type", Value: "text/plain"}})
		w.Write([]byte("next " + r.Method + " " + r.Path))
	})
	fx.serve(New(mounts, next, slog.New(slog.DiscardHandler)))
	return fx
}

func (fx *fixture) serve(h server.Handler) {
	cfg := server.DefaultConfig()
	cfg.ErrorLog = slog.New(slog.DiscardHandler)
	srv := server.New(cfg, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(fx.t, err)
	fx.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fx.t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-served:
			assert.ErrorIs(fx.t, err, server.ErrServerClosed)
		case <-time.After(5 * time.Second):
			fx.t.Error("Serve did not return after Close")
		}
	})
}

// result is one parsed response; rest is what followed it before the
// server closed the connection (must be nothing).
type result struct {
	status int
	header http.Header
	body   string
}

// do sends one request with the raw target and header lines ("Name:
// value") on a new connection and reads the response.
func (fx *fixture) do(method, target string, header ...string) result {
	fx.t.Helper()
	rs := fx.pipeline([]string{method}, []string{target}, header...)
	return rs[0]
}

func (fx *fixture) get(target string, header ...string) result {
	fx.t.Helper()
	return fx.do("GET", target, header...)
}

// pipeline sends requests (methods[i], targets[i]) on one keep-alive
// connection, the last with "Connection: close", and checks that nothing
// follows the last response.
func (fx *fixture) pipeline(methods, targets []string, header ...string) []result {
	t := fx.t
	t.Helper()
	c, err := net.Dial("tcp", fx.addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	var req bytes.Buffer
	for i, m := range methods {
		fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: test\r\n", m, targets[i])
		for _, h := range header {
			fmt.Fprintf(&req, "%s\r\n", h)
		}
		if i == len(methods)-1 {
			req.WriteString("Connection: close\r\n")
		}
		req.WriteString("\r\n")
	}
	_, err = c.Write(req.Bytes())
	require.NoError(t, err)
	br := bufio.NewReader(c)
	var rs []result
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		rs = append(rs, result{resp.StatusCode, resp.Header, string(body)})
	}
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	require.Empty(t, string(rest), "bytes after the last response")
	return rs
}

// stat returns the ETag and Last-Modified expected for a file.
func (fx *fixture) stat(name, suffix string) (etag, lastMod string) {
	fi, err := os.Stat(filepath.Join(fx.public, name))
	require.NoError(fx.t, err)
	etag = fmt.Sprintf(`"%x-%x%s"`, fi.ModTime().UnixNano(), fi.Size(), suffix)
	return etag, fi.ModTime().UTC().Format(http.TimeFormat)
}

func TestServeFile(t *testing.T) {
	fx := newFixture(t)
	etag, lastMod := fx.stat("plain.txt", "")
	r := fx.get("/static/plain.txt")
	require.Equal(t, 200, r.status)
	assert.Equal(t, plain, r.body)
	assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
	assert.Equal(t, "16", r.header.Get("Content-Length"))
	assert.Equal(t, fixedMod, r.header.Get("Last-Modified"))
	assert.Equal(t, fixedMod, lastMod)
	assert.Equal(t, etag, r.header.Get("ETag"))
	assert.Regexp(t, `^"[0-9a-f]+-10"$`, r.header.Get("ETag"))
	assert.Equal(t, "bytes", r.header.Get("Accept-Ranges"))
	assert.Equal(t, "public, max-age=3600", r.header.Get("Cache-Control"))
	assert.Empty(t, r.header.Values("Vary"), "no precompressed sibling")
	assert.Empty(t, r.header.Values("Content-Encoding"))
	assert.Equal(t, int32(0), fx.nextCalls.Load())

	r = fx.get("/static/app.js")
	require.Equal(t, 200, r.status)
	assert.Equal(t, appJS, r.body)
	assert.Equal(t, "text/javascript; charset=utf-8", r.header.Get("Content-Type"))
	assert.Equal(t, "Accept-Encoding", r.header.Get("Vary"), "siblings exist")

	r = fx.get("/static/img/logo.svg")
	require.Equal(t, 200, r.status, "the longest prefix wins")
	assert.Equal(t, "image/svg+xml", r.header.Get("Content-Type"))

	r = fx.get("/static/empty.bin")
	require.Equal(t, 200, r.status)
	assert.Equal(t, "0", r.header.Get("Content-Length"))
	assert.Empty(t, r.body)
}

func TestContentType(t *testing.T) {
	fx := newFixture(t)
	for name, want := range map[string]string{
		"x.woff2":        "font/woff2",
		"x.json":         "application/json",
		"x.wasm":         "application/wasm",
		"x.map":          "application/json",
		"x.css":          "text/css; charset=utf-8",
		"X.SVG":          "image/svg+xml",
		"sub/page.html":  "text/html; charset=utf-8",
		"x.unknownext":   "application/octet-stream",
		"app.js.gz":      "application/gzip", // asked for by name: no Content-Encoding
		"img/logo.svg":   "image/svg+xml",
		"sp%20ace.txt":   "text/plain; charset=utf-8",
		"only-gz.css.gz": "application/gzip",
	} {
		r := fx.get("/static/" + name)
		require.Equal(t, 200, r.status, name)
		assert.Equal(t, want, r.header.Get("Content-Type"), name)
		assert.Empty(t, r.header.Values("Content-Encoding"), name)
	}
}

func TestHead(t *testing.T) {
	fx := newFixture(t)
	get := fx.get("/static/app.js", "Accept-Encoding: br")
	head := fx.do("HEAD", "/static/app.js", "Accept-Encoding: br")
	require.Equal(t, 200, head.status)
	assert.Empty(t, head.body)
	assert.Equal(t, strconv.Itoa(len(appJSBr)), head.header.Get("Content-Length"))
	for _, k := range []string{"Content-Type", "Content-Encoding", "ETag", "Last-Modified", "Cache-Control", "Vary"} {
		assert.Equal(t, get.header.Get(k), head.header.Get(k), k)
	}

	// The connection stays usable: HEAD's head announces a length but
	// carries no body.
	rs := fx.pipeline([]string{"HEAD", "GET", "HEAD", "GET"},
		[]string{"/static/big.bin", "/static/plain.txt", "/static/empty.bin", "/static/app.js"})
	assert.Equal(t, strconv.Itoa(bigSize), rs[0].header.Get("Content-Length"))
	assert.Empty(t, rs[0].body)
	assert.Equal(t, plain, rs[1].body)
	assert.Equal(t, "0", rs[2].header.Get("Content-Length"))
	assert.Equal(t, appJS, rs[3].body)
}

func TestConditional(t *testing.T) {
	fx := newFixture(t)
	etag, lastMod := fx.stat("plain.txt", "")
	weak := "W/" + etag
	at := func(d time.Duration) string { return modTime.Add(d).UTC().Format(http.TimeFormat) }
	for _, tc := range []struct {
		name   string
		method string
		header []string
		want   int
	}{
		{"no conditions", "GET", nil, 200},
		{"If-None-Match equal", "GET", []string{"If-None-Match: " + etag}, 304},
		{"If-None-Match weak comparison", "GET", []string{"If-None-Match: " + weak}, 304},
		{"If-None-Match list", "GET", []string{`If-None-Match: "a", "b,c" ,` + etag}, 304},
		{"If-None-Match split over fields", "GET", []string{`If-None-Match: "a"`, "If-None-Match: " + etag}, 304},
		{"If-None-Match star", "GET", []string{"If-None-Match: *"}, 304},
		{"If-None-Match other", "GET", []string{`If-None-Match: "other"`}, 200},
		{"If-None-Match unquoted", "GET", []string{"If-None-Match: " + strings.Trim(etag, `"`)}, 200},
		{"If-None-Match HEAD", "HEAD", []string{"If-None-Match: " + etag}, 304},
		{"If-None-Match beats If-Modified-Since", "GET", []string{`If-None-Match: "other"`, "If-Modified-Since: " + lastMod}, 200},
		{"If-Modified-Since equal", "GET", []string{"If-Modified-Since: " + lastMod}, 304},
		{"If-Modified-Since later", "GET", []string{"If-Modified-Since: " + at(time.Hour)}, 304},
		{"If-Modified-Since earlier", "GET", []string{"If-Modified-Since: " + at(-time.Second)}, 200},
		{"If-Modified-Since in the future", "GET", []string{"If-Modified-Since: " + time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, 200},
		{"If-Modified-Since RFC 850", "GET", []string{"If-Modified-Since: Tuesday, 02-Jan-24 03:04:05 GMT"}, 304},
		{"If-Modified-Since asctime", "GET", []string{"If-Modified-Since: Tue Jan  2 03:04:05 2024"}, 304},
		{"If-Modified-Since invalid", "GET", []string{"If-Modified-Since: yesterday"}, 200},
		{"If-Modified-Since twice", "GET", []string{"If-Modified-Since: " + lastMod, "If-Modified-Since: " + lastMod}, 200},
		{"If-Match equal", "GET", []string{"If-Match: " + etag}, 200},
		{"If-Match list", "GET", []string{`If-Match: "x", ` + etag}, 200},
		{"If-Match star", "GET", []string{"If-Match: *"}, 200},
		{"If-Match other", "GET", []string{`If-Match: "x"`}, 412},
		{"If-Match strong comparison", "GET", []string{"If-Match: " + weak}, 412},
		{"If-Match HEAD", "HEAD", []string{`If-Match: "x"`}, 412},
		{"If-Match before If-None-Match", "GET", []string{`If-Match: "x"`, "If-None-Match: " + etag}, 412},
		{"If-Unmodified-Since earlier", "GET", []string{"If-Unmodified-Since: " + at(-time.Second)}, 412},
		{"If-Unmodified-Since equal", "GET", []string{"If-Unmodified-Since: " + lastMod}, 200},
		{"If-Unmodified-Since invalid", "GET", []string{"If-Unmodified-Since: soon"}, 200},
		{"If-Match beats If-Unmodified-Since", "GET", []string{"If-Match: " + etag, "If-Unmodified-Since: " + at(-time.Hour)}, 200},
		{"304 before Range", "GET", []string{"If-None-Match: " + etag, "Range: bytes=0-1"}, 304},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fx.do(tc.method, "/static/plain.txt", tc.header...)
			require.Equal(t, tc.want, r.status, r.body)
			switch tc.want {
			case 200:
				if tc.method == "GET" {
					assert.Equal(t, plain, r.body)
				}
			case 304:
				assert.Empty(t, r.body)
				assert.Equal(t, etag, r.header.Get("ETag"))
				assert.Equal(t, lastMod, r.header.Get("Last-Modified"))
				assert.Equal(t, "public, max-age=3600", r.header.Get("Cache-Control"))
				assert.Empty(t, r.header.Values("Content-Type"))
				assert.Empty(t, r.header.Values("Content-Range"))
			case 412:
				assert.NotContains(t, r.body, plain)
				assert.Empty(t, r.header.Values("Content-Range"))
			}
		})
	}
}

func TestRange(t *testing.T) {
	fx := newFixture(t)
	etag, lastMod := fx.stat("plain.txt", "")
	for _, tc := range []struct {
		name   string
		method string
		header []string
		want   int
		body   string // for 206
		cr     string // Content-Range
	}{
		{"first bytes", "GET", []string{"Range: bytes=0-4"}, 206, "01234", "bytes 0-4/16"},
		{"open end", "GET", []string{"Range: bytes=10-"}, 206, "abcdef", "bytes 10-15/16"},
		{"suffix", "GET", []string{"Range: bytes=-3"}, 206, "def", "bytes 13-15/16"},
		{"suffix longer than file", "GET", []string{"Range: bytes=-100"}, 206, plain, "bytes 0-15/16"},
		{"end past the file", "GET", []string{"Range: bytes=3-1000"}, 206, plain[3:], "bytes 3-15/16"},
		{"last byte", "GET", []string{"Range: bytes=15-15"}, 206, "f", "bytes 15-15/16"},
		{"unit case and spaces", "GET", []string{"Range: Bytes= 2-3 ,"}, 206, "23", "bytes 2-3/16"},
		{"start at size", "GET", []string{"Range: bytes=16-"}, 416, "", "bytes */16"},
		{"start past size", "GET", []string{"Range: bytes=100-200"}, 416, "", "bytes */16"},
		{"zero suffix", "GET", []string{"Range: bytes=-0"}, 416, "", "bytes */16"},
		{"huge start", "GET", []string{"Range: bytes=99999999999999999999999-"}, 416, "", "bytes */16"},
		{"several ranges", "GET", []string{"Range: bytes=0-1,4-5"}, 200, "", ""},
		{"last before first", "GET", []string{"Range: bytes=5-2"}, 200, "", ""},
		{"garbage", "GET", []string{"Range: bytes=abc"}, 200, "", ""},
		{"other unit", "GET", []string{"Range: items=0-1"}, 200, "", ""},
		{"two Range fields", "GET", []string{"Range: bytes=0-1", "Range: bytes=0-1"}, 200, "", ""},
		{"HEAD ignores Range", "HEAD", []string{"Range: bytes=0-1"}, 200, "", ""},
		{"If-Range etag", "GET", []string{"Range: bytes=0-1", "If-Range: " + etag}, 206, "01", "bytes 0-1/16"},
		{"If-Range other etag", "GET", []string{"Range: bytes=0-1", `If-Range: "x"`}, 200, "", ""},
		{"If-Range weak etag", "GET", []string{"Range: bytes=0-1", "If-Range: W/" + etag}, 200, "", ""},
		{"If-Range date", "GET", []string{"Range: bytes=0-1", "If-Range: " + lastMod}, 206, "01", "bytes 0-1/16"},
		{"If-Range older date", "GET", []string{"Range: bytes=0-1", "If-Range: Mon, 01 Jan 2024 00:00:00 GMT"}, 200, "", ""},
		{"If-Range fails, unsatisfiable ignored", "GET", []string{"Range: bytes=100-", `If-Range: "x"`}, 200, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fx.do(tc.method, "/static/plain.txt", tc.header...)
			require.Equal(t, tc.want, r.status, r.body)
			assert.Equal(t, tc.cr, r.header.Get("Content-Range"))
			switch tc.want {
			case 206:
				assert.Equal(t, tc.body, r.body)
				assert.Equal(t, strconv.Itoa(len(tc.body)), r.header.Get("Content-Length"))
				assert.Equal(t, etag, r.header.Get("ETag"))
				assert.Equal(t, "text/plain; charset=utf-8", r.header.Get("Content-Type"))
			case 200:
				assert.Equal(t, "16", r.header.Get("Content-Length"))
				if tc.method == "GET" {
					assert.Equal(t, plain, r.body)
				}
			case 416:
				assert.NotContains(t, r.body, plain)
			}
		})
	}

	r := fx.get("/static/empty.bin", "Range: bytes=0-")
	assert.Equal(t, 416, r.status)
	assert.Equal(t, "bytes */0", r.header.Get("Content-Range"))
	r = fx.get("/static/empty.bin", "Range: bytes=-1")
	assert.Equal(t, 416, r.status)

	// A range request gets the identity file even when the client
	// accepts br: ranges never apply to an encoded variant.
	r = fx.get("/static/app.js", "Accept-Encoding: br, gzip", "Range: bytes=0-6")
	require.Equal(t, 206, r.status)
	assert.Equal(t, appJS[:7], r.body)
	assert.Empty(t, r.header.Values("Content-Encoding"))
	assert.Equal(t, "Accept-Encoding", r.header.Get("Vary"))
	assert.Equal(t, fmt.Sprintf("bytes 0-6/%d", len(appJS)), r.header.Get("Content-Range"))
}

func TestPrecompressed(t *testing.T) {
	fx := newFixture(t)
	idTag, _ := fx.stat("app.js", "")
	brTag, _ := fx.stat("app.js.br", "-br")
	gzTag, _ := fx.stat("app.js.gz", "-gz")
	identity := struct{ body, enc, etag string }{appJS, "", idTag}
	br := struct{ body, enc, etag string }{appJSBr, "br", brTag}
	gz := struct{ body, enc, etag string }{appJSGz, "gzip", gzTag}
	for _, tc := range []struct {
		ae   []string
		want struct{ body, enc, etag string }
	}{
		{nil, identity},
		{[]string{"Accept-Encoding:"}, identity},
		{[]string{"Accept-Encoding: gzip, deflate, br, zstd"}, br},
		{[]string{"Accept-Encoding: gzip"}, gz},
		{[]string{"Accept-Encoding: x-gzip"}, gz},
		{[]string{"Accept-Encoding: BR"}, br},
		{[]string{"Accept-Encoding: br;q=0, gzip"}, gz},
		{[]string{"Accept-Encoding: gzip;q=1.0, br;q=0.5"}, gz},
		{[]string{"Accept-Encoding: br;q=0.5, gzip;q=0.5"}, br},
		{[]string{"Accept-Encoding: gzip ; q=0.8, br ; q=0.9"}, br},
		{[]string{"Accept-Encoding: *"}, br},
		{[]string{"Accept-Encoding: *, br;q=0"}, gz},
		{[]string{"Accept-Encoding: *;q=0"}, identity},
		{[]string{"Accept-Encoding: identity"}, identity},
		{[]string{"Accept-Encoding: deflate, zstd"}, identity},
		{[]string{"Accept-Encoding: gzip;q=0, br;q=0"}, identity},
		{[]string{"Accept-Encoding: br;q=bogus"}, identity},
		{[]string{"Accept-Encoding: deflate", "Accept-Encoding: gzip"}, gz},
	} {
		r := fx.get("/static/app.js", tc.ae...)
		require.Equal(t, 200, r.status, tc.ae)
		assert.Equal(t, tc.want.body, r.body, tc.ae)
		assert.Equal(t, tc.want.enc, r.header.Get("Content-Encoding"), tc.ae)
		assert.Equal(t, tc.want.etag, r.header.Get("ETag"), tc.ae)
		assert.Equal(t, strconv.Itoa(len(tc.want.body)), r.header.Get("Content-Length"), tc.ae)
		assert.Equal(t, "text/javascript; charset=utf-8", r.header.Get("Content-Type"), tc.ae)
		assert.Equal(t, "Accept-Encoding", r.header.Get("Vary"), tc.ae)
		if tc.want.enc == "" {
			assert.Equal(t, "bytes", r.header.Get("Accept-Ranges"), tc.ae)
		} else {
			assert.Empty(t, r.header.Values("Accept-Ranges"), tc.ae)
		}
	}
	assert.NotEqual(t, idTag, brTag)
	assert.NotEqual(t, brTag, gzTag)

	// Validators are those of the variant served.
	r := fx.get("/static/app.js", "Accept-Encoding: br", "If-None-Match: "+brTag)
	assert.Equal(t, 304, r.status)
	assert.Equal(t, brTag, r.header.Get("ETag"))
	assert.Equal(t, "Accept-Encoding", r.header.Get("Vary"))
	r = fx.get("/static/app.js", "Accept-Encoding: br", "If-None-Match: "+idTag)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, appJSBr, r.body)
	r = fx.get("/static/app.js", "If-None-Match: "+brTag)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, appJS, r.body)

	// Only a gzip sibling.
	r = fx.get("/static/only-gz.css", "Accept-Encoding: br, gzip")
	assert.Equal(t, "GZ-CSS", r.body)
	assert.Equal(t, "gzip", r.header.Get("Content-Encoding"))
	assert.Equal(t, "text/css; charset=utf-8", r.header.Get("Content-Type"))
	r = fx.get("/static/only-gz.css", "Accept-Encoding: br")
	assert.Equal(t, "body{}", r.body)
	assert.Equal(t, "Accept-Encoding", r.header.Get("Vary"), "the gzip sibling makes the response vary")

	// No sibling, or one that is not a regular file: no Vary.
	for _, name := range []string{"plain.txt", "dirsib.js"} {
		r = fx.get("/static/"+name, "Accept-Encoding: br, gzip")
		assert.Empty(t, r.header.Values("Content-Encoding"), name)
		assert.Empty(t, r.header.Values("Vary"), name)
	}
}

func TestTraversal(t *testing.T) {
	fx := newFixture(t)
	for _, target := range []string{
		"/static/../secret.txt",
		"/static/%2e%2e/secret.txt",
		"/static/%2E%2E/secret.txt",
		"/static/.%2e/secret.txt",
		"/static/..%2fsecret.txt",
		"/static/..%2Fsecret.txt",
		"/static/%2e%2e%2fsecret.txt",
		"/static%2f..%2fsecret.txt",
		"/static/sub/../../secret.txt",
		"/static/sub/%2e%2e/%2e%2e/secret.txt",
		"/static/img/../../secret.txt",
		"/static/..%5csecret.txt",
		"/static/sub%5c..%5c..%5csecret.txt",
		"/static/link-out",           // symlink to a file outside
		"/static/dir-out/secret.txt", // symlink to a directory outside
		"/static/.env",
		"/static/%2eenv",
		"/static/.hidden/x.txt",
		"/static/./plain.txt",
		"/static/plain.txt%00",
		"/static/plain.txt%00.js",
		"/static//" + strings.TrimPrefix(filepath.Join(fx.base, "secret.txt"), "/"),
		"/static/sub",
		"/static/sub/",
		"/static",
		"/static/",
		"/static/plain.txt/",
		"/static/fifo", // never blocks
		"/static/missing.js",
		"/static/img/",
	} {
		r := fx.get(target)
		assert.Equal(t, 404, r.status, target)
		assert.NotContains(t, r.body, secret, target)
		assert.NotContains(t, r.body, fx.base, target)
		assert.Equal(t, "Not Found\n", r.body, target)
	}
	assert.Equal(t, int32(0), fx.nextCalls.Load(), "nothing under /static reaches the application")
}

func TestAllowedPaths(t *testing.T) {
	fx := newFixture(t)
	for target, want := range map[string]string{
		"/static/link-in":          plain, // a symlink that stays inside
		"/static//plain.txt":       plain, // empty segments merge
		"/static/sub//page.html":   "<p>page</p>",
		"/static%2Fplain.txt":      plain, // decoded like PATH_INFO
		"/static/plain%2Etxt":      plain,
		"/static/100%25":           "percent",
		"/static/100%":             "percent", // a lone % stays literal
		"/static/sp%20ace.txt":     "space",
		"/static/img/logo.svg":     "<svg/>",
		"http://h/static/link-in":  plain, // absolute-form target
		"/static/plain.txt?v=1234": plain,
	} {
		r := fx.get(target)
		require.Equal(t, 200, r.status, target)
		assert.Equal(t, want, r.body, target)
	}
}

func TestRouting(t *testing.T) {
	fx := newFixture(t)
	for _, target := range []string{"/", "/staticfoo", "/staticfoo/plain.txt", "/static.txt", "/Static/plain.txt",
		"/api/static/plain.txt", "//static/plain.txt", "/static-x/plain.txt?x"} {
		before := fx.nextCalls.Load()
		r := fx.get(target)
		require.Equal(t, 200, r.status, target)
		path, _, _ := strings.Cut(target, "?")
		assert.Equal(t, "next GET "+path, r.body, target)
		assert.Equal(t, before+1, fx.nextCalls.Load(), target)
	}
	// %69 is "i": the decoded path is under the mount, as PATH_INFO says.
	assert.Equal(t, plain, fx.get("/stat%69c/plain.txt").body)

	for _, m := range []string{"POST", "PUT", "DELETE", "OPTIONS", "PATCH"} {
		for _, target := range []string{"/static/plain.txt", "/static/missing", "/static/../secret.txt"} {
			r := fx.do(m, target, "Content-Length: 0")
			assert.Equal(t, 405, r.status, m+" "+target)
			assert.Equal(t, "GET, HEAD", r.header.Get("Allow"), m+" "+target)
		}
	}
	r := fx.do("POST", "/upload", "Content-Length: 0")
	assert.Equal(t, "next POST /upload", r.body)
}

func TestNothingCached(t *testing.T) {
	fx := newFixture(t)
	p := filepath.Join(fx.public, "plain.txt")
	r1 := fx.get("/static/plain.txt")
	require.Equal(t, 200, r1.status)

	// Same size, new content and mtime: new validators, new body.
	require.NoError(t, os.WriteFile(p, []byte("FEDCBA9876543210"), 0o644))
	later := modTime.Add(90 * time.Minute)
	require.NoError(t, os.Chtimes(p, later, later))
	r2 := fx.get("/static/plain.txt", "If-None-Match: "+r1.header.Get("ETag"))
	require.Equal(t, 200, r2.status)
	assert.Equal(t, "FEDCBA9876543210", r2.body)
	assert.NotEqual(t, r1.header.Get("ETag"), r2.header.Get("ETag"))
	assert.Equal(t, later.Format(http.TimeFormat), r2.header.Get("Last-Modified"))

	// Only the nanoseconds change: still a new ETag.
	require.NoError(t, os.Chtimes(p, later.Add(time.Nanosecond), later.Add(time.Nanosecond)))
	r3 := fx.get("/static/plain.txt", "If-None-Match: "+r2.header.Get("ETag"))
	assert.Equal(t, 200, r3.status)

	// A sibling appears: Vary and the variant are served at once.
	require.NoError(t, os.WriteFile(p+".gz", []byte("gz"), 0o644))
	r4 := fx.get("/static/plain.txt", "Accept-Encoding: gzip")
	assert.Equal(t, "gz", r4.body)
	assert.Equal(t, "Accept-Encoding", r4.header.Get("Vary"))

	require.NoError(t, os.Remove(p))
	assert.Equal(t, 404, fx.get("/static/plain.txt").status)
}

func TestBigFile(t *testing.T) {
	fx := newFixture(t)
	want, err := os.ReadFile(filepath.Join(fx.public, "big.bin"))
	require.NoError(t, err)
	r := fx.get("/static/big.bin")
	require.Equal(t, 200, r.status)
	require.Equal(t, bigSize, len(r.body))
	assert.True(t, bytes.Equal(want, []byte(r.body)), "body differs")

	a, b := 1<<20-10, 2<<20+10
	rs := fx.pipeline([]string{"GET", "GET"}, []string{"/static/big.bin", "/static/big.bin"}, fmt.Sprintf("Range: bytes=%d-%d", a, b))
	for _, r := range rs {
		require.Equal(t, 206, r.status)
		assert.Equal(t, fmt.Sprintf("bytes %d-%d/%d", a, b, bigSize), r.header.Get("Content-Range"))
		assert.True(t, bytes.Equal(want[a:b+1], []byte(r.body)), "range body differs")
	}
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions")
	}
	fx := newFixture(t)
	p := filepath.Join(fx.public, "plain.txt")
	require.NoError(t, os.Chmod(p, 0))
	r := fx.get("/static/plain.txt")
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "Forbidden\n", r.body)
}

func TestNilNextAndNoMounts(t *testing.T) {
	fx := newFixture(t)
	mounts, err := ParseMounts([]string{"/static=" + fx.public})
	require.NoError(t, err)
	fx.serve(New(mounts, nil, nil))
	assert.Equal(t, 404, fx.get("/app").status)
	assert.Equal(t, plain, fx.get("/static/plain.txt").body)

	// A mount on "/" covers every path, but not the asterisk-form target.
	fx.serve(New([]Mount{{Prefix: "/", Dir: fx.public}}, nil, nil))
	assert.Equal(t, plain, fx.get("/plain.txt").body)
	assert.Equal(t, "<svg/>", fx.get("/X.SVG").body)
	assert.Equal(t, 404, fx.get("/").status)
	assert.Equal(t, 405, fx.do("OPTIONS", "/plain.txt").status)
	r := fx.do("OPTIONS", "*")
	assert.Equal(t, 404, r.status, "passed to the nil next handler")
	assert.Empty(t, r.header.Values("Allow"))

	calls := 0
	fx.serve(New(nil, server.HandlerFunc(func(w *server.ResponseWriter, r *server.Request) {
		calls++
		w.Start("204 No Content", nil)
	}), nil))
	assert.Equal(t, 204, fx.get("/static/plain.txt").status)
	assert.Equal(t, 1, calls)
}

// BenchmarkServe measures a keep-alive client fetching a small file, and
// revalidating it (304: opens and fstats, no read).
func BenchmarkServe(b *testing.B) {
	fx := newFixture(b)
	etag, _ := fx.stat("app.js.br", "-br")
	for _, bc := range []struct{ name, target, extra string }{
		{"next", "/app", ""}, // baseline: the server and the client alone
		{"200", "/static/app.js", ""},
		{"304", "/static/app.js", "If-None-Match: " + etag + "\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := net.Dial("tcp", fx.addr)
			require.NoError(b, err)
			defer c.Close()
			req := []byte("GET " + bc.target + " HTTP/1.1\r\nHost: b\r\nAccept-Encoding: gzip, br\r\n" + bc.extra + "\r\n")
			br := bufio.NewReader(c)
			for b.Loop() {
				_, err := c.Write(req)
				require.NoError(b, err)
				resp, err := http.ReadResponse(br, nil)
				require.NoError(b, err)
				_, err = io.Copy(io.Discard, resp.Body)
				require.NoError(b, err)
				resp.Body.Close()
			}
		})
	}
}
