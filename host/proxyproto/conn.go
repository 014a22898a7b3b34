package proxyproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultHeaderTimeout is the header timeout Wrap uses when given none. The
// specification asks for "at least 3 seconds to cover a TCP retransmit".
const DefaultHeaderTimeout = 10 * time.Second

// Wrap returns a listener whose connections start with a PROXY protocol
// header read as the package documentation describes: required and believed
// from peers for which trusted returns true, refused from the others.
// trusted nil trusts the loopback addresses only. A Unix-socket peer is
// checked as 127.0.0.1 (it is a process of this host). headerTimeout <= 0
// means DefaultHeaderTimeout.
func Wrap(l net.Listener, trusted func(net.IP) bool, headerTimeout time.Duration) net.Listener {
	if trusted == nil {
		trusted = func(ip net.IP) bool { return ip.IsLoopback() }
	}
	if headerTimeout <= 0 {
		headerTimeout = DefaultHeaderTimeout
	}
	return &listener{Listener: l, trusted: trusted, timeout: headerTimeout}
}

type listener struct {
	net.Listener
	trusted func(net.IP) bool
	timeout time.Duration
}

// Accept returns the next connection at once; its header is read later, by
// its own goroutine.
func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newConn(c, l.trusted(peerIP(c.RemoteAddr())), l.timeout), nil
}

// peerIP is the address the trust check uses.
// SetDeadline and SyscallConn pass through to the wrapped listener: the
// server's accept gate watches the queue and accepts with deadlines.
func (l *listener) SetDeadline(t time.Time) error {
	if d, ok := l.Listener.(interface{ SetDeadline(time.Time) error }); ok {
		return d.SetDeadline(t)
	}
	return errors.ErrUnsupported
}

func (l *listener) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := l.Listener.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

func peerIP(a net.Addr) net.IP {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP
	case *net.UnixAddr:
		return net.IPv4(127, 0, 0, 1)
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().AsSlice()
	}
	return nil
}

