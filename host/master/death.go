package master

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reap collects exited children without blocking. As PID 1 (a container) it
// reaps every child, so that orphans re-parented to us do not stay zombies;
// otherwise only its own workers, so that it never steals another part of
// the program's children.
func (m *master) reap(now time.Time) {
	var ws syscall.WaitStatus
	if m.reapAll {
		for {
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if err == syscall.EINTR {
				continue
			}
			if pid <= 0 || err != nil {
				return
			}
			if w := m.workers[pid]; w != nil {
				m.exited(w, ws, now)
			} else {
				m.log.Debug("reaped orphan", "pid", pid, "status", describeStatus(ws))
			}
		}
	}
	for pid, w := range m.workers {
		if w.state == workerExited {
			continue
		}
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			got, err = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
		}
		if got == pid && err == nil {
			m.exited(w, ws, now)
		} else if err == syscall.ECHILD {
			// Someone else reaped it (a foreign wait(-1) in the program): the status is lost.
			m.log.Warn("worker vanished; its exit status was collected elsewhere", "worker", w.id, "pid", pid)
			w.exitReason = "exit status lost"
			m.exited(w, 0, now)
		}
	}
	// Finalize workers whose control stream never ended (a grandchild holding it).
	for _, w := range m.workers {
		if w.state == workerExited && !w.eof && now.Sub(w.exitedAt) > exitDrainTimeout {
			m.finalize(w, now)
		}
	}
}

// exited records w's exit; the death is handled once its control stream has
// ended too, so that an "exit <reason>" sent just before is not lost.
func (m *master) exited(w *worker, ws syscall.WaitStatus, now time.Time) {
	w.status, w.exitedAt = ws, now
	m.setState(w, workerExited)
	m.freeSlot(w.slot)
	w.slot = -1
	if w.eof {
		m.finalize(w, now)
	}
}

// finalize forgets a dead worker, logs its death with its cause and decides
// what the death means: nothing (we stopped it), a respawn with backoff, a
// failed reload, or a halt on the first boot.
func (m *master) finalize(w *worker, now time.Time) {
	if _, ok := m.workers[w.pid]; !ok {
		return
	}
	delete(m.workers, w.pid)
	if w.conn != nil {
		w.conn.Close()
	}
	cause := m.cause(w)
	if m.opts.OnWorkerExit != nil {
		m.opts.OnWorkerExit(w.pid, causeLabel(w, cause))
	}
	attrs := []any{"worker", w.id, "pid", w.pid, "generation", w.gen, "cause", cause,
		"uptime", w.uptime(now).Round(time.Millisecond), "served", w.served}
	if w.exitReason != "" {
		attrs = append(attrs, "reason", w.exitReason)
	}
	code := -1
	if w.status.Exited() {
		code = w.status.ExitStatus()
	}

	switch {
	case w.stopSig != 0:
		// We asked it to stop (TERM, QUIT) or shot it (ABRT after a timeout).
		level := slog.LevelInfo
		if w.killedByUs || w.stopSig == syscall.SIGABRT || !w.status.Exited() && w.status.Signal() != w.stopSig {
			level = slog.LevelWarn
		}
		m.log.Log(nil, level, "worker exited", append(attrs, "stop_reason", w.stopReason)...)

	case m.next != nil && w.gen == m.next.n && w.readyAt.IsZero() && m.everUp:
		// The new generation cannot boot: keep serving the old code.
		m.log.Error("reload failed; keeping the old workers", append(attrs,
			"serving_generation", m.gen, "reload_reason", m.next.reason)...)
		for _, o := range m.workers {
			if o.gen == m.next.n {
				m.stopWorker(o, syscall.SIGQUIT, m.opts.fastStopTimeout(), "reload failed")
			}
		}
		m.next = nil
		// No backoff: a reload is not retried by itself, the next one is
		// asked for (HUP, a saved file) and should start at once.
		m.notifier.send("READY=1", "STATUS=reload failed: "+cause)

	case !m.everUp && w.readyAt.IsZero() && (code == ExitAppLoadError || code == ExitWorkerBootError):
		// First boot: looping would only repeat the traceback.
		msg := "app failed to load; exiting without respawning"
		if code == ExitWorkerBootError {
			msg = "worker failed to boot; exiting without respawning"
		}
		m.log.Error(msg, attrs...)
		m.halt(code)

	default:
		d := m.delaySpawns(now, w.uptime(now))
		m.log.Error("worker died", append(attrs, "respawn_in", d)...)
	}
}

