package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// conn is one client connection. Its goroutine (serve) owns every field
// except state, which Shutdown may CAS from New or Idle to Closed.
// conns are pooled: all buffers survive from one connection to the next.
type conn struct {
	srv   *Server
	rwc   net.Conn
	state atomic.Int32 // ConnState; see setState
	since atomic.Int64 // unix nanos when it became New or Idle (Shutdown's grace)

	// pending: counted in Server.pending until its first request starts,
	// it closes, or pendingWindow passes (a silent client must not keep the
	// worker from accepting); nil when not counted.
	pending      *pendingMark
	pendingTimer *time.Timer
	isTLS        bool
	// kept: counted in Config.KeptConns (from its first keep-alive until it
	// closes).
	kept bool

	// raw reads and writes rwc with raw system calls when it is a plain
	// socket (raw.rc non-nil); see rawSocket.
	raw rawSocket

	br     *bufio.Reader // reads requests (through raw if set); one per conn, reused
	p      parser
	info   headInfo
	req    Request
	badReq Request // what the access log gets for an invalid head
	body   Body
	w      ResponseWriter
	access AccessEntry

	// writeDeadline is the write deadline last set on rwc; armWrite moves
	// it only when it would move by more than WriteTimeout/8.
	writeDeadline time.Time
	// linger: a response was written and the connection is closing: close
	// the write side first and give the client time to read it.
	linger bool
}

var connPool sync.Pool

func newConn(s *Server, rwc net.Conn) *conn {
	c, _ := connPool.Get().(*conn)
	if c == nil {
		c = &conn{br: bufio.NewReaderSize(nil, readBufSize)}
	}
	c.srv = s
	c.rwc = rwc
	c.state.Store(int32(StateNew))
	c.since.Store(time.Now().UnixNano())
	_, c.isTLS = rwc.(*tls.Conn)
	c.raw.rc = rawConnOf(rwc)
	if c.raw.rc != nil {
		c.br.Reset(&c.raw)
	} else {
		c.br.Reset(rwc)
	}
	c.p.lineLimit = s.cfg.LimitRequestLine
	c.p.fieldLimit = s.cfg.LimitRequestFieldSize
	c.p.maxFields = s.cfg.LimitRequestFields
	c.writeDeadline = time.Time{}
	c.linger = false
	c.kept = false
	return c
}

// release puts c back in the pool, without its large buffers and without
// references to the request.
func (c *conn) release() {
	c.body.release()
	c.body = Body{}
	c.w.reset(nil, nil)
	if cap(c.w.buf) > 64<<10 {
		c.w.buf = nil
	}
	if cap(c.p.head) > 64<<10 {
		c.p.head = nil
	}
	clear(c.req.Header)
	c.req = Request{Header: c.req.Header[:0]}
	c.access = AccessEntry{}
	c.br.Reset(nil)
	c.raw.rc = nil
	c.srv, c.rwc = nil, nil
	connPool.Put(c)
}

// setState records a transition made by the connection's goroutine.
func (c *conn) setState(s ConnState) {
	if s == StateIdle {
		c.since.Store(time.Now().UnixNano())
	}
	c.state.Store(int32(s))
	c.srv.stateHook(c.rwc, s)
}

// markPending counts c as just accepted (see pending).
func (c *conn) markPending() {
	m := &pendingMark{srv: c.srv}
	m.on.Store(true)
	c.srv.pending.Add(1)
	c.pending = m
	c.pendingTimer = time.AfterFunc(pendingWindow, m.clear)
}

// unpend stops counting c as pending; safe to call more than once.
func (c *conn) unpend() {
	if c.pending != nil {
		c.pending.clear()
		c.pending = nil
	}
}

// pendingMark counts one connection in Server.pending until cleared. It is
// an object of its own, not a field of the pooled conn, because the
// pendingWindow timer may fire just as the connection closes: Stop then
// cannot hold back its callback, which may run after the conn has been
// released (nil srv: a worker crashed on it under Connection: close) or
// reused for another connection (whose count it would clear).
type pendingMark struct {
	srv *Server
	on  atomic.Bool
}

