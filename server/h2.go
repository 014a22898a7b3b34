package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// HTTP/2.
//
// golang.org/x/net/http2 speaks the protocol (framing, HPACK, flow control,
// stream limits, GOAWAY); every stream it hands to h2conn.ServeHTTP becomes
// a Request, Body and ResponseWriter of this package and goes to the same
// Handler as HTTP/1.x, so the WSGI path (and the static files) do not know
// the difference. What the server guarantees on HTTP/1.x holds per stream:
//
//   - The request is checked like an HTTP/1.x head before the handler runs:
//     CONNECT gets 501; a :path that is not origin-form (or "*" for
//     OPTIONS) or holds bytes a request-target may not, 400; a request
//     "line" over LimitRequestLine, 414; more than LimitRequestFields
//     fields or one over LimitRequestFieldSize, 431; a declared length over
//     LimitRequestBody, 413. These replies go to the access log.
//   - A body of at most BodyPrefetch bytes is read before the handler runs
//     (an "Expect: 100-continue" is answered by x/net on that first read:
//     the Expect field is not visible here). Larger bodies stream through
//     Body.Read, each read bounded by BodyReadTimeout; LimitRequestBody
//     also holds for bodies of unknown length (ErrBodyTooLarge).
//   - Responses: hop-by-hop and connection-specific fields from the
//     application (Connection, Keep-Alive, Proxy-Connection, TE, Trailer,
//     Transfer-Encoding, Upgrade) are dropped (RFC 9113 §8.2.2), Date and
//     Server are added like on HTTP/1.x, the Content-Type is never sniffed,
//     an application Content-Length is sent and honoured (excess dropped
//     with ErrContentLength), HEAD/204/304 carry no body. Each Write is
//     flushed to the connection before it returns and waits at most
//     WriteTimeout (then the stream is reset and the Write fails).
//   - A response that cannot be completed (Abort or a panic after the head,
//     fewer bytes than the declared Content-Length, a write error, a 1xx as
//     final status) resets the stream (RST_STREAM): the client sees an
//     error, never a short body taken for a whole one.
//   - Idle connections (no open stream) are closed with a GOAWAY after
//     KeepAliveTimeout; a connection that cannot be written for
//     WriteTimeout is closed. Shutdown sends every connection a GOAWAY and
//     waits for its open streams.

// alpnH2 is the ALPN protocol ID of HTTP/2 over TLS (RFC 9113 §3.2).
const alpnH2 = "h2"

// h2Preface is the client connection preface (RFC 9113 §3.4) that starts a
// cleartext HTTP/2 connection with prior knowledge.
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// tlsConfig returns a clone of c whose ALPN list offers "h2" first when h2
// is set (and never otherwise), then "http/1.1", then c's other protocols.
func tlsConfig(c *tls.Config, h2 bool) *tls.Config {
	c = c.Clone()
	protos := make([]string, 0, len(c.NextProtos)+2)
	if h2 {
		protos = append(protos, alpnH2)
	}
	protos = append(protos, "http/1.1")
	for _, p := range c.NextProtos {
		if p != alpnH2 && p != "http/1.1" {
			protos = append(protos, p)
		}
	}
	c.NextProtos = protos
	return c
}

// h2server is the HTTP/2 side of a Server.
type h2server struct {
	srv *Server
	h2  *http2.Server
	// base is the http.Server that x/net/http2 takes its configuration
	// from and whose Shutdown sends every HTTP/2 connection a GOAWAY
	// (http2.ConfigureServer registers that with RegisterOnShutdown). It
	// never serves anything itself.
	base  *http.Server
	conns atomic.Int64 // HTTP/2 connections being served
}

