package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"
)

// h2env is a Server on a loopback listener, over TLS (ALPN h2) or
// cleartext (h2c prior knowledge), with an HTTP/2 client.
type h2env struct {
	t      *testing.T
	srv    *Server
	addr   string
	base   string // "https://127.0.0.1:port" or "http://..."
	tr     *http2.Transport
	client *http.Client
	conns  atomic.Int32 // connections accepted
}

func newH2Env(t *testing.T, cfg Config, h HandlerFunc, useTLS bool) *h2env {
	t.Helper()
	e := &h2env{t: t}
	l := listen(t, "tcp", "127.0.0.1:0")
	e.addr = l.Addr().String()
	hook := cfg.ConnState
	cfg.ConnState = func(c net.Conn, s ConnState) {
		if s == StateNew {
			e.conns.Add(1)
		}
		if hook != nil {
			hook(c, s)
		}
	}
	if useTLS {
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
		cfg.H2 = true
		e.base = "https://" + e.addr
		e.tr = &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	} else {
		cfg.H2C = true
		e.base = "http://" + e.addr
		e.tr = &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
	}
	e.srv = serveReal(t, cfg, h, l)
	t.Cleanup(e.tr.CloseIdleConnections)
	e.client = &http.Client{Transport: e.tr, Timeout: 10 * time.Second}
	return e
}

// do sends a request and returns the response with its whole body.
func (e *h2env) do(method, path string, body io.Reader, hdr ...string) (*http.Response, string, error) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	require.NoError(e.t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, string(b), err
}

func (e *h2env) get(path string) (*http.Response, string) {
	e.t.Helper()
	res, body, err := e.do("GET", path, nil)
	require.NoError(e.t, err)
	return res, body
}

func TestH2Request(t *testing.T) {
	for _, useTLS := range []bool{true, false} {
		t.Run(map[bool]string{true: "tls", false: "h2c"}[useTLS], func(t *testing.T) {
			var got *Request
			var hdr []HeaderField
			e := newH2Env(t, Config{}, func(w *ResponseWriter, r *Request) {
				got = &Request{}
				*got = *r
				hdr = append([]HeaderField(nil), r.Header...)
				echoHandler(w, r)
			}, useTLS)
			res, body, err := e.do("POST", "/a%20b/c?x=1&y", strings.NewReader("hello"),
				"X-B", "2", "X-A", "1", "X-B", "3", "Cookie", "a=1")
			require.NoError(t, err)
			assert.Equal(t, 200, res.StatusCode)
			assert.Equal(t, "HTTP/2.0", res.Proto)
			assert.Equal(t, "POST /a%20b/c?x=1&y "+e.addr+"|hello", body)

			assert.Equal(t, "POST", got.Method)
			assert.Equal(t, "/a%20b/c?x=1&y", got.RequestURI)
			assert.Equal(t, "/a%20b/c", got.Path)
			assert.Equal(t, "x=1&y", got.RawQuery)
			assert.Equal(t, "HTTP/2.0", got.Proto)
			assert.Equal(t, 0, got.ProtoMinor)
			assert.Equal(t, e.addr, got.Host)
			assert.Equal(t, int64(5), got.ContentLength)
			assert.Equal(t, useTLS, got.TLS)
			assert.False(t, got.Close)
			assert.Equal(t, e.addr, got.LocalAddr.String())
			assert.Equal(t, "tcp", got.RemoteAddr.Network())
			require.NotEmpty(t, hdr)
			assert.Equal(t, HeaderField{"Host", e.addr}, hdr[0])
			assert.Contains(t, hdr, HeaderField{"Content-Length", "5"})
			assert.Contains(t, hdr, HeaderField{"Cookie", "a=1"})
			var xs []HeaderField
			for _, f := range hdr {
				if strings.HasPrefix(f.Name, "X-") {
					xs = append(xs, f)
				}
				assert.False(t, strings.HasPrefix(f.Name, ":"), "pseudo-header %q", f.Name)
			}
			assert.Equal(t, []HeaderField{{"X-A", "1"}, {"X-B", "2"}, {"X-B", "3"}}, xs)

			// Response head: Date and Server like HTTP/1.x, no sniffed type.
			assert.NotEmpty(t, res.Header.Get("Date"))
			assert.Equal(t, "gohost", res.Header.Get("Server"))
			assert.Equal(t, "text/plain", res.Header.Get("Content-Type"))
		})
	}
}

