package master

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gohost/gohost/host/board"
)

// master is the state of Run. Every field is owned by the loop goroutine.
type master struct {
	opts Options
	log  *slog.Logger

	argv0   string
	argv    []string
	baseEnv []string
	lnFDs   []uintptr // raw fds of opts.Listeners (read without Fd(), which would make them blocking)
	stdin   uintptr   // fd of devNull: the workers' stdin
	devNull *os.File

	events  chan event
	workers map[int]*worker // by pid; includes exited workers until finalized
	nextID  int             // last GOHOST_WORKER_ID
	target  int             // wanted workers per generation (Workers ± TTIN/TTOU)
	gen     int             // the serving generation; 0 until the first one is ready
	lastGen int             // last generation number handed out
	next    *generation     // the generation being booted (first boot or reload), or nil
	everUp  bool            // a generation has been fully ready once
	reapAll bool            // PID 1: reap every child, not only workers

	backoff    backoff
	spawnAfter time.Time // no spawn before (crash-loop backoff)

	stopping bool // TERM/INT/QUIT received or halting: no more spawns
	exitCode int

	board    *board.Board // kept-alive connections per worker (nil: no balancing)
	slotUsed []bool       // board slots held by live workers

	oom       *oomCounter
	notifier  *notifier
	reloader  *reloader
	lastMemAt time.Time
}

// generation is a set of workers being booted together. It is promoted to
// serving when target of its workers are ready; until then the previous
// generation serves.
type generation struct {
	n        int
	reason   string
	canaryOK bool // its first worker became ready: the app loads, boot the rest
}

// Run is the master process: it spawns Options.Workers workers, supervises
// them and handles signals until it is told to stop, and returns the exit
// code of the process (see the Exit constants).
func Run(opts Options) int {
	opts = opts.withDefaults()
	m := &master{
		opts:    opts,
		log:     opts.Log,
		events:  make(chan event, 256),
		workers: make(map[int]*worker),
		target:  opts.Workers,
		reapAll: os.Getpid() == 1,
		backoff: backoff{min: backoffMin, max: backoffMax, reset: backoffReset},
	}
	if err := m.setup(); err != nil {
		m.log.Error("cannot start", "err", err)
		m.closeListeners()
		if m.devNull != nil {
			m.devNull.Close()
		}
		return ExitError
	}
	return m.run()
}

// setup resolves everything Run needs before the first spawn.
func (m *master) setup() error {
	if len(m.opts.Listeners) == 0 {
		return errors.New("no listeners")
	}
	for _, f := range m.opts.Listeners {
		sc, err := f.SyscallConn()
		if err != nil {
			return fmt.Errorf("listener %s: %w", f.Name(), err)
		}
		sc.Control(func(fd uintptr) { m.lnFDs = append(m.lnFDs, fd) })
	}
	argv := m.opts.WorkerCommand
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("worker command: %w", err)
		}
		argv = append([]string{exe}, os.Args[1:]...)
	}
	argv0 := argv[0]
	if !strings.Contains(argv0, "/") {
		p, err := exec.LookPath(argv0)
		if err != nil {
			return fmt.Errorf("worker command: %w", err)
		}
		argv0 = p
	}
	m.argv0, m.argv = argv0, argv
	m.baseEnv = workerEnv(m.opts.WorkerEnv)
	if f, err := os.Open(os.DevNull); err == nil {
		m.devNull = f
		sc, _ := f.SyscallConn()
		sc.Control(func(fd uintptr) { m.stdin = fd })
	}
	if m.opts.PidFile != "" {
		if err := writePidFile(m.opts.PidFile, m.log); err != nil {
			return err
		}
	}
	if b, err := board.Create(boardSlots); err != nil {
		m.log.Warn("workers will not balance connections", "err", err)
	} else {
		m.board, m.slotUsed = b, make([]bool, b.Len())
	}
	m.oom = newOOMCounter()
	m.notifier = newNotifier(m.opts.NotifySocket, m.log)
	if m.opts.Reload {
		r, err := newReloader(m.log)
		if err != nil {
			m.log.Error("--reload disabled", "err", err)
		} else {
			m.reloader = r
			for _, p := range m.opts.ReloadExtraFiles {
				r.add(p)
			}
		}
	}
	return nil
}

// run is the loop: wait for something → handle it → reap → murder → manage.
func (m *master) run() int {
	sigs := m.opts.Signals
	if sigs == nil {
		ch := make(chan os.Signal, 16)
		signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP,
			syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGUSR1)
		defer signal.Stop(ch)
		sigs = ch
	}
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	defer signal.Stop(chld)
	var reloadFire <-chan string
	if m.reloader != nil {
		reloadFire = m.reloader.fire
		go m.reloader.run()
		defer m.reloader.close()
	}
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()

	m.log.Info("starting gohost master", "pid", os.Getpid(), "workers", m.target,
		"listeners", len(m.lnFDs))
	m.startGeneration("boot", time.Now())
	for {
		now := time.Now()
		m.reap(now)
		m.murder(now)
		if m.stopping && len(m.workers) == 0 {
			break
		}
		m.manage(now)

		select {
		case sig := <-sigs:
			m.handleSignal(sig, time.Now())
		case ev := <-m.events:
			m.handleEvent(ev, time.Now())
		case <-chld:
		case name := <-reloadFire:
			m.startGeneration("file changed: "+name, time.Now())
		case <-tick.C:
		}
	}

	m.notifier.close()
	if m.board != nil {
		m.board.Close()
	}
	if m.devNull != nil {
		m.devNull.Close()
	}
	if m.opts.PidFile != "" {
		removePidFile(m.opts.PidFile)
	}
	m.log.Info("master exiting", "code", m.exitCode)
	return m.exitCode
}

