package server

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeouts(t *testing.T) {
	t.Run("slow head → 408", func(t *testing.T) {
		ts := newTestServer(t, Config{ReadHeaderTimeout: 150 * time.Millisecond}, nil)
		c := ts.dial()
		start := time.Now()
		c.Write([]byte("GET / HTTP/1.1\r\nHost: a\r\n"))
		out := readAll(t, c)
		assert.Less(t, time.Since(start), 2*time.Second)
		rs := parseResponses(t, out)
		require.Len(t, rs, 1)
		assert.Equal(t, 408, rs[0].StatusCode)
		assert.Zero(t, ts.calls.Load())
	})
	t.Run("slowloris dribbling bytes → 408", func(t *testing.T) {
		ts := newTestServer(t, Config{ReadHeaderTimeout: 200 * time.Millisecond}, nil)
		c := ts.dial()
		done := make(chan string)
		go func() { done <- readAll(t, c) }()
		start := time.Now()
	loop:
		for _, b := range []byte("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
			select {
			case out := <-done:
				assert.Equal(t, 408, statusOf(t, out))
				break loop
			case <-time.After(20 * time.Millisecond):
				c.Write([]byte{b})
			}
		}
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("no request on a new connection: silent close", func(t *testing.T) {
		ts := newTestServer(t, Config{ReadHeaderTimeout: 100 * time.Millisecond}, nil)
		c := ts.dial()
		assert.Empty(t, readAll(t, c))
	})
	t.Run("keep-alive idle: silent close", func(t *testing.T) {
		ts := newTestServer(t, Config{KeepAliveTimeout: 100 * time.Millisecond}, nil)
		c := ts.dial()
		c.Write([]byte(get))
		start := time.Now()
		out := readAll(t, c)
		assert.Less(t, time.Since(start), 2*time.Second)
		rs := parseResponses(t, out)
		require.Len(t, rs, 1)
		assert.False(t, rs[0].Close, "the response itself was keep-alive")
	})
	t.Run("body read timeout in handler", func(t *testing.T) {
		errc := make(chan error, 1)
		ts := newTestServer(t, Config{BodyPrefetch: -1, BodyReadTimeout: 100 * time.Millisecond}, func(w *ResponseWriter, r *Request) {
			_, err := io.ReadAll(r.Body)
			errc <- err
			w.Start("400 Bad Request", nil)
		})
		c := ts.dial()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello"))
		select {
		case err := <-errc:
			assert.ErrorIs(t, err, ErrBodyTimeout)
		case <-time.After(3 * time.Second):
			t.Fatal("no timeout")
		}
		rs := parseResponses(t, readAll(t, c))
		require.Len(t, rs, 1)
		assert.True(t, rs[0].Close)
	})
	t.Run("prefetch timeout → 408, no handler", func(t *testing.T) {
		ts := newTestServer(t, Config{BodyReadTimeout: 100 * time.Millisecond}, nil)
		c := ts.dial()
		c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"))
		assert.Equal(t, 408, statusOf(t, readAll(t, c)))
		assert.Zero(t, ts.calls.Load())
	})
	t.Run("write timeout frees the handler", func(t *testing.T) {
		errc := make(chan error, 1)
		ts := newTestServer(t, Config{WriteTimeout: 150 * time.Millisecond}, func(w *ResponseWriter, r *Request) {
			w.Start("200 OK", nil)
			chunk := make([]byte, 64<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					errc <- err
					return
				}
			}
		})
		c, s := ts.ln.Dial()
		defer c.Close()
		s.w.mu.Lock()
		s.w.limit = 256 << 10 // a client that stops reading: the "socket buffer" fills
		s.w.mu.Unlock()
		c.Write([]byte(get))
		start := time.Now()
		select {
		case err := <-errc:
			assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
			assert.Less(t, time.Since(start), time.Second)
		case <-time.After(3 * time.Second):
			t.Fatal("Write did not time out")
		}
	})
}

func TestWriteAfterClientGone(t *testing.T) {
	errc := make(chan error, 1)
	wrote := make(chan struct{})
	ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		_, err := w.Write([]byte("first"))
		require.NoError(t, err)
		close(wrote)
		for i := 0; i < 100; i++ {
			if _, err = w.Write([]byte("more")); err != nil {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		errc <- err
		_, err2 := w.Write([]byte("again"))
		assert.ErrorIs(t, err2, err, "sticky")
	})
	c := ts.dial()
	c.Write([]byte(get))
	<-wrote
	c.Close()
	assert.Error(t, <-errc)
}

func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	var mu sync.Mutex
	states := map[net.Conn][]ConnState{}
	cfg := Config{ConnState: func(c net.Conn, s ConnState) {
		mu.Lock()
		states[c] = append(states[c], s)
		mu.Unlock()
	}}
	ts := newTestServer(t, cfg, func(w *ResponseWriter, r *Request) {
		if r.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		okHandler(w, r)
	})
	// An idle keep-alive connection.
	idle, idleSrv := ts.ln.Dial()
	idle.Write([]byte(get))
	readUntil(t, idle, "ok")
	// A brand-new connection that has not sent anything.
	fresh, freshSrv := ts.ln.Dial()
	// An active request.
	busy, busySrv := ts.ln.Dial()
	busy.Write([]byte("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n"))
	<-entered
	assert.Equal(t, 1, ts.srv.ActiveRequests())

	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()

	// Idle and new connections are closed once they have been quiet for the
	// shutdown grace.
	assert.Empty(t, readAll(t, idle))
	assert.Empty(t, readAll(t, fresh))
	select {
	case <-shut:
		t.Fatal("Shutdown returned with an active request")
	case <-time.After(50 * time.Millisecond):
	}
	// A new Serve is refused.
	assert.ErrorIs(t, ts.srv.Serve(newMemListener()), ErrServerClosed)

	close(release)
	rs := parseResponses(t, readAll(t, busy))
	require.Len(t, rs, 1)
	assert.Equal(t, "ok", rs[0].Body)
	assert.True(t, rs[0].Close, "Connection: close during shutdown")
	select {
	case err := <-shut:
		assert.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return")
	}
	select {
	case err := <-ts.served:
		assert.ErrorIs(t, err, ErrServerClosed)
		ts.served <- err // for the cleanup
	case <-time.After(time.Second):
		t.Fatal("Serve did not return")
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []ConnState{StateNew, StateReading, StateActive, StateIdle, StateClosed}, states[idleSrv])
	assert.Equal(t, []ConnState{StateNew, StateClosed}, states[freshSrv])
	assert.Equal(t, []ConnState{StateNew, StateReading, StateActive, StateClosed}, states[busySrv])
}

