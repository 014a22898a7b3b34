package server

import (
	"bufio"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requestCase is one raw request and the status the server must answer.
// Error statuses (>= 400) must come from the server without calling the
// handler, with "Connection: close".
type requestCase struct {
	name   string
	raw    string
	status int
}

const h11 = "GET / HTTP/1.1\r\nHost: a\r\n"

var requestLineCases = []requestCase{
	{"origin-form", "GET /p?q HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	{"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 200},
	{"one leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	{"several leading empty lines", "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	{"too many leading empty lines", strings.Repeat("\r\n", 20) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"absolute-form", "GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n", 200},
	{"absolute-form https", "GET HTTPS://example.com HTTP/1.1\r\nHost: other\r\n\r\n", 200},
	{"absolute-form other scheme", "GET ftp://example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"absolute-form empty authority", "GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"absolute-form userinfo", "GET http://u@example.com/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	{"asterisk-form GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"authority-form CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501},
	{"CONNECT origin-form", "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"authority-form GET", "GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"double space", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
	{"tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"no version", "GET /\r\nHost: a\r\n\r\n", 400},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
	{"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
	{"HTTP/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
	{"lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400},
	{"version garbage", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400},
	{"version two digits", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400},
	{"method not a token", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"NUL in target", "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"DEL in target", "GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"fragment in target", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"bare CR in request line", "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"bare LF request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
	{"TLS handshake bytes", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
}

var fieldCases = []requestCase{
	{"HTAB in value", h11 + "X: a\tb\r\n\r\n", 200},
	{"OWS around value", h11 + "X: \t a \t\r\n\r\n", 200},
	{"empty value", h11 + "X:\r\n\r\n", 200},
	{"obs-text in value", h11 + "X: caf\xe9\r\n\r\n", 200},
	{"bare LF field", h11 + "X: a\n\r\n", 400},
	{"bare LF end of head", "GET / HTTP/1.1\r\nHost: a\n\n", 400},
	{"bare CR in value", h11 + "X: a\rb\r\n\r\n", 400},
	{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
	{"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
	{"obs-fold", h11 + "X: a\r\n b\r\n\r\n", 400},
	{"obs-fold tab", h11 + "X: a\r\n\tb\r\n\r\n", 400},
	{"whitespace before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
	{"NUL in value", h11 + "X: a\x00b\r\n\r\n", 400},
	{"control in value", h11 + "X: a\x01b\r\n\r\n", 400},
	{"DEL in value", h11 + "X: a\x7fb\r\n\r\n", 400},
	{"no colon", h11 + "NoColon\r\n\r\n", 400},
	{"empty name", h11 + ": v\r\n\r\n", 400},
	{"name not a token", h11 + "X(y): v\r\n\r\n", 400},
	{"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
	{"two Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
	{"two identical Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400},
	{"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 200},
	{"Host with port", "GET / HTTP/1.1\r\nHost: a.b:8080\r\n\r\n", 200},
	{"Host IPv6", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 200},
	{"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
	{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
	{"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
	{"HTTP/1.0 two Host", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
}

// Framing: Content-Length, Transfer-Encoding and the smuggling classics.
var framingCases = []requestCase{
	{"CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 200},
	{"CL zero", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 200},
	{"CL leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello", 200},
	{"CL with OWS", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5 \r\n\r\nhello", 200},
	{"CL not digits", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400},
	{"CL empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
	{"CL negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
	{"CL plus sign", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello", 400},
	{"CL hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello", 400},
	{"CL list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 400},
	{"CL inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\nhello", 400},
	{"CL duplicate identical", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
	{"CL duplicate different", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
	{"CL overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
	{"TE chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200},
	{"TE chunked upper case", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 200},
	{"TE chunked with OWS", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked \r\n\r\n0\r\n\r\n", 200},
	{"TE with CL", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	{"CL after TE", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
	{"TE gzip, chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
	{"TE gzip then chunked lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
	{"TE chunked, gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
	{"TE chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
	{"TE chunked two lines", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	{"TE xchunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400},
	{"TE chunkedx", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n0\r\n\r\n", 400},
	{"TE gzip only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
	{"TE empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400},
	{"TE trailing comma", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n", 400},
	{"TE space before colon", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400},
	{"TE obs-fold", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", 400},
	{"TE leading space line", "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n0\r\n\r\n", 400},
	{"TE vertical tab", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n", 400},
	{"TE HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	// Chunked bodies (prefetched: errors are answered by the server).
	{"chunk ext", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b;c;d=\"q\\\"x\"\r\nhello\r\n0;z\r\n\r\n", 200},
	{"chunk upper hex", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", 200},
	{"chunk leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0005\r\nhello\r\n000\r\n\r\n", 200},
	{"chunk trailers", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: v\r\nY: w\r\n\r\n", 200},
	{"chunk size LF only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400},
	{"chunk data LF only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 400},
	{"last chunk LF only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\n\n", 400},
	{"chunk data too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", 400},
	{"chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size 2^63", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8000000000000000\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size negative", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size 0x", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size leading space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size trailing space", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400},
	{"chunk ext with BWS", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk ext unterminated quote", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk ext too long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=" + strings.Repeat("b", 5000) + "\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk empty size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk bad trailer", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", 400},
	{"chunk truncated", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", 0},
	{"CL truncated", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhel", 0},
}

func runRequestCases(t *testing.T, cases []requestCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{}, nil)
			out := ts.do(tc.raw)
			if tc.status == 0 {
				// Client gone mid-body: no answer, no handler.
				assert.Empty(t, out)
				assert.Zero(t, ts.calls.Load())
				return
			}
			rs := parseResponses(t, out)
			require.NotEmpty(t, rs, "no response to %q", tc.raw)
			assert.Equal(t, tc.status, rs[0].StatusCode, "response %q", out)
			if tc.status >= 400 {
				assert.Zero(t, ts.calls.Load(), "handler called")
				assert.True(t, rs[0].Close, "Connection: close expected")
				assert.Len(t, rs, 1)
			} else {
				assert.EqualValues(t, 1, ts.calls.Load())
			}
		})
	}
}

func TestRequestLine(t *testing.T) { runRequestCases(t, requestLineCases) }
func TestFieldLines(t *testing.T)  { runRequestCases(t, fieldCases) }
func TestFraming(t *testing.T)     { runRequestCases(t, framingCases) }

func TestRequestFields(t *testing.T) {
	var got Request
	var body string
	ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
		got = *r
		got.Header = append([]HeaderField(nil), r.Header...)
		d, complete := r.Body.TakePrefetched()
		if complete {
			body = string(d)
		}
		okHandler(w, r)
	})
	cases := []struct {
		raw      string
		want     Request
		wantBody string
	}{
		{
			raw: "GET /a%20b?x=1&y HTTP/1.1\r\nHost: h:80\r\nX-A:  v1 \r\nx-a: v2\r\n\r\n",
			want: Request{Method: "GET", RequestURI: "/a%20b?x=1&y", Path: "/a%20b", RawQuery: "x=1&y",
				Proto: "HTTP/1.1", ProtoMinor: 1, Host: "h:80",
				Header: []HeaderField{{"Host", "h:80"}, {"X-A", "v1"}, {"x-a", "v2"}}},
		},
		{
			raw: "GET http://ex.com:8080/p/q?z HTTP/1.1\r\nHost: ignored\r\n\r\n",
			want: Request{Method: "GET", RequestURI: "http://ex.com:8080/p/q?z", Path: "/p/q", RawQuery: "z",
				Proto: "HTTP/1.1", ProtoMinor: 1, Host: "ex.com:8080", Header: []HeaderField{{"Host", "ignored"}}},
		},
		{
			raw: "OPTIONS http://ex.com HTTP/1.1\r\nHost: ex.com\r\n\r\n",
			want: Request{Method: "OPTIONS", RequestURI: "http://ex.com", Path: "*",
				Proto: "HTTP/1.1", ProtoMinor: 1, Host: "ex.com", Header: []HeaderField{{"Host", "ex.com"}}},
		},
		{
			raw:  "OPTIONS * HTTP/1.0\r\n\r\n",
			want: Request{Method: "OPTIONS", RequestURI: "*", Path: "*", Proto: "HTTP/1.0", Close: true},
		},
		{
			raw: "POST /u? HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
			want: Request{Method: "POST", RequestURI: "/u?", Path: "/u", Proto: "HTTP/1.1", ProtoMinor: 1,
				Host: "h", ContentLength: 3, Close: true,
				Header: []HeaderField{{"Host", "h"}, {"Content-Length", "3"}, {"Connection", "close"}}},
			wantBody: "abc",
		},
		{
			raw: "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
			want: Request{Method: "PUT", RequestURI: "/", Path: "/", Proto: "HTTP/1.1", ProtoMinor: 1,
				Host: "h", ContentLength: -1,
				Header: []HeaderField{{"Host", "h"}, {"Transfer-Encoding", "chunked"}}},
			wantBody: "abcde",
		},
	}
	for _, tc := range cases {
		body = ""
		out := ts.do(tc.raw)
		require.Equal(t, 200, statusOf(t, out), tc.raw)
		assert.NotNil(t, got.Body)
		assert.False(t, got.TLS)
		assert.False(t, got.Received.IsZero())
		assert.Equal(t, memAddr("client"), got.RemoteAddr)
		got.Body, got.RemoteAddr, got.LocalAddr, got.Received = nil, nil, nil, tc.want.Received
		if len(tc.want.Header) == 0 {
			tc.want.Header = got.Header[:0]
		}
		assert.Equal(t, tc.want, got, tc.raw)
		assert.Equal(t, tc.wantBody, body)
	}
}

func TestLimits(t *testing.T) {
	cfg := Config{LimitRequestLine: 100, LimitRequestFields: 5, LimitRequestFieldSize: 50, LimitRequestBody: 10}
	cases := []requestCase{
		{"line at limit", "GET /" + strings.Repeat("a", 100-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: a\r\n\r\n", 200},
		{"line over limit", "GET /" + strings.Repeat("a", 101-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"line far over limit", "GET /" + strings.Repeat("a", 10000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
		{"fields at limit", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 4) + "\r\n", 200},
		{"fields over limit", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 5) + "\r\n", 431},
		{"field at limit", h11 + "X: " + strings.Repeat("v", 47) + "\r\n\r\n", 200},
		{"field over limit", h11 + "X: " + strings.Repeat("v", 48) + "\r\n\r\n", 431},
		{"field far over limit", h11 + "X: " + strings.Repeat("v", 20000) + "\r\n\r\n", 431},
		{"body at limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", 200},
		{"body over limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n0123456789a", 413},
		{"huge CL over limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999\r\n\r\n", 413},
		{"chunked at limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", 200},
		{"chunked over limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", 413},
		{"chunked size over limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n", 413},
		{"trailers over field limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + strings.Repeat("T: v\r\n", 6) + "\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, cfg, nil)
			out := ts.do(tc.raw)
			rs := parseResponses(t, out)
			require.NotEmpty(t, rs)
			assert.Equal(t, tc.status, rs[0].StatusCode, out)
			if tc.status >= 400 {
				assert.Zero(t, ts.calls.Load())
				assert.True(t, rs[0].Close)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	ts := newTestServer(t, Config{}, nil)
	// LimitRequestLine 0 means unlimited (up to the hard cap).
	long := "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n"
	assert.Equal(t, 200, statusOf(t, ts.do(long)))
	ts2 := newTestServer(t, DefaultConfig(), nil)
	assert.Equal(t, 414, statusOf(t, ts2.do(long)))
	ok := "GET /" + strings.Repeat("a", 4094-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: a\r\n\r\n"
	assert.Equal(t, 200, statusOf(t, ts2.do(ok)))
	assert.Equal(t, 431, statusOf(t, ts2.do(h11+strings.Repeat("X: y\r\n", 100)+"\r\n")))
	assert.Equal(t, 431, statusOf(t, ts2.do(h11+"X: "+strings.Repeat("y", 8190)+"\r\n\r\n")))
	assert.Equal(t, 200, statusOf(t, ts2.do(h11+"X: "+strings.Repeat("y", 8187)+"\r\n\r\n")))
}

// The parser consumes exactly the head: what follows stays in the reader.
func TestReadHeadConsumesExactlyHead(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT"
	br := bufio.NewReaderSize(strings.NewReader(in), readBufSize)
	p := parser{fieldLimit: 8190, maxFields: 100}
	var req Request
	var info headInfo
	require.NoError(t, p.readHead(br, &req, &info))
	rest := make([]byte, 10)
	n, _ := br.Read(rest)
	assert.Equal(t, "NEXT", string(rest[:n]))
}

func TestConnStateString(t *testing.T) {
	for s, want := range map[ConnState]string{StateNew: "new", StateReading: "reading",
		StateActive: "active", StateIdle: "idle", StateClosed: "closed", 9: "ConnState(9)"} {
		assert.Equal(t, want, s.String())
	}
}
