package host

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// benchHandoff measures handing jobs from 16 goroutines to one goroutine
// locked to its OS thread (a Python thread's shape), with next() or with a
// plain blocking receive.
func benchHandoff(b *testing.B, poll bool) {
	p := &pool{jobs: make(chan *job)}
	go func() {
		runtime.LockOSThread()
		for {
			var j *job
			var ok bool
			if poll {
				j, ok = p.next()
			} else {
				j, ok = <-p.jobs
			}
			if !ok {
				return
			}
			j.done <- struct{}{}
		}
	}()
	var wg sync.WaitGroup
	per := b.N/16 + 1
	b.ResetTimer()
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := &job{done: make(chan struct{}, 1)}
			for i := 0; i < per; i++ {
				p.jobs <- j
				<-j.done
			}
		}()
	}
	wg.Wait()
	close(p.jobs)
}

func BenchmarkHandoffParked(b *testing.B) { benchHandoff(b, false) }
func BenchmarkHandoffPolled(b *testing.B) { benchHandoff(b, true) }

func TestNextEndsWhenClosed(t *testing.T) {
	p := &pool{jobs: make(chan *job, 1)}
	j := &job{}
	p.jobs <- j
	got, ok := p.next()
	assert.True(t, ok)
	assert.Same(t, j, got)
	close(p.jobs)
	_, ok = p.next()
	assert.False(t, ok)
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
	accept, overdue := p.acceptGate(func() int { return 5 }, done)
	assert.True(t, accept)
	assert.True(t, overdue)
	assert.GreaterOrEqual(t, time.Since(began), gateMaxWait)
	accept, overdue = p.acceptGate(func() int { return 0 }, done)
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

func gateAccepts(p *pool, pending func() int, done <-chan struct{}) bool {
	accept, _ := p.acceptGate(pending, done)
	return accept
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