func newH2Server(s *Server) *h2server {
	cfg := &s.cfg
	base := &http.Server{
		// The header list as a whole (x/net answers 431 beyond it); the
		// per-field and count limits are checked per request.
		MaxHeaderBytes: min(cfg.LimitRequestFields*cfg.LimitRequestFieldSize, 1<<20),
		// x/net logs what clients do wrong (bad frames, timeouts).
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	h2 := &http2.Server{
		IdleTimeout:      max(cfg.KeepAliveTimeout, DefaultKeepAliveTimeout/5), // no keep-alive (<0) still lets an h2 connection carry its streams
		WriteByteTimeout: cfg.WriteTimeout,
	}
	if err := http2.ConfigureServer(base, h2); err != nil {
		// Only a TLSConfig with unsuitable cipher suites makes it fail,
		// and base has none.
		panic("server: http2.ConfigureServer: " + err.Error())
	}
	return &h2server{srv: s, h2: h2, base: base}
}

// goAway starts the graceful shutdown of every HTTP/2 connection (GOAWAY,
// open streams complete, then the connection closes). It may be called
// any number of times; each connection gets one GOAWAY. A nil h is a
// server without HTTP/2.
func (h *h2server) goAway() {
	if h == nil || h.conns.Load() == 0 {
		return
	}
	// Runs the registered hooks and returns at once: base tracks no
	// connection of its own.
	h.base.Shutdown(context.Background())
}

// h2cPreface reports whether the connection starts with the HTTP/2 client
// preface. It reads only as far as it must to tell: an HTTP/1.x request
// shorter than the preface is never waited for, since the first byte that
// differs decides. Nothing is consumed.
func (c *conn) h2cPreface() bool {
	for {
		b, _ := c.br.Peek(c.br.Buffered())
		n := min(len(b), len(h2Preface))
		if string(b[:n]) != h2Preface[:n] {
			return false
		}
		if n == len(h2Preface) {
			return true
		}
		if _, err := c.br.Peek(len(b) + 1); err != nil {
			return false // the HTTP/1.x path meets (and reports) the same error
		}
	}
}

// h2cConn returns the connection for x/net with the bytes already read into
// c.br (at least the preface) in front. They are copied: x/net's reading
// goroutine may outlive conn.serve, and c.br goes back to the pool.
func (c *conn) h2cConn() net.Conn {
	b, _ := c.br.Peek(c.br.Buffered())
	pre := bytes.Clone(b)
	c.br.Discard(len(b))
	return &prefixConn{Conn: c.rwc, r: io.MultiReader(bytes.NewReader(pre), c.rwc)}
}

// prefixConn is a net.Conn whose first reads return bytes read earlier.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// serveH2 serves the connection with HTTP/2 until it closes and all its
// handlers have returned. rwc is c.rwc, or h2cConn's wrapper of it.
func (c *conn) serveH2(rwc net.Conn) {
	s := c.srv
	if !c.state.CompareAndSwap(int32(StateNew), int32(StateActive)) {
		return // Shutdown closed it first
	}
	s.stateHook(c.rwc, StateActive)
	c.markKept() // an HTTP/2 connection lasts: it carries many requests
	s.h2.conns.Add(1)
	defer s.h2.conns.Add(-1)
	// x/net has its own timeouts (preface, idle, write); ours are done.
	c.rwc.SetDeadline(time.Time{})
	hc := &h2conn{srv: s, local: c.rwc.LocalAddr(), remote: c.rwc.RemoteAddr(), isTLS: c.isTLS}
	hc.idle.L = &hc.mu
	// BaseConfig: limits and error log. (x/net v0.62 built with Go ≥ 1.27
	// wraps net/http's HTTP/2 and serves a BaseConfig connection under a
	// one-off copy of it, which base.Shutdown would not reach: TestH2Shutdown
	// fails if a toolchain or x/net upgrade breaks the GOAWAY.)
	s.h2.h2.ServeConn(rwc, &http2.ServeConnOpts{BaseConfig: s.h2.base, Handler: hc})
	// ServeConn may return while handlers still run (streams of a closed
	// connection): the connection stays tracked, so that Shutdown waits
	// for them like for an HTTP/1.x handler.
	hc.wait()
}

// h2conn is the http.Handler of one HTTP/2 connection. ServeHTTP runs on
// x/net's goroutine of each stream.
type h2conn struct {
	srv           *Server
	local, remote net.Addr
	isTLS         bool

	mu       sync.Mutex
	idle     sync.Cond // signalled when handlers drops to 0 (L = &mu)
	handlers int       // ServeHTTP calls running; guarded by mu
	closed   bool      // ServeConn returned: no handler may start; guarded by mu
}

func (hc *h2conn) enter() bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.closed {
		return false
	}
	hc.handlers++
	return true
}

func (hc *h2conn) leave() {
	hc.mu.Lock()
	hc.handlers--
	if hc.handlers == 0 {
		hc.idle.Broadcast()
	}
	hc.mu.Unlock()
}

