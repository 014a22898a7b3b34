package server

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Server serves HTTP/1.x (and HTTP/2 when configured, see h2.go) on the
// listeners given to Serve. Its methods are safe for concurrent use.
type Server struct {
	cfg        Config // defaults filled; read-only after New
	h          Handler
	log        *slog.Logger
	serverLine []byte      // "Server: <cfg.ServerHeader>\r\n"
	tlsConf    *tls.Config // clone of cfg.TLS with our ALPN list; nil: cleartext
	h2         *h2server   // nil unless HTTP/2 is enabled (H2 with TLS, or H2C)

	sem     chan struct{} // one token per open connection (MaxConnections)
	active  atomic.Int64  // handlers running
	pending atomic.Int32  // connections just accepted whose first request has not started (AcceptGate)

	inShutdown atomic.Bool   // set by Shutdown and Close, never cleared
	done       chan struct{} // closed with inShutdown: wakes Serve
	doneOnce   sync.Once
	connGone   chan struct{} // receives (non-blocking) when a conn is untracked

	mu        sync.Mutex // guards listeners and conns
	listeners map[*net.Listener]struct{}
	conns     map[*conn]struct{}

	// serving counts the Serve loops running. Shutdown waits for them: a
	// connection that Accept returned as the listener closed is tracked
	// only after, and would otherwise be left unserved by a process that
	// exits once Shutdown has seen no connection.
	serving sync.WaitGroup
}

// New returns a Server that passes requests to h. Zero fields of cfg get
// their defaults (see Config).
func New(cfg Config, h Handler) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:        cfg,
		h:          h,
		log:        cfg.ErrorLog,
		serverLine: []byte("Server: " + cfg.ServerHeader + "\r\n"),
		sem:        make(chan struct{}, cfg.MaxConnections),
		done:       make(chan struct{}),
		connGone:   make(chan struct{}, 1),
		listeners:  make(map[*net.Listener]struct{}),
		conns:      make(map[*conn]struct{}),
	}
	if cfg.TLS != nil {
		s.tlsConf = tlsConfig(cfg.TLS, cfg.H2)
	}
	if (cfg.H2 && cfg.TLS != nil) || cfg.H2C {
		s.h2 = newH2Server(s)
	}
	return s
}

// Config returns the server's configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// ActiveRequests returns the number of requests whose handler is running.
func (s *Server) ActiveRequests() int { return int(s.active.Load()) }

func (s *Server) shuttingDown() bool { return s.inShutdown.Load() }

func (s *Server) stateHook(c net.Conn, st ConnState) {
	if s.cfg.ConnState != nil {
		s.cfg.ConnState(c, st)
	}
}

