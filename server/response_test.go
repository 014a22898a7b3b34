package server

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"

func TestPipelining(t *testing.T) {
	ts := newTestServer(t, Config{}, nil)
	out := ts.do("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n" +
		"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody" +
		"PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1;x\r\nc\r\n0\r\nT: x\r\n\r\n" +
		"GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" +
		"GET /never HTTP/1.1\r\nHost: a\r\n\r\n")
	rs := parseResponses(t, out)
	require.Len(t, rs, 4)
	assert.Equal(t, "GET /1? a|", rs[0].Body)
	assert.Equal(t, "POST /2? a|body", rs[1].Body)
	assert.Equal(t, "PUT /3? a|abc", rs[2].Body)
	assert.Equal(t, "GET /4? a|", rs[3].Body)
	assert.True(t, rs[3].Close)
	for _, r := range rs[:3] {
		assert.False(t, r.Close)
	}
	assert.EqualValues(t, 4, ts.calls.Load())
}

// Unread bodies are drained so the next pipelined request is intact.
func TestDrainUnreadBody(t *testing.T) {
	ts := newTestServer(t, Config{BodyPrefetch: -1}, okHandler)
	out := ts.do("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + get)
	rs := parseResponses(t, out)
	require.Len(t, rs, 3)
	assert.EqualValues(t, 3, ts.calls.Load())
}

// A body too big to drain closes the connection instead.
func TestDrainTooBigCloses(t *testing.T) {
	ts := newTestServer(t, Config{}, okHandler)
	c := ts.dial()
	c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\nxxxx"))
	out := readAll(t, c)
	rs := parseResponses(t, out)
	require.Len(t, rs, 1)
	assert.Equal(t, 200, rs[0].StatusCode)
	assert.True(t, rs[0].Close, "the response announces the close (RFC 9112 §9.6)")
}

func TestChunkedEcho(t *testing.T) {
	ts := newTestServer(t, Config{BodyPrefetch: -1}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		buf := make([]byte, 3)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				_, werr := w.Write(buf[:n])
				require.NoError(t, werr)
			}
			if err == io.EOF {
				return
			}
			require.NoError(t, err)
		}
	})
	body := strings.Repeat("0123456789", 100)
	raw := "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"64\r\n" + body[:100] + "\r\n" + "384;ext=1\r\n" + body[100:] + "\r\n0\r\n\r\n"
	out := ts.do(raw)
	rs := parseResponses(t, out)
	require.Len(t, rs, 1)
	assert.Equal(t, []string{"chunked"}, rs[0].TransferEncoding)
	assert.Equal(t, body, rs[0].Body)
	assert.True(t, strings.HasSuffix(out, "\r\n0\r\n\r\n"))
}

// Streaming: each Write is on the wire before the next is produced.
func TestStreamingWrites(t *testing.T) {
	step := make(chan struct{})
	ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		w.Write([]byte("first"))
		<-step
		w.Write([]byte("second"))
	})
	c := ts.dial()
	c.Write([]byte(get))
	got := readUntil(t, c, "5\r\nfirst\r\n")
	assert.NotContains(t, got, "second")
	close(step)
	readUntil(t, c, "6\r\nsecond\r\n0\r\n\r\n")
}

// Write-syscall economy: head+first chunk share a write, WriteFinal makes
// the whole response one write.
func TestWriteSyscalls(t *testing.T) {
	cases := []struct {
		name   string
		h      HandlerFunc
		writes int
		check  func(t *testing.T, r resp)
	}{
		{"Start+Write", func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			w.Write([]byte("hello"))
		}, 2, func(t *testing.T, r resp) { assert.Equal(t, []string{"chunked"}, r.TransferEncoding) }},
		{"Start+WriteFinal", func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			w.WriteFinal([]byte("hello"))
		}, 1, func(t *testing.T, r resp) { assert.EqualValues(t, 5, r.ContentLength) }},
		{"CL+Write", okHandler, 1, func(t *testing.T, r resp) { assert.EqualValues(t, 2, r.ContentLength) }},
		{"Write,Write,WriteFinal", func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			w.Write([]byte("a"))
			w.Write([]byte("b"))
			w.WriteFinal([]byte("c"))
		}, 3, func(t *testing.T, r resp) { assert.Equal(t, "abc", r.Body) }},
		{"large WriteFinal (writev)", func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			w.WriteFinal([]byte(strings.Repeat("x", 100000)))
		}, 0, func(t *testing.T, r resp) { assert.Len(t, r.Body, 100000) }},
		{"no body", func(w *ResponseWriter, r *Request) { w.Start("200 OK", nil) }, 1,
			func(t *testing.T, r resp) { assert.EqualValues(t, 0, r.ContentLength) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{}, tc.h)
			c, s := ts.ln.Dial()
			defer c.Close()
			c.Write([]byte(get))
			c.CloseWrite()
			out := readAll(t, c)
			rs := parseResponses(t, out)
			require.Len(t, rs, 1)
			tc.check(t, rs[0])
			if tc.writes > 0 {
				assert.Equal(t, tc.writes, s.Writes())
			}
		})
	}
}

