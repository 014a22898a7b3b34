package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPair returns the two ends of a loopback TCP connection: the accepted
// one (the server's) and the dialled one.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close(); c.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

func rawOf(t *testing.T, c net.Conn) *rawSocket {
	t.Helper()
	rc := rawConnOf(c)
	require.NotNil(t, rc)
	return &rawSocket{rc: rc}
}

func TestRawSocketReadsWritesAndSeesEOF(t *testing.T) {
	s, c := tcpPair(t)
	raw := rawOf(t, s)

	go c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	buf := make([]byte, 64)
	n, err := raw.Read(buf) // parks until the bytes arrive
	require.NoError(t, err)
	assert.Equal(t, "GET / HTTP/1.1\r\n\r\n", string(buf[:n]))

	n, err = raw.Write([]byte("HTTP/1.1 200 OK\r\n"))
	require.NoError(t, err)
	assert.Equal(t, 17, n)
	v := net.Buffers{[]byte("Content-Length: 2\r\n\r\n"), nil, []byte("ok")}
	m, err := raw.WriteBuffers(&v)
	require.NoError(t, err)
	assert.EqualValues(t, 23, m)
	assert.Empty(t, v, "the buffers are consumed, as net.Buffers.WriteTo does")

	got := make([]byte, 40)
	_, err = io.ReadFull(c, got)
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", string(got))

	require.NoError(t, c.CloseWrite())
	n, err = raw.Read(buf)
	assert.Equal(t, 0, n)
	assert.Equal(t, io.EOF, err)
}

func TestRawSocketReadHonoursDeadline(t *testing.T) {
	s, _ := tcpPair(t)
	raw := rawOf(t, s)
	require.NoError(t, s.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, err := raw.Read(make([]byte, 16))
	var ne net.Error
	require.True(t, errors.As(err, &ne), "error %v", err)
	assert.True(t, ne.Timeout())
}

// A client that does not read fills the socket buffers: the raw write
// must then wait for room (EAGAIN, parked in the poller), time out at the
// write deadline with what it wrote counted, and finish once the client
// reads again.
func TestRawSocketWriteWaitsForRoomAndHonoursDeadline(t *testing.T) {
	s, c := tcpPair(t)
	require.NoError(t, s.SetWriteBuffer(4096))
	require.NoError(t, c.SetReadBuffer(4096))
	raw := rawOf(t, s)

	chunk := bytes.Repeat([]byte("x"), rawWriteMax)
	require.NoError(t, s.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
	var sent int64
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		var n int
		if i%2 == 0 {
			n, err = raw.Write(chunk)
		} else {
			v := net.Buffers{chunk[:100], chunk[100:]}
			var m int64
			m, err = raw.WriteBuffers(&v)
			n = int(m)
		}
		sent += int64(n)
	}
	var ne net.Error
	require.True(t, errors.As(err, &ne), "the writes should have timed out, got %v", err)
	require.True(t, ne.Timeout())
	require.Positive(t, sent)

	// The client reads everything; a write with no deadline completes.
	require.NoError(t, s.SetWriteDeadline(time.Time{}))
	read := make(chan int64)
	go func() {
		n, _ := io.Copy(io.Discard, c)
		read <- n
	}()
	v := net.Buffers{chunk, chunk[:10]}
	m, err := raw.WriteBuffers(&v) // more than one socket buffer: waits for room
	require.NoError(t, err)
	assert.EqualValues(t, rawWriteMax+10, m)
	n, err := raw.Write(chunk)
	require.NoError(t, err)
	assert.Equal(t, rawWriteMax, n)
	s.Close()
	assert.Equal(t, sent+m+int64(n), <-read, "every byte reported written arrived")
}

func TestRawSocketWriteReportsAClosedPeer(t *testing.T) {
	s, c := tcpPair(t)
	raw := rawOf(t, s)
	require.NoError(t, c.SetLinger(0))
	c.Close() // RST: the next writes fail
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = raw.Write([]byte("data"))
		time.Sleep(time.Millisecond)
	}
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE), "got %v", err)
}

func TestRawConnOnlyForPlainSockets(t *testing.T) {
	s, _ := tcpPair(t)
	assert.NotNil(t, rawConnOf(s), "TCP")

	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer ln.Close()
	uc, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer uc.Close()
	assert.NotNil(t, rawConnOf(uc), "unix")

	assert.Nil(t, rawConnOf(tls.Client(s, &tls.Config{})), "TLS: bytes on the socket are not the stream")
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	assert.Nil(t, rawConnOf(p1), "no file descriptor")
}

func TestNewConnUsesTheRawPathForTCPOnly(t *testing.T) {
	srv := New(Config{}, nil)
	s, _ := tcpPair(t)
	c := newConn(srv, s)
	assert.NotNil(t, c.raw.rc)
	c.release()
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	c = newConn(srv, p1)
	assert.Nil(t, c.raw.rc, "a pooled conn must not keep the previous socket")
	c.release()
}

func TestConsumeBuffers(t *testing.T) {
	v := net.Buffers{[]byte("abc"), []byte("de"), []byte("fgh")}
	consumeBuffers(&v, 4)
	assert.Equal(t, net.Buffers{[]byte("e"), []byte("fgh")}, v)
	consumeBuffers(&v, 4)
	assert.Empty(t, v)
	assert.Equal(t, 0, buffersLen(v))
	assert.Equal(t, 5, buffersLen(net.Buffers{[]byte("ab"), nil, []byte("cde")}))
}
