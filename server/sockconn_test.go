package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// fastPair listens on addr through fastAccept, dials it and returns both
// ends of the accepted connection.
func fastPair(t *testing.T, network, addr, dial string) (*sockListener, net.Conn, *sockConn) {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s on this machine: %v", network, err)
	}
	sl, ok := fastAccept(l).(*sockListener)
	require.True(t, ok, "a TCP listener accepts through sockListener")
	t.Cleanup(func() { sl.Close() })
	_, port, _ := net.SplitHostPort(l.Addr().String())
	client, err := net.Dial(network, net.JoinHostPort(dial, port))
	require.NoError(t, err)
	t.Cleanup(func() { client.Close() })
	c, err := sl.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	sc, ok := c.(*sockConn)
	require.True(t, ok, "got %T", c)
	return sl, client, sc
}

// Accepted sockets inherit from the listening socket the options the
// standard library would set on each: no delay, keep-alive probes.
func TestFastAcceptedSocketsHaveNoDelayAndKeepAlive(t *testing.T) {
	for _, tc := range []struct{ network, listen, dial string }{
		{"tcp4", "127.0.0.1:0", "127.0.0.1"},
		{"tcp4", "0.0.0.0:0", "127.0.0.1"}, // wildcard: the address dialled
		{"tcp6", "[::1]:0", "::1"},
	} {
		_, client, c := fastPair(t, tc.network, tc.listen, tc.dial)
		assert.Equal(t, client.LocalAddr().String(), c.RemoteAddr().String(), tc.listen)
		assert.Equal(t, client.RemoteAddr().String(), c.LocalAddr().String(), tc.listen)
		rc, err := c.SyscallConn()
		require.NoError(t, err)
		require.NoError(t, rc.Control(func(fd uintptr) {
			for _, o := range []struct {
				name       string
				level, opt int
				want       int
			}{
				{"TCP_NODELAY", unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
				{"SO_KEEPALIVE", unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
				{"TCP_KEEPIDLE", unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepAliveIdle},
				{"TCP_KEEPINTVL", unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, keepAliveInterval},
				{"TCP_KEEPCNT", unix.IPPROTO_TCP, unix.TCP_KEEPCNT, keepAliveCount},
			} {
				v, err := unix.GetsockoptInt(int(fd), o.level, o.opt)
				assert.NoError(t, err)
				assert.Equal(t, o.want, v, "%s %s", tc.listen, o.name)
			}
		}))
	}
}

// Accept honours the listener's deadline (the gate's short accept) and a
// Close from another goroutine ends it with net.ErrClosed.
func TestFastAcceptDeadlineAndClose(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	sl := fastAccept(l).(*sockListener)
	require.NoError(t, sl.SetDeadline(time.Now().Add(20*time.Millisecond)))
	_, err = sl.Accept()
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, sl.SetDeadline(time.Time{}))

	got := make(chan error, 1)
	go func() { _, err := sl.Accept(); got <- err }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, sl.Close())
	select {
	case err := <-got:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not end Accept")
	}
}

// The accept gate's queue waits on the sockListener's pollable duplicate
// instead of making one more: a wait ends when a client is queued (and the
// connection is still there to accept), and closing the listener ends a
// wait.
func TestAcceptQueueWaitsOnTheSockListenersDuplicate(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	sl := fastAccept(l).(*sockListener)
	defer sl.Close()
	q := newAcceptQueue(sl)

	waited := make(chan error, 1)
	go func() { waited <- q.wait() }()
	time.Sleep(20 * time.Millisecond)
	client, err := net.Dial("tcp4", l.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	select {
	case err := <-waited:
		require.NoError(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("a queued connection did not end the wait")
	}
	assert.Nil(t, q.watch, "no second duplicate of the listening socket")
	assert.True(t, q.queued())
	c, err := sl.Accept()
	require.NoError(t, err)
	c.Close()
	assert.False(t, q.queued())

	go func() { waited <- q.wait() }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, sl.Close())
	select {
	case err := <-waited:
		assert.Error(t, err)
	case <-time.After(3 * time.Second):
		t.Fatal("closing the listener did not end the wait")
	}
	q.close() // owns nothing: must not fail
}

// A unix listener is served as it is.
func TestFastAcceptLeavesUnixListenersAlone(t *testing.T) {
	l, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	require.NoError(t, err)
	defer l.Close()
	assert.Same(t, l, fastAccept(l))
}

// sockConn reports errors as net.TCPConn does: timeouts are net.Errors,
// a closed connection net.ErrClosed; CloseWrite sends EOF.
func TestSockConnErrorsAndCloseWrite(t *testing.T) {
	_, client, c := fastPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.NoError(t, c.SetReadDeadline(time.Time{}))

	_, err = client.Write([]byte("ping"))
	require.NoError(t, err)
	buf := make([]byte, 4)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(buf))
	_, err = c.Write([]byte("pong"))
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	client.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(client)
	require.NoError(t, err, "the client sees EOF after CloseWrite")
	assert.Equal(t, "pong", string(b))

	require.NoError(t, c.Close())
	_, err = c.Read(buf)
	assert.ErrorIs(t, err, net.ErrClosed)
	_, err = c.Write(buf)
	assert.ErrorIs(t, err, net.ErrClosed)
}

