package server

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// memPipe is one direction of a memConn: an unbounded buffer with close and
// deadline support. Unlike net.Pipe, writes never wait for the reader, so a
// test client can write a whole request and then read.
type memPipe struct {
	mu      sync.Mutex
	buf     []byte
	closed  bool          // writer closed: EOF after buf
	changed chan struct{} // closed and replaced on every change
	limit   int           // if > 0, writes block while len(buf) >= limit
}

func newMemPipe() *memPipe { return &memPipe{changed: make(chan struct{})} }

func (p *memPipe) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// memConn is an in-memory net.Conn with deadlines, Close and CloseWrite.
type memConn struct {
	r, w       *memPipe
	local      net.Addr
	remote     net.Addr
	mu         sync.Mutex
	rdl, wdl   time.Time
	closed     chan struct{}
	closeOnce  sync.Once
	peerClosed chan struct{}
	writes     int // number of Write calls (syscall proxy)
}

type memAddr string

func (a memAddr) Network() string { return "mem" }
func (a memAddr) String() string  { return string(a) }

// memConnPair returns the client and server ends of a connection.
func memConnPair() (client, server *memConn) {
	a, b := newMemPipe(), newMemPipe()
	cc := make(chan struct{})
	sc := make(chan struct{})
	client = &memConn{r: b, w: a, local: memAddr("client"), remote: memAddr("server"), closed: cc, peerClosed: sc}
	server = &memConn{r: a, w: b, local: memAddr("server"), remote: memAddr("client"), closed: sc, peerClosed: cc}
	return
}

func (c *memConn) deadline(read bool) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if read {
		return c.rdl
	}
	return c.wdl
}

func waitChan(dl time.Time) (<-chan time.Time, func()) {
	if dl.IsZero() {
		return nil, func() {}
	}
	t := time.NewTimer(time.Until(dl))
	return t.C, func() { t.Stop() }
}

func (c *memConn) Read(b []byte) (int, error) {
	for {
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		default:
		}
		dl := c.deadline(true)
		if !dl.IsZero() && !time.Now().Before(dl) {
			return 0, os.ErrDeadlineExceeded
		}
		p := c.r
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			p.signal()
			p.mu.Unlock()
			return n, nil
		}
		if p.closed {
			p.mu.Unlock()
			return 0, io.EOF
		}
		ch := p.changed
		p.mu.Unlock()
		tc, stop := waitChan(dl)
		select {
		case <-ch:
		case <-tc:
		case <-c.closed:
		}
		stop()
	}
}

func (c *memConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.mu.Unlock()
	n := 0
	for {
		select {
		case <-c.closed:
			return n, net.ErrClosed
		case <-c.peerClosed:
			return n, io.ErrClosedPipe
		default:
		}
		dl := c.deadline(false)
		if !dl.IsZero() && !time.Now().Before(dl) {
			return n, os.ErrDeadlineExceeded
		}
		p := c.w
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return n, io.ErrClosedPipe
		}
		if p.limit <= 0 || len(p.buf) < p.limit {
			k := len(b) - n
			if p.limit > 0 {
				k = min(k, p.limit-len(p.buf))
			}
			p.buf = append(p.buf, b[n:n+k]...)
			n += k
			p.signal()
			p.mu.Unlock()
			if n == len(b) {
				return n, nil
			}
			continue
		}
		ch := p.changed
		p.mu.Unlock()
		tc, stop := waitChan(dl)
		select {
		case <-ch:
		case <-tc:
		case <-c.closed:
		case <-c.peerClosed:
		}
		stop()
	}
}

func (c *memConn) CloseWrite() error {
	p := c.w
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		p.signal()
	}
	return nil
}

func (c *memConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.CloseWrite()
	})
	return nil
}

func (c *memConn) Writes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }
func (c *memConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.rdl = t
	c.mu.Unlock()
	c.r.mu.Lock()
	c.r.signal() // wake a blocked Read to re-check
	c.r.mu.Unlock()
	return nil
}

func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.wdl = t
	c.mu.Unlock()
	c.w.mu.Lock()
	c.w.signal()
	c.w.mu.Unlock()
	return nil
}

// memListener hands out the server ends of memConns.
type memListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr("listener") }

// Dial returns the client end of a new connection (the server end is
// accepted by Serve).
func (l *memListener) Dial() (*memConn, *memConn) {
	c, s := memConnPair()
	select {
	case l.conns <- s:
	case <-l.closed:
		c.Close()
	}
	return c, s
}