func TestH2ResponseHeaders(t *testing.T) {
	e := newH2Env(t, Config{ServerHeader: "srv"}, func(w *ResponseWriter, r *Request) {
		w.Start("201 Created", []HeaderField{
			{"Connection", "close"}, {"Keep-Alive", "timeout=5"}, {"Transfer-Encoding", "chunked"},
			{"Upgrade", "h2c"}, {"Proxy-Connection", "keep-alive"}, {"TE", "trailers"}, {"Trailer", "X"},
			{"x-custom", "a"}, {"X-Custom", "b"}, {"Date", "Mon, 02 Jan 2006 15:04:05 GMT"},
		})
		w.Write([]byte("<html>sniff me</html>"))
	}, true)
	res, body := e.get("/")
	assert.Equal(t, 201, res.StatusCode)
	assert.Equal(t, "<html>sniff me</html>", body)
	for _, h := range []string{"Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Te", "Trailer", "Content-Type"} {
		assert.Empty(t, res.Header.Values(h), h)
	}
	assert.Equal(t, []string{"a", "b"}, res.Header.Values("X-Custom"))
	assert.Equal(t, "Mon, 02 Jan 2006 15:04:05 GMT", res.Header.Get("Date"))
	assert.Equal(t, "srv", res.Header.Get("Server"))
	// The connection survives the application's "Connection: close".
	e.get("/")
	assert.Equal(t, int32(1), e.conns.Load())
}

func TestH2Body(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10) // 4 MiB
	var prefetched atomic.Int64
	var complete atomic.Bool
	e := newH2Env(t, Config{BodyPrefetch: 64 << 10}, func(w *ResponseWriter, r *Request) {
		pre, c := r.Body.TakePrefetched()
		prefetched.Store(int64(len(pre)))
		complete.Store(c)
		w.Start("200 OK", nil)
		w.Write(pre)
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err == io.EOF {
				return
			}
			if err != nil {
				w.Abort()
				return
			}
		}
	}, true)

	t.Run("large, unknown length", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			for i := 0; i < len(big); i += 100 << 10 {
				pw.Write(big[i:min(i+100<<10, len(big))])
			}
			pw.Close()
		}()
		_, body, err := e.do("PUT", "/", pr)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(big, []byte(body)), "echoed %d bytes of %d", len(body), len(big))
		assert.Equal(t, int64(64<<10), prefetched.Load(), "prefetch up to BodyPrefetch")
		assert.False(t, complete.Load())
	})
	t.Run("large, declared length", func(t *testing.T) {
		_, body, err := e.do("PUT", "/", bytes.NewReader(big))
		require.NoError(t, err)
		assert.Equal(t, len(big), len(body))
		assert.Zero(t, prefetched.Load(), "longer than BodyPrefetch: streamed")
	})
	t.Run("small: prefetched whole", func(t *testing.T) {
		_, body, err := e.do("PUT", "/", strings.NewReader("small body"))
		require.NoError(t, err)
		assert.Equal(t, "small body", body)
		assert.Equal(t, int64(10), prefetched.Load())
		assert.True(t, complete.Load())
	})
	t.Run("small unknown length: prefetched whole", func(t *testing.T) {
		_, body, err := e.do("PUT", "/", io.MultiReader(strings.NewReader("ab"), strings.NewReader("cd")))
		require.NoError(t, err)
		assert.Equal(t, "abcd", body)
		assert.Equal(t, int64(4), prefetched.Load())
		assert.True(t, complete.Load())
	})
}

