package e2e

// Wire-level HTTP/1.x rules (issue 3, point 6, and the framing parts of 4/5),
// checked with raw sockets: exact request bytes in, exact response bytes out.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWireKeepAliveReuse(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	var ports []string
	for i := 0; i < 3; i++ {
		e := environOf(t, c, fmt.Sprintf("GET /environ?i=%d HTTP/1.1\r\nHost: t\r\n\r\n", i))
		q, _ := e.Str("QUERY_STRING")
		assert.Equal(t, fmt.Sprintf("i=%d", i), q)
		p, _ := e.Str("REMOTE_PORT")
		ports = append(ports, p)
	}
	assert.Equal(t, ports[0], ports[1], "second request must reuse the connection")
	assert.Equal(t, ports[0], ports[2])
	c.ExpectOpen(300*time.Millisecond, "HTTP/1.1 connection must stay open after a keep-alive response")
}

func TestWirePipelining(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	// Five requests in one write, including a body and a HEAD.
	c.Send("GET /environ?n=1 HTTP/1.1\r\nHost: t\r\n\r\n" +
		"POST /input?mode=read_n&n=3 HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world" +
		"HEAD /headers HTTP/1.1\r\nHost: t\r\n\r\n" +
		"GET /status?code=204 HTTP/1.1\r\nHost: t\r\n\r\n" +
		"GET /environ?n=5 HTTP/1.1\r\nHost: t\r\n\r\n")
	r1 := c.MustRead("GET")
	require.Equal(t, 200, r1.Code)
	assert.Contains(t, string(r1.Body), `"QUERY_STRING": "n=1"`)
	r2 := c.MustRead("POST")
	require.Equal(t, 200, r2.Code)
	var in inputResult
	require.NoError(t, json.Unmarshal(r2.Body, &in))
	assert.Equal(t, sha256hex([]byte("hello world")), in.Sha256, "pipelined POST body")
	r3 := c.MustRead("HEAD")
	assert.Equal(t, 200, r3.Code)
	assert.Empty(t, r3.Body)
	r4 := c.MustRead("GET")
	assert.Equal(t, 204, r4.Code)
	r5 := c.MustRead("GET")
	require.Equal(t, 200, r5.Code)
	assert.Contains(t, string(r5.Body), `"QUERY_STRING": "n=5"`)
	c.ExpectOpen(200 * time.Millisecond)
}

func TestWireHTTP10(t *testing.T) {
	s := startServer(t, ServerOpts{})

	t.Run("no keep-alive closes", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /headers HTTP/1.0\r\n\r\n")
		r := c.MustRead("GET")
		assert.Equal(t, 200, r.Code)
		assert.Equal(t, "headers-body", string(r.Body))
		assert.False(t, r.Chunked)
		c.ExpectClosed(3*time.Second, "HTTP/1.0 without keep-alive")
	})

	t.Run("streamed body is close-delimited, never chunked", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /stream?n=4 HTTP/1.0\r\nHost: t\r\n\r\n")
		r := c.MustRead("GET")
		assert.Equal(t, 200, r.Code)
		assert.False(t, r.Chunked, "chunked must not be sent to an HTTP/1.0 client")
		assert.NotContains(t, strings.ToLower(r.HeaderBlock()), "transfer-encoding")
		assert.Equal(t, "chunk-0\nchunk-1\nchunk-2\nchunk-3\n", string(r.Body))
		c.ExpectClosed(3 * time.Second)
	})

	t.Run("keep-alive with a known length stays open", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /headers HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		r := c.MustRead("GET")
		assert.Equal(t, 200, r.Code)
		assert.Equal(t, "headers-body", string(r.Body))
		assert.True(t, strings.EqualFold(r.Get("Connection"), "keep-alive"),
			"an HTTP/1.0 keep-alive response must say Connection: keep-alive, got %q", r.Get("Connection"))
		c.Send("GET /environ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		r = c.MustRead("GET")
		assert.Equal(t, 200, r.Code)
		assert.Contains(t, string(r.Body), `"SERVER_PROTOCOL": "HTTP/1.0"`)
	})

	t.Run("keep-alive with an unknown length still frames correctly", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /stream?n=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		r := c.MustRead("GET")
		assert.False(t, r.Chunked)
		assert.Equal(t, "chunk-0\nchunk-1\n", string(r.Body))
		if r.CloseDelimited {
			assert.False(t, strings.EqualFold(r.Get("Connection"), "keep-alive"),
				"a close-delimited response cannot promise keep-alive")
		}
	})
}