// AllowList builds a trust function from --forwarded-allow-ips entries: IP
// addresses and CIDR prefixes, an entry possibly itself a comma-separated
// list, "*" for every peer. IPv4-mapped IPv6 addresses match their IPv4
// form. An empty list trusts nobody.
func AllowList(entries []string) (func(net.IP) bool, error) {
	var all bool
	var nets []netip.Prefix
	for _, list := range entries {
		for _, e := range strings.Split(list, ",") {
			e = strings.TrimSpace(e)
			switch {
			case e == "":
			case e == "*":
				all = true
			case strings.Contains(e, "/"):
				p, err := netip.ParsePrefix(e)
				if err != nil {
					return nil, fmt.Errorf("proxyproto: invalid CIDR %q", e)
				}
				if p.Addr().Is4In6() && p.Bits() >= 96 {
					p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
				}
				nets = append(nets, p.Masked())
			default:
				a, err := netip.ParseAddr(e)
				if err != nil || a.Zone() != "" {
					return nil, fmt.Errorf("proxyproto: invalid IP address %q", e)
				}
				a = a.Unmap()
				nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	return func(ip net.IP) bool {
		if all {
			return true
		}
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return false
		}
		a = a.Unmap()
		for _, p := range nets {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}, nil
}

// Conn is a connection accepted by a Wrap listener.
type Conn struct {
	net.Conn
	trusted bool
	timeout time.Duration

	once   sync.Once // runs readHeader
	hdr    *Header   // nil: no header (untrusted peer) or failure
	err    error     // why the connection was refused; sticky
	remote net.Addr  // after once: what RemoteAddr reports
	local  net.Addr  // after once: what LocalAddr reports
	rest   []byte    // bytes read past the header, returned first by Read

	mu           sync.Mutex // guards the fields below
	readDeadline time.Time  // the caller's read deadline
	headerDL     time.Time  // while reading the header: its deadline
	inHeader     bool       // readHeader is reading
}

func newConn(c net.Conn, trusted bool, timeout time.Duration) *Conn {
	return &Conn{Conn: c, trusted: trusted, timeout: timeout}
}

// Read returns the bytes that follow the header. The first call reads the
// header; when the connection is refused it is closed and Read returns the
// error (wrapping ErrInvalid, ErrNoHeader, ErrUntrusted or the read
// error), as do all later calls.
func (c *Conn) Read(p []byte) (int, error) {
	c.once.Do(c.readHeader)
	if c.err != nil {
		return 0, c.err
	}
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		if len(c.rest) == 0 {
			c.rest = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// RemoteAddr is the client's address from the header, else the peer's. It
// waits for the header.
func (c *Conn) RemoteAddr() net.Addr {
	c.once.Do(c.readHeader)
	return c.remote
}

// LocalAddr is the address the client connected to, from the header, else
// the socket's. It waits for the header.
func (c *Conn) LocalAddr() net.Addr {
	c.once.Do(c.readHeader)
	return c.local
}

// Header returns the header the connection started with (nil for an
// untrusted peer that sent none), or why the connection was refused. It
// waits for the header.
func (c *Conn) Header() (*Header, error) {
	c.once.Do(c.readHeader)
	return c.hdr, c.err
}

// NetConn returns the underlying connection, for writes that can use it
// directly (writev, sendfile). Reading from it skips the header handling.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// ReadFrom keeps sendfile/splice available for writes (the header concerns
// the read side only).
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite shuts down the write side when the underlying connection can.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// SetDeadline sets the read and write deadlines (see SetReadDeadline).
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetReadDeadline sets the caller's read deadline. While the header is
// being read the earlier of it and the header deadline applies.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDeadline = t
	if c.inHeader {
		return c.Conn.SetReadDeadline(earlier(t, c.headerDL))
	}
	return c.Conn.SetReadDeadline(t)
}

// earlier returns the earlier of two deadlines, the zero time meaning none.
func earlier(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// initialBuf holds any v1 line and a v2 header with an AF_UNIX block
// (16 + 216) and small TLVs; larger v2 headers grow it.
const initialBuf = 256

// readHeader reads what precedes the proxied stream and decides. On
// failure it closes the connection.
func (c *Conn) readHeader() {
	c.remote, c.local = c.Conn.RemoteAddr(), c.Conn.LocalAddr()

	c.mu.Lock()
	c.inHeader = true
	c.headerDL = time.Now().Add(c.timeout)
	c.Conn.SetReadDeadline(earlier(c.readDeadline, c.headerDL))
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inHeader = false
		c.Conn.SetReadDeadline(c.readDeadline)
		c.mu.Unlock()
		if c.err != nil {
			c.rest = nil
			c.Conn.Close()
		}
	}()

	buf := make([]byte, 0, initialBuf)
	for {
		if c.trusted {
			h, n, err := Parse(buf)
			switch {
			case err == nil:
				c.hdr = &h
				if h.Source != nil {
					c.remote, c.local = h.Source, h.Destination
				}
				if n < len(buf) {
					c.rest = buf[n:]
				}
				return
			case errors.Is(err, ErrNoHeader):
				c.err = fmt.Errorf("%w (peer %s is a trusted proxy: the header is required)", ErrNoHeader, c.remote)
				return
			case !errors.Is(err, ErrIncomplete):
				c.err = err
				return
			}
		} else {
			switch sniff(buf) {
			case sniffNo:
				c.rest = buf // an ordinary client: pass everything through
				return
			case sniffV1, sniffV2:
				c.err = fmt.Errorf("%w %s", ErrUntrusted, c.remote)
				return
			}
		}
		if len(buf) == cap(buf) {
			// Only a v2 header announcing more than initialBuf gets here
			// (v1 is refused at 107 bytes, sniffing decides by 12).
			need := MaxV2Length
			if len(buf) >= 16 {
				need = 16 + int(binary.BigEndian.Uint16(buf[14:16]))
			}
			buf = append(make([]byte, 0, max(need, 2*len(buf))), buf...)
		}
		k, err := c.Conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err != nil && k == 0 {
			// Closed, reset or timed out before the decision: a header
			// cut short is refused like any partial header ("The receiver
			// must also reject incoming connections containing partial
			// protocol headers").
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				err = fmt.Errorf("%w: connection closed inside the header: %w", ErrInvalid, io.ErrUnexpectedEOF)
			}
			c.err = err
			return
		}
	}
}
