package server

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A TCP connection accepted by net.TCPListener costs eight system calls
// before its first read: accept4, epoll_ctl, getsockname and five
// setsockopt (TCP_NODELAY and four for keep-alive probes, which the
// standard library sets on every accepted socket and which an inherited
// listener cannot turn off), and one more epoll_ctl when it is closed.
// Linux copies those options from the listening socket to the sockets it
// accepts, so sockListener sets them once on the listener and accepts with
// accept4 itself (plus getsockname only when the listener is bound to a
// wildcard address), and sockConn enters the runtime's poller only when it
// has to wait (see sockConn). Under Connection: close, one connection per
// request whose bytes are already queued at accept, a connection costs
// accept4, read, write and close.

// Keep-alive probes as the standard library sets them on accepted
// connections (net.ListenConfig's defaults).
const (
	keepAliveIdle     = 15 // seconds
	keepAliveInterval = 15 // seconds
	keepAliveCount    = 9
)

// sockListener accepts from a TCP listener with raw accept4. A listener's
// own RawConn cannot wait for readability, so it waits on a duplicate of
// the listening socket made pollable as an *os.File; Close and SetDeadline
// apply to both. Everything else is the listener's.
type sockListener struct {
	*net.TCPListener
	f      *os.File // duplicate of the listening socket, in the poller
	rc     syscall.RawConn
	addr   *net.TCPAddr // a connection's local address, unless wild
	wild   bool         // bound to 0.0.0.0 or [::]: ask each socket
	closed atomic.Bool
}

// fastAccept returns l accepting through sockListener when it is a TCP
// listener whose socket takes the options accepted sockets inherit, else
// l itself.
func fastAccept(l net.Listener) net.Listener {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return l
	}
	addr, ok := tl.Addr().(*net.TCPAddr)
	if !ok {
		return l
	}
	lrc, err := tl.SyscallConn()
	if err != nil {
		return l
	}
	var serr error
	err = lrc.Control(func(fd uintptr) {
		for _, o := range [...]struct{ level, opt, v int }{
			{unix.IPPROTO_TCP, unix.TCP_NODELAY, 1},
			{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
			{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, keepAliveIdle},
			{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, keepAliveInterval},
			{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, keepAliveCount},
		} {
			if serr = unix.SetsockoptInt(int(fd), o.level, o.opt, o.v); serr != nil {
				return
			}
		}
	})
	if err != nil || serr != nil {
		return l // accepted sockets would miss an option: let Go set them
	}
	f, rc, err := pollableDup(lrc, "tcp-listener")
	if err != nil {
		return l
	}
	return &sockListener{TCPListener: tl, f: f, rc: rc, addr: addr, wild: addr.IP.IsUnspecified()}
}

// pollableDup duplicates a listening socket into an *os.File, which puts
// it in the runtime's poller (it is non-blocking like the listener), so
// that its RawConn can wait for a queued connection; a listener's own
// RawConn cannot.
func pollableDup(lrc syscall.RawConn, name string) (*os.File, syscall.RawConn, error) {
	dup := -1
	var derr error
	if err := lrc.Control(func(fd uintptr) { dup, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, nil, err
	}
	if derr != nil {
		return nil, nil, os.NewSyscallError("fcntl", derr)
	}
	f := os.NewFile(uintptr(dup), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, rc, nil
}

// Accept waits for a connection (honouring SetDeadline) and wraps its
// socket in a sockConn.
func (l *sockListener) Accept() (net.Conn, error) {
	var nfd int
	var sa syscall.Sockaddr
	var aerr error
	err := l.rc.Read(func(fd uintptr) bool {
		for {
			// syscall's, not x/sys/unix's: that one asks every IPv4 socket
			// for its protocol (one more system call).
			nfd, sa, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			switch aerr {
			case syscall.EINTR, syscall.ECONNABORTED: // as the standard library: try the next one
				continue
			case syscall.EAGAIN:
				return false // none queued: wait in the poller
			}
			return true
		}
	})
	switch {
	case err == nil && aerr == nil:
		// Accepted, even if Close came meanwhile: the connection has left
		// the queue the workers share, so no other worker can take it, and
		// Serve serves it (Shutdown waits for that).
	case l.closed.Load():
		err = net.ErrClosed
	case err == nil:
		err = os.NewSyscallError("accept4", aerr)
	}
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: err}
	}
	local := l.addr
	if l.wild {
		if lsa, err := syscall.Getsockname(nfd); err == nil {
			local = tcpAddr(lsa)
		}
	}
	return &sockConn{fd: nfd, local: local, remote: tcpAddr(sa)}, nil
}