func TestShutdownServesRequestArrivingOnIdleConn(t *testing.T) {
	// The keep-alive race of a graceful stop: the client sends its next
	// request just as Shutdown begins. It must be answered (with
	// Connection: close), not cut off.
	ts := newTestServer(t, Config{}, okHandler)
	c := ts.dial()
	c.Write([]byte(get))
	readUntil(t, c, "ok")
	shut := make(chan error, 1)
	go func() { shut <- ts.srv.Shutdown(context.Background()) }()
	time.Sleep(150 * time.Millisecond) // Shutdown has polled the idle conn at least once
	c.Write([]byte(get))
	rs := parseResponses(t, readAll(t, c))
	require.Len(t, rs, 1)
	assert.Equal(t, "ok", rs[0].Body)
	assert.True(t, rs[0].Close)
	select {
	case err := <-shut:
		assert.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

// lateListener's Accept waits until the listener is closed and then
// returns one connection: accept(2) succeeding as Shutdown closes the
// listener, the race of a worker stopped under load.
type lateListener struct {
	net.Listener
	conn   net.Conn
	closed chan struct{}
	once   sync.Once
	handed bool
}

func (l *lateListener) Accept() (net.Conn, error) {
	<-l.closed
	if l.handed {
		return nil, net.ErrClosed
	}
	l.handed = true
	time.Sleep(150 * time.Millisecond) // Shutdown has looked for connections by now
	return l.conn, nil
}

func (l *lateListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func TestShutdownServesConnectionAcceptedAsTheListenerCloses(t *testing.T) {
	inner := listen(t, "tcp", "127.0.0.1:0")
	defer inner.Close()
	client, err := net.Dial("tcp", inner.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server, err := inner.Accept()
	require.NoError(t, err)
	_, err = client.Write([]byte(get))
	require.NoError(t, err)

	l := &lateListener{Listener: inner, conn: server, closed: make(chan struct{})}
	srv := New(quietConfig(), HandlerFunc(okHandler))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	time.Sleep(20 * time.Millisecond) // Serve waits in Accept

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	// When Shutdown returns, a worker process exits: the response must
	// already be out, and the connection closed.
	client.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	out, _ := io.ReadAll(client)
	rs := parseResponses(t, string(out))
	require.Len(t, rs, 1, "response sent before Shutdown returned: %q", out)
	assert.Equal(t, "ok", rs[0].Body)
	assert.ErrorIs(t, <-served, ErrServerClosed)
}

func TestShutdownForceOnContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{}, 1)
	ts := newTestServer(t, Config{}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		w.Flush()
		entered <- struct{}{}
		<-release
	})
	c := ts.dial()
	c.Write([]byte(get))
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := ts.srv.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), time.Second)
	out := readAll(t, c) // force-closed
	assert.Contains(t, out, "200 OK")
}