func TestExpectContinue(t *testing.T) {
	t.Run("sent on first Read only", func(t *testing.T) {
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			d, complete := r.Body.TakePrefetched()
			assert.Empty(t, d)
			assert.Equal(t, r.Method == "GET", complete)
			buf := make([]byte, 2)
			var got []byte
			for {
				n, err := r.Body.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
			}
			w.Start("200 OK", nil)
			w.Write(got)
		})
		c := ts.dial()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"))
		got := readUntil(t, c, "\r\n\r\n")
		assert.Equal(t, "HTTP/1.1 100 Continue\r\n\r\n", got)
		c.Write([]byte("hello" + get))
		c.CloseWrite()
		out := readAll(t, c)
		assert.NotContains(t, out, "100 Continue")
		rs := parseResponses(t, out)
		require.Len(t, rs, 2)
		assert.Equal(t, "hello", rs[0].Body)
		assert.False(t, rs[0].Close)
	})
	t.Run("not sent when the body is ignored; connection closes", func(t *testing.T) {
		ts := newTestServer(t, Config{}, okHandler)
		c := ts.dial()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"))
		out := readAll(t, c) // the server closes without the client half-closing
		assert.NotContains(t, out, "100 Continue")
		rs := parseResponses(t, out)
		require.Len(t, rs, 1)
		assert.Equal(t, 200, rs[0].StatusCode)
		assert.True(t, rs[0].Close)
	})
	t.Run("not sent for HTTP/1.0", func(t *testing.T) {
		ts := newTestServer(t, Config{}, nil)
		out := ts.do("POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi")
		assert.NotContains(t, out, "100 Continue")
		assert.Equal(t, "POST /? |hi", parseResponses(t, out)[0].Body)
	})
	t.Run("not sent without a body", func(t *testing.T) {
		ts := newTestServer(t, Config{}, nil)
		out := ts.do("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n")
		assert.NotContains(t, out, "100 Continue")
		assert.Equal(t, 200, statusOf(t, out))
	})
}

func TestNoBodyResponses(t *testing.T) {
	cases := []struct {
		name, method, status string
		hdr                  []HeaderField
		wantCL               string // "" = no Content-Length header
		wantChunked          bool
	}{
		{"HEAD without CL", "HEAD", "200 OK", nil, "", false},
		{"HEAD with CL", "HEAD", "200 OK", []HeaderField{{"Content-Length", "5"}}, "5", false},
		{"204 drops CL", "GET", "204 No Content", []HeaderField{{"Content-Length", "5"}}, "", false},
		{"304 keeps CL", "GET", "304 Not Modified", []HeaderField{{"Content-Length", "10"}}, "10", false},
		{"304 without CL", "GET", "304 Not Modified", nil, "", false},
		{"GET 200 streamed", "GET", "200 OK", nil, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var werr error
			var n int
			ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
				if r.Path == "/next" {
					w.Start("200 OK", nil)
					w.Write([]byte("next"))
					return
				}
				require.NoError(t, w.Start(tc.status, tc.hdr))
				n, werr = w.Write([]byte("hello"))
			})
			out := ts.do(tc.method + " / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
			require.NoError(t, werr)
			assert.Equal(t, 5, n)
			head, rest, _ := strings.Cut(out, "\r\n\r\n")
			head += "\r\n"
			assert.Equal(t, tc.wantChunked, strings.Contains(head, "Transfer-Encoding"))
			if tc.wantCL == "" {
				assert.NotContains(t, head, "Content-Length")
			} else {
				assert.Contains(t, head, "\r\nContent-Length: "+tc.wantCL+"\r\n")
			}
			if !tc.wantChunked {
				// No body bytes: the next response follows immediately.
				assert.True(t, strings.HasPrefix(rest, "HTTP/1.1 200 OK"), "rest %q", rest)
			}
			rs := parseResponses(t, out, tc.method, "GET")
			require.Len(t, rs, 2)
			assert.Equal(t, "next", rs[1].Body)
		})
	}
}