// cause describes how w died, in words an operator can act on.
func (m *master) cause(w *worker) string {
	ws := w.status
	switch {
	case ws.Exited():
		switch c := ws.ExitStatus(); c {
		case ExitOK:
			return "exited cleanly (code 0)"
		case ExitWorkerBootError:
			return "worker boot error (exit code 3)"
		case ExitAppLoadError:
			return "app failed to load (exit code 4)"
		case ExitWorkerTimeout:
			return "request timeout (exit code 5): the worker logged the stack dump above"
		default:
			return fmt.Sprintf("exit code %d", c)
		}
	case ws.Signaled():
		sig := ws.Signal()
		core := ""
		if ws.CoreDump() {
			core = " (core dumped)"
		}
		if sig == syscall.SIGKILL {
			switch {
			case w.killedByUs:
				return "killed by SIGKILL (sent by gohost: " + w.stopReason + ")"
			case m.oom.increased():
				return "killed by the kernel OOM killer"
			default:
				return "killed by SIGKILL (not sent by gohost: perhaps the kernel OOM killer; check dmesg)"
			}
		}
		by := ""
		if sig == w.stopSig {
			by = " (sent by gohost: " + w.stopReason + ")"
		}
		return "killed by " + signalName(sig) + by + core
	}
	return "status " + describeStatus(ws)
}

// causeLabel is a short, bounded label for how w ended (cause is what
// m.cause said), for metrics.
func causeLabel(w *worker, cause string) string {
	ws := w.status
	switch {
	case ws.Exited() && ws.ExitStatus() == ExitWorkerTimeout:
		return "timeout"
	case ws.Exited() && ws.ExitStatus() == ExitAppLoadError:
		return "app_load_error"
	case ws.Exited() && ws.ExitStatus() == ExitWorkerBootError:
		return "boot_error"
	case w.stopSig == syscall.SIGABRT:
		return "unresponsive"
	case w.stopSig != 0 && strings.HasPrefix(w.stopReason, "recycle"):
		return "recycled"
	case w.stopSig != 0 && strings.HasPrefix(w.stopReason, "max-worker-memory"):
		return "memory"
	case w.stopSig != 0 && strings.HasPrefix(w.stopReason, "replaced"):
		return "reload"
	case w.stopSig != 0:
		return "stopped"
	case cause == "killed by the kernel OOM killer":
		return "oom"
	case ws.Signaled():
		return "killed"
	}
	return "crashed"
}

func describeStatus(ws syscall.WaitStatus) string {
	if ws.Exited() {
		return "exit " + strconv.Itoa(ws.ExitStatus())
	}
	if ws.Signaled() {
		return signalName(ws.Signal())
	}
	return fmt.Sprintf("0x%x", uint32(ws))
}

func signalName(s syscall.Signal) string {
	if n := unix.SignalName(s); n != "" {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}

func itoa(n int) string { return strconv.Itoa(n) }

// oomCounter follows the oom_kill counter of the master's memory cgroup
// (cgroup v2 memory.events, or v1 memory.oom_control), which the workers
// share. When it went up since the last look, a SIGKILL nobody sent was the
// kernel's OOM killer.
type oomCounter struct {
	path string // "" when unavailable
	last uint64
}

func newOOMCounter() *oomCounter {
	c := &oomCounter{}
	for _, p := range oomPaths() {
		if n, err := readOOMKills(p); err == nil {
			c.path, c.last = p, n
			break
		}
	}
	return c
}

// increased reports whether the counter went up since the last call.
func (c *oomCounter) increased() bool {
	if c == nil || c.path == "" {
		return false
	}
	n, err := readOOMKills(c.path)
	if err != nil || n <= c.last {
		return false
	}
	c.last = n
	return true
}

// oomPaths lists the candidate counter files, most specific first.
func oomPaths() []string {
	var paths []string
	data, _ := os.ReadFile("/proc/self/cgroup")
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			paths = append(paths, filepath.Join("/sys/fs/cgroup", parts[2], "memory.events"))
		case strings.Contains(","+parts[1]+",", ",memory,"):
			paths = append(paths, filepath.Join("/sys/fs/cgroup/memory", parts[2], "memory.oom_control"))
		}
	}
	// Inside a container the cgroup is mounted at the root.
	return append(paths, "/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")
}

// readOOMKills reads the "oom_kill N" line of a memory.events or
// memory.oom_control file.
func readOOMKills(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no oom_kill counter", path)
}
