package e2e

// start_response and the response (issue 3, point 5): streaming, write(),
// exc_info, validation of status and headers, Content-Length handling,
// file_wrapper, close() on every path, errors.

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResponseStreamsIncrementally(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	// The generator yields chunk-0, then blocks on a gate until the test has
	// seen chunk-0 on the wire. A buffering server never shows it (the gate
	// times out after 10 s in the app, far beyond our 4 s read deadline).
	c.Send("GET /stream?n=3&gate=s1 HTTP/1.1\r\nHost: t\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(4 * time.Second))
	var got bytes.Buffer
	buf := make([]byte, 4096)
	for !bytes.Contains(got.Bytes(), []byte("chunk-0\n")) {
		n, err := c.br.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			s.Gate("s1")
			t.Fatalf("first chunk did not arrive while the generator was still running (%v); got %s", err, quoteRaw(got.Bytes()))
		}
	}
	assert.NotContains(t, got.String(), "chunk-1", "chunk-1 cannot exist yet")
	s.Gate("s1")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for !bytes.Contains(got.Bytes(), []byte("\r\n0\r\n\r\n")) {
		n, err := c.br.Read(buf)
		got.Write(buf[:n])
		require.NoError(t, err, "rest of the stream; got %s", quoteRaw(got.Bytes()))
	}
	assert.Contains(t, got.String(), "chunk-2\n")

	// Timing variant: each chunk arrives about when it is yielded.
	c2 := s.Dial(t)
	start := time.Now()
	c2.Send("GET /stream?n=3&delay=0.6 HTTP/1.1\r\nHost: t\r\n\r\n")
	_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	got.Reset()
	var first, last time.Duration
	for !bytes.Contains(got.Bytes(), []byte("\r\n0\r\n\r\n")) {
		n, err := c2.br.Read(buf)
		got.Write(buf[:n])
		require.NoError(t, err, "timed stream; got %s", quoteRaw(got.Bytes()))
		if first == 0 && bytes.Contains(got.Bytes(), []byte("chunk-0\n")) {
			first = time.Since(start)
		}
		if last == 0 && bytes.Contains(got.Bytes(), []byte("chunk-2\n")) {
			last = time.Since(start)
		}
	}
	assert.Less(t, first, 500*time.Millisecond, "the first chunk must not wait for the generator's sleeps")
	assert.GreaterOrEqual(t, last, 1100*time.Millisecond, "chunk-2 is yielded after two 0.6 s sleeps")
}

func TestResponseWriteCallableOrder(t *testing.T) {
	s := startServer(t, ServerOpts{})
	for _, proto := range []string{"HTTP/1.1", "HTTP/1.0"} {
		c := s.Dial(t)
		c.Send("GET /write " + proto + "\r\nHost: t\r\n\r\n")
		r := c.MustRead("GET")
		assert.Equal(t, 200, r.Code)
		assert.Equal(t, "first-second-third-fourth", string(r.Body), proto)
	}
}

func TestResponseExcInfoBeforeOutputReplacesHeaders(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /exc_before HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, 503, r.Code, "the second start_response (with exc_info) replaces the status")
	assert.Equal(t, "yes", r.Get("X-Replaced"))
	assert.False(t, r.Has("X-First"), "headers of the first start_response must be discarded")
	assert.Equal(t, "replaced body", string(r.Body))
}

func TestResponseExcInfoAfterOutputReraises(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /exc_reraise HTTP/1.1\r\nHost: t\r\n\r\n")
	r, err := c.Read("GET")
	assert.Error(t, err, "the response must be aborted (not completed): got %s", quoteRaw(r.Raw))
	assert.NotContains(t, string(r.Raw), "NOT-RERAISED", "start_response(exc_info) after headers were sent must re-raise")
	assert.Contains(t, string(r.Body), "part1")
	assert.True(t, s.WaitStderr("exc-reraise-marker", 5*time.Second), "traceback logged")
}