func (m *pendingMark) clear() {
	if m.on.CompareAndSwap(true, false) {
		m.srv.pending.Add(-1)
	}
}

// markKept counts c in Config.KeptConns, once: it was kept alive after a
// response, or carries HTTP/2.
func (c *conn) markKept() {
	if f := c.srv.cfg.KeptConns; f != nil && !c.kept {
		c.kept = true
		f(1)
	}
}

// shed reports whether c, a kept connection, should close after this
// response (see Config.ShedKept). Never while the client's next request
// has already arrived (pipelined): it would go unanswered.
func (c *conn) shed() bool {
	return c.kept && c.srv.cfg.ShedKept != nil && c.br.Buffered() == 0 && c.srv.cfg.ShedKept()
}

// unmarkKept stops counting c in Config.KeptConns (it is closing).
func (c *conn) unmarkKept() {
	if c.kept {
		c.kept = false
		c.srv.cfg.KeptConns(-1)
	}
}

// claim moves the connection from New or Idle to Reading unless Shutdown
// closed it first (then it returns false).
func (c *conn) claim() bool {
	if c.pendingTimer != nil {
		c.pendingTimer.Stop()
		c.pendingTimer = nil
		c.unpend()
	}
	for {
		old := ConnState(c.state.Load())
		if old != StateNew && old != StateIdle {
			return false
		}
		if c.state.CompareAndSwap(int32(old), int32(StateReading)) {
			c.srv.stateHook(c.rwc, StateReading)
			return true
		}
	}
}

// serve runs the connection: deferred cleanup first, then one straight
// loop per request — wait for the first byte (idle deadline), read the head
// (header deadline), prefetch a small body (body deadline), run the
// handler, finish the response, keep alive or return.
func (c *conn) serve() {
	s := c.srv
	defer func() {
		c.close()
		c.unmarkKept()
		if ConnState(c.state.Swap(int32(StateClosed))) != StateClosed {
			s.stateHook(c.rwc, StateClosed)
		}
		s.untrackConn(c)
		c.release()
	}()

	if tc, ok := c.rwc.(*tls.Conn); ok {
		c.rwc.SetDeadline(time.Now().Add(s.cfg.ReadHeaderTimeout))
		if err := tc.HandshakeContext(context.Background()); err != nil {
			s.debug("TLS handshake failed", c.rwc, err)
			return
		}
		if s.h2 != nil && tc.ConnectionState().NegotiatedProtocol == alpnH2 {
			c.serveH2(c.rwc)
			return
		}
	}

	idle := s.cfg.ReadHeaderTimeout // wait for the first request's first byte
	first := true
	for {
		// Idle: wait for the first byte of the next request. A timeout or
		// EOF here closes the connection silently.
		if c.br.Buffered() == 0 {
			c.rwc.SetReadDeadline(time.Now().Add(idle))
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		if first && s.cfg.H2C && !c.isTLS && c.h2cPreface() {
			c.serveH2(c.h2cConn())
			return
		}
		first = false
		if !c.claim() {
			return // Shutdown closed the idle connection
		}
		now := time.Now()
		if !c.headBuffered() {
			// The head is still arriving: it must be complete within
			// ReadHeaderTimeout of its first byte. (A head already in the
			// buffer needs no read, so no deadline: one timer update saved
			// per request.)
			c.rwc.SetReadDeadline(now.Add(s.cfg.ReadHeaderTimeout))
		}

		if !c.readRequest(now) {
			return
		}

		c.setState(StateActive)
		s.active.Add(1)
		c.runHandler()
		s.active.Add(-1)

		if !c.finishRequest() {
			return
		}
		// Idle, even when Shutdown has begun meanwhile: this response may
		// have promised keep-alive, and the client's next request may be on
		// its way. Shutdown closes the connection after its grace if nothing
		// comes; a request that does come is answered with Connection: close.
		c.setState(StateIdle)
		c.markKept()
		idle = s.cfg.KeepAliveTimeout
	}
}

// headBuffered reports whether a whole request head (up to its empty line)
// is already in the read buffer.
func (c *conn) headBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	for len(b) >= 2 && b[0] == '\r' && b[1] == '\n' {
		b = b[2:] // empty lines before the request line
	}
	return bytes.Index(b, headEnd) >= 0
}

