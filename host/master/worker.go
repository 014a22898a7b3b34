package master

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workerState is the lifecycle of one worker process as the master sees it.
//
//	starting ──ready──▶ ready
//	starting, ready ──stopWorker (TERM, QUIT, ABRT)──▶ stopping
//	any ──reaped──▶ exited (final; the worker is forgotten once its control stream ended)
type workerState int

const (
	workerStarting workerState = iota // spawned; loading the app, not yet "ready"
	workerReady                       // sent "ready": accepting connections
	workerStopping                    // sent a stop signal; waiting for the exit
	workerExited                      // reaped; its status is in worker.status
)

func (s workerState) String() string {
	switch s {
	case workerStarting:
		return "starting"
	case workerReady:
		return "ready"
	case workerStopping:
		return "stopping"
	case workerExited:
		return "exited"
	}
	return "workerState(" + strconv.Itoa(int(s)) + ")"
}

// worker is one worker process. Only the master loop goroutine touches it,
// except conn, which the reader goroutine reads (set before it starts).
type worker struct {
	id   int // GOHOST_WORKER_ID
	pid  int
	slot int // its board slot; -1: none
	gen  int // generation: code loaded by workers of one generation is the same

	state workerState // changed only through setState
	conn  *net.UnixConn

	started time.Time // spawn
	readyAt time.Time // zero until "ready"
	lastHB  time.Time // last heartbeat (or ready, or spawn)
	served  uint64    // from the last heartbeat
	busy    int       // from the last heartbeat

	maxRequests int    // GOHOST_MAX_REQUESTS given to it
	retiring    string // non-empty: replace it (reason); it keeps serving until the replacement is ready
	badMsg      bool   // a malformed message was already logged

	// Set when the master asks it to stop.
	stopSig      syscall.Signal
	stopReason   string
	stopDeadline time.Time // then SIGKILL
	killedByUs   bool      // the master sent SIGKILL

	exitReason string             // from "exit <reason>"
	status     syscall.WaitStatus // valid once exited
	exitedAt   time.Time
	eof        bool // its control stream ended
}

func (w *worker) uptime(now time.Time) time.Duration { return now.Sub(w.started) }

// setState is the only place a worker's state changes.
func (m *master) setState(w *worker, s workerState) {
	if w.state == s {
		return
	}
	if w.state == workerExited || (s == workerReady && w.state != workerStarting) {
		panic(fmt.Sprintf("master: worker %d: bad transition %v → %v", w.id, w.state, s))
	}
	m.log.Debug("worker state", "worker", w.id, "pid", w.pid, "from", w.state, "to", s)
	w.state = s
}

// signal sends sig to the worker unless it was already reaped. Only the loop
// goroutine reaps, so the pid cannot have been reused when this runs.
func (m *master) signal(w *worker, sig syscall.Signal) {
	if w.state == workerExited {
		return
	}
	if err := syscall.Kill(w.pid, sig); err != nil && err != syscall.ESRCH {
		m.log.Warn("cannot signal worker", "worker", w.id, "pid", w.pid, "signal", signalName(sig), "err", err)
	}
}