// --- Real sockets ---

// serveTCP serves h on a loopback listener of the given network.
func serveReal(t *testing.T, cfg Config, h HandlerFunc, l net.Listener) *Server {
	t.Helper()
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = quietConfig().ErrorLog
	}
	srv := New(cfg, h)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		assert.ErrorIs(t, <-done, ErrServerClosed)
	})
	return srv
}

func listen(t *testing.T, network, addr string) net.Listener {
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s %s: %v", network, addr, err)
	}
	return l
}

func TestRealListeners(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ network, addr string }{
		{"tcp4", "127.0.0.1:0"},
		{"tcp6", "[::1]:0"},
		{"unix", filepath.Join(dir, "s.sock")},
	}
	for _, tc := range cases {
		t.Run(tc.network, func(t *testing.T) {
			l := listen(t, tc.network, tc.addr)
			// Handed over explicitly: the server's raw socket calls do not
			// tell the race detector that the response orders them.
			var remote atomic.Pointer[net.Addr]
			serveReal(t, Config{}, func(w *ResponseWriter, r *Request) {
				a := r.RemoteAddr // a copy: the Request is reused after the handler
				remote.Store(&a)
				echoHandler(w, r)
			}, l)
			tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, tc.network, l.Addr().String())
			}}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for i := 0; i < 3; i++ { // keep-alive: several requests, one connection
				res, err := client.Post("http://example/p?x=1", "text/plain", strings.NewReader("body"))
				require.NoError(t, err)
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				assert.Equal(t, "POST /p?x=1 example|body", string(b))
			}
			require.NotNil(t, remote.Load())
			assert.Equal(t, l.Addr().Network(), (*remote.Load()).Network())
		})
	}
}

