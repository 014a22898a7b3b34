package host

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gohost/gohost/host/board"
	"github.com/gohost/gohost/server"
)

func TestIdleWaitsForTheRequestsInPython(t *testing.T) {
	p := newPool(nil, 2, nil, nil)
	i := <-p.tokens // a request running
	start := time.Now()
	assert.False(t, p.idle(30*time.Millisecond), "a token is out: not idle")
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	p = newPool(nil, 2, nil, nil)
	i = <-p.tokens
	go func() {
		time.Sleep(20 * time.Millisecond)
		p.tokens <- i // the request ends
	}()
	assert.True(t, p.idle(5*time.Second))
	select {
	case <-p.tokens:
		t.Fatal("idle keeps the tokens: nothing may start after it")
	default:
	}
}

func TestAcceptGateWaitsForAFreeThread(t *testing.T) {
	p := &pool{slots: make([]slot, 1), freed: make(chan struct{}, 1)}
	p.inflight.Store(2) // one thread busy and one request waiting: full
	done := make(chan struct{})
	passed := make(chan bool, 1)
	go func() { passed <- gateAccepts(p, func() int { return 0 }, done) }()
	select {
	case <-passed:
		t.Fatal("the gate let a connection in while the worker is full")
	case <-time.After(gateMaxWait / 2):
	}
	p.inflight.Store(1)
	p.freed <- struct{}{}
	select {
	case ok := <-passed:
		assert.True(t, ok)
	case <-time.After(time.Second):
		t.Fatal("the gate did not open when a request finished")
	}
	// Connections accepted but not yet dispatched count too.
	assert.False(t, gateOpensWithin(p, func() int { return 1 }, gateMaxWait/2), "1 in flight + 1 pending fills 1 thread")
	assert.True(t, gateOpensWithin(p, func() int { return 0 }, gateMaxWait/2))
	// A full worker still lets a new client in after gateMaxWait: no
	// starvation; and says so, so that the server drains the queue.
	began := time.Now()
	accept, overdue := p.acceptGate(gate(func() int { return 5 }, done))
	assert.True(t, accept)
	assert.True(t, overdue)
	assert.GreaterOrEqual(t, time.Since(began), gateMaxWait)
	accept, overdue = p.acceptGate(gate(func() int { return 0 }, done))
	assert.True(t, accept)
	assert.False(t, overdue, "a gate that opens because a thread is free is not overdue")

	p.inflight.Store(2)
	go func() { passed <- gateAccepts(p, func() int { return 0 }, done) }()
	time.Sleep(gateMaxWait / 5)
	close(done)
	select {
	case ok := <-passed:
		assert.False(t, ok, "shutdown closes the gate")
	case <-time.After(time.Second):
		t.Fatal("the gate ignored shutdown")
	}
}

// While the server drains a queue the gate was overdue on, a full worker
// does not hold each connection again.
func TestAcceptGateDrainingSkipsTheRoomWait(t *testing.T) {
	p := &pool{slots: make([]slot, 1), freed: make(chan struct{}, 1)}
	p.inflight.Store(5)
	began := time.Now()
	accept, overdue := p.acceptGate(server.Gate{Pending: func() int { return 5 }, Draining: true})
	assert.True(t, accept)
	assert.False(t, overdue)
	assert.Less(t, time.Since(began), gateMaxWait/2)
}