func TestResponseSecondStartResponseWithoutExcInfoFails(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /double_start HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	assert.True(t, strings.HasPrefix(string(r.Body), "raised:"),
		"calling start_response twice without exc_info must raise; app saw %q (status %d)", r.Body, r.Code)
}

func TestResponseExceptionBeforeHeaders(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	for _, tc := range []struct{ path, marker string }{
		{"/raise?id=r1", "raise-marker-r1"},
		{"/raise_after_start", "raise-after-start-marker"},
		{"/empty_then_raise", "empty-then-raise-marker"},
	} {
		c.Send("GET " + tc.path + " HTTP/1.1\r\nHost: t\r\n\r\n")
		r, err := c.Read("GET")
		require.NoError(t, err, "%s: expected a complete 500, got %s", tc.path, quoteRaw(r.Raw))
		assert.Equal(t, 500, r.Code, tc.path)
		assert.Less(t, len(r.Body), 1024, "%s: short body", tc.path)
		assert.NotContains(t, string(r.Body), "Traceback", "%s: no traceback to the client", tc.path)
		assert.NotContains(t, string(r.Body), tc.marker, "%s: exception text leaked to the client", tc.path)
		assert.False(t, r.Has("X-Should-Not"), "%s: headers of the failed response leaked", tc.path)
		assert.True(t, s.WaitStderr(tc.marker, 5*time.Second), "%s: exception logged", tc.path)
		if r.ConnectionClose() {
			c = s.Dial(t)
		}
	}
	assert.Contains(t, s.Stderr.String(), "Traceback (most recent call last)", "the traceback is logged")
}

func TestResponseExceptionAfterHeadersAborts(t *testing.T) {
	s := startServer(t, ServerOpts{})
	for _, tc := range []struct{ name, path string }{
		{"chunked", "/exc_after"},
		{"content-length", "/exc_after?cl=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.Dial(t)
			c.Send("GET " + tc.path + " HTTP/1.1\r\nHost: t\r\n\r\n")
			r, err := c.Read("GET")
			assert.Error(t, err, "an exception after output must abort the connection; got a complete response %s", quoteRaw(r.Raw))
			assert.Equal(t, 200, r.Code)
			assert.Equal(t, "part1", string(r.Body))
			assert.False(t, strings.HasSuffix(string(r.Raw), "0\r\n\r\n"), "aborted chunked body must not be terminated")
			c.ExpectClosed(3 * time.Second)
		})
	}
	assert.True(t, s.WaitStderr("exc-after-marker", 5*time.Second), "traceback logged")
	// The server keeps serving.
	_, b := s.Get(t, "/headers")
	assert.Equal(t, "headers-body", string(b))
}

func TestResponseInvalidHeaders(t *testing.T) {
	s := startServer(t, ServerOpts{})
	kinds := []string{"crlf", "lf", "cr", "nul", "ctl", "name_space", "name_colon", "name_empty",
		"name_crlf", "bytes_value", "bytes_name", "int_value", "nonlatin1"}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			c := s.Dial(t)
			c.Send("GET /bad_header?kind=" + kind + " HTTP/1.1\r\nHost: t\r\n\r\nGET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
			r, err := c.Read("GET")
			require.NoError(t, err, "expected a clean 500, got %s", quoteRaw(r.Raw))
			assert.Equal(t, 500, r.Code)
			assert.NotContains(t, string(r.Raw), "X-Injected")
			assert.NotContains(t, string(r.Raw), "body-should-not-appear")
			assert.False(t, r.Has("X-Bad"))
			if !r.ConnectionClose() {
				r2 := c.MustRead("GET")
				assert.Equal(t, "headers-body", string(r2.Body), "connection out of sync after the 500")
			}
		})
	}
	assert.NotEmpty(t, s.Stderr.String(), "invalid headers must be logged")
}