func TestTLS(t *testing.T) {
	cert := selfSigned(t)
	l := listen(t, "tcp", "127.0.0.1:0")
	tl := tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})
	var isTLS bool
	serveReal(t, Config{}, func(w *ResponseWriter, r *Request) {
		isTLS = r.TLS
		echoHandler(w, r)
	}, tl)
	conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	require.NoError(t, err)
	defer conn.Close()
	conn.Write([]byte("GET /s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	assert.Equal(t, "GET /s? a|", string(b))
	assert.True(t, isTLS)
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestSendFile(t *testing.T) {
	data := make([]byte, 3<<20+123)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	h := func(w *ResponseWriter, r *Request) {
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		var hdr []HeaderField
		off := int64(100)
		if r.Path == "/cl" {
			hdr = []HeaderField{{"Content-Length", itoa(int64(len(data)) - off)}}
		}
		w.Start("200 OK", hdr)
		n, err := w.SendFile(f, off, -1)
		assert.NoError(t, err)
		assert.EqualValues(t, len(data)-100, n)
	}
	t.Run("TCP sendfile", func(t *testing.T) {
		l := listen(t, "tcp", "127.0.0.1:0")
		serveReal(t, Config{}, h, l)
		for _, path := range []string{"/cl", "/chunked"} {
			res, err := http.Get("http://" + l.Addr().String() + path)
			require.NoError(t, err)
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			require.NoError(t, err)
			assert.True(t, string(b) == string(data[100:]), path)
			assert.Equal(t, path == "/chunked", len(res.TransferEncoding) == 1)
		}
	})
	t.Run("in memory, HTTP/1.0 close-delimited", func(t *testing.T) {
		ts := newTestServer(t, Config{}, h)
		out := ts.do("GET /x HTTP/1.0\r\n\r\n")
		_, body, _ := strings.Cut(out, "\r\n\r\n")
		assert.True(t, body == string(data[100:]))
	})
}

func TestWriteTimeoutTCP(t *testing.T) {
	errc := make(chan error, 1)
	l := listen(t, "tcp", "127.0.0.1:0")
	serveReal(t, Config{WriteTimeout: 200 * time.Millisecond}, func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", nil)
		chunk := make([]byte, 256<<10)
		for i := 0; i < 400; i++ { // bounded: 100 MiB at most
			if _, err := w.Write(chunk); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}, l)
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	c.Write([]byte(get)) // and never read
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(5 * time.Second):
		t.Fatal("Write did not fail")
	}
}

func TestMaxConnections(t *testing.T) {
	l := listen(t, "tcp", "127.0.0.1:0")
	serveReal(t, Config{MaxConnections: 1}, okHandler, l)
	a, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer a.Close()
	a.Write([]byte(get))
	ar := bufio.NewReader(a)
	res, err := http.ReadResponse(ar, nil)
	require.NoError(t, err)
	io.ReadAll(res.Body)

	b, err := net.Dial("tcp", l.Addr().String()) // waits in the backlog
	require.NoError(t, err)
	defer b.Close()
	b.Write([]byte(get))
	b.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = b.Read(make([]byte, 1))
	require.Error(t, err, "second connection served while the first is open")
	assert.True(t, isTimeout(err))

	a.Close()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err = http.ReadResponse(bufio.NewReader(b), nil)
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
}

// A response with unread request body closes gracefully: the client still
// reads the whole response (no reset).
func TestCloseWithUnreadBodyTCP(t *testing.T) {
	l := listen(t, "tcp", "127.0.0.1:0")
	serveReal(t, Config{LimitRequestBody: 1000}, okHandler, l)
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	c.Write([]byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("x", 50000)))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	assert.Equal(t, 413, res.StatusCode)
}

func itoa(n int64) string { return string(appendInt(nil, n)) }

func appendInt(b []byte, n int64) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

// flakyListener fails Accept with the given errors first.
type flakyListener struct {
	*memListener
	mu   sync.Mutex
	errs []error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Unlock()
	return l.memListener.Accept()
}

func TestAcceptErrors(t *testing.T) {
	t.Run("temporary errors are retried", func(t *testing.T) {
		l := &flakyListener{memListener: newMemListener(),
			errs: []error{&net.OpError{Op: "accept", Err: syscall.EMFILE}, syscall.ECONNABORTED, syscall.ENFILE}}
		srv := New(quietConfig(), HandlerFunc(okHandler))
		done := make(chan error, 1)
		go func() { done <- srv.Serve(l) }()
		c, _ := l.Dial()
		c.Write([]byte(get))
		c.CloseWrite()
		out, err := io.ReadAll(c)
		require.NoError(t, err)
		assert.Contains(t, string(out), "200 OK")
		srv.Close()
		assert.ErrorIs(t, <-done, ErrServerClosed)
	})
	t.Run("permanent error is returned", func(t *testing.T) {
		l := &flakyListener{memListener: newMemListener(), errs: []error{errTest}}
		srv := New(quietConfig(), HandlerFunc(okHandler))
		assert.ErrorIs(t, srv.Serve(l), errTest)
	})
}