func TestContentLengthEnforced(t *testing.T) {
	t.Run("excess dropped", func(t *testing.T) {
		var n1, n2 int
		var err1, err2 error
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", []HeaderField{{"Content-Length", "4"}})
			n1, err1 = w.Write([]byte("abc"))
			n2, err2 = w.Write([]byte("defgh"))
		})
		out := ts.do(get + get)
		rs := parseResponses(t, out)
		require.Len(t, rs, 2, "connection stays usable")
		assert.Equal(t, "abcd", rs[0].Body)
		assert.Equal(t, 3, n1)
		assert.NoError(t, err1)
		assert.Equal(t, 1, n2)
		assert.ErrorIs(t, err2, ErrContentLength)
	})
	t.Run("short closes", func(t *testing.T) {
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", []HeaderField{{"Content-Length", "10"}})
			w.Write([]byte("abc"))
		})
		c := ts.dial()
		c.Write([]byte(get + get))
		out := readAll(t, c) // no half-close: the server must close
		assert.True(t, strings.HasSuffix(out, "\r\n\r\nabc"), out)
		assert.Equal(t, 1, strings.Count(out, "HTTP/1.1"))
		assert.EqualValues(t, 1, ts.calls.Load())
	})
	t.Run("declared but nothing written closes", func(t *testing.T) {
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", []HeaderField{{"Content-Length", "10"}})
		})
		c := ts.dial()
		c.Write([]byte(get + get))
		out := readAll(t, c)
		assert.Equal(t, 1, strings.Count(out, "HTTP/1.1"))
		assert.Contains(t, out, "Content-Length: 10\r\n")
	})
}

func TestHTTP10(t *testing.T) {
	final := func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		w.WriteFinal([]byte("hi"))
	}
	stream := func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		w.Write([]byte("hi"))
	}
	cases := []struct {
		name      string
		h         HandlerFunc
		req       string
		keepAlive bool
	}{
		{"default close", final, "GET / HTTP/1.0\r\n\r\n", false},
		{"keep-alive with length", final, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
		{"keep-alive with app CL", okHandler, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
		{"keep-alive but streamed", stream, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false},
		{"streamed no keep-alive", stream, "GET / HTTP/1.0\r\n\r\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{}, tc.h)
			c := ts.dial()
			c.Write([]byte(tc.req + tc.req))
			if tc.keepAlive {
				c.CloseWrite()
			}
			out := readAll(t, c)
			head, body, _ := strings.Cut(out, "\r\n\r\n")
			head += "\r\n"
			assert.NotContains(t, head, "Transfer-Encoding")
			if tc.keepAlive {
				assert.Contains(t, head, "\r\nConnection: keep-alive\r\n")
				assert.Equal(t, 2, strings.Count(out, "HTTP/1.1 200"))
			} else {
				assert.Contains(t, head, "\r\nConnection: close\r\n")
				assert.Equal(t, "hi", body, "one response, body until close")
			}
		})
	}
}

