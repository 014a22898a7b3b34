package host

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohost/gohost/environ"
	"github.com/gohost/gohost/host/board"
	"github.com/gohost/gohost/host/metrics"
	"github.com/gohost/gohost/pybridge"
	"github.com/gohost/gohost/server"
)

// pool runs a worker process's requests in Python. It is the server's
// Handler: the connection's goroutine serves the request itself, on its own
// OS thread, once it holds one of the pool's tokens (--threads of them).
//
// Why not a set of long-lived Python goroutines fed through a channel: each
// hand-off to a goroutine locked to its OS thread costs the Go scheduler a
// thread wake-up and a sleep (startlockedm, stoplockedm), twice per request.
// Serving on the connection's goroutine halved the CPU per "hello" request
// and cut p99 on every workload (docs/PERFORMANCE.md, "One goroutine per
// request").
type pool struct {
	interp *pybridge.Interpreter
	env    *environ.Config
	log    *slog.Logger

	tokens chan int   // a free slot index per request that may run
	slots  []slot     // one per token: what it is running, for --timeout
	exs    []exchange // one per token, reused

	served   atomic.Uint64 // requests completed
	busy     atomic.Int32  // requests inside Python (holding a token)
	inflight atomic.Int32  // requests handed to the pool and not finished
	freed    chan struct{} // a request finished (acceptGate waits on it)

	board            *board.Board // kept-alive connections of every worker; nil: no balancing
	balanceRestUntil atomic.Int64 // unix nanos: no deferring to siblings before
	lastShed         atomic.Int64 // unix nanos of the last kept connection shed
	rec              *metrics.Recorder

	// afterRequest is called after each request, with the number of
	// requests served so far (for --max-requests).
	afterRequest func(served uint64)
}

// slot records the request a token is running. The watchdog reads it from
// another goroutine.
type slot struct {
	started atomic.Int64 // unix nanos; 0 when idle
	mu      sync.Mutex   // guards the request line below
	method  string
	uri     string
}

func (s *slot) begin(r *server.Request) {
	s.mu.Lock()
	s.method, s.uri = r.Method, r.RequestURI
	s.mu.Unlock()
	s.started.Store(time.Now().UnixNano())
}

func (s *slot) line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.method + " " + s.uri
}

func newPool(interp *pybridge.Interpreter, threads int, env *environ.Config, log *slog.Logger) *pool {
	p := &pool{
		rec:    metrics.NewRecorder(threads),
		interp: interp,
		env:    env,
		log:    log,
		tokens: make(chan int, threads),
		freed:  make(chan struct{}, 1),
		slots:  make([]slot, threads),
		exs:    make([]exchange, threads),
	}
	for i := range p.slots {
		p.exs[i].log = log
		p.tokens <- i
	}
	return p
}

// Serve implements server.Handler.
func (p *pool) Serve(w *server.ResponseWriter, r *server.Request) {
	p.publishFull(p.inflight.Add(1))
	i := <-p.tokens
	defer func() { // deferred: the server recovers a panic and goes on
		p.tokens <- i
		p.publishFull(p.inflight.Add(-1))
		select {
		case p.freed <- struct{}{}:
		default:
		}
		if p.afterRequest != nil {
			p.afterRequest(p.served.Load())
		}
	}()
	p.serveOnThisThread(i, w, r)
}

// serveOnThisThread runs the request on the calling goroutine's OS thread,
// locked to it from the app call to the iterable's close(): the app may keep
// thread-bound state across them (a SQLite connection a streamed response
// reads from, Django's per-thread database connections closed by
// close()). Each OS thread gets its own Python thread state on first use
// and keeps it; --threads bounds how many run at once, not which.
func (p *pool) serveOnThisThread(i int, w *server.ResponseWriter, r *server.Request) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s, ex := &p.slots[i], &p.exs[i]
	s.begin(r)
	p.busy.Add(1)
	began := time.Now()
	defer func() {
		p.rec.AddBusy(time.Since(began))
		p.rec.AddBodyIn(ex.bodyRead)
		p.busy.Add(-1)
		s.started.Store(0)
		p.served.Add(1)
		ex.reset(nil, nil)
	}()

	ex.reset(w, r)
	ex.requestID = ensureRequestID(r)
	th, err := p.interp.ThreadHere()
	if err != nil {
		p.log.Error("Error handling request "+r.RequestURI, "err", err)
		ex.fail(500)
		return
	}
	vars, err := environ.AppendChecked(th.Vars(), r, p.env)
	if err != nil {
		// Trusted proxies disagree about the client or the scheme: the
		// request cannot be attributed safely (gunicorn answers 400 too).
		p.log.Info("Bad proxy headers: "+r.RequestURI, "err", err)
		ex.fail(400)
		return
	}
	body, complete := r.Body.TakePrefetched()
	ex.bodyRead = int64(len(body))
	gilWait := th.GILWait()
	th.Serve(ex, vars, body, complete)
	if d := th.GILWait() - gilWait; d > 0 {
		p.rec.AddGILWait(d)
	}
}

// gateSlack is how many requests may wait for each token before the worker
// stops accepting connections: one waiting per token lets the next
// request's network work overlap the current one's Python work.
const gateSlack = 1

// gateMaxWait bounds how long the accept gate holds a new connection back.
const gateMaxWait = 50 * time.Millisecond

// Balancing connections across workers (host/board): a worker that a
// sibling is better placed than (room while this one is full, or at least
// balanceMargin fewer kept-alive connections) lets the sibling take the next
// connection, rechecking every balancePoll. A worker with room waits at most
// balanceMaxWait: a sibling that does not take it in time is busy or
// stuck, and the worker then stops deferring for balanceRest, so that a
// stuck sibling costs one wait, not one per connection. A full worker waits
// up to gateMaxWait, like without siblings.
const (
	balanceMargin  = 2
	balanceMaxWait = 5 * time.Millisecond
	balancePoll    = 200 * time.Microsecond
	balanceRest    = 50 * time.Millisecond
)