// handleSignal applies one signal to the master (the handler only enqueued it).
func (m *master) handleSignal(sig os.Signal, now time.Time) {
	s, _ := sig.(syscall.Signal)
	m.log.Info("signal received", "signal", signalName(s))
	switch s {
	case syscall.SIGTERM, syscall.SIGINT:
		if m.stopping {
			m.stop(false, "second "+signalName(s)) // a second Ctrl-C means now
		} else {
			m.stop(true, signalName(s))
		}
	case syscall.SIGQUIT:
		m.stop(false, "SIGQUIT")
	case syscall.SIGHUP:
		m.startGeneration("SIGHUP", now)
	case syscall.SIGTTIN:
		if !m.stopping {
			m.target++
			m.log.Info("number of workers", "workers", m.target)
		}
	case syscall.SIGTTOU:
		if !m.stopping && m.target > 1 {
			m.target--
			m.log.Info("number of workers", "workers", m.target)
		}
	case syscall.SIGUSR1:
		if m.opts.Reopen != nil {
			m.opts.Reopen()
		}
		for _, w := range m.workers {
			m.signal(w, syscall.SIGUSR1)
		}
	default:
		m.log.Warn("signal ignored", "signal", sig.String())
	}
}

// startGeneration begins booting a new generation: the first boot, a HUP or
// a --reload. A generation still booting is abandoned for the newer one.
func (m *master) startGeneration(reason string, now time.Time) {
	if m.stopping {
		return
	}
	if m.next != nil {
		for _, w := range m.workers {
			if w.gen == m.next.n {
				m.stopWorker(w, syscall.SIGQUIT, m.opts.fastStopTimeout(), "superseded by a newer reload")
			}
		}
	}
	m.lastGen++
	m.next = &generation{n: m.lastGen, reason: reason}
	if !m.everUp && m.opts.AppChecked {
		// The caller already imported the app once (host's preflight): the
		// first generation needs no canary and boots all at once.
		m.next.canaryOK = true
	}
	if m.everUp {
		m.log.Info("reloading", "reason", reason, "generation", m.next.n, "serving_generation", m.gen)
		m.notifier.send("RELOADING=1", monotonicUsec(), "STATUS=reloading: "+reason)
	}
}

// stop begins stopping the master: graceful (TERM: workers finish in-flight
// requests within GracefulTimeout) or fast (QUIT). A fast stop overrides a
// graceful one in progress.
func (m *master) stop(graceful bool, why string) {
	if !m.stopping {
		m.stopping = true
		if m.opts.OnReady != nil {
			m.opts.OnReady(false)
		}
		m.notifier.send("STOPPING=1", "STATUS=stopping: "+why)
		m.log.Info("shutting down", "graceful", graceful, "reason", why)
		// New connections are refused from the moment the workers close theirs.
		m.closeListeners()
	}
	m.next = nil
	for _, w := range m.workers {
		if graceful {
			m.stopWorker(w, syscall.SIGTERM, m.opts.GracefulTimeout, why)
		} else {
			m.stopWorker(w, syscall.SIGQUIT, m.opts.fastStopTimeout(), why)
		}
	}
}

// halt stops the master with code after an unrecoverable worker failure.
func (m *master) halt(code int) {
	m.exitCode = code
	m.stop(false, "halting")
}

func (m *master) closeListeners() {
	for _, f := range m.opts.Listeners {
		f.Close()
	}
}

// stopWorker asks w to stop with sig (TERM graceful, QUIT fast, ABRT: dump
// stacks) and gives it timeout before SIGKILL. A stronger request overrides a
// weaker one in progress; a weaker one is ignored.
func (m *master) stopWorker(w *worker, sig syscall.Signal, timeout time.Duration, reason string) {
	if w.state == workerExited {
		return
	}
	if w.state == workerStopping && stopRank(sig) <= stopRank(w.stopSig) {
		return
	}
	deadline := time.Now().Add(timeout)
	if w.state == workerStopping && w.stopDeadline.Before(deadline) {
		deadline = w.stopDeadline
	}
	m.log.Info("stopping worker", "worker", w.id, "pid", w.pid, "signal", signalName(sig), "reason", reason)
	w.stopSig, w.stopReason, w.stopDeadline = sig, reason, deadline
	m.setState(w, workerStopping)
	m.signal(w, sig)
}

func stopRank(sig syscall.Signal) int {
	switch sig {
	case syscall.SIGTERM:
		return 1
	case syscall.SIGQUIT:
		return 2
	case syscall.SIGABRT:
		return 3
	}
	return 0
}