func TestH2BodyLimits(t *testing.T) {
	// Each handler call reports its request's path with its read error, so
	// that a failure says which request it came from.
	type bodyResult struct {
		path string
		err  error
	}
	results := make(chan bodyResult, 4)
	var calls atomic.Int32
	e := newH2Env(t, Config{LimitRequestBody: 1000, BodyPrefetch: -1, BodyReadTimeout: 200 * time.Millisecond,
		LimitRequestFields: 10}, func(w *ResponseWriter, r *Request) {
		calls.Add(1)
		_, err := io.ReadAll(r.Body)
		results <- bodyResult{r.Path, err}
		w.Start("200 OK", nil)
	}, true)

	res, _, err := e.do("POST", "/declared-too-large", bytes.NewReader(make([]byte, 1001)))
	require.NoError(t, err)
	assert.Equal(t, 413, res.StatusCode, "declared length over the limit")
	assert.Zero(t, calls.Load())

	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 600))
		pw.Write(make([]byte, 600))
		pw.Close()
	}()
	e.do("POST", "/too-large", pr)
	got := <-results
	assert.Equal(t, "/too-large", got.path)
	assert.ErrorIs(t, got.err, ErrBodyTooLarge, "unknown length over the limit")

	pr, pw = io.Pipe()
	go pw.Write([]byte("partial")) // and then nothing
	start := time.Now()
	go e.do("POST", "/stalled", pr)
	got = <-results
	assert.Equal(t, "/stalled", got.path)
	assert.ErrorIs(t, got.err, ErrBodyTimeout)
	assert.Less(t, time.Since(start), 2*time.Second)
	pw.Close()

	var hdr []string
	for i := 0; i < 10; i++ {
		hdr = append(hdr, fmt.Sprintf("X-%d", i), "v")
	}
	res, _, err = e.do("GET", "/", nil, hdr...)
	require.NoError(t, err)
	assert.Equal(t, 431, res.StatusCode, "Host + 10 fields > LimitRequestFields")

	res, _, err = e.do("CONNECT", "/", nil)
	if err == nil {
		assert.Equal(t, 501, res.StatusCode)
	}
}

func TestH2Streaming(t *testing.T) {
	next := make(chan struct{})
	e := newH2Env(t, Config{}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		for _, s := range []string{"one ", "two ", "three"} {
			w.Write([]byte(s))
			<-next // the client must have seen s before the next write
		}
	}, true)
	res, err := e.client.Get(e.base + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, int64(-1), res.ContentLength)
	br := bufio.NewReader(res.Body)
	for _, s := range []string{"one ", "two ", "three"} {
		b := make([]byte, len(s))
		_, err := io.ReadFull(br, b)
		require.NoError(t, err)
		assert.Equal(t, s, string(b))
		next <- struct{}{}
	}
	rest, err := io.ReadAll(br)
	assert.NoError(t, err)
	assert.Empty(t, rest)
}