// When the accept gate gives way overdue (it held connections back and no
// sibling took them), the connections already queued are all accepted,
// the gate being told it is a drain; it is asked normally again only after
// an Accept has to wait. Without that, a queue of N connections would take
// N holds to drain.
func TestAcceptGateOverdueDrainsQueue(t *testing.T) {
	l := listen(t, "tcp", "127.0.0.1:0")
	const queued = 8
	var conns []net.Conn
	for range queued { // in the kernel's backlog before Serve starts
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		_, err = c.Write([]byte(get))
		require.NoError(t, err)
		conns = append(conns, c)
	}
	var calls, drainCalls, held atomic.Int32
	cfg := Config{AcceptGate: func(g Gate) (bool, bool) {
		if g.Draining {
			drainCalls.Add(1)
			return true, false
		}
		if calls.Add(1) == 1 {
			return true, true // overdue: drain what is queued
		}
		if g.Wait() == nil { // afterwards the gate holds every connection
			held.Add(1)
		}
		<-g.Done
		return false, false
	}}
	serveReal(t, cfg, okHandler, l)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, "queued connection %d", i)
		assert.Equal(t, 200, res.StatusCode)
	}
	// One call per queued connection after the first, and one before the
	// Accept that found the queue empty.
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, int32(queued), drainCalls.Load())
	// Then the gate is asked normally again and holds the next client.
	assert.Equal(t, int32(2), calls.Load())
	assert.Equal(t, int32(0), held.Load())
	late, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer late.Close()
	late.Write([]byte(get))
	late.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = late.Read(make([]byte, 1))
	assert.True(t, isTimeout(err), "a connection after the drain must wait for the gate")
	assert.Equal(t, int32(1), held.Load())
}

// A gate can wait for a connection to be queued and see whether it still
// is; a connection taken elsewhere meanwhile (here: by a second server on
// the same listener) leaves the first server waiting for the next one
// instead of blocked in Accept.
func TestAcceptGateIsAskedAboutAQueuedConnection(t *testing.T) {
	l := listen(t, "tcp", "127.0.0.1:0")
	asked := make(chan Gate, 4)
	release := make(chan bool)
	gated := Config{AcceptGate: func(g Gate) (bool, bool) {
		if g.Wait() != nil {
			return false, false
		}
		asked <- g
		select {
		case ok := <-release:
			return ok, false
		case <-g.Done:
			return false, false
		}
	}}
	serveReal(t, gated, okHandler, l)
	quiet := func(msg string) {
		select {
		case <-asked:
			t.Fatal(msg)
		case <-time.After(50 * time.Millisecond):
		}
	}
	dialAsked := func(msg string) (net.Conn, Gate) {
		c, err := net.Dial("tcp", l.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		select {
		case g := <-asked:
			return c, g
		case <-time.After(5 * time.Second):
			t.Fatal(msg)
		}
		return nil, Gate{}
	}

	quiet("Wait returned with no connection queued")
	_, g := dialAsked("Wait did not return for a queued connection")
	assert.True(t, g.Queued())

	// A sibling takes it while the gate holds.
	other, err := l.Accept()
	require.NoError(t, err)
	defer other.Close()
	assert.False(t, g.Queued(), "the gate must see that the connection is gone")
	release <- true
	quiet("Wait returned again without a queued connection")

	// The next connection reaches the gate, and is served once it opens.
	c2, g := dialAsked("the server stopped watching the queue")
	assert.True(t, g.Queued())
	release <- true
	c2.Write([]byte(get))
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c2), nil)
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
}