// spawn starts one worker of generation gen.
func (m *master) spawn(gen int, now time.Time) (*worker, error) {
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("control socketpair: %w", err)
	}
	parent := os.NewFile(uintptr(pair[0]), "gohost-control")
	child := pair[1]

	m.nextID++
	id := m.nextID
	maxReq := 0
	if m.opts.MaxRequests > 0 {
		maxReq = m.opts.MaxRequests
		if m.opts.MaxRequestsJitter > 0 {
			maxReq += rand.IntN(m.opts.MaxRequestsJitter + 1)
		}
	}

	files := make([]uintptr, 0, 4+len(m.lnFDs))
	files = append(files, m.stdin, 1, 2)
	files = append(files, m.lnFDs...)
	files = append(files, uintptr(child))
	env := append(m.baseEnv[:len(m.baseEnv):len(m.baseEnv)],
		EnvWorkerID+"="+strconv.Itoa(id),
		EnvListenFDs+"="+strconv.Itoa(len(m.lnFDs)),
		EnvControlFD+"="+strconv.Itoa(listenFDStart+len(m.lnFDs)),
		EnvMaxRequests+"="+strconv.Itoa(maxReq),
	)
	slot := m.takeSlot()
	if slot >= 0 {
		env = append(env,
			EnvBoardFD+"="+strconv.Itoa(len(files)),
			EnvBoardSlot+"="+strconv.Itoa(slot))
		files = append(files, m.board.File().Fd())
	}
	pid, err := syscall.ForkExec(m.argv0, m.argv, &syscall.ProcAttr{Env: env, Files: files})
	syscall.Close(child)
	if err != nil {
		m.freeSlot(slot)
		parent.Close()
		return nil, fmt.Errorf("exec %s: %w", m.argv0, err)
	}
	c, err := net.FileConn(parent)
	parent.Close()
	if err != nil {
		// The worker cannot talk to us; it will be killed by the boot timeout.
		m.log.Error("control socket", "worker", id, "pid", pid, "err", err)
	}
	w := &worker{id: id, pid: pid, slot: slot, gen: gen, started: now, lastHB: now, maxRequests: maxReq}
	if uc, ok := c.(*net.UnixConn); ok {
		w.conn = uc
		go m.readControl(w)
	} else {
		w.eof = true
	}
	m.workers[pid] = w
	m.log.Info("booting worker", "worker", id, "pid", pid, "generation", gen)
	return w, nil
}

// takeSlot reserves a free board slot, cleared, or returns -1 (no board, or
// all taken).
func (m *master) takeSlot() int {
	for i, used := range m.slotUsed {
		if !used {
			m.slotUsed[i] = true
			m.board.Clear(i)
			return i
		}
	}
	return -1
}

// freeSlot empties a dead worker's slot, so that its siblings stop
// counting it, and makes it available again.
func (m *master) freeSlot(slot int) {
	if slot < 0 {
		return
	}
	m.board.Clear(slot)
	m.slotUsed[slot] = false
}

// event is one thing a worker's control stream said; eof ends the stream.
type event struct {
	w    *worker
	line string
	eof  bool
}

// readControl forwards w's control lines to the loop, then its end.
func (m *master) readControl(w *worker) {
	sc := bufio.NewScanner(w.conn)
	sc.Buffer(make([]byte, 0, 512), maxLine)
	for sc.Scan() {
		m.events <- event{w: w, line: sc.Text()}
	}
	m.events <- event{w: w, eof: true}
}

// handleEvent applies one control message.
func (m *master) handleEvent(ev event, now time.Time) {
	w := ev.w
	if ev.eof {
		w.eof = true
		if w.state == workerExited {
			m.finalize(w, now)
		}
		return
	}
	msg, err := parseMessage(ev.line)
	if err != nil {
		if !w.badMsg {
			w.badMsg = true
			m.log.Warn("bad control message", "worker", w.id, "pid", w.pid, "err", err)
		}
		return
	}
	switch msg.kind {
	case msgReady:
		w.lastHB = now
		if w.state != workerStarting {
			return
		}
		w.readyAt = now
		m.setState(w, workerReady)
		m.log.Info("worker ready", "worker", w.id, "pid", w.pid, "generation", w.gen,
			"boot", now.Sub(w.started).Round(time.Millisecond))
		if m.next != nil && w.gen == m.next.n {
			m.next.canaryOK = true
		}
	case msgHeartbeat:
		w.lastHB, w.served, w.busy = now, msg.served, msg.busy
	case msgRecycle:
		m.retire(w, "recycle requested: "+msg.arg)
	case msgWatch:
		if m.reloader != nil {
			m.reloader.add(msg.arg)
		}
	case msgExit:
		w.exitReason = msg.arg
	case msgMetrics:
		if m.opts.OnMetrics != nil {
			m.opts.OnMetrics(w.pid, msg.arg)
		}
	}
}

// workerEnv is the master's environment without the variables that belong
// to the master alone (systemd's, and a previous worker protocol's), plus
// Options.WorkerEnv.
func workerEnv(extra []string) []string {
	drop := []string{
		EnvWorkerID, EnvListenFDs, EnvControlFD, EnvMaxRequests,
		"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
		"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
	}
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, d := range drop {
			if strings.HasPrefix(kv, d+"=") {
				continue next
			}
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