func TestResponseHeaders(t *testing.T) {
	ts := newTestServer(t, Config{ServerHeader: "test/1"}, func(w *ResponseWriter, r *Request) {
		hdr := []HeaderField{
			{"X-App", "1"},
			{"Connection", "keep-alive"},
			{"Keep-Alive", "timeout=5"},
			{"Proxy-Connection", "keep-alive"},
			{"Transfer-Encoding", "gzip"},
			{"TE", "trailers"},
			{"Trailer", "X"},
			{"Upgrade", "h2c"},
			{"Set-Cookie", "a=1"},
			{"Set-Cookie", "b=2"},
		}
		if r.Path == "/own" {
			hdr = append(hdr, HeaderField{"Server", "app"}, HeaderField{"Date", "yesterday"})
		}
		w.Start("200 OK", hdr)
		w.Write([]byte("x"))
	})
	out := ts.do(get + "GET /own HTTP/1.1\r\nHost: a\r\n\r\n")
	rs := parseResponses(t, out)
	require.Len(t, rs, 2)
	r := rs[0]
	for _, h := range []string{"Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Upgrade", "Connection"} {
		assert.Empty(t, r.Header.Values(h), h)
	}
	assert.Equal(t, []string{"chunked"}, r.TransferEncoding)
	assert.Equal(t, "1", r.Header.Get("X-App"))
	assert.Equal(t, []string{"a=1", "b=2"}, r.Header.Values("Set-Cookie"))
	assert.Equal(t, []string{"test/1"}, r.Header.Values("Server"))
	d, err := time.Parse(time.RFC1123, r.Header.Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), d, 5*time.Second)
	assert.Equal(t, []string{"app"}, rs[1].Header.Values("Server"))
	assert.Equal(t, []string{"yesterday"}, rs[1].Header.Values("Date"))
}

func TestAppConnectionClose(t *testing.T) {
	ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", []HeaderField{{"Connection", "Close"}, {"Content-Length", "1"}})
		w.Write([]byte("x"))
	})
	c := ts.dial()
	c.Write([]byte(get + get))
	out := readAll(t, c)
	assert.Equal(t, 1, strings.Count(out, "HTTP/1.1"))
	assert.Contains(t, out, "\r\nConnection: close\r\n")
}

func TestStartValidation(t *testing.T) {
	bad := []struct {
		status string
		hdr    []HeaderField
		kind   error
	}{
		{"200", nil, ErrInvalidStatus},
		{"200OK", nil, ErrInvalidStatus},
		{"20 OK", nil, ErrInvalidStatus},
		{"2000 OK", nil, ErrInvalidStatus},
		{"099 Low", nil, ErrInvalidStatus},
		{"abc OK", nil, ErrInvalidStatus},
		{"200 OK\r\nX: y", nil, ErrInvalidStatus},
		{"200 O\x00K", nil, ErrInvalidStatus},
		{"200 OK", []HeaderField{{"", "v"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"X Y", "v"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"X:", "v"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"X", "a\r\nSet-Cookie: evil"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"X", "a\nb"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"X", "a\rb"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"X", "a\x00b"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"X", "a\x1bb"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"Content-Length", "-1"}}, ErrInvalidHeader},
		{"200 OK", []HeaderField{{"Content-Length", "1"}, {"Content-Length", "2"}}, ErrInvalidHeader},
	}
	good := []struct {
		status string
		code   int
	}{{"200 OK", 200}, {"999 Custom", 999}, {"100 ", 100}, {"404 Not\tFound caf\xe9", 404}}
	results := make(chan error, 100)
	ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
		for _, b := range bad {
			err := w.Start(b.status, b.hdr)
			results <- err
			assert.ErrorIs(t, err, b.kind, "%q %q", b.status, b.hdr)
			assert.Equal(t, 0, w.Status(), "nothing recorded")
		}
		for _, g := range good {
			require.NoError(t, w.Start(g.status, []HeaderField{{"X", "tab\tok"}}))
			assert.Equal(t, g.code, w.Status())
		}
		// PEP 3333 exc_info: replace until the head is sent.
		require.NoError(t, w.Start("201 Created", []HeaderField{{"X-First", "1"}}))
		require.NoError(t, w.Start("500 Oops", []HeaderField{{"X-Second", "2"}}))
		assert.False(t, w.HeadersSent())
		require.NoError(t, w.Flush())
		assert.True(t, w.HeadersSent())
		assert.ErrorIs(t, w.Start("200 OK", nil), ErrHeadersSent)
		assert.Equal(t, 500, w.Status())
	})
	rs := parseResponses(t, ts.do(get))
	require.Len(t, rs, 1)
	assert.Equal(t, 500, rs[0].StatusCode)
	assert.Equal(t, "2", rs[0].Header.Get("X-Second"))
	assert.Empty(t, rs[0].Header.Get("X-First"))
	assert.Len(t, results, len(bad))
}