// Serve accepts connections on l and serves each on its own goroutine,
// until Shutdown or Close (then it returns ErrServerClosed) or a permanent
// accept error. At most MaxConnections connections are open at once: while
// the server is full it stops accepting, and new clients wait in the
// listen backlog. Temporary accept errors (out of file descriptors, ...)
// are retried with a growing delay. Serve closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	l = fastAccept(l) // TCP: fewer system calls per accepted connection
	if !s.trackListener(&l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.trackListener(&l, false)
	defer l.Close()

	var delay time.Duration
	// With a gate: the gate may wait for a connection to be queued before
	// it holds it back (it decides about a real connection, and holds
	// nothing while none waits); the Accept that follows has a short
	// deadline, as a sibling may have taken it meanwhile. draining: the
	// gate gave way overdue; the connections already queued are taken,
	// with the gate told so, until the queue is empty. Both need a
	// listener with deadlines.
	q := &acceptQueue{}
	if s.cfg.AcceptGate != nil {
		q = newAcceptQueue(l)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // Shutdown ends a wait
			select {
			case <-s.done:
			case <-stop:
			}
			q.close()
		}()
	}
	gate := Gate{Pending: s.pendingConns, Wait: q.wait, Queued: q.queued, Done: s.done}
	draining := false
	for {
		select {
		case s.sem <- struct{}{}:
		case <-s.done:
			return ErrServerClosed
		}
		shortAccept := false
		if s.cfg.AcceptGate != nil {
			gate.Draining, q.waited = draining, false
			accept, overdue := s.cfg.AcceptGate(gate)
			if !accept {
				<-s.sem
				return ErrServerClosed
			}
			draining = draining || overdue && q.dl != nil
			shortAccept = q.dl != nil && (draining || q.waited)
		}
		if shortAccept {
			q.dl.SetDeadline(time.Now().Add(queuedAcceptMax))
		}
		rwc, err := l.Accept()
		if shortAccept {
			q.dl.SetDeadline(time.Time{})
			if errors.Is(err, os.ErrDeadlineExceeded) { // the queue is empty
				draining = false
				<-s.sem
				continue
			}
		}
		if err != nil {
			<-s.sem
			if s.shuttingDown() {
				return ErrServerClosed
			}
			if !temporaryAcceptError(err) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Info("accept error; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-s.done:
				t.Stop()
				return ErrServerClosed
			}
			continue
		}
		delay = 0
		if s.tlsConf != nil {
			rwc = tls.Server(rwc, s.tlsConf) // handshake in conn.serve
		}
		c := newConn(s, rwc)
		if s.cfg.AcceptGate != nil {
			c.markPending()
		}
		s.stateHook(rwc, StateNew)
		// Tracked and served even if Shutdown began meanwhile: the client's
		// request may already be on its way, and Shutdown waits for it.
		s.trackConn(c)
		go c.serve()
	}
}

// acceptQueue looks at a listener's queue of connections without
// accepting them, for AcceptGate. A listener's own RawConn cannot wait for
// readability, so it waits through the runtime's poller on a duplicate of
// the listening socket: the one a sockListener already has, else one of
// its own.
type acceptQueue struct {
	dl     interface{ SetDeadline(time.Time) error } // nil: no deadlines
	lrc    syscall.RawConn                           // the listener's; nil: the queue cannot be seen
	waited bool                                      // wait was called since Serve reset it (Serve's goroutine only)

	mu      sync.Mutex // guards the fields below (wait may race with close)
	watch   *os.File   // own duplicate of the listening socket, made on first wait; nil when rc is a sockListener's
	rc      syscall.RawConn
	noWatch bool // the duplicate could not be made: wait returns at once
	closed  bool
}

func newAcceptQueue(l net.Listener) *acceptQueue {
	q := &acceptQueue{}
	q.dl, _ = l.(interface{ SetDeadline(time.Time) error })
	if sl, ok := l.(*sockListener); ok {
		// Its duplicate is in the poller already. The queue does not own
		// it: closing the listener (Serve's return, Shutdown, Close) ends
		// a wait.
		q.lrc, q.rc = sl.rc, sl.rc
		return q
	}
	if sc, ok := l.(syscall.Conn); ok && q.dl != nil {
		q.lrc, _ = sc.SyscallConn()
	}
	return q
}

// wait blocks until a connection is queued, or the queue is closed. The
// poll is needed because the runtime's poller is edge-triggered:
// connections queued before the wait would not wake it.
func (q *acceptQueue) wait() error {
	q.waited = true
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return net.ErrClosed
	}
	if q.rc == nil && q.lrc != nil && !q.noWatch {
		q.startWatch() // on first use: a gate that never holds costs nothing
	}
	rc := q.rc
	q.mu.Unlock()
	if rc == nil {
		return nil
	}
	return rc.Read(func(fd uintptr) bool { return readable(fd) })
}

// startWatch duplicates the listening socket into a pollable file.
func (q *acceptQueue) startWatch() {
	w, rc, err := pollableDup(q.lrc, "accept-queue")
	if err != nil {
		q.noWatch = true
		return
	}
	q.watch, q.rc = w, rc
}