func TestWireConnectionClose(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, 200, r.Code)
	assert.True(t, r.ConnectionClose(), "response to Connection: close should carry Connection: close; headers:\n%s", r.HeaderBlock())
	c.ExpectClosed(3 * time.Second)

	// Connection: close sent by the app is honoured.
	c = s.Dial(t)
	c.Send("GET /conn_close HTTP/1.1\r\nHost: t\r\n\r\n")
	r = c.MustRead("GET")
	assert.Equal(t, "bye-bye!", string(r.Body))
	assert.True(t, r.ConnectionClose())
	c.ExpectClosed(3*time.Second, "app sent Connection: close")

	// Pipelined request after Connection: close is not answered.
	c = s.Dial(t)
	c.Send("GET /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r = c.MustRead("GET")
	assert.Equal(t, 200, r.Code)
	c.ExpectClosed(3*time.Second, "nothing may be answered after Connection: close")
}

func TestWireIdleKeepAliveTimeout(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--keep-alive", "1"}})
	c := s.Dial(t)
	c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	assert.Equal(t, 200, c.MustRead("GET").Code)
	start := time.Now()
	c.ExpectClosed(6*time.Second, "--keep-alive 1: idle connection must be closed")
	assert.Less(t, time.Since(start), 4*time.Second)
}