func TestHandlerMisbehaviour(t *testing.T) {
	t.Run("no Start → 500, keep-alive", func(t *testing.T) {
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {})
		rs := parseResponses(t, ts.do(get+get))
		require.Len(t, rs, 2)
		assert.Equal(t, 500, rs[0].StatusCode)
		assert.Equal(t, "Internal Server Error\n", rs[0].Body)
	})
	t.Run("Write before Start", func(t *testing.T) {
		var err error
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) { _, err = w.Write([]byte("x")) })
		assert.Equal(t, 500, statusOf(t, ts.do(get)))
		assert.ErrorIs(t, err, ErrNotStarted)
	})
	t.Run("panic → 500, close", func(t *testing.T) {
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			panic("boom")
		})
		c := ts.dial()
		c.Write([]byte(get + get))
		rs := parseResponses(t, readAll(t, c))
		require.Len(t, rs, 1)
		assert.Equal(t, 500, rs[0].StatusCode)
		assert.True(t, rs[0].Close)
	})
	t.Run("Abort after head: truncated, close", func(t *testing.T) {
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			w.Write([]byte("partial"))
			w.Abort()
			_, err := w.Write([]byte("more"))
			assert.ErrorIs(t, err, ErrResponseDone)
		})
		c := ts.dial()
		c.Write([]byte(get + get))
		out := readAll(t, c)
		assert.True(t, strings.HasSuffix(out, "7\r\npartial\r\n"), "%q", out)
		assert.Equal(t, 1, strings.Count(out, "HTTP/1.1"))
	})
	t.Run("Abort before head → 500, close", func(t *testing.T) {
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			w.Abort()
		})
		c := ts.dial()
		c.Write([]byte(get + get))
		rs := parseResponses(t, readAll(t, c))
		require.Len(t, rs, 1)
		assert.Equal(t, 500, rs[0].StatusCode)
		assert.True(t, rs[0].Close)
	})
	t.Run("write after WriteFinal", func(t *testing.T) {
		var err error
		ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			w.WriteFinal([]byte("x"))
			_, err = w.Write([]byte("y"))
		})
		rs := parseResponses(t, ts.do(get+get))
		require.Len(t, rs, 2)
		assert.Equal(t, "x", rs[0].Body)
		assert.ErrorIs(t, err, ErrResponseDone)
	})
}