var headEnd = []byte("\r\n\r\n")

// readRequest reads and validates the head, sets up the body and prefetches
// it. On failure it answers the client itself (or not, when the client is
// gone) and returns false: the connection closes.
func (c *conn) readRequest(now time.Time) bool {
	s := c.srv
	req := &c.req
	err := c.p.readHead(c.br, req, &c.info)
	if err != nil {
		c.replyError(err, false)
		return false
	}
	req.RemoteAddr = c.rwc.RemoteAddr()
	req.LocalAddr = c.rwc.LocalAddr()
	req.TLS = c.isTLS
	req.Received = now
	req.Body = &c.body
	c.w.reset(c, req)

	kind := bodyNone
	switch {
	case c.info.chunked:
		kind = bodyChunked
	case req.ContentLength > 0:
		kind = bodyLength
	}
	c.body.reset(c, c.br, kind, req.ContentLength, s.cfg.LimitRequestBody,
		s.cfg.LimitRequestFields, s.cfg.LimitRequestFieldSize, s.cfg.BodyReadTimeout)
	if lim := s.cfg.LimitRequestBody; lim > 0 && req.ContentLength > lim {
		c.replyError(errContentTooLarge, true)
		return false
	}
	if kind != bodyNone && c.info.expect100 {
		c.body.expect100 = true // no prefetch: the client waits for our 100
	} else if kind != bodyNone && s.cfg.BodyPrefetch > 0 {
		if err := c.body.prefetch(s.cfg.BodyPrefetch); err != nil {
			c.replyError(err, true)
			return false
		}
	}
	return true
}

// runHandler calls the handler; a panic is logged and turned into a 500
// (or a truncated response if the head was sent) and a closed connection.
func (c *conn) runHandler() {
	defer func() {
		if v := recover(); v != nil {
			c.w.panicked = true
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.srv.log.Error("panic serving request",
				"remote", c.rwc.RemoteAddr().String(), "panic", v, "stack", string(buf))
		}
	}()
	c.srv.h.Serve(&c.w, &c.req)
}

// finishRequest completes the response, logs it, drains what is left of the
// request body and reports whether the connection can serve another
// request.
func (c *conn) finishRequest() (keepAlive bool) {
	s := c.srv
	w := &c.w
	w.finish()
	if w.err != nil {
		s.debug("response write failed", c.rwc, w.err)
	}
	if w.closeAfter {
		// Lingering (half-close, then read until the client closes) keeps
		// an unread upload or pipelined bytes from turning the close into a
		// reset that destroys the response. A client that asked to close and
		// whose request was read completely sends nothing more: close at once,
		// saving the extra reads of every Connection: close request.
		c.linger = !(c.req.Close && w.err == nil && !c.body.unread() && c.br.Buffered() == 0)
	}
	if s.cfg.AccessLog != nil {
		c.access = AccessEntry{Request: &c.req, Status: w.code, BodySent: w.written,
			Duration: time.Since(c.req.Received)}
		if !w.headSent {
			c.access.Status = 0
		}
		s.cfg.AccessLog(&c.access)
	}
	keepAlive = !w.closeAfter && c.body.err == nil // a body error leaves the framing unknown
	if keepAlive && c.body.unread() {
		// Unread body left on the wire: read and discard a bounded amount,
		// or give up on the connection.
		c.rwc.SetReadDeadline(time.Now().Add(min(drainTimeout, s.cfg.BodyReadTimeout)))
		bp := getBuf(4 << 10)
		keepAlive = c.body.drain(drainMax, *bp)
		putBuf(bp)
		if !keepAlive {
			c.linger = true
		}
	}
	c.body.release()
	return keepAlive
}