func TestResponseInvalidStatus(t *testing.T) {
	s := startServer(t, ServerOpts{})
	for _, kind := range []string{"four_digits", "two_digits", "no_code", "letters", "crlf", "lf", "bytes", "int", "below_100"} {
		t.Run(kind, func(t *testing.T) {
			c := s.Dial(t)
			c.Send("GET /bad_status?kind=" + kind + " HTTP/1.1\r\nHost: t\r\n\r\n")
			r, err := c.Read("GET")
			require.NoError(t, err, "expected a clean 500, got %s", quoteRaw(r.Raw))
			assert.Equal(t, 500, r.Code)
			assert.NotContains(t, string(r.Raw), "X-Injected")
			assert.NotContains(t, string(r.Raw), "body-should-not-appear")
		})
	}
}

func TestResponseContentLengthShort(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /cl_short HTTP/1.1\r\nHost: t\r\n\r\n")
	r, err := c.Read("GET")
	assert.Error(t, err, "the app sent fewer bytes than its Content-Length: the connection must be closed")
	assert.Equal(t, "10", r.Get("Content-Length"))
	assert.Equal(t, "12345", string(r.Body))
	c.ExpectClosed(3 * time.Second)
}

func TestResponseContentLengthLong(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /cl_long HTTP/1.1\r\nHost: t\r\n\r\nGET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, "12345", string(r.Body))
	// Whatever follows must be the next response or the end: never "67890".
	r2, err := c.Read("GET")
	if err == ErrNoResponse {
		return
	}
	require.NoError(t, err, "bytes after the Content-Length: %s", quoteRaw(r2.Raw))
	assert.Equal(t, "headers-body", string(r2.Body))
	assert.NotContains(t, string(r2.Raw), "67890")
}

func TestResponseFileWrapper(t *testing.T) {
	s := startServer(t, ServerOpts{})
	data := make([]byte, 3<<20+123)
	_, err := rand.Read(data)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "blob.bin"), data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "empty.bin"), nil, 0o644))
	for _, path := range []string{
		"/file?name=blob.bin",               // through the validator: iterated
		"/file?name=blob.bin&cl=1",          // with Content-Length
		"/raw/file?name=blob.bin&cl=1",      // the server's own file_wrapper: sendfile path
		"/raw/file?name=blob.bin",           // sendfile without Content-Length: chunked
		"/raw/file?name=blob.bin&blksize=1", // odd block size
		"/raw/file?name=empty.bin&cl=1",
	} {
		t.Run(path, func(t *testing.T) {
			c := s.Dial(t)
			c.Send("GET " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")
			r := c.MustRead("GET")
			require.Equal(t, 200, r.Code)
			want := data
			if strings.Contains(path, "empty") {
				want = nil
			}
			assert.Equal(t, len(want), len(r.Body))
			assert.Equal(t, sha256hex(want), sha256hex(r.Body))
			if strings.Contains(path, "cl=1") {
				assert.Equal(t, fmt.Sprint(len(want)), r.Get("Content-Length"))
			}
			c.Send("HEAD " + path + " HTTP/1.1\r\nHost: t\r\n\r\n")
			h := c.MustRead("HEAD")
			assert.Equal(t, 200, h.Code)
			c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
			assert.Equal(t, "headers-body", string(c.MustRead("GET").Body))
		})
	}
}

