package server

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testServer runs a Server on a memListener for one test.
type testServer struct {
	t      *testing.T
	srv    *Server
	ln     *memListener
	served chan error
	calls  atomic.Int32 // handler invocations
}

// quietConfig is the default config with a discarding error log.
func quietConfig() Config {
	c := DefaultConfig()
	c.ErrorLog = slog.New(slog.DiscardHandler)
	return c
}

func newTestServer(t *testing.T, cfg Config, h HandlerFunc) *testServer {
	t.Helper()
	if h == nil {
		h = echoHandler
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = slog.New(slog.DiscardHandler)
	}
	ts := &testServer{t: t, ln: newMemListener(), served: make(chan error, 1)}
	ts.srv = New(cfg, HandlerFunc(func(w *ResponseWriter, r *Request) {
		ts.calls.Add(1)
		h(w, r)
	}))
	go func() { ts.served <- ts.srv.Serve(ts.ln) }()
	t.Cleanup(func() {
		ts.srv.Close()
		select {
		case err := <-ts.served:
			require.ErrorIs(t, err, ErrServerClosed)
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return ts
}

// dial opens a connection and returns its client end.
func (ts *testServer) dial() *memConn {
	c, _ := ts.ln.Dial()
	ts.t.Cleanup(func() { c.Close() })
	return c
}

// do sends raw on a new connection, half-closes it and returns everything
// the server sent until it closed the connection.
func (ts *testServer) do(raw string) string {
	ts.t.Helper()
	c := ts.dial()
	_, err := c.Write([]byte(raw))
	require.NoError(ts.t, err)
	c.CloseWrite()
	return readAll(ts.t, c)
}

// readAll reads until EOF (bounded by 5 s).
func readAll(t *testing.T, c *memConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	require.NoError(t, err, "read so far: %q", b)
	return string(b)
}

// readUntil reads until s has been received (bounded by 5 s).
func readUntil(t *testing.T, c *memConn, s string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for !strings.Contains(string(got), s) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("waiting for %q: %v; got %q", s, err, got)
		}
	}
	return string(got)
}

// resp is a parsed response.
type resp struct {
	*http.Response
	Body string
}

// parseResponses parses the responses in out; methods are the request
// methods in order (default GET).
func parseResponses(t *testing.T, out string, methods ...string) []resp {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(out))
	var rs []resp
	for i := 0; ; i++ {
		if _, err := br.Peek(1); err == io.EOF {
			return rs
		}
		m := "GET"
		if i < len(methods) {
			m = methods[i]
		}
		r, err := http.ReadResponse(br, &http.Request{Method: m})
		require.NoError(t, err, "response %d in %q", i, out)
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err, "response %d body in %q", i, out)
		rs = append(rs, resp{r, string(b)})
	}
}

func statusOf(t *testing.T, out string) int {
	t.Helper()
	rs := parseResponses(t, out)
	require.NotEmpty(t, rs, "no response")
	return rs[0].StatusCode
}

// echoHandler answers "METHOD PATH?QUERY HOST|body".
func echoHandler(w *ResponseWriter, r *Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.Start("400 Bad Body", nil)
		w.Write([]byte(err.Error()))
		return
	}
	w.Start("200 OK", []HeaderField{{"Content-Type", "text/plain"}})
	w.Write([]byte(r.Method + " " + r.Path + "?" + r.RawQuery + " " + r.Host + "|" + string(body)))
}

// okHandler answers 200 "ok" with a Content-Length, without reading the body.
func okHandler(w *ResponseWriter, r *Request) {
	w.Start("200 OK", []HeaderField{{"Content-Length", "2"}})
	w.Write([]byte("ok"))
}

var errTest = errors.New("test")