// replyError answers a request the handler never saw: status, "Connection:
// close" and a short text body. headOK says the head was valid (so the
// access log gets the request; otherwise only its peer).
func (c *conn) replyError(err error, headOK bool) {
	s := c.srv
	code := replyStatus(err)
	s.debug("bad request", c.rwc, err)
	if code == 0 {
		return // client gone or nothing to answer
	}
	text := statusText(code)
	bodyLen := 3 + 1 + len(text) + 1
	b := c.w.buf[:0]
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\n"...)
	b = appendContentLength(b, int64(bodyLen))
	b = append(b, "Connection: close\r\n"...)
	b = appendDate(b, time.Now())
	b = append(b, s.serverLine...)
	b = append(b, crlf...)
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, '\n')
	c.w.buf = b[:0]
	c.write(b)
	c.linger = true
	if s.cfg.AccessLog != nil {
		// Every answered request is reported (metrics count the 400s too);
		// when the head was invalid nothing of it is, only who sent it.
		req := &c.req
		if !headOK {
			c.badReq = Request{RemoteAddr: c.rwc.RemoteAddr(), LocalAddr: c.rwc.LocalAddr(), Received: time.Now()}
			req = &c.badReq
		}
		c.access = AccessEntry{Request: req, Status: code, BodySent: int64(bodyLen), Duration: time.Since(req.Received)}
		s.cfg.AccessLog(&c.access)
	}
}

// writeContinue sends the interim 100 response (Body's first Read).
func (c *conn) writeContinue() error {
	if c.w.headSent {
		return nil // too late for a 100: the final response is out
	}
	_, err := c.write([]byte("HTTP/1.1 100 Continue\r\n\r\n"))
	return err
}

// write writes b with the write deadline armed.
func (c *conn) write(b []byte) (int, error) {
	c.armWrite()
	if c.raw.rc != nil && len(b) <= rawWriteMax {
		return c.raw.Write(b)
	}
	return c.rwc.Write(b)
}

func (c *conn) writeBuffers(v *net.Buffers) (int64, error) {
	c.armWrite()
	if c.raw.rc != nil && buffersLen(*v) <= rawWriteMax {
		return c.raw.WriteBuffers(v)
	}
	return v.WriteTo(c.rwc)
}

// armWrite makes the next write wait at most WriteTimeout (and at least
// 7/8 of it: the deadline is moved only when it would move by more than
// WriteTimeout/8, which saves a timer update on most writes).
func (c *conn) armWrite() {
	to := c.srv.cfg.WriteTimeout
	d := time.Now().Add(to)
	if d.Sub(c.writeDeadline) > to/8 {
		c.writeDeadline = d
		c.rwc.SetWriteDeadline(d)
	}
}

func (c *conn) setReadDeadline(t time.Time) { c.rwc.SetReadDeadline(t) }

type closeWriter interface{ CloseWrite() error }

// close closes the connection. After a response it first closes the write
// side (FIN) and reads until the client closes or lingerTimeout passes, so
// that unread request bytes do not make the kernel reset the connection
// before the client has read the response.
func (c *conn) close() {
	if c.pendingTimer != nil {
		c.pendingTimer.Stop()
		c.pendingTimer = nil
	}
	c.unpend()
	if c.linger {
		if cw, ok := c.rwc.(closeWriter); ok && cw.CloseWrite() == nil {
			c.rwc.SetReadDeadline(time.Now().Add(lingerTimeout))
			io.CopyN(io.Discard, c.rwc, drainMax)
		}
	}
	c.rwc.Close()
}

// debug logs a client-side problem at debug level.
func (s *Server) debug(msg string, rwc net.Conn, err error) {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	s.log.Debug(msg, "remote", addrString(rwc.RemoteAddr()), "err", err)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