// With siblings on the board, a worker lets a better placed sibling take
// the next connection: one with clearly fewer open connections, or one
// with room while this worker is full. A worker with room waits at most
// balanceMaxWait, then stops deferring for a while.
func TestAcceptGateDefersToABetterPlacedSibling(t *testing.T) {
	mine, sibling := siblingBoards(t)
	p := &pool{slots: make([]slot, 1), freed: make(chan struct{}, 1), board: mine}
	mine.Join(balanceMargin)
	sibling.Join(0)
	none := func() int { return 0 }

	passed := make(chan bool, 1)
	go func() { passed <- gateAccepts(p, none, nil) }()
	time.Sleep(balanceMaxWait / 5)
	select {
	case <-passed:
		t.Fatal("the gate did not defer to the sibling with fewer connections")
	default:
	}
	sibling.Add(1) // the sibling took one: balanced enough
	select {
	case ok := <-passed:
		assert.True(t, ok)
	case <-time.After(time.Second):
		t.Fatal("the gate stayed shut after the sibling caught up")
	}

	sibling.Add(-1) // behind again, and this time it does not take any
	began := time.Now()
	assert.True(t, gateAccepts(p, none, nil))
	assert.GreaterOrEqual(t, time.Since(began), balanceMaxWait, "waits for the sibling first")
	began = time.Now()
	assert.True(t, gateAccepts(p, none, nil))
	assert.Less(t, time.Since(began), balanceMaxWait, "then rests instead of waiting on every accept")
	p.balanceRestUntil.Store(0)

	// The sibling takes the connection while this worker defers: the gate
	// stops waiting at once (the server then waits for the next one).
	var queued atomic.Bool
	queued.Store(true)
	go func() {
		accept, _ := p.acceptGate(server.Gate{Pending: none, Wait: func() error { return nil }, Queued: queued.Load})
		passed <- accept
	}()
	time.Sleep(balancePoll * 3)
	queued.Store(false)
	select {
	case ok := <-passed:
		assert.True(t, ok)
	case <-time.After(balanceMaxWait / 2):
		t.Fatal("the gate kept deferring a connection that is gone")
	}

	// Full (1 thread: 2 requests), this worker defers to a sibling with
	// room even with fewer connections; the sibling full too, the one with
	// fewer connections takes it at once.
	mine.Add(-balanceMargin)
	sibling.Add(5)
	p.inflight.Store(2)
	go func() { passed <- gateAccepts(p, none, nil) }()
	time.Sleep(balanceMaxWait * 2)
	select {
	case <-passed:
		t.Fatal("a full worker did not defer to a sibling with room")
	default:
	}
	assert.True(t, mine.Full(), "the gate published that it is full")
	sibling.SetFull(true)
	select {
	case ok := <-passed:
		assert.True(t, ok)
	case <-time.After(time.Second):
		t.Fatal("with every worker full, the one with fewest connections must accept")
	}

	// A sibling that left (shutting down) is not waited for.
	p.inflight.Store(0)
	mine.Add(balanceMargin * 4)
	sibling.Leave()
	began = time.Now()
	assert.True(t, gateAccepts(p, none, nil))
	assert.Less(t, time.Since(began), balanceMaxWait)
}

func gateAccepts(p *pool, pending func() int, done <-chan struct{}) bool {
	accept, _ := p.acceptGate(gate(pending, done))
	return accept
}

// gate is what the server tells the gate when a connection is queued.
func gate(pending func() int, done <-chan struct{}) server.Gate {
	return server.Gate{Pending: pending, Wait: func() error { return nil }, Queued: func() bool { return true }, Done: done}
}

func gateOpensWithin(p *pool, pending func() int, d time.Duration) bool {
	done := make(chan struct{})
	defer close(done)
	passed := make(chan bool, 1)
	go func() { passed <- gateAccepts(p, pending, done) }()
	select {
	case ok := <-passed:
		return ok
	case <-time.After(d):
		return false
	}
}

// A worker sheds a kept-alive connection only while it holds at least
// shedMargin more than a sibling, and at most one per shedInterval.
func TestShedKeptOnlyWhenUnevenAndAtMostOnePerInterval(t *testing.T) {
	mine, sibling := siblingBoards(t)
	p := &pool{board: mine}
	mine.Join(shedMargin + 1)
	sibling.Join(shedMargin - 1)
	assert.False(t, p.shedKept(), "two apart: even enough")
	sibling.Add(-1)
	sibling.Add(-1)
	assert.True(t, p.shedKept(), "shedMargin apart")
	assert.False(t, p.shedKept(), "again at once: rate-limited")
	p.lastShed.Store(time.Now().Add(-shedInterval).UnixNano())
	assert.True(t, p.shedKept(), "after shedInterval")
	assert.False(t, (&pool{}).shedKept(), "no board: never")
}

// siblingBoards creates a board as the master does and opens two of its
// slots as two workers do, each from its own descriptor of the memfd.
func siblingBoards(t *testing.T) (mine, sibling *board.Board) {
	t.Helper()
	m, err := board.Create(4)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	open := func(slot int) *board.Board {
		fd, err := unix.Dup(int(m.File().Fd()))
		require.NoError(t, err)
		b, err := board.Open(fd, slot)
		require.NoError(t, err)
		t.Cleanup(func() { b.Close() })
		return b
	}
	return open(0), open(1)
}