func TestH2Framing(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(tmp, bytes.Repeat([]byte("x"), 200<<10), 0o600))
	errs := make(chan error, 1)
	e := newH2Env(t, Config{}, func(w *ResponseWriter, r *Request) {
		var err error
		switch r.Path {
		case "/cl":
			w.Start("200 OK", []HeaderField{{"Content-Length", "5"}})
			_, err = w.Write([]byte("hello world"))
		case "/short":
			w.Start("200 OK", []HeaderField{{"Content-Length", "10"}})
			_, err = w.Write([]byte("hello"))
		case "/final":
			w.Start("200 OK", nil)
			_, err = w.WriteFinal([]byte("all of it"))
		case "/head":
			w.Start("200 OK", []HeaderField{{"Content-Length", "42"}})
			_, err = w.Write([]byte("dropped"))
		case "/204":
			w.Start("204 No Content", nil)
			_, err = w.Write([]byte("dropped"))
		case "/abort":
			w.Start("200 OK", nil)
			w.Write([]byte("partial"))
			w.Abort()
		case "/abort-early":
			w.Start("200 OK", nil)
			w.Abort()
		case "/panic":
			panic("boom")
		case "/panic-late":
			w.Start("200 OK", nil)
			w.Write([]byte("partial"))
			panic("boom")
		case "/nostart":
		case "/1xx":
			w.Start("103 Early Hints", nil)
		case "/file":
			w.Start("200 OK", []HeaderField{{"Content-Length", "102400"}})
			f, _ := os.Open(tmp)
			defer f.Close()
			var n int64
			n, err = w.SendFile(f, 1000, 100<<10)
			if n != 100<<10 {
				err = fmt.Errorf("sent %d", n)
			}
		}
		errs <- err
	}, true)

	_, body := e.get("/cl")
	assert.Equal(t, "hello", body)
	assert.ErrorIs(t, <-errs, ErrContentLength)

	_, _, err := e.do("GET", "/short", nil)
	assert.Error(t, err, "fewer bytes than declared: stream reset")
	assert.NoError(t, <-errs)

	res, body := e.get("/final")
	assert.Equal(t, "all of it", body)
	assert.Equal(t, int64(9), res.ContentLength)
	assert.NoError(t, <-errs)

	res, body, err = e.do("HEAD", "/head", nil)
	require.NoError(t, err)
	assert.Empty(t, body)
	assert.Equal(t, int64(42), res.ContentLength)
	assert.NoError(t, <-errs)

	res, body = e.get("/204")
	assert.Equal(t, 204, res.StatusCode)
	assert.Empty(t, body)
	<-errs

	for _, p := range []string{"/abort", "/panic-late", "/1xx"} {
		_, _, err = e.do("GET", p, nil)
		assert.Error(t, err, "%s: the client sees the stream reset", p)
		<-errsOrNil(errs, p)
	}
	for _, p := range []string{"/abort-early", "/panic", "/nostart"} {
		res, body = e.get(p)
		assert.Equal(t, 500, res.StatusCode, p)
		assert.Equal(t, "Internal Server Error\n", body, p)
		<-errsOrNil(errs, p)
	}

	res, body = e.get("/file")
	assert.Equal(t, 100<<10, len(body))
	assert.NoError(t, <-errs)

	// All of it on one connection: a reset stream does not hurt the others.
	assert.Equal(t, int32(1), e.conns.Load())
}

// errsOrNil returns errs, or a closed channel for the paths whose handler
// panics before sending.
func errsOrNil(errs chan error, path string) <-chan error {
	if strings.HasPrefix(path, "/panic") {
		c := make(chan error)
		close(c)
		return c
	}
	return errs
}

func TestH2ConcurrentStreams(t *testing.T) {
	const n = 8
	var inside, peak atomic.Int32
	barrier := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(n)
	e := newH2Env(t, Config{}, func(w *ResponseWriter, r *Request) {
		v := inside.Add(1)
		for {
			p := peak.Load()
			if v <= p || peak.CompareAndSwap(p, v) {
				break
			}
		}
		arrived.Done()
		<-barrier // every stream is in its handler at once
		inside.Add(-1)
		okHandler(w, r)
	}, true)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			_, body := e.get(fmt.Sprintf("/%d", i))
			assert.Equal(t, "ok", body)
		})
	}
	arrived.Wait()
	assert.Equal(t, n, e.srv.ActiveRequests())
	close(barrier)
	wg.Wait()
	assert.Equal(t, int32(n), peak.Load())
	assert.Equal(t, int32(1), e.conns.Load(), "one connection")
	assert.Zero(t, e.srv.ActiveRequests())
}