// wait forbids new handlers and waits for the running ones.
func (hc *h2conn) wait() {
	hc.mu.Lock()
	hc.closed = true
	for hc.handlers > 0 {
		hc.idle.Wait()
	}
	hc.mu.Unlock()
}

// ServeHTTP serves one stream: the request is checked and its small body
// prefetched, then the Handler runs with a ResponseWriter and Body bound to
// the stream. A response that cannot be completed resets the stream:
// panic(http.ErrAbortHandler) is how x/net/http2 is told to, on this (the
// stream's handler) goroutine.
func (hc *h2conn) ServeHTTP(rw http.ResponseWriter, hr *http.Request) {
	if !hc.enter() {
		panic(http.ErrAbortHandler) // the connection is gone already
	}
	defer hc.leave()
	s := hc.srv
	st := &h2stream{hc: hc, rw: rw, hreq: hr}
	st.fl, _ = rw.(flushErrorer)
	st.dl, _ = rw.(deadliner)
	st.w.reset(nil, &st.req)
	st.w.h2 = st
	if err := st.readRequest(); err != nil {
		st.replyError(err)
	} else {
		s.active.Add(1)
		st.runHandler()
		s.active.Add(-1)
		st.finish()
		st.logAccess()
	}
	st.end()
	if st.reset {
		panic(http.ErrAbortHandler)
	}
}

// flushErrorer and deadliner are implemented by x/net's ResponseWriter.
type flushErrorer interface{ FlushError() error }

type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// h2stream is one HTTP/2 request and its response, used by the stream's
// handler goroutine only (except mu/ended, see the timers).
type h2stream struct {
	hc   *h2conn
	rw   http.ResponseWriter
	fl   flushErrorer
	dl   deadliner
	hreq *http.Request

	req    Request
	body   Body
	w      ResponseWriter
	access AccessEntry

	bodyRead int64 // body bytes read from the stream (LimitRequestBody)
	// reset: the response cannot be completed; the stream is reset when
	// ServeHTTP returns, and nothing more is written.
	reset bool

	// Per-operation timeouts. x/net's stream deadlines are absolute (a
	// deadline armed for one Write would also fire while the application
	// computes its next chunk), so each wire operation arms a timer that,
	// if it fires first, moves the stream's deadline into the past: x/net
	// then resets the stream (write) or fails the body (read), and the
	// blocked call returns an error.
	wtimer, rtimer *time.Timer
	mu             sync.Mutex // guards ended against the timers' callbacks
	ended          bool       // ServeHTTP is returning: rw is no longer usable
}

// readRequest fills st.req from the http.Request x/net built, checks it like
// an HTTP/1.x head (see the package comment above) and prefetches a small
// body. An error is for replyError.
func (st *h2stream) readRequest() error {
	s := st.hc.srv
	cfg := &s.cfg
	hr := st.hreq
	req := &st.req
	*req = Request{
		Method:        hr.Method,
		RequestURI:    hr.RequestURI,
		Proto:         "HTTP/2.0",
		Host:          hr.Host,
		ContentLength: hr.ContentLength,
		Body:          &st.body,
		RemoteAddr:    st.hc.remote,
		LocalAddr:     st.hc.local,
		TLS:           st.hc.isTLS,
		Received:      time.Now(),
	}
	if hr.Method == "CONNECT" {
		return errConnect // no tunnels (nor RFC 8441 extended CONNECT)
	}
	// The request "line" an HTTP/1.1 client would have sent.
	t := hr.RequestURI
	lineLimit := cfg.LimitRequestLine
	if lineLimit == 0 {
		lineLimit = hardLineCap
	}
	if len(hr.Method)+1+len(t)+len(" HTTP/2.0") > lineLimit {
		return errLineTooLong
	}
	if err := setTarget(req, t); err != nil {
		return err
	}
	for i := 0; i < len(req.Host); i++ {
		if !isHostByte[req.Host[i]] {
			return badRequest("invalid :authority")
		}
	}

	// Header fields, in a deterministic order: by name.
	names := make([]string, 0, len(hr.Header))
	n := 0
	for name, vs := range hr.Header {
		names = append(names, name)
		n += len(vs)
	}
	slices.Sort(names)
	hdr := make([]HeaderField, 0, n+1)
	if req.Host != "" {
		hdr = append(hdr, HeaderField{Name: "Host", Value: req.Host})
	}
	for _, name := range names {
		for _, v := range hr.Header[name] {
			if len(hdr) >= cfg.LimitRequestFields {
				return errTooManyFields
			}
			if len(name)+2+len(v) > cfg.LimitRequestFieldSize {
				return errFieldTooLong
			}
			hdr = append(hdr, HeaderField{Name: name, Value: v})
		}
	}
	req.Header = hdr

	// Body. x/net checks the DATA frames against a declared length.
	kind := bodyStream
	if req.ContentLength == 0 {
		kind = bodyNone
	}
	st.body.reset(nil, nil, kind, req.ContentLength, cfg.LimitRequestBody, 0, 0, cfg.BodyReadTimeout)
	st.body.h2 = st
	if lim := cfg.LimitRequestBody; lim > 0 && req.ContentLength > lim {
		return errContentTooLarge
	}
	if kind != bodyNone && cfg.BodyPrefetch > 0 {
		return st.prefetch(cfg.BodyPrefetch)
	}
	return nil
}