// acceptGate is the server's AcceptGate. A connection a worker accepts
// stays with it, so where it goes matters: while a sibling is better placed
// (it has room and this worker is full: every token taken and
// requests already waiting, counting connections just accepted whose
// request has not started, as a burst arrives before its requests do; or
// it holds clearly fewer connections), new connections are left in the
// kernel's accept queue, which the workers share, for the sibling to take
// instead of queueing behind a slow request here. Kept-alive connections
// would otherwise stay split as unevenly as they arrived (50/14 between two
// workers was seen under wrk), their clients waiting three times longer on
// the busier worker. Without a board it holds while the worker is full.
func (p *pool) acceptGate(g server.Gate) (accept, overdue bool) {
	if g.Draining { // the queue built up while every worker held: take it
		return true, false
	}
	full := p.full(g.Pending)
	if p.board == nil {
		return p.waitForRoom(g.Pending, g.Done)
	}
	p.board.SetFull(full)
	if !p.board.Prefers(balanceMargin) {
		return true, false // the common case: no syscall, no wait
	}
	// Decide when a connection is queued, not before: while none is there
	// is nothing to give a sibling, and the situation may have changed
	// when one is (a worker blocked in Accept takes the next connection
	// whatever happened meanwhile).
	if g.Wait() != nil {
		return true, false // closed: Accept reports it
	}
	if !full && time.Now().UnixNano() < p.balanceRestUntil.Load() {
		return true, false
	}
	wait := balanceMaxWait
	if full {
		wait = gateMaxWait
	}
	deadline := time.Now().Add(wait)
	var t *time.Timer
	for p.board.Prefers(balanceMargin) {
		if !time.Now().Before(deadline) {
			if !full {
				p.balanceRestUntil.Store(time.Now().Add(balanceRest).UnixNano())
			}
			return true, full
		}
		if t == nil {
			t = time.NewTimer(balancePoll)
			defer t.Stop()
		} else {
			t.Reset(balancePoll)
		}
		select {
		case <-t.C:
		case <-g.Done:
			return false, false
		}
		if !g.Queued() { // a sibling took it: wait for the next one
			return true, false
		}
		if full = p.full(g.Pending); !full {
			p.board.SetFull(false) // a request finished meanwhile
		}
	}
	return true, false
}

// Shedding kept-alive connections: a worker with at least shedMargin more
// kept connections than a sibling closes one of them after its response,
// at most one per shedInterval. Why: a burst of new connections (a proxy
// filling its pool, a load generator starting) lands unevenly when every
// worker is busy (the gate gives way and one worker drains the queue), and
// kept-alive clients do not reconnect by themselves, so the split would
// last as long as they do: the busier worker's clients wait longer for
// every request (p99) while the other worker's wait less. The client
// reconnects at once (Connection: close is part of HTTP/1.1), and the
// accept gate sends the new connection to the worker with fewer.
const (
	shedMargin   = 4
	shedInterval = 10 * time.Millisecond
)

// shedKept implements server.Config.ShedKept.
func (p *pool) shedKept() bool {
	if p.board == nil || !p.board.Excess(shedMargin) {
		return false
	}
	now := time.Now().UnixNano()
	last := p.lastShed.Load()
	return now-last >= int64(shedInterval) && p.lastShed.CompareAndSwap(last, now)
}

// publishFull tells the siblings whether the worker is full, given the
// requests in flight (the board is written only when the flag changes).
func (p *pool) publishFull(inflight int32) {
	if p.board != nil {
		p.board.SetFull(int(inflight) >= p.limit())
	}
}

// full reports whether the requests in flight and the connections pending
// fill the worker.
func (p *pool) full(pending func() int) bool {
	return int(p.inflight.Load())+pending() >= p.limit()
}

// limit is how many requests make the worker full.
func (p *pool) limit() int { return len(p.slots) * (1 + gateSlack) }

// waitForRoom is the gate without a board: it holds while the worker is
// full, for at most gateMaxWait (then overdue); accept is false when done
// is closed.
func (p *pool) waitForRoom(pending func() int, done <-chan struct{}) (accept, overdue bool) {
	// Bounded: under sustained load from kept-alive connections every
	// worker stays full, and a new client must still get in (and be queued
	// fairly with the others) instead of starving in the kernel's queue.
	deadline := time.Now().Add(gateMaxWait)
	for p.full(pending) {
		if !time.Now().Before(deadline) {
			return true, true
		}
		// Woken by a finished request; the timer re-checks the pending
		// connections (they stop counting within 2 ms) and covers two
		// listeners sharing one wake-up.
		t := time.NewTimer(time.Millisecond)
		select {
		case <-p.freed:
		case <-t.C:
		case <-done:
			t.Stop()
			return false, false
		}
		t.Stop()
	}
	return true, false
}

// idle waits until no request is in Python, for at most d, and reports
// whether that happened. The tokens are kept: nothing runs afterwards.
func (p *pool) idle(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for range cap(p.tokens) {
		select {
		case <-p.tokens:
		case <-t.C:
			return false
		}
	}
	return true
}

// overdue returns the request line and age of the longest-running request
// older than limit, if any.
func (p *pool) overdue(limit time.Duration) (line string, age time.Duration, ok bool) {
	now := time.Now().UnixNano()
	for i := range p.slots {
		s := &p.slots[i]
		st := s.started.Load()
		if st == 0 {
			continue
		}
		if a := time.Duration(now - st); a > limit && a > age {
			age, ok = a, true
			line = s.line()
		}
	}
	return line, age, ok
}