func TestWireMissingHost(t *testing.T) {
	s := startServer(t, ServerOpts{})
	before := s.Hits(t)
	c := s.Dial(t)
	c.Send("GET /headers HTTP/1.1\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, 400, r.Code, "HTTP/1.1 request without Host")
	c.ExpectClosed(3 * time.Second)
	assert.Equal(t, before, s.Hits(t), "the app must not be called for a request without Host")

	// HTTP/1.0 may omit Host.
	c = s.Dial(t)
	c.Send("GET /headers HTTP/1.0\r\n\r\n")
	assert.Equal(t, 200, c.MustRead("GET").Code)
}

// badRequestCase is one malformed request and the statuses allowed for it.
type badRequestCase struct {
	name  string
	req   string
	codes []int
}

func TestWireBadRequests(t *testing.T) {
	s := startServer(t, ServerOpts{})
	long := strings.Repeat("a", 5000)
	cases := []badRequestCase{
		{"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []int{400}},
		{"HTTP/0.9 style line", "GET /\r\n\r\n", []int{400}},
		{"extra token in request line", "GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n", []int{400}},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", []int{400}},
		{"bad method token", "G(T / HTTP/1.1\r\nHost: t\r\n\r\n", []int{400}},
		{"lowercase version", "GET / http/1.1\r\nHost: t\r\n\r\n", []int{400}},
		{"garbage version", "GET / HTTP/x.y\r\nHost: t\r\n\r\n", []int{400}},
		{"HTTP/2.0 on the wire", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", []int{505, 400}},
		{"header without colon", "GET / HTTP/1.1\r\nHost: t\r\nNoColonHere\r\n\r\n", []int{400}},
		{"space before colon", "GET / HTTP/1.1\r\nHost: t\r\nX-A : b\r\n\r\n", []int{400}},
		{"empty header name", "GET / HTTP/1.1\r\nHost: t\r\n: v\r\n\r\n", []int{400}},
		{"non-token header name", "GET / HTTP/1.1\r\nHost: t\r\nX(A): b\r\n\r\n", []int{400}},
		{"NUL in header value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n", []int{400}},
		{"bare CR in header value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n", []int{400}},
		{"Content-Length not a number", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", []int{400}},
		{"negative Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", []int{400}},
		{"conflicting Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", []int{400}},
		{"Content-Length list", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd", []int{400}},
		{"chunked not last", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", []int{400, 501}},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", []int{501, 400}},
		{"request line too long", "GET /" + long + " HTTP/1.1\r\nHost: t\r\n\r\n", []int{414}},
		{"too many header fields", "GET / HTTP/1.1\r\nHost: t\r\n" + strings.Repeat("X-F: v\r\n", 101) + "\r\n", []int{431}},
		{"header field too large", "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + strings.Repeat("b", 8200) + "\r\n\r\n", []int{431}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Hits(t)
			c := s.Dial(t)
			c.Send(tc.req)
			r, err := c.Read("GET")
			require.NoError(t, err, "request %q: expected one of %v, got %s", tc.req, tc.codes, quoteRaw(r.Raw))
			assert.Contains(t, tc.codes, r.Code, "request %s → got %d %s", quoteRaw([]byte(tc.req)), r.Code, r.Reason)
			c.ExpectClosed(3*time.Second, "after a malformed request")
			assert.Equal(t, before, s.Hits(t), "the app must not be called for a malformed request")
		})
	}
}

func TestWireBadRequestsObsFoldAndTEWithCL(t *testing.T) {
	s := startServer(t, ServerOpts{})

	// obs-fold: reject with 400, or replace with SP (RFC 9112 §5.2).
	c := s.Dial(t)
	c.Send("GET /environ HTTP/1.1\r\nHost: t\r\nX-Fold: a\r\n  b\r\n\r\n")
	r := c.MustRead("GET")
	if r.Code != 400 {
		require.Equal(t, 200, r.Code)
		var e environResult
		require.NoError(t, json.Unmarshal(r.Body, &e))
		v, _ := e.Str("HTTP_X_FOLD")
		assert.NotContains(t, v, "\r")
		assert.NotContains(t, v, "\n")
		assert.Equal(t, "a b", strings.Join(strings.Fields(v), " "), "obs-fold must become SP")
	}

	// Transfer-Encoding and Content-Length together: reject, or use chunked
	// and close the connection afterwards (RFC 9112 §6.1).
	c = s.Dial(t)
	c.Send("POST /input?mode=read_n HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
		chunked("hello") + "GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r = c.MustRead("POST")
	if r.Code != 400 {
		require.Equal(t, 200, r.Code)
		var in inputResult
		require.NoError(t, json.Unmarshal(r.Body, &in))
		assert.Equal(t, sha256hex([]byte("hello")), in.Sha256, "TE must override CL")
	}
	c.ExpectClosed(3*time.Second, "a request with both TE and CL must end the connection")
}

func TestWireLimitFlags(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{
		"--limit-request-line", "100", "--limit-request-fields", "5", "--limit-request-field_size", "60"}})
	send := func(req string) *Resp {
		c := s.Dial(t)
		c.Send(req)
		return c.MustRead("GET")
	}
	// Exactly at the line limit works; one more byte is 414.
	target := "/headers?" + strings.Repeat("q", 100-len("GET /headers? HTTP/1.1"))
	line := "GET " + target + " HTTP/1.1"
	require.Len(t, line, 100)
	assert.Equal(t, 200, send(line+"\r\nHost: t\r\n\r\n").Code, "request line of exactly --limit-request-line bytes")
	assert.Equal(t, 414, send("GET "+target+"q HTTP/1.1\r\nHost: t\r\n\r\n").Code)
	assert.Equal(t, 200, send("GET /headers HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n").Code, "5 fields")
	assert.Equal(t, 431, send("GET /headers HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n").Code, "6 fields")
	assert.Equal(t, 431, send("GET /headers HTTP/1.1\r\nHost: t\r\nX-Long: "+strings.Repeat("v", 70)+"\r\n\r\n").Code, "field over 60 bytes")
}

func TestWireChunkedRequestBody(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	parts := []string{"hello ", strings.Repeat("x", 5000), " world\n", "last"}
	body := chunked(parts...)
	// Chunk extensions and a trailer are legal and must be ignored.
	body = strings.Replace(body, "6\r\nhello ", "6;ext=1;q=\"v\"\r\nhello ", 1)
	body = strings.TrimSuffix(body, "0\r\n\r\n") + "0\r\nX-Trailer: t\r\n\r\n"
	c.Send("POST /input?mode=read_n&n=1000 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
	r := c.MustRead("POST")
	require.Equal(t, 200, r.Code, "%s", r.Body)
	var in inputResult
	require.NoError(t, json.Unmarshal(r.Body, &in))
	want := strings.Join(parts, "")
	assert.Equal(t, len(want), in.Len)
	assert.Equal(t, sha256hex([]byte(want)), in.Sha256)
	assert.LessOrEqual(t, in.MaxPiece, 1000, "read(1000) returned more than 1000 bytes")
	assert.Equal(t, 0, in.TailLen)
	// The connection is still usable: the decoder consumed exactly the body.
	e := environOf(t, c, "GET /environ HTTP/1.1\r\nHost: t\r\n\r\n")
	_, hasCL := e.Vars["CONTENT_LENGTH"]
	assert.False(t, hasCL)

	// A chunked body is reported without CONTENT_LENGTH.
	c.Send("POST /environ HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" + chunked("abc"))
	r = c.MustRead("POST")
	require.Equal(t, 200, r.Code)
	var e2 environResult
	require.NoError(t, json.Unmarshal(r.Body, &e2))
	_, hasCL = e2.Vars["CONTENT_LENGTH"]
	assert.False(t, hasCL, "CONTENT_LENGTH must be absent for a chunked body")
	assert.Equal(t, true, e2.Vars["wsgi.input_terminated"])
	_, hasTE := e2.Vars["HTTP_TRANSFER_ENCODING"]
	_ = hasTE // allowed either way
}

func TestWireBadChunkedBody(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("POST /input?mode=read_n HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
	r, err := c.Read("POST")
	if err == nil {
		assert.Contains(t, []int{400, 500}, r.Code, "invalid chunk size must not yield a successful response; got %d %s", r.Code, r.Body)
	} else {
		assert.NotContains(t, string(r.Raw), " 200 ", "invalid chunk size must not yield a 200")
	}
	c.ExpectClosed(3 * time.Second)
}

func TestWireChunkedResponse(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /stream?n=5 HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, 200, r.Code)
	assert.True(t, r.Chunked, "HTTP/1.1 response without Content-Length must be chunked; headers:\n%s", r.HeaderBlock())
	assert.False(t, r.Has("Content-Length"))
	assert.Equal(t, "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n", string(r.Body))
	assert.True(t, strings.HasSuffix(string(r.Raw), "\r\n0\r\n\r\n"), "terminating chunk: %s", quoteRaw(r.Raw))
	for i, ch := range r.Chunks {
		assert.NotEmpty(t, ch, "chunk %d is empty (a 0-size chunk ends the body)", i)
	}
	// The write() callable output is chunked too.
	c.Send("GET /write HTTP/1.1\r\nHost: t\r\n\r\n")
	r = c.MustRead("GET")
	assert.True(t, r.Chunked)
	assert.Equal(t, "first-second-third-fourth", string(r.Body))
	c.ExpectOpen(200 * time.Millisecond)
}

func TestWireExpectContinue(t *testing.T) {
	s := startServer(t, ServerOpts{})
	body := strings.Repeat("0123456789", 1000)

	t.Run("100 only after the app reads", func(t *testing.T) {
		c := s.Dial(t)
		c.Send(fmt.Sprintf("POST /input?mode=read_n&gate=ec1 HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body)))
		// The app is waiting on the gate and has not read: nothing may arrive.
		c.ExpectOpen(700*time.Millisecond, "100 Continue sent before the app read the body")
		s.Gate("ec1")
		r, err := c.ReadTimeout("POST", 10*time.Second)
		require.NoError(t, err, "%s", quoteRaw(r.Raw))
		require.Equal(t, 100, r.Code, "expected 100 Continue once the app reads; got %s", quoteRaw(r.Raw))
		assert.Equal(t, "HTTP/1.1 100 Continue\r\n\r\n", string(r.Raw))
		c.Send(body)
		final := c.MustRead("POST")
		require.Equal(t, 200, final.Code)
		var in inputResult
		require.NoError(t, json.Unmarshal(final.Body, &in))
		assert.Equal(t, sha256hex([]byte(body)), in.Sha256)
	})

	t.Run("no 100 when the app does not read", func(t *testing.T) {
		c := s.Dial(t)
		c.Send(fmt.Sprintf("POST /unread_body HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body)))
		r := c.MustRead("POST")
		assert.Equal(t, 200, r.Code, "the final response must come without 100 Continue; got %s", quoteRaw(r.Raw))
		assert.Equal(t, "ignored the body", string(r.Body))
	})

	t.Run("no 100 to HTTP/1.0", func(t *testing.T) {
		c := s.Dial(t)
		c.Send(fmt.Sprintf("POST /input?mode=read_n HTTP/1.0\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n%s", len(body), body))
		r := c.MustRead("POST")
		assert.Equal(t, 200, r.Code, "got %s", quoteRaw(r.Raw))
		assert.Contains(t, string(r.Body), sha256hex([]byte(body)))
	})

	t.Run("client sends the body without waiting", func(t *testing.T) {
		c := s.Dial(t)
		c.Send(fmt.Sprintf("POST /input?mode=read_n HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n%s", len(body), body))
		final, _ := c.ReadFinal("POST")
		assert.Equal(t, 200, final.Code)
		assert.Contains(t, string(final.Body), sha256hex([]byte(body)))
		// At most one interim response and the connection stays in sync.
		c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
		assert.Equal(t, "headers-body", string(c.MustRead("GET").Body))
	})
}

func TestWireHEAD(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	// HEAD with an app Content-Length, then HEAD of a streamed body, then GET:
	// pipelined so any stray body byte would corrupt the next response.
	c.Send("HEAD /headers HTTP/1.1\r\nHost: t\r\n\r\n" +
		"HEAD /stream?n=3 HTTP/1.1\r\nHost: t\r\n\r\n" +
		"GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("HEAD")
	assert.Equal(t, 200, r.Code)
	assert.Equal(t, "12", r.Get("Content-Length"), "HEAD keeps the app's Content-Length")
	r = c.MustRead("HEAD")
	assert.Equal(t, 200, r.Code)
	r = c.MustRead("GET")
	assert.Equal(t, "headers-body", string(r.Body), "response after HEADs is misframed")
	c.ExpectOpen(200*time.Millisecond, "no stray bytes after HEAD responses")

	// close() runs for HEAD too.
	c.Send("HEAD /close_tracker?id=head1 HTTP/1.1\r\nHost: t\r\n\r\n")
	r = c.MustRead("HEAD")
	assert.Equal(t, 200, r.Code)
	assert.Equal(t, 1, s.CloseCount("head1", 5*time.Second), "close() calls for a HEAD request")
	c.ExpectOpen(200 * time.Millisecond)
}

func TestWireNoBodyStatuses(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /status?code=204 HTTP/1.1\r\nHost: t\r\n\r\n" +
		"GET /status?code=304 HTTP/1.1\r\nHost: t\r\n\r\n" +
		"GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, 204, r.Code)
	assert.Equal(t, "204", r.Get("X-Status-Test"))
	assert.False(t, r.Has("Content-Length"), "204 must not carry Content-Length")
	assert.False(t, r.Has("Transfer-Encoding"), "204 must not carry Transfer-Encoding")
	r = c.MustRead("GET")
	assert.Equal(t, 304, r.Code)
	assert.False(t, r.Has("Transfer-Encoding"), "304 must not carry Transfer-Encoding")
	r = c.MustRead("GET")
	assert.Equal(t, "headers-body", string(r.Body), "a body was sent for 204/304")
	assert.NotContains(t, string(r.Raw), "body-that-must-not-be-sent")
	c.ExpectOpen(200 * time.Millisecond)
}

func TestWireDateAndServerHeaders(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	for _, path := range []string{"/headers", "/stream?n=1", "/status?code=404", "/raise"} {
		c.Send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")
		r := c.MustRead("GET")
		d, err := http.ParseTime(r.Get("Date"))
		if assert.NoError(t, err, "%s: Date header %q", path, r.Get("Date")) {
			assert.WithinDuration(t, time.Now(), d, 10*time.Second)
			assert.True(t, strings.HasSuffix(r.Get("Date"), " GMT"), "IMF-fixdate: %q", r.Get("Date"))
		}
		assert.Len(t, r.Values("Date"), 1, "%s: one Date header", path)
		assert.NotEmpty(t, r.Get("Server"), "%s: Server header", path)
	}
}

func TestWireStatusLine(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	for _, tc := range []struct{ path, line string }{
		{"/status?code=200", "HTTP/1.1 200 OK\r\n"},
		{"/status?code=404", "HTTP/1.1 404 Not Found\r\n"},
		{"/status?code=299&reason=Custom+Thing", "HTTP/1.1 299 Custom Thing\r\n"},
		{"/status?code=418", "HTTP/1.1 418 I'm a Teapot\r\n"},
	} {
		c.Send("GET " + tc.path + " HTTP/1.1\r\nHost: t\r\n\r\n")
		r := c.MustRead("GET")
		assert.True(t, strings.HasPrefix(string(r.Raw), tc.line), "%s: status line %q, want %q", tc.path, strings.SplitN(string(r.Raw), "\r\n", 2)[0], tc.line)
	}
}

func TestWireUnreadBodyKeepsConnectionInSync(t *testing.T) {
	s := startServer(t, ServerOpts{})
	for _, size := range []int{10, 100 * 1024, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := s.Dial(t)
			body := strings.Repeat("u", size)
			// The next request follows the body immediately: if the server
			// neither drains nor closes, it would parse body bytes as a request.
			go func() {
				defer func() { _ = recover() }()
				_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
				_, _ = c.Write([]byte(fmt.Sprintf("POST /unread_body HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%sGET /headers HTTP/1.1\r\nHost: t\r\n\r\n", size, body)))
			}()
			r := c.MustRead("POST")
			assert.Equal(t, "ignored the body", string(r.Body))
			r2, err := c.Read("GET")
			if err == ErrNoResponse {
				assert.True(t, r.ConnectionClose(), "server closed instead of draining the unread %d-byte body but its response did not carry Connection: close (RFC 9112 §9.6: a server that is going to close SHOULD say so; a keep-alive client loses its next request); headers:\n%s", size, r.HeaderBlock())
				return
			}
			require.NoError(t, err, "%s", quoteRaw(r2.Raw))
			assert.Equal(t, 200, r2.Code)
			assert.Equal(t, "headers-body", string(r2.Body))
		})
	}
	// A small unread body must be drained (keep-alive kept), not a reason to close.
	c := s.Dial(t)
	c.Send("POST /unread_body HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde")
	r := c.MustRead("POST")
	assert.False(t, r.ConnectionClose())
	c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	assert.Equal(t, "headers-body", string(c.MustRead("GET").Body))
}

func TestWireHopByHopFromApp(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /hop HTTP/1.1\r\nHost: t\r\n\r\nGET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, 200, r.Code)
	assert.Equal(t, "hop-body-1;hop-body-2", string(r.Body))
	assert.NotContains(t, r.HeaderBlock(), "timeout=99", "the app's Keep-Alive header must be dropped")
	assert.LessOrEqual(t, len(r.Values("Transfer-Encoding")), 1)
	assert.Equal(t, "kept", r.Get("X-After-Hop"))
	assert.Equal(t, "headers-body", string(c.MustRead("GET").Body))
}

func TestWireSlowClientDoesNotHoldThread(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--threads", "1"}})
	// A: head still arriving. B: head done, small body still arriving.
	a := s.Dial(t)
	a.Send("GET /headers HTTP/1.1\r\nHost: t\r\nX-Slow: ")
	b := s.Dial(t)
	b.Send("POST /input?mode=read_n HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n0123456789")
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	c := s.Dial(t)
	c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r, err := c.ReadTimeout("GET", 5*time.Second)
	require.NoError(t, err, "with --threads 1, a slow uploader must not block other requests")
	assert.Equal(t, 200, r.Code)
	assert.Less(t, time.Since(start), 2*time.Second)
	// Finish B: it is served correctly.
	b.Send(strings.Repeat("x", 990))
	rb := b.MustRead("POST")
	assert.Contains(t, string(rb.Body), sha256hex([]byte("0123456789"+strings.Repeat("x", 990))))
	a.Send("1\r\n\r\n")
	assert.Equal(t, 200, a.MustRead("GET").Code)
}

func TestWireAbsoluteFormTarget(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	e := environOf(t, c, "GET http://example.com:8080/environ?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
	p, _ := e.Str("PATH_INFO")
	q, _ := e.Str("QUERY_STRING")
	assert.Equal(t, "/environ", p, "absolute-form target")
	assert.Equal(t, "x=1", q)
}

// The GIL is released whenever Go blocks: a Python thread stuck in
// wsgi.input.read() (slow uploader past the prefetch) or in a write to a
// client that does not read must not stop the other Python thread.
func TestWireGILReleasedWhileBlockedInIO(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--threads", "2"}})
	quick := func(what string) {
		t.Helper()
		c := s.Dial(t)
		start := time.Now()
		c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
		r, err := c.ReadTimeout("GET", 5*time.Second)
		require.NoError(t, err, "%s: another request must still be served", what)
		assert.Equal(t, 200, r.Code)
		assert.Less(t, time.Since(start), 2*time.Second, what)
	}

	t.Run("reading a slow body", func(t *testing.T) {
		a := s.Dial(t)
		const size = 2 << 20
		// 600 KiB, beyond the prefetch: the app is now blocked in read().
		a.Send(fmt.Sprintf("POST /input?mode=read_n HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", size))
		a.Send(strings.Repeat("r", 600<<10))
		time.Sleep(300 * time.Millisecond)
		quick("app thread blocked in wsgi.input.read")
		a.Send(strings.Repeat("r", size-600<<10))
		r := a.MustRead("POST")
		assert.Contains(t, string(r.Body), sha256hex([]byte(strings.Repeat("r", size))))
	})

	t.Run("writing to a client that does not read", func(t *testing.T) {
		a := s.Dial(t)
		// 2000 × 64 KiB = 125 MiB: far more than the socket buffers.
		a.Send("GET /stream?n=2000&size=65536 HTTP/1.1\r\nHost: t\r\n\r\n")
		time.Sleep(500 * time.Millisecond)
		quick("app thread blocked writing a response")
		a.Close()
	})
}

func TestCLILogLevel(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--log-level", "warning"}})
	_, b := s.Get(t, "/raise?id=loglevel")
	_ = b
	require.True(t, s.WaitStderr("raise-marker-loglevel", 5*time.Second), "errors are logged at --log-level warning")
	assert.NotContains(t, s.Stderr.String(), "[INFO]", "--log-level warning hides INFO lines")
}