// Close closes the listener and ends a waiting Accept.
func (l *sockListener) Close() error {
	l.closed.Store(true)
	l.f.Close()
	return l.TCPListener.Close()
}

// SetDeadline bounds Accept.
func (l *sockListener) SetDeadline(t time.Time) error { return l.f.SetReadDeadline(t) }

func tcpAddr(sa syscall.Sockaddr) *net.TCPAddr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]).To16(), Port: sa.Port}
	case *syscall.SockaddrInet6:
		a := &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
		if sa.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.ZoneId)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return &net.TCPAddr{}
}

// sockConn is an accepted TCP socket (non-blocking). Its errors read like
// net.TCPConn's: *net.OpError, net.ErrClosed once closed.
//
// It enters the runtime's poller, as an *os.File that gives it waiting and
// deadlines, only when a read or write would block. Until then it is used
// directly with raw system calls, deadlines are kept here, and mu keeps
// Close from freeing the descriptor (for the next accepted socket to reuse)
// while another goroutine uses it. Why: under Connection: close the request
// is usually queued at accept and the response fits the socket's buffer, so
// the connection never waits, and entering the poller would cost it three
// system calls of seven (fcntl and epoll_ctl in os.NewFile, epoll_ctl on
// close) plus a runtime timer per deadline. A kept-alive connection enters
// it when it waits for its second request.
type sockConn struct {
	fd            int
	local, remote *net.TCPAddr
	polled        atomic.Pointer[polledSocket] // set once, on first wait

	closed atomic.Bool // set once, by Close

	mu       sync.Mutex // guards fd's use before polled is set, and rdl, wdl
	rdl, wdl time.Time  // deadlines, applied on entering the poller
}

// polledSocket is a sockConn's socket in the runtime's poller.
type polledSocket struct {
	f  *os.File
	rc syscall.RawConn
}

// poll puts the socket in the poller unless it is there. mu: held.
func (c *sockConn) poll() (*polledSocket, error) {
	if p := c.polled.Load(); p != nil {
		return p, nil
	}
	if c.closed.Load() {
		return nil, net.ErrClosed
	}
	f := os.NewFile(uintptr(c.fd), "tcp") // fcntl, epoll_ctl; owns fd from here
	rc, err := f.SyscallConn()
	if err != nil { // only for a nil *os.File
		return nil, err
	}
	if !c.rdl.IsZero() {
		f.SetReadDeadline(c.rdl)
	}
	if !c.wdl.IsZero() {
		f.SetWriteDeadline(c.wdl)
	}
	p := &polledSocket{f: f, rc: rc}
	c.polled.Store(p)
	return p, nil
}

