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

// pool is a worker process's Python threads. It is the server's Handler:
// Serve hands the request to a free thread and waits until the response is
// done, so the connection goroutine never touches Python.
type pool struct {
	interp *pybridge.Interpreter
	env    *environ.Config
	log    *slog.Logger

	jobs  chan *job
	slots []slot // one per thread: what it is running, for --timeout
	wg    sync.WaitGroup

	served   atomic.Uint64 // requests completed
	busy     atomic.Int32  // threads inside a request
	inflight atomic.Int32  // requests handed to the pool and not finished
	freed    chan struct{} // a request finished (acceptGate waits on it)

	board            *board.Board // open connections of every worker; nil: no balancing
	balanceRestUntil atomic.Int64 // unix nanos: no deferring to siblings before
	rec              *metrics.Recorder

	// afterRequest is called by the thread that finished the request, with
	// the number of requests served so far (for --max-requests).
	afterRequest func(served uint64)
}

// job is one request waiting for (or being served by) a Python thread.
type job struct {
	w    *server.ResponseWriter
	r    *server.Request
	done chan struct{}
}

var jobPool = sync.Pool{New: func() any { return &job{done: make(chan struct{}, 1)} }}

// slot records the request a thread is running. The watchdog reads it from
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
	return &pool{
		rec:    metrics.NewRecorder(threads),
		interp: interp,
		env:    env,
		log:    log,
		jobs:   make(chan *job),
		freed:  make(chan struct{}, 1),
		slots:  make([]slot, threads),
	}
}

// start launches the threads and returns when each has its Python thread
// state, or the first error.
func (p *pool) start() error {
	errs := make(chan error, len(p.slots))
	for i := range p.slots {
		p.wg.Add(1)
		go p.run(i, errs)
	}
	for range p.slots {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// run is one Python thread: a goroutine locked to its OS thread for life,
// because its PyThreadState belongs to that OS thread.
func (p *pool) run(i int, started chan<- error) {
	defer p.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	th, err := p.interp.NewThread()
	started <- err
	if err != nil {
		return
	}
	defer th.Close()
	ex := &exchange{log: p.log}
	s := &p.slots[i]
	gilWait := th.GILWait()
	for { // GIL: not held while waiting for work
		j, ok := p.next()
		if !ok {
			return
		}
		r := j.r
		s.begin(r)
		p.busy.Add(1)
		began := time.Now()

		ex.reset(j.w, r)
		ex.requestID = ensureRequestID(r)
		vars, err := environ.AppendChecked(th.Vars(), r, p.env)
		if err != nil {
			// Trusted proxies disagree about the client or the scheme: the
			// request cannot be attributed safely (gunicorn answers 400 too).
			p.log.Info("Bad proxy headers: "+r.RequestURI, "err", err)
			ex.fail(400)
		} else {
			body, complete := r.Body.TakePrefetched()
			ex.bodyRead = int64(len(body))
			th.Serve(ex, vars, body, complete)
		}

		p.rec.AddBusy(time.Since(began))
		p.rec.AddBodyIn(ex.bodyRead)
		if w := th.GILWait(); w != gilWait {
			p.rec.AddGILWait(w - gilWait)
			gilWait = w
		}
		p.busy.Add(-1)
		s.started.Store(0)
		n := p.served.Add(1)
		j.done <- struct{}{}
		if p.afterRequest != nil {
			p.afterRequest(n)
		}
	}
}

// spinPolls is how many times a Python thread that just finished a request
// polls for the next one before it parks. Waking a parked goroutine that is
// locked to its OS thread costs a thread hand-off (futex wake and sleep,
// about 6 µs here, measured in pool_test.go); under load the next request is
// usually already waiting, and the polls cost a few µs when it is not.
const spinPolls = 200

// next returns the next job, polling briefly before blocking; ok is false
// once the pool is closed.
func (p *pool) next() (j *job, ok bool) {
	for i := 0; i < spinPolls; i++ {
		select {
		case j, ok = <-p.jobs:
			return j, ok
		default:
		}
	}
	j, ok = <-p.jobs
	return j, ok
}

// Serve implements server.Handler.
func (p *pool) Serve(w *server.ResponseWriter, r *server.Request) {
	p.publishFull(p.inflight.Add(1))
	j := jobPool.Get().(*job)
	j.w, j.r = w, r
	p.jobs <- j
	<-j.done
	j.w, j.r = nil, nil
	jobPool.Put(j)
	p.publishFull(p.inflight.Add(-1))
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// gateSlack is how many requests may wait for each Python thread before the
// worker stops accepting connections: one waiting per thread lets the next
// request's network work overlap the current one's Python work.
const gateSlack = 1

// gateMaxWait bounds how long the accept gate holds a new connection back.
const gateMaxWait = 50 * time.Millisecond

// Balancing connections across workers (host/board): a worker that a
// sibling is better placed than (room while this one is full, or at least
// balanceMargin fewer open connections) lets the sibling take the next
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
// (it has room and this worker is full: every Python thread busy and
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

// close stops the threads once no Serve is running (after the server's
// Shutdown) and waits for them to delete their thread states.
func (p *pool) close() {
	close(p.jobs)
	p.wg.Wait()
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