// ReadFrom sends exactly a LimitedReader's bytes of a file from its
// offset (sendfile), leaving the reader's N and the file's offset where
// a copy would, and copies any other reader.
func TestSockConnReadFromFile(t *testing.T) {
	_, client, c := fastPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	const off, n = 1000, 2<<20 + 17
	_, err = f.Seek(off, io.SeekStart)
	require.NoError(t, err)

	got := make(chan []byte, 1)
	go func() {
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(client)
		got <- b
	}()
	lr := &io.LimitedReader{R: f, N: n}
	sent, err := c.ReadFrom(lr)
	require.NoError(t, err)
	assert.Equal(t, int64(n), sent)
	assert.Zero(t, lr.N)
	pos, _ := f.Seek(0, io.SeekCurrent)
	assert.Equal(t, int64(off+n), pos)

	sent, err = c.ReadFrom(bytes.NewReader([]byte("tail")))
	require.NoError(t, err)
	assert.Equal(t, int64(4), sent)
	require.NoError(t, c.Close())
	b := <-got
	require.Len(t, b, n+4)
	assert.True(t, bytes.Equal(data[off:off+n], b[:n]), "file bytes")
	assert.Equal(t, "tail", string(b[n:]))
}

// A sendfile to a client that went away reports the error.
func TestSockConnReadFromBrokenPipe(t *testing.T) {
	_, client, c := fastPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	require.NoError(t, client.(*net.TCPConn).SetLinger(0))
	client.Close()
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, make([]byte, 8<<20), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(5*time.Second)))
	_, err = c.ReadFrom(&io.LimitedReader{R: f, N: 8 << 20})
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET), "%v", err)
}

// A connection whose request is already queued and whose response fits
// the socket buffer is read, answered and closed with direct system calls:
// it never enters the runtime's poller (no fcntl, no epoll_ctl).
func TestSockConnServedWithoutWaitingStaysOutOfThePoller(t *testing.T) {
	_, client, c := fastPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	_, err := client.Write([]byte("ping"))
	require.NoError(t, err)
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	rs := &rawSocket{rc: rc}
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 16)
	var n int
	require.Eventually(t, func() bool { // the bytes may still be in flight on loopback
		n, err = rs.Read(buf)
		return n > 0 || err != nil
	}, 5*time.Second, time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, "ping", string(buf[:n]))
	_, err = rs.Write([]byte("pong"))
	require.NoError(t, err)
	assert.Nil(t, c.polled.Load(), "nothing waited: the socket is not in the poller")
	require.NoError(t, c.Close())

	client.SetReadDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(client)
	require.NoError(t, err)
	assert.Equal(t, "pong", string(b))
	_, err = rs.Read(buf)
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.ErrorIs(t, c.Close(), net.ErrClosed)
}

// A read with nothing queued enters the poller and waits there, under the
// deadline set before it; a deadline already past fails at once; Close
// from another goroutine ends a wait.
func TestSockConnWaitsInThePollerWithItsDeadlines(t *testing.T) {
	_, client, c := fastPair(t, "tcp4", "127.0.0.1:0", "127.0.0.1")
	rc, err := c.SyscallConn()
	require.NoError(t, err)
	rs := &rawSocket{rc: rc}
	buf := make([]byte, 16)

	require.NoError(t, c.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err = rs.Read(buf)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Nil(t, c.polled.Load(), "a past deadline fails before any system call")

	start := time.Now()
	require.NoError(t, c.SetReadDeadline(start.Add(50*time.Millisecond)))
	_, err = rs.Read(buf)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.GreaterOrEqual(t, time.Since(start), 40*time.Millisecond, "waited for the deadline")
	require.NotNil(t, c.polled.Load(), "the wait entered the poller")

	require.NoError(t, c.SetReadDeadline(time.Time{}))
	go func() {
		time.Sleep(20 * time.Millisecond)
		client.Write([]byte("x"))
	}()
	n, err := rs.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "x", string(buf[:n]))

	done := make(chan error, 1)
	go func() { _, err := c.Read(buf); done <- err }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, c.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, net.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the wait")
	}
}

func TestSockListenerReturnsAConnectionAcceptedAsItCloses(t *testing.T) {
	sl, ok := fastAccept(listen(t, "tcp", "127.0.0.1:0")).(*sockListener)
	require.True(t, ok)
	defer sl.Close()
	client, err := net.Dial("tcp", sl.Addr().String())
	require.NoError(t, err)
	defer client.Close()

	// Close landing between accept4 and the check after it: the flag is
	// set, the socket still open, a connection queued.
	sl.closed.Store(true)
	c, err := sl.Accept()
	require.NoError(t, err, "the connection has left the queue the workers share: it must be served, not dropped")
	defer c.Close()
	_, err = client.Write([]byte("x"))
	require.NoError(t, err)
	buf := make([]byte, 1)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err)
	assert.Equal(t, "x", string(buf))

	// Closed for real, with nothing accepted, it says so.
	require.NoError(t, sl.Close())
	_, err = sl.Accept()
	assert.ErrorIs(t, err, net.ErrClosed)
}