func TestH2AccessLog(t *testing.T) {
	var mu sync.Mutex
	var entries []AccessEntry
	e := newH2Env(t, Config{LimitRequestBody: 10, AccessLog: func(a *AccessEntry) {
		mu.Lock()
		entries = append(entries, AccessEntry{Request: &Request{Method: a.Request.Method, Path: a.Request.Path,
			Proto: a.Request.Proto}, Status: a.Status, BodySent: a.BodySent, Duration: a.Duration})
		mu.Unlock()
	}}, okHandler, true)
	e.get("/x")
	res, _, err := e.do("POST", "/y", strings.NewReader("more than ten bytes"))
	require.NoError(t, err)
	assert.Equal(t, 413, res.StatusCode)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, entries, 2)
	assert.Equal(t, "GET /x HTTP/2.0", entries[0].Request.Method+" "+entries[0].Request.Path+" "+entries[0].Request.Proto)
	assert.Equal(t, 200, entries[0].Status)
	assert.Equal(t, int64(2), entries[0].BodySent)
	assert.Equal(t, 413, entries[1].Status)
}

func TestH2WriteTimeout(t *testing.T) {
	errc := make(chan error, 1)
	e := newH2Env(t, Config{WriteTimeout: 200 * time.Millisecond}, func(w *ResponseWriter, r *Request) {
		if r.Path == "/small" {
			okHandler(w, r)
			return
		}
		w.Start("200 OK", nil)
		chunk := make([]byte, 256<<10)
		for i := 0; i < 400; i++ { // 100 MiB: far more than the client's windows
			if _, err := w.Write(chunk); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}, true)
	res, err := e.client.Get(e.base + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	// The client reads nothing more: the handler's Write must fail.
	select {
	case err := <-errc:
		assert.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Write did not time out")
	}
	assert.Zero(t, e.srv.ActiveRequests())
	// Only the stream was reset: the connection serves on.
	_, body := e.get("/small")
	assert.Equal(t, "ok", body)
	assert.Equal(t, int32(1), e.conns.Load())
}

func TestH2OnlyWithALPN(t *testing.T) {
	// HTTP/1.1 on the same TLS listener when ALPN picks http/1.1, and no
	// h2 at all when H2 is off.
	for _, h2on := range []bool{true, false} {
		t.Run(fmt.Sprint("H2=", h2on), func(t *testing.T) {
			l := listen(t, "tcp", "127.0.0.1:0")
			var proto atomic.Value
			serveReal(t, Config{H2: h2on, TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}},
				func(w *ResponseWriter, r *Request) {
					proto.Store(fmt.Sprint(r.Proto, " ", r.TLS))
					okHandler(w, r)
				}, l)
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
			defer tr.CloseIdleConnections()
			res, err := (&http.Client{Transport: tr}).Get("https://" + l.Addr().String() + "/")
			require.NoError(t, err)
			res.Body.Close()
			assert.Equal(t, "HTTP/1.1", res.Proto)
			assert.Equal(t, "HTTP/1.1 true", proto.Load())

			c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
			require.NoError(t, err)
			want := "http/1.1"
			if h2on {
				want = "h2"
			}
			assert.Equal(t, want, c.ConnectionState().NegotiatedProtocol)
			c.Close()
		})
	}
}

func TestH2CAndHTTP1(t *testing.T) {
	// With H2C, a cleartext listener serves both: HTTP/1.x requests that
	// start like the preface ("P...") or are shorter than it are not held.
	e := newH2Env(t, Config{}, echoHandler, false)
	_, body := e.get("/h2c")
	assert.Equal(t, "GET /h2c? "+e.addr+"|", body)
	for _, raw := range []string{
		"PUT /p HTTP/1.0\r\n\r\n", // 19 bytes < preface
		"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
		"PRI /p HTTP/1.0\r\n\r\n", // a prefix of the preface, then not
	} {
		c, err := net.Dial("tcp", e.addr)
		require.NoError(t, err)
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte(raw))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, raw)
		b, _ := io.ReadAll(res.Body)
		assert.Equal(t, 200, res.StatusCode, raw)
		assert.Contains(t, string(b), "/p?", raw)
		c.Close()
	}
	// Without H2C the preface is just a bad HTTP/1.x request.
	ts := newTestServer(t, Config{}, nil)
	out := ts.do(h2Preface)
	assert.Equal(t, 505, statusOf(t, out))
}