// pollNow puts the socket in the poller unless it is there.
func (c *sockConn) pollNow() (*polledSocket, error) {
	if p := c.polled.Load(); p != nil {
		return p, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.poll()
}

// direct calls fn (a RawConn callback: false means "would block") with the
// descriptor outside the poller, failing as the poller would once closed
// or past the deadline dl. It returns the poller's socket to wait in when
// fn would block (the socket enters it then) or was already there (fn not
// called); nil when fn is done.
func (c *sockConn) direct(fn func(fd uintptr) bool, dl *time.Time) (*polledSocket, error) {
	if p := c.polled.Load(); p != nil {
		return p, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.polled.Load(); p != nil {
		return p, nil
	}
	if c.closed.Load() {
		return nil, net.ErrClosed
	}
	if dl != nil && !dl.IsZero() && !time.Now().Before(*dl) {
		return nil, os.ErrDeadlineExceeded
	}
	if fn(uintptr(c.fd)) {
		return nil, nil
	}
	return c.poll()
}

// sockRaw is a sockConn as its syscall.RawConn: calls run directly until
// one would block, then in the poller.
type sockRaw sockConn

func (r *sockRaw) Control(fn func(fd uintptr)) error {
	c := (*sockConn)(r)
	p, err := c.direct(func(fd uintptr) bool { fn(fd); return true }, nil)
	if p == nil || err != nil {
		return err
	}
	return p.rc.Control(fn)
}

func (r *sockRaw) Read(fn func(fd uintptr) bool) error {
	c := (*sockConn)(r)
	p, err := c.direct(fn, &c.rdl)
	if p == nil || err != nil {
		return err
	}
	return p.rc.Read(fn)
}

func (r *sockRaw) Write(fn func(fd uintptr) bool) error {
	c := (*sockConn)(r)
	p, err := c.direct(fn, &c.wdl)
	if p == nil || err != nil {
		return err
	}
	return p.rc.Write(fn)
}

func (c *sockConn) raw() *sockRaw { return (*sockRaw)(c) }

// Read and Write serve TLS, HTTP/2 and other users of the net.Conn, which
// wait anyway (a handshake, a multiplexed stream) and get the standard
// library's path: the socket enters the poller at the first call. Plain
// HTTP/1.1 goes through rawSocket over SyscallConn instead.
func (c *sockConn) Read(b []byte) (int, error) {
	p, err := c.pollNow()
	if err != nil {
		return 0, c.opError("read", err)
	}
	n, err := p.f.Read(b)
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

func (c *sockConn) Write(b []byte) (int, error) {
	p, err := c.pollNow()
	if err != nil {
		return 0, c.opError("write", err)
	}
	n, err := p.f.Write(b)
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

func (c *sockConn) Close() error {
	c.mu.Lock() // no direct call is using fd
	p := c.polled.Load()
	closed := c.closed.Swap(true)
	c.mu.Unlock()
	var err error
	switch {
	case p != nil:
		err = p.f.Close()
	case closed:
		err = net.ErrClosed
	default:
		err = syscall.Close(c.fd)
	}
	if err != nil {
		return c.opError("close", err)
	}
	return nil
}

// CloseWrite shuts down the sending side (lingering close).
func (c *sockConn) CloseWrite() error {
	var serr error
	if err := c.raw().Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return c.opError("close", err)
	}
	if serr != nil {
		return c.opError("close", os.NewSyscallError("shutdown", serr))
	}
	return nil
}

func (c *sockConn) LocalAddr() net.Addr                { return c.local }
func (c *sockConn) RemoteAddr() net.Addr               { return c.remote }
func (c *sockConn) SetReadDeadline(t time.Time) error  { return c.setDeadline(t, true, false) }
func (c *sockConn) SetWriteDeadline(t time.Time) error { return c.setDeadline(t, false, true) }
func (c *sockConn) SetDeadline(t time.Time) error      { return c.setDeadline(t, true, true) }

// setDeadline sets the read and/or write deadline: on the poller's socket
// once there, else kept for direct calls and for entering the poller.
func (c *sockConn) setDeadline(t time.Time, read, write bool) error {
	if p := c.polled.Load(); p != nil {
		return p.setDeadline(t, read, write)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.polled.Load(); p != nil {
		return p.setDeadline(t, read, write)
	}
	if c.closed.Load() {
		return c.opError("set deadline", net.ErrClosed)
	}
	if read {
		c.rdl = t
	}
	if write {
		c.wdl = t
	}
	return nil
}

func (p *polledSocket) setDeadline(t time.Time, read, write bool) error {
	switch {
	case read && write:
		return p.f.SetDeadline(t)
	case read:
		return p.f.SetReadDeadline(t)
	}
	return p.f.SetWriteDeadline(t)
}

// SyscallConn is the socket's RawConn (rawSocket reads and writes through
// it).
func (c *sockConn) SyscallConn() (syscall.RawConn, error) { return c.raw(), nil }

// ReadFrom sends a file with sendfile(2), as net.TCPConn does (the
// ResponseWriter's sendfile path hands it an *io.LimitedReader over an
// *os.File); anything else is copied.
func (c *sockConn) ReadFrom(r io.Reader) (int64, error) {
	remain := int64(1<<63 - 1)
	lr, limited := r.(*io.LimitedReader)
	if limited {
		remain, r = lr.N, lr.R
	}
	f, ok := r.(*os.File)
	if !ok {
		if limited {
			r = lr
		}
		return io.Copy(writerOnly{c}, r)
	}
	src, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int64
	var werr, serr error
	rerr := src.Control(func(in uintptr) {
		werr = c.raw().Write(func(out uintptr) bool {
			for remain > 0 {
				n, err := unix.Sendfile(int(out), int(in), nil, int(min(remain, 1<<30)))
				if n > 0 {
					sent += int64(n)
					remain -= int64(n)
				}
				switch {
				case err == unix.EINTR:
				case err == unix.EAGAIN:
					return false // socket full: wait in the poller
				case err != nil:
					serr = os.NewSyscallError("sendfile", err)
					return true
				case n == 0:
					return true // end of the file
				}
			}
			return true
		})
	})
	if limited {
		lr.N = remain
	}
	if werr == nil {
		werr = serr
	}
	if werr == nil {
		werr = rerr
	}
	if werr != nil {
		return sent, c.opError("sendfile", werr)
	}
	return sent, nil
}

// writerOnly hides ReadFrom from io.Copy (which would call it again).
type writerOnly struct{ io.Writer }

// opError wraps err as net.TCPConn would report it.
func (c *sockConn) opError(op string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, os.ErrClosed) || c.closed.Load() { // the poller's "use of closed file" too
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}