// queued reports whether a connection waits in the queue (true when the
// queue cannot be seen).
func (q *acceptQueue) queued() bool {
	if q.lrc == nil {
		return true
	}
	ready := true
	if err := q.lrc.Control(func(fd uintptr) { ready = readable(fd) }); err != nil {
		return true // closed: let Accept report it
	}
	return ready
}

// close ends a wait and any later one (a wait on a sockListener's
// duplicate ends when the listener closes); safe to call more than once.
func (q *acceptQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.watch != nil {
		q.watch.Close()
	}
}

// readable polls fd without waiting.
func readable(fd uintptr) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0
}

// pendingConns is what AcceptGate is told: connections accepted in the last
// pendingWindow that have not started a request yet.
func (s *Server) pendingConns() int { return int(s.pending.Load()) }

// temporaryAcceptError reports whether an Accept error is worth retrying:
// resource exhaustion or a connection that died in the backlog.
func temporaryAcceptError(err error) bool {
	switch {
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE),
		errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR),
		errors.Is(err, syscall.EPROTO), errors.Is(err, syscall.EPERM):
		return true
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.shuttingDown() {
			return false
		}
		s.listeners[l] = struct{}{}
		s.serving.Add(1) // under mu: before beginShutdown, so before Shutdown's Wait
	} else {
		delete(s.listeners, l)
		s.serving.Done()
	}
	return true
}

func (s *Server) trackConn(c *conn) {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
}

// untrackConn forgets c and frees its MaxConnections token.
func (s *Server) untrackConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	<-s.sem
	select {
	case s.connGone <- struct{}{}:
	default:
	}
}

// beginShutdown stops Serve and closes the listeners.
func (s *Server) beginShutdown() error {
	s.inShutdown.Store(true)
	s.doneOnce.Do(func() { close(s.done) })
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for l := range s.listeners {
		if cerr := (*l).Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	}
	return err
}

// Shutdown stops the server gracefully: it stops accepting, closes idle
// connections (between requests) at once, lets every other connection
// finish its current response (sent with "Connection: close" if its head is
// not out yet) and then close, and waits for them. When ctx ends first, the
// remaining connections are closed at once (their handlers' next writes
// fail) and ctx's error is returned. HTTP/2 connections get a GOAWAY: their
// open streams complete, new ones are refused, then they close.
func (s *Server) Shutdown(ctx context.Context) error {
	lerr := s.beginShutdown()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	// No connection left means something only once every Serve loop has
	// returned (see serving).
	servingDone := make(chan struct{})
	go func() {
		s.serving.Wait()
		close(servingDone)
	}()
	serving := true
	for {
		// Every round, so that an HTTP/2 connection that started after
		// the previous one gets its GOAWAY too.
		s.h2.goAway()
		if s.closeIdleConns() && !serving {
			return lerr
		}
		select {
		case <-ctx.Done():
			s.closeAllConns()
			return ctx.Err()
		case <-servingDone:
			serving, servingDone = false, nil // nil: never ready again
		case <-s.connGone:
		case <-poll.C:
		}
	}
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	err := s.beginShutdown()
	s.closeAllConns()
	return err
}

// closeIdleConns closes the connections waiting for a request and reports
// whether no connection is left at all. A connection that became idle (or
// was accepted) less than shutdownGrace ago is left a moment longer: its
// client may be sending a request right now, and it will be answered with
// "Connection: close" instead of being cut off (no request lost to the
// keep-alive race during a graceful stop or reload).
func (s *Server) closeIdleConns() (none bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	grace := max(min(shutdownGrace, s.cfg.KeepAliveTimeout), 0)
	now := time.Now().UnixNano()
	for c := range s.conns {
		if time.Duration(now-c.since.Load()) < grace {
			continue
		}
		for _, from := range [...]ConnState{StateNew, StateIdle} {
			if c.state.CompareAndSwap(int32(from), int32(StateClosed)) {
				s.stateHook(c.rwc, StateClosed)
				c.rwc.Close()
				break
			}
		}
	}
	return len(s.conns) == 0
}

func (s *Server) closeAllConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.rwc.Close()
	}
}