func TestBodyTakePrefetched(t *testing.T) {
	type result struct {
		pre      string
		complete bool
		rest     string
	}
	var res result
	h := func(w *ResponseWriter, r *Request) {
		d, complete := r.Body.TakePrefetched()
		res = result{pre: string(d), complete: complete}
		d2, _ := r.Body.TakePrefetched()
		assert.Empty(t, d2, "taken once")
		rest, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		res.rest = string(rest)
		okHandler(w, r)
	}
	cases := []struct {
		name string
		cfg  Config
		raw  string
		want result
	}{
		{"small CL", Config{}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", result{"hello", true, ""}},
		{"no body", Config{}, get, result{"", true, ""}},
		{"CL over prefetch", Config{BodyPrefetch: 4}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", result{"", false, "hello"}},
		{"prefetch disabled", Config{BodyPrefetch: -1}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", result{"", false, "hello"}},
		{"chunked complete", Config{}, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", result{"abcde", true, ""}},
		{"chunked over prefetch", Config{BodyPrefetch: 4}, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", result{"abcd", false, "ef"}},
		{"large CL", Config{}, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 20000\r\n\r\n" + strings.Repeat("z", 20000), result{strings.Repeat("z", 20000), true, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, tc.cfg, h)
			assert.Equal(t, 200, statusOf(t, ts.do(tc.raw)))
			assert.Equal(t, tc.want, res)
		})
	}
}

// Prefetch happens before the handler: a slow small upload never reaches
// the handler until it is complete.
func TestPrefetchBeforeHandler(t *testing.T) {
	called := make(chan struct{}, 1)
	ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
		called <- struct{}{}
		d, complete := r.Body.TakePrefetched()
		assert.True(t, complete)
		w.Start("200 OK", nil)
		w.Write(d)
	})
	c := ts.dial()
	c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello"))
	select {
	case <-called:
		t.Fatal("handler called before the body was complete")
	case <-time.After(100 * time.Millisecond):
	}
	c.Write([]byte("world"))
	c.CloseWrite()
	rs := parseResponses(t, readAll(t, c))
	require.Len(t, rs, 1)
	assert.Equal(t, "helloworld", rs[0].Body)
}

func TestStreamingBodyErrors(t *testing.T) {
	t.Run("chunked over limit while streaming", func(t *testing.T) {
		var err error
		ts := newTestServer(t, Config{BodyPrefetch: -1, LimitRequestBody: 5}, func(w *ResponseWriter, r *Request) {
			_, err = io.ReadAll(r.Body)
			okHandler(w, r)
		})
		c := ts.dial()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n" + get))
		rs := parseResponses(t, readAll(t, c))
		assert.ErrorIs(t, err, ErrBodyTooLarge)
		require.Len(t, rs, 1, "connection closed after a body error")
	})
	t.Run("malformed chunk while streaming", func(t *testing.T) {
		var err error
		ts := newTestServer(t, Config{BodyPrefetch: -1}, func(w *ResponseWriter, r *Request) {
			_, err = io.ReadAll(r.Body)
			okHandler(w, r)
		})
		c := ts.dial()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n" + get))
		rs := parseResponses(t, readAll(t, c))
		assert.ErrorIs(t, err, ErrMalformedBody)
		require.Len(t, rs, 1)
	})
	t.Run("client gone mid-body", func(t *testing.T) {
		errc := make(chan error, 1)
		ts := newTestServer(t, Config{BodyPrefetch: -1}, func(w *ResponseWriter, r *Request) {
			_, err := io.ReadAll(r.Body)
			errc <- err
		})
		c := ts.dial()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"))
		c.CloseWrite()
		assert.ErrorIs(t, <-errc, io.ErrUnexpectedEOF)
		assert.EqualValues(t, 1, ts.calls.Load())
	})
}

func TestAccessLogAndActive(t *testing.T) {
	entries := make(chan AccessEntry, 10)
	var srv *Server
	var active int
	cfg := Config{AccessLog: func(e *AccessEntry) {
		c := *e
		r := *e.Request
		c.Request = &r
		entries <- c
	}}
	ts := newTestServer(t, cfg, func(w *ResponseWriter, r *Request) {
		active = srv.ActiveRequests()
		w.Start("201 Created", nil)
		w.Write([]byte("hello"))
		w.Write([]byte("!"))
	})
	srv = ts.srv
	ts.do("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999\r\n\r\n") // 413 at default? no limit: handler
	e := <-entries
	assert.Equal(t, 201, e.Status)
	assert.EqualValues(t, 6, e.BodySent)
	assert.Equal(t, "/x", e.Request.Path)
	assert.Positive(t, e.Duration)
	assert.Equal(t, 1, active)
	assert.Equal(t, 0, srv.ActiveRequests())

	ts2 := newTestServer(t, Config{LimitRequestBody: 1, AccessLog: cfg.AccessLog}, nil)
	ts2.do("POST /y HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
	e = <-entries
	assert.Equal(t, 413, e.Status)
	assert.Equal(t, "/y", e.Request.Path)
}

// A chunked upload is handed to the handler chunk by chunk: Read returns
// what has arrived without waiting for the next chunk.
func TestStreamingRequestBody(t *testing.T) {
	got := make(chan string, 4)
	ts := newTestServer(t, Config{BodyPrefetch: -1}, func(w *ResponseWriter, r *Request) {
		buf := make([]byte, 100)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				got <- string(buf[:n])
			}
			if err != nil {
				assert.ErrorIs(t, err, io.EOF)
				break
			}
		}
		okHandler(w, r)
	})
	next := func() string {
		select {
		case s := <-got:
			return s
		case <-time.After(3 * time.Second):
			t.Fatal("no data")
			return ""
		}
	}
	c := ts.dial()
	c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"))
	assert.Equal(t, "hello", next())
	c.Write([]byte("6\r\n world\r\n0\r\n"))
	assert.Equal(t, " world", next())
	c.Write([]byte("\r\n"))
	readUntil(t, c, "ok")
}