// setTarget checks an HTTP/2 :path like an HTTP/1.x request-target (RFC
// 9113 §8.3.1: origin-form, or "*" for OPTIONS) and splits it into Path and
// RawQuery.
func setTarget(req *Request, t string) error {
	if t == "*" {
		if req.Method != "OPTIONS" {
			return errTarget
		}
		req.Path = t
		return nil
	}
	if t == "" || t[0] != '/' {
		return errTarget
	}
	q := -1
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !isTargetByte[c] {
			return errTarget
		}
		if c == '?' && q < 0 {
			q = i
		}
	}
	req.Path = t
	if q >= 0 {
		req.Path, req.RawQuery = t[:q], t[q+1:]
	}
	return nil
}

// prefetch reads a body of at most max bytes into memory before the
// handler runs: a declared length over max is left to stream entirely; a
// body of unknown length is read up to max bytes.
func (st *h2stream) prefetch(max int) error {
	b := &st.body
	want := max
	if cl := st.req.ContentLength; cl >= 0 {
		if cl > int64(max) {
			return nil
		}
		want = int(cl)
	}
	b.preBuf = getBuf(min(want, 16<<10))
	buf := (*b.preBuf)[:0]
	for !b.wireDone && len(buf) < want {
		if len(buf) == cap(buf) {
			nb := getBuf(min(want, 2*cap(buf)))
			buf = append((*nb)[:0], buf...)
			putBuf(b.preBuf)
			b.preBuf = nb
		}
		k, err := b.readWire(buf[len(buf):min(cap(buf), want)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			break
		}
		if err != nil || b.err != nil {
			b.pre = buf
			return b.err
		}
	}
	b.pre = buf
	return nil
}

// readBody is Body.readWire for a stream: one read of the request body,
// waiting at most BodyReadTimeout, with the body limit and the typed
// errors of Body.
func (st *h2stream) readBody(p []byte) (int, error) {
	b := &st.body
	if len(p) == 0 {
		return 0, nil
	}
	cfg := &st.hc.srv.cfg
	st.arm(&st.rtimer, cfg.BodyReadTimeout, st.readTimedOut)
	n, err := st.hreq.Body.Read(p)
	st.rtimer.Stop()
	st.bodyRead += int64(n)
	if lim := cfg.LimitRequestBody; lim > 0 && st.bodyRead > lim {
		b.err = ErrBodyTooLarge
		return 0, b.err
	}
	if cl := st.req.ContentLength; err == nil && cl >= 0 && st.bodyRead == cl {
		b.wireDone = true // all of it: no need to wait for END_STREAM
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		b.wireDone = true
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.err = ErrBodyTimeout
	default:
		// Stream reset, connection gone, DATA beyond the declared
		// length: for the handler, the client is gone mid-body.
		b.err = fmt.Errorf("%w: %v", io.ErrUnexpectedEOF, err)
	}
	if n > 0 {
		return n, nil // the error is sticky and comes next
	}
	return 0, b.err
}

// runHandler calls the handler; a panic is logged and makes the response a
// 500 or, if its head was sent, a reset stream.
func (st *h2stream) runHandler() {
	defer func() {
		if v := recover(); v != nil {
			st.w.panicked = true
			buf := make([]byte, 16<<10)
			buf = buf[:runtime.Stack(buf, false)]
			st.hc.srv.log.Error("panic serving request",
				"remote", addrString(st.req.RemoteAddr), "panic", v, "stack", string(buf))
		}
	}()
	st.hc.srv.h.Serve(&st.w, &st.req)
}

// replyError answers a request the handler never saw (see readRequest), or
// resets the stream when the client is gone.
func (st *h2stream) replyError(err error) {
	if log := st.hc.srv.log; log.Enabled(context.Background(), slog.LevelDebug) {
		log.Debug("bad request", "remote", addrString(st.req.RemoteAddr), "proto", "HTTP/2.0", "err", err)
	}
	code := replyStatus(err)
	if code == 0 {
		st.reset = true
		return
	}
	st.w.Start(strconv.Itoa(code)+" "+statusText(code), internalErrorHeader)
	st.w.WriteFinal([]byte(strconv.Itoa(code) + " " + statusText(code) + "\n"))
	st.finish()
	st.logAccess()
}

// buildHead puts the response head into x/net's ResponseWriter (sent on
// the next flush, or when ServeHTTP returns). finalLen is the whole body
// length when known, else -1; the rules are buildHead's for HTTP/1.x.
func (st *h2stream) buildHead(finalLen int64) {
	w := &st.w
	w.headSent = true
	code := w.code
	noBody := code < 200 || code == 204 || code == 304
	isHead := st.req.Method == "HEAD"
	w.bodyAllowed = !noBody && !isHead
	if code < 200 {
		// RFC 9113 §8.1: a 1xx is interim; it cannot end the exchange.
		st.reset = true
		return
	}
	h := st.rw.Header()
	for _, f := range w.hdr { // hop-by-hop fields and Content-Length already left out by Start
		k := http.CanonicalHeaderKey(f.Name)
		h[k] = append(h[k], f.Value)
	}
	if !w.hasServer {
		h["Server"] = []string{st.hc.srv.cfg.ServerHeader}
	}
	// x/net adds a Date when there is none, like buildHead does. It would
	// also sniff a missing Content-Type from the body: a present but empty
	// field prevents that and sends nothing.
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
	cl := int64(-1)
	switch {
	case noBody:
		if code == 304 && w.appCL >= 0 {
			cl = w.appCL // RFC 9110 §8.6, as on HTTP/1.x
		}
	case w.appCL >= 0:
		cl, w.cl = w.appCL, w.appCL
	case finalLen >= 0 && (!isHead || finalLen > 0):
		cl, w.cl = finalLen, finalLen
	}
	if cl >= 0 {
		h["Content-Length"] = []string{strconv.FormatInt(cl, 10)}
	}
	st.rw.WriteHeader(code)
}

// write is ResponseWriter.write for a stream (the common checks done).
// Unlike HTTP/1.x, the last bytes (final) are not flushed here: x/net sends
// them with the END_STREAM flag when ServeHTTP returns, bounded by
// WriteTimeout (see finish).
func (st *h2stream) write(p []byte, final bool) (int, error) {
	w := &st.w
	headPending := !w.headSent
	if headPending {
		finalLen := int64(-1)
		if final {
			finalLen = int64(len(p))
		}
		st.buildHead(finalLen)
	}
	if final {
		w.done = true
	}
	if !w.bodyAllowed {
		if headPending && !final {
			st.flush()
		}
		return len(p), w.err
	}
	var lenErr error
	if w.cl >= 0 {
		if rem := w.cl - w.written; int64(len(p)) > rem {
			p = p[:rem]
			lenErr = ErrContentLength
		}
	}
	n := st.send(p, !final)
	if w.err != nil {
		return n, w.err
	}
	return n, lenErr
}

// send writes body bytes to the stream (and flushes them when flush is
// set), waiting at most WriteTimeout.
func (st *h2stream) send(p []byte, flush bool) int {
	w := &st.w
	if st.reset || len(p) == 0 {
		return 0
	}
	st.arm(&st.wtimer, st.hc.srv.cfg.WriteTimeout, st.writeTimedOut)
	n, err := st.rw.Write(p)
	if err == nil && flush {
		err = st.fl.FlushError()
	}
	st.wtimer.Stop()
	w.written += int64(n)
	w.setErr(err)
	return n
}

// flush sends what x/net holds (the head, at least), waiting at most
// WriteTimeout.
func (st *h2stream) flush() {
	if st.reset {
		return
	}
	st.arm(&st.wtimer, st.hc.srv.cfg.WriteTimeout, st.writeTimedOut)
	err := st.fl.FlushError()
	st.wtimer.Stop()
	if !st.w.bodyAllowed {
		// A head without body (HEAD, 204, 304) may end the stream: x/net
		// then reports the stream closed. Nothing is left to send anyway.
		err = nil
	}
	st.w.setErr(err)
}

// sendFile is ResponseWriter.SendFile for a stream: the file is read and
// written in pieces (there is no sendfile under TLS or HTTP/2 framing).
func (st *h2stream) sendFile(f *os.File, off, n int64) (int64, error) {
	w := &st.w
	if !w.headSent {
		st.buildHead(-1)
		st.flush()
		if w.err != nil {
			return 0, w.err
		}
	}
	if !w.bodyAllowed || n == 0 {
		return n, nil
	}
	var lenErr error
	if w.cl >= 0 {
		if rem := w.cl - w.written; n > rem {
			n = rem
			lenErr = ErrContentLength
		}
	}
	bp := getBuf(64 << 10)
	defer putBuf(bp)
	buf := *bp
	var sent int64
	for sent < n {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), n-sent)], off+sent)
		if k > 0 {
			sent += int64(st.send(buf[:k], true))
			if w.err != nil {
				return sent, w.err
			}
		}
		if err == io.EOF && sent < n {
			err = io.ErrUnexpectedEOF // file shorter than announced
		}
		if err != nil && err != io.EOF {
			w.setErr(err)
			return sent, err
		}
		if st.reset {
			break
		}
	}
	return sent, lenErr
}