// KeptConns counts the connections that last: one from its first keep-alive
// until it closes; one that closes after its response (Connection: close,
// HTTP/1.0 without keep-alive, a refused head) never.
func TestKeptConnsCountsConnectionsKeptAlive(t *testing.T) {
	var kept atomic.Int32
	seen := make(chan int32, 8) // the count while the handler runs
	ts := newTestServer(t, Config{KeptConns: func(d int) { kept.Add(int32(d)) }},
		func(w *ResponseWriter, r *Request) {
			seen <- kept.Load()
			okHandler(w, r)
		})
	eventually := func(want int32, msg string) {
		t.Helper()
		require.Eventually(t, func() bool { return kept.Load() == want }, 3*time.Second, time.Millisecond,
			"%s: count %d, want %d", msg, kept.Load(), want)
	}

	c := ts.dial()
	c.Write([]byte(get))
	readUntil(t, c, "ok")
	assert.Equal(t, int32(0), <-seen, "not counted before its first response")
	eventually(1, "kept alive after its response")
	c.Write([]byte(get))
	readUntil(t, c, "ok")
	assert.Equal(t, int32(1), <-seen)
	eventually(1, "counted once, however many requests")

	ts.do("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	ts.do("GET / HTTP/1.0\r\n\r\n")
	ts.do("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n") // refused head
	assert.Equal(t, int32(1), <-seen)
	assert.Equal(t, int32(1), <-seen)
	ts.do("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	assert.Equal(t, int32(1), <-seen)
	assert.Equal(t, int32(2), <-seen, "a pipelined connection counts from its first keep-alive")
	eventually(1, "uncounted when it closes after its last request")

	c.Close()
	eventually(0, "uncounted when the client closes it")
}

// The pendingWindow timer's callback may run after its connection closed,
// was released and its pooled conn reused: it must neither crash (the
// released conn has no server) nor clear the next connection's count.
func TestLatePendingTimerLeavesTheNextConnectionAlone(t *testing.T) {
	srv := New(Config{}, nil)
	p1, p2 := net.Pipe()
	defer p2.Close()
	c := newConn(srv, p1)
	c.markPending()
	late := c.pending
	c.pendingTimer.Stop() // as if it had fired already: its callback is "late"
	c.close()
	c.release()
	assert.Zero(t, srv.pending.Load())

	q1, q2 := net.Pipe()
	defer q1.Close()
	defer q2.Close()
	next := newConn(srv, q1)
	next.markPending()
	require.NotPanics(t, late.clear)
	assert.Equal(t, int32(1), srv.pending.Load(), "the next connection is still pending")
	next.unpend()
	assert.Zero(t, srv.pending.Load())
	next.release()
}

// ShedKept is asked before each response on a kept connection (not on its
// first, which is not kept yet); true makes that response the last, with
// Connection: close, and the server closes the connection after it.
func TestShedKeptEndsAKeptConnectionAfterItsResponse(t *testing.T) {
	var asked, shed atomic.Int32
	ts := newTestServer(t, Config{
		KeptConns: func(int) {},
		ShedKept: func() bool {
			asked.Add(1)
			return shed.Load() == 1
		},
	}, okHandler)
	c := ts.dial()
	c.Write([]byte(get))
	first := readUntil(t, c, "ok")
	assert.NotContains(t, first, "Connection: close")
	assert.Zero(t, asked.Load(), "the first response is on a connection not kept yet")
	c.Write([]byte(get))
	readUntil(t, c, "ok")
	assert.Equal(t, int32(1), asked.Load())

	shed.Store(1)
	c.Write([]byte(get))
	last := readUntil(t, c, "ok")
	assert.Contains(t, last, "Connection: close")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the server closed the connection after it")

	// Pipelined: the second request is already there when the first is
	// answered, so the first does not end the connection.
	c = ts.dial()
	c.Write([]byte(get))
	readUntil(t, c, "ok")
	c.Write([]byte(get + get))
	both := readUntil(t, c, "ok")
	for strings.Count(both, "ok") < 2 {
		both += readUntil(t, c, "ok")
	}
	assert.Equal(t, 1, strings.Count(both, "Connection: close"), "only the last of the pipelined responses closes")
}