func TestResponseCloseCalledExactlyOnce(t *testing.T) {
	s := startServer(t, ServerOpts{})

	t.Run("normal end", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /close_tracker?id=normal&n=3 HTTP/1.1\r\nHost: t\r\n\r\n")
		r := c.MustRead("GET")
		assert.Equal(t, "tracked-0\ntracked-1\ntracked-2\n", string(r.Body))
		assert.Equal(t, 1, s.CloseCount("normal", 5*time.Second))
	})

	t.Run("HEAD", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("HEAD /close_tracker?id=head&n=3 HTTP/1.1\r\nHost: t\r\n\r\n")
		c.MustRead("HEAD")
		assert.Equal(t, 1, s.CloseCount("head", 5*time.Second))
	})

	t.Run("exception mid-iteration", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /close_tracker?id=exc&n=5&raise_at=2 HTTP/1.1\r\nHost: t\r\n\r\n")
		_, _ = c.Read("GET")
		assert.Equal(t, 1, s.CloseCount("exc", 5*time.Second))
		assert.True(t, s.WaitStderr("close-tracker-raise-exc", 5*time.Second))
	})

	t.Run("exception on the first item", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /close_tracker?id=exc0&n=5&raise_at=0 HTTP/1.1\r\nHost: t\r\n\r\n")
		r, err := c.Read("GET")
		if err == nil {
			assert.Equal(t, 500, r.Code)
		}
		assert.Equal(t, 1, s.CloseCount("exc0", 5*time.Second))
	})

	t.Run("client disconnect mid-stream", func(t *testing.T) {
		c := s.Dial(t)
		// Up to 2000 chunks, 10 ms apart (20 s): the client leaves after the first.
		c.Send("GET /close_tracker?id=gone&n=2000&delay=0.01 HTTP/1.1\r\nHost: t\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := c.br.ReadString('\n')
		require.NoError(t, err)
		require.Contains(t, line, "200")
		start := time.Now()
		c.Close()
		assert.Equal(t, 1, s.CloseCount("gone", 8*time.Second), "close() after the client went away")
		assert.Less(t, time.Since(start), 8*time.Second)
		// Other clients are served.
		_, b := s.Get(t, "/headers")
		assert.Equal(t, "headers-body", string(b))
	})

	t.Run("pipelined requests each close once", func(t *testing.T) {
		c := s.Dial(t)
		c.Send("GET /close_tracker?id=p1 HTTP/1.1\r\nHost: t\r\n\r\nGET /close_tracker?id=p2 HTTP/1.1\r\nHost: t\r\n\r\n")
		c.MustRead("GET")
		c.MustRead("GET")
		assert.Equal(t, 1, s.CloseCount("p1", 5*time.Second))
		assert.Equal(t, 1, s.CloseCount("p2", 5*time.Second))
	})
}

func TestResponseClientDisconnectDuringGate(t *testing.T) {
	// The client leaves while the app is blocked between chunks; once the app
	// resumes the server must notice, call close() and not leak the thread.
	s := startServer(t, ServerOpts{Args: []string{"--threads", "1"}})
	c := s.Dial(t)
	c.Send("GET /close_tracker?id=gated&n=100&gate=g1&delay=0.01 HTTP/1.1\r\nHost: t\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := c.br.ReadString('\n')
	require.NoError(t, err)
	c.Close()
	time.Sleep(100 * time.Millisecond)
	s.Gate("g1")
	assert.Equal(t, 1, s.CloseCount("gated", 8*time.Second))
	// The only Python thread is free again.
	c2 := s.Dial(t)
	c2.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r, err := c2.ReadTimeout("GET", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 200, r.Code)
}

func TestResponseWsgiErrorsReachErrorLog(t *testing.T) {
	s := startServer(t, ServerOpts{})
	_, b := s.Get(t, "/errors?marker=errlog-7731")
	assert.Equal(t, "logged", string(b))
	assert.True(t, s.WaitStderr("wsgi.errors says errlog-7731", 5*time.Second), "wsgi.errors write() in the error log")
	assert.True(t, s.WaitStderr("writelines-errlog-7731", 5*time.Second), "wsgi.errors writelines() in the error log")
}

func TestResponseHeadersPassThrough(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	c.Send("GET /headers HTTP/1.1\r\nHost: t\r\n\r\n")
	r := c.MustRead("GET")
	assert.Equal(t, "hello world", r.Get("X-Custom"))
	assert.Equal(t, []string{"a=1; Path=/", "b=2; Path=/"}, r.Values("Set-Cookie"), "repeated headers stay separate and ordered")
	assert.Equal(t, "Value", r.Get("X-Mixed-Case"))
	assert.Equal(t, "text/plain; charset=utf-8", r.Get("Content-Type"))
	assert.Contains(t, r.HeaderBlock(), "caf\xe9\r\n", "latin-1 header value goes out as the byte 0xE9")
	assert.Len(t, r.Values("Content-Length"), 1)
}