// finish completes the response after the handler returned (finish's rules
// for HTTP/1.x) and decides whether the stream must be reset.
func (st *h2stream) finish() {
	w := &st.w
	switch {
	case !w.headSent && (!w.started || w.panicked || w.aborted):
		w.aborted = false
		w.Start("500 Internal Server Error", internalErrorHeader)
		w.write(internalErrorBody, true)
	case (w.panicked || w.aborted) && !w.done:
		st.reset = true
	case !w.headSent:
		st.buildHead(0)
		w.done = true
	}
	if w.err != nil || (w.bodyAllowed && w.cl >= 0 && w.written < w.cl) {
		st.reset = true // the client must not take this for the whole response
	}
	if !st.reset && w.done && w.bodyAllowed && w.written > 0 && st.dl != nil {
		// The last bytes may still be in x/net's buffer, sent (with
		// END_STREAM) when ServeHTTP returns: bound that write too, or a
		// client that never opens its flow-control window would hold the
		// stream forever.
		st.dl.SetWriteDeadline(time.Now().Add(st.hc.srv.cfg.WriteTimeout))
	}
}

// logAccess calls Config.AccessLog for the finished request.
func (st *h2stream) logAccess() {
	s := st.hc.srv
	if s.cfg.AccessLog == nil {
		return
	}
	w := &st.w
	st.access = AccessEntry{Request: &st.req, Status: w.code, BodySent: w.written,
		Duration: time.Since(st.req.Received)}
	if !w.headSent {
		st.access.Status = 0
	}
	s.cfg.AccessLog(&st.access)
}

// end stops the timers (and keeps a late one from touching rw) and frees
// the body's buffers.
func (st *h2stream) end() {
	st.mu.Lock()
	st.ended = true
	st.mu.Unlock()
	if st.wtimer != nil {
		st.wtimer.Stop()
	}
	if st.rtimer != nil {
		st.rtimer.Stop()
	}
	st.body.release()
}

// arm starts *t (created on first use) to call f after d.
func (st *h2stream) arm(t **time.Timer, d time.Duration, f func()) {
	if *t == nil {
		*t = time.AfterFunc(d, f)
	} else {
		(*t).Reset(d)
	}
}

// pastDeadline is a deadline that has passed: x/net acts on it at once.
var pastDeadline = time.Unix(1, 0)

func (st *h2stream) writeTimedOut() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.ended && st.dl != nil {
		st.dl.SetWriteDeadline(pastDeadline) // RST_STREAM; the Write fails
	}
}

func (st *h2stream) readTimedOut() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.ended && st.dl != nil {
		st.dl.SetReadDeadline(pastDeadline) // the body read fails
	}
}
