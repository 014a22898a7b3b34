package master

import (
	"slices"
	"syscall"
	"time"
)

// murder enforces the deadlines (gunicorn's murder_workers): boot timeout,
// heartbeat watchdog (SIGABRT so the worker dumps its stacks, then SIGKILL),
// and the end of a stop (SIGKILL).
func (m *master) murder(now time.Time) {
	for _, w := range m.workers {
		switch w.state {
		case workerStarting:
			if now.Sub(w.started) > m.opts.BootTimeout {
				m.log.Error("worker boot timed out", "worker", w.id, "pid", w.pid,
					"boot_timeout", m.opts.BootTimeout)
				m.stopWorker(w, syscall.SIGABRT, m.opts.abortGrace(), "boot timeout")
			}
		case workerReady:
			if silent := now.Sub(w.lastHB); silent > m.opts.WatchdogTimeout {
				m.log.Error("worker missed heartbeats", "worker", w.id, "pid", w.pid,
					"silent", silent.Round(time.Millisecond), "watchdog", m.opts.WatchdogTimeout)
				m.stopWorker(w, syscall.SIGABRT, m.opts.abortGrace(), "no heartbeat")
			}
		case workerStopping:
			if !w.killedByUs && now.After(w.stopDeadline) {
				m.log.Warn("worker did not stop in time; sending SIGKILL", "worker", w.id, "pid", w.pid,
					"after", signalName(w.stopSig), "reason", w.stopReason)
				w.killedByUs = true
				m.signal(w, syscall.SIGKILL)
			}
		}
	}
}

// manage makes the worker set match the plan: the serving generation has
// target live workers, retiring ones leave once their replacements accept,
// a booting generation boots (one canary first) and is promoted when ready.
func (m *master) manage(now time.Time) {
	if m.stopping {
		return
	}
	if m.opts.MaxWorkerMemoryMB > 0 && now.Sub(m.lastMemAt) >= memoryInterval {
		m.lastMemAt = now
		m.checkMemory()
	}
	m.notifier.watchdogTick(now)
	if m.gen > 0 {
		m.manageServing(now)
	}
	if m.next != nil {
		m.manageNext(now)
	}
}

// genWorkers returns generation g's workers that are starting or ready, oldest
// first. A worker reaped but not yet finalized counts too: what its death
// means (respawn, failed reload, halt) is not decided yet.
func (m *master) genWorkers(g int) []*worker {
	var ws []*worker
	for _, w := range m.workers {
		if w.gen == g && (w.state == workerStarting || w.state == workerReady || w.state == workerExited && w.stopSig == 0) {
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(a, b *worker) int { return a.id - b.id })
	return ws
}

func (m *master) manageServing(now time.Time) {
	ws := m.genWorkers(m.gen)
	var live, retiring []*worker
	for _, w := range ws {
		if w.retiring != "" {
			retiring = append(retiring, w)
		} else {
			live = append(live, w)
		}
	}
	// Too few: spawn (replacements for dead or retiring workers, TTIN).
	if n := m.target - len(live); n > 0 {
		m.spawnN(m.gen, n, now)
	}
	// Too many (TTOU): stop workers still booting first, then the oldest.
	if extra := len(live) - m.target; extra > 0 {
		slices.SortStableFunc(live, func(a, b *worker) int {
			return boolInt(a.state == workerReady) - boolInt(b.state == workerReady)
		})
		for _, w := range live[:extra] {
			m.stopWorker(w, syscall.SIGTERM, m.opts.GracefulTimeout, "fewer workers wanted")
		}
	}
	// Retiring workers leave once enough others accept: the replacement is
	// accepting before the retiring worker stops accepting.
	ready := 0
	for _, w := range ws {
		if w.state == workerReady {
			ready++
		}
	}
	excess := ready - m.target
	for _, w := range retiring {
		if w.state != workerReady {
			m.stopWorker(w, syscall.SIGTERM, m.opts.GracefulTimeout, w.retiring)
			continue
		}
		if excess > 0 {
			excess--
			m.stopWorker(w, syscall.SIGTERM, m.opts.GracefulTimeout, w.retiring)
		}
	}
}

func (m *master) manageNext(now time.Time) {
	g := m.next
	ws := m.genWorkers(g.n)
	ready := 0
	for _, w := range ws {
		if w.state == workerReady {
			ready++
		}
	}
	if ready >= m.target {
		m.promote(now)
		return
	}
	want := m.target
	if !g.canaryOK {
		// One worker proves the app loads before the others try: a broken app
		// prints one traceback, not one per worker.
		want = 1
	}
	if n := want - len(ws); n > 0 {
		m.spawnN(g.n, n, now)
	}
}

// promote makes the booting generation the serving one and gracefully stops
// every older worker: they stop accepting only now that the new ones accept.
func (m *master) promote(now time.Time) {
	g := m.next
	m.next = nil
	old := m.gen
	m.gen = g.n
	for _, w := range m.workers {
		if w.gen < g.n {
			m.stopWorker(w, syscall.SIGTERM, m.opts.GracefulTimeout, "replaced by generation "+itoa(g.n))
		}
	}
	if !m.everUp {
		m.everUp = true
		if m.opts.OnReady != nil {
			m.opts.OnReady(true)
		}
		m.log.Info("gohost ready", "workers", m.target, "generation", g.n)
	} else {
		m.log.Info("reload complete", "generation", g.n, "previous_generation", old, "reason", g.reason)
	}
	m.notifier.send("READY=1", "STATUS=serving with "+itoa(m.target)+" workers (generation "+itoa(g.n)+")")
}

// spawnN starts up to n workers of generation g unless the crash-loop backoff
// says wait.
func (m *master) spawnN(g, n int, now time.Time) {
	if now.Before(m.spawnAfter) {
		return
	}
	for range n {
		if _, err := m.spawn(g, now); err != nil {
			m.log.Error("cannot spawn worker", "err", err)
			m.delaySpawns(now, 0)
			return
		}
	}
}

// delaySpawns applies the crash-loop backoff after a failure; uptime is how
// long the failed worker lived.
func (m *master) delaySpawns(now time.Time, uptime time.Duration) time.Duration {
	d := m.backoff.next(uptime)
	m.spawnAfter = now.Add(d)
	return d
}

// retire marks w for replacement: recycling by max-requests or memory.
func (m *master) retire(w *worker, reason string) {
	if w.retiring != "" || w.state != workerReady && w.state != workerStarting || m.stopping {
		return
	}
	w.retiring = reason
	m.log.Info("replacing worker", "worker", w.id, "pid", w.pid, "reason", reason, "served", w.served)
}

// checkMemory retires the workers over --max-worker-memory.
func (m *master) checkMemory() {
	limit := uint64(m.opts.MaxWorkerMemoryMB) << 20
	for _, w := range m.workers {
		if w.state != workerReady || w.retiring != "" {
			continue
		}
		rss, err := readRSS(w.pid)
		if err != nil {
			continue
		}
		if rss > limit {
			m.retire(w, "max-worker-memory: RSS "+itoa(int(rss>>20))+" MiB > "+itoa(m.opts.MaxWorkerMemoryMB)+" MiB")
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