func TestH2Shutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var states sync.Map
	// A long keep-alive: the connection must close because of the GOAWAY,
	// not because it went idle.
	e := newH2Env(t, Config{KeepAliveTimeout: time.Minute, ConnState: func(c net.Conn, s ConnState) {
		v, _ := states.LoadOrStore(c, &[]ConnState{})
		*v.(*[]ConnState) = append(*v.(*[]ConnState), s)
	}}, func(w *ResponseWriter, r *Request) {
		if r.Path == "/slow" {
			w.Start("200 OK", nil)
			w.Write([]byte("started "))
			close(entered)
			<-release
			w.Write([]byte("finished"))
			return
		}
		okHandler(w, r)
	}, true)
	e.get("/warm")

	got := make(chan string, 1)
	go func() {
		_, body, err := e.do("GET", "/slow", nil)
		if err != nil {
			body = err.Error()
		}
		got <- body
	}()
	<-entered
	shut := make(chan error, 1)
	go func() { shut <- e.srv.Shutdown(context.Background()) }()
	select {
	case <-shut:
		t.Fatal("Shutdown returned with an active stream")
	case <-time.After(300 * time.Millisecond):
	}
	assert.Equal(t, 1, e.srv.ActiveRequests())
	// After the GOAWAY the client opens no new stream on this connection.
	_, _, err := e.do("GET", "/new", nil)
	assert.Error(t, err, "new request after shutdown began")

	close(release)
	assert.Equal(t, "started finished", <-got)
	select {
	case err := <-shut:
		assert.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	n := 0
	states.Range(func(_, v any) bool {
		n++
		assert.Equal(t, []ConnState{StateNew, StateActive, StateClosed}, *v.(*[]ConnState))
		return true
	})
	assert.Equal(t, 1, n)
}

func TestH2CloseForces(t *testing.T) {
	entered := make(chan struct{})
	e := newH2Env(t, Config{}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		w.Write([]byte("x"))
		close(entered)
		for {
			if _, err := w.Write([]byte("y")); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}, false)
	errc := make(chan error, 1)
	go func() {
		_, _, err := e.do("GET", "/", nil)
		errc <- err
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, e.srv.Shutdown(ctx), context.DeadlineExceeded)
	err := <-errc
	assert.Error(t, err)
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}

func TestH2ShutdownIdle(t *testing.T) {
	// An idle connection gets a GOAWAY and is closed (x/net gives the
	// client a second to read the GOAWAY first).
	e := newH2Env(t, Config{KeepAliveTimeout: time.Minute}, okHandler, false)
	e.get("/")
	start := time.Now()
	require.NoError(t, e.srv.Shutdown(context.Background()))
	assert.Less(t, time.Since(start), 3*time.Second)
}

// An HTTP/2 connection lasts from its start (Config.KeptConns), over TLS
// and over h2c, until it closes.
func TestH2ConnectionCountsAsKept(t *testing.T) {
	for _, useTLS := range []bool{true, false} {
		var kept atomic.Int32
		seen := make(chan int32, 1)
		e := newH2Env(t, Config{KeptConns: func(d int) { kept.Add(int32(d)) }}, func(w *ResponseWriter, r *Request) {
			seen <- kept.Load()
			okHandler(w, r)
		}, useTLS)
		e.get("/")
		assert.Equal(t, int32(1), <-seen, "tls %v: counted while its first stream runs", useTLS)
		e.tr.CloseIdleConnections()
		require.Eventually(t, func() bool { return kept.Load() == 0 }, 3*time.Second, time.Millisecond,
			"tls %v: uncounted when it closes", useTLS)
	}
}
