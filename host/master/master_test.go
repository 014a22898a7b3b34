package master

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Boot, serve, USR1, TERM: READY=1 after the workers are up, the pid file
// exists while running and is removed at exit, USR1 calls Reopen, TERM gives
// STOPPING=1, exit 0 and no worker left.
func TestBootServeReopenStop(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "gohost.pid")
	var reopened atomic.Int32
	h := start(t, Options{Workers: 2, PidFile: pidFile, Reopen: func() { reopened.Add(1) }})
	h.waitNote("READY=1", 10*time.Second)

	data, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(data))
	ws := waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 })
	body, err := h.get("/")
	require.NoError(t, err)
	assert.Contains(t, ws, pidOf(body))

	h.sigs <- syscall.SIGUSR1
	require.Eventually(t, func() bool { return reopened.Load() == 1 }, 2*time.Second, 10*time.Millisecond)

	h.sigs <- syscall.SIGTERM
	h.waitNote("STOPPING=1", 5*time.Second)
	assert.Equal(t, ExitOK, h.wait(10*time.Second))
	assert.Empty(t, workers(t))
	assert.NoFileExists(t, pidFile)
	// The master closed the listening socket: new connections are refused.
	_, err = net.DialTimeout("tcp", h.addr, time.Second)
	assert.Error(t, err)
}

// HUP under load: a complete new generation takes over (new pids), the old
// one stops gracefully, no request fails, systemd sees RELOADING=1 then READY=1.
func TestHUPReloadZeroDrop(t *testing.T) {
	h := start(t, Options{Workers: 2})
	h.waitNote("READY=1", 10*time.Second)
	old := waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 })

	done := startLoad(h.addr, 3, 3, 150, 5*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	h.sigs <- syscall.SIGHUP
	h.waitNote("RELOADING=1", 5*time.Second)
	h.waitNote("READY=1", 10*time.Second)
	res := <-done

	assert.Empty(t, res.failed, "failed requests during HUP reload")
	assert.Equal(t, 900, res.ok)
	now := waitWorkers(t, 10*time.Second, func(p []int) bool {
		return len(p) == 2 && !slices.ContainsFunc(p, func(pid int) bool { return slices.Contains(old, pid) })
	})
	for pid := range res.pids {
		assert.True(t, slices.Contains(old, pid) || slices.Contains(now, pid), "answer from unknown pid %d", pid)
	}
	body, err := h.get("/")
	require.NoError(t, err)
	assert.Contains(t, now, pidOf(body))
	assert.Len(t, h.logs.lines("reload complete"), 1)
}

// --max-requests with jitter under load: workers are recycled many times,
// each replacement ready before the old worker stops, no request fails.
func TestMaxRequestsRecycleZeroDrop(t *testing.T) {
	h := start(t, Options{Workers: 2, MaxRequests: 40, MaxRequestsJitter: 10})
	h.waitNote("READY=1", 10*time.Second)

	res := load(h.addr, 3, 3, 100, 3*time.Millisecond)
	assert.Empty(t, res.failed, "failed requests during max-requests recycling")
	assert.Equal(t, 600, res.ok)
	// 600 requests, limit 40..50: several generations of workers served
	// (each serves a little past its limit, until its replacement is ready).
	assert.GreaterOrEqual(t, len(res.pids), 4, "pids %v", res.pids)
	assert.NotEmpty(t, h.logs.lines("recycle requested: max-requests"))
	waitWorkers(t, 5*time.Second, func(p []int) bool { return len(p) == 2 })
}

// --max-worker-memory: a worker that grows past the limit is replaced
// (replacement first), no request fails meanwhile.
func TestMaxWorkerMemoryRecycleZeroDrop(t *testing.T) {
	h := start(t, Options{Workers: 2, MaxWorkerMemoryMB: 48})
	h.waitNote("READY=1", 10*time.Second)

	done := startLoad(h.addr, 3, 3, 150, 5*time.Millisecond)
	body, err := h.get("/alloc?mb=64")
	require.NoError(t, err)
	fat := pidOf(body)
	h.waitLog("max-worker-memory: RSS", 3*time.Second)
	waitWorkers(t, 5*time.Second, func(p []int) bool { return len(p) == 2 && !slices.Contains(p, fat) })
	res := <-done
	assert.Empty(t, res.failed, "failed requests during memory recycling")
	assert.Equal(t, 900, res.ok)
	lines := h.logs.lines("replacing worker")
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "pid="+strconv.Itoa(fat))
}

// TTIN adds a worker process, TTOU removes one (down to 1), under load
// without failures.
func TestTTINTTOU(t *testing.T) {
	h := start(t, Options{Workers: 2})
	h.waitNote("READY=1", 10*time.Second)
	waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 })

	done := startLoad(h.addr, 2, 2, 250, 5*time.Millisecond)
	h.sigs <- syscall.SIGTTIN
	waitWorkers(t, 3*time.Second, func(p []int) bool { return len(p) == 3 })
	h.sigs <- syscall.SIGTTOU
	h.sigs <- syscall.SIGTTOU
	h.sigs <- syscall.SIGTTOU // refused: at least one worker
	waitWorkers(t, 5*time.Second, func(p []int) bool { return len(p) == 1 })
	res := <-done
	assert.Empty(t, res.failed, "failed requests during TTIN/TTOU")
	assert.Equal(t, 1000, res.ok)
	time.Sleep(300 * time.Millisecond)
	assert.Len(t, workers(t), 1)
}

// TERM with slow requests in flight: every one completes, then Run returns 0.
func TestTERMFinishesInFlight(t *testing.T) {
	h := start(t, Options{Workers: 2, GracefulTimeout: 10 * time.Second})
	h.waitNote("READY=1", 10*time.Second)

	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.get("/slow?ms=1500")
			errs <- err
		}()
	}
	time.Sleep(400 * time.Millisecond) // all are being handled
	began := time.Now()
	h.sigs <- syscall.SIGTERM
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, ExitOK, h.wait(10*time.Second))
	assert.Less(t, time.Since(began), 5*time.Second)
	assert.Empty(t, h.logs.lines("SIGKILL"))
	assert.Empty(t, workers(t))
}

// kill -9 of a worker: logged as a SIGKILL gohost did not send, replaced and
// serving again within 2 s; a worker exiting 5 is logged as a request timeout.
func TestDeadWorkerReplaced(t *testing.T) {
	h := start(t, Options{Workers: 2})
	h.waitNote("READY=1", 10*time.Second)
	before := waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 })

	victim := before[0]
	require.NoError(t, syscall.Kill(victim, syscall.SIGKILL))
	began := time.Now()
	after := waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 && !slices.Contains(p, victim) })
	for range 10 {
		body, err := h.get("/")
		require.NoError(t, err)
		assert.Contains(t, after, pidOf(body))
	}
	assert.Less(t, time.Since(began), 2*time.Second)
	h.waitLog("not sent by gohost", time.Second)
	lines := h.logs.lines("worker died")
	require.Len(t, lines, 1)
	assert.Contains(t, lines[0], "pid="+strconv.Itoa(victim))

	h.get("/exit?code=5") // the connection dies with the worker
	h.waitLog("request timeout (exit code 5)", 2*time.Second)
	waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 })
}

// An app that cannot be imported on the first boot: one worker tries (the
// canary), the master logs once and returns 4 without respawning. Same for a
// worker boot error with 3.
func TestBootFailureHalts(t *testing.T) {
	for _, tc := range []struct {
		env  string
		code int
		msg  string
	}{
		{"GOHOST_FAKE_BOOT=fail4", ExitAppLoadError, "app failed to load"},
		{"GOHOST_FAKE_BOOT=fail3", ExitWorkerBootError, "worker failed to boot"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			h := start(t, Options{Workers: 3}, tc.env)
			assert.Equal(t, tc.code, h.wait(5*time.Second))
			assert.Len(t, h.logs.lines(tc.msg), 1)
			assert.Len(t, h.logs.lines("booting worker"), 1)
			assert.Empty(t, workers(t))
		})
	}
}

// A reload whose new generation cannot load the app keeps the old workers
// serving (no failed request), logs once, and a later good reload works.
func TestReloadFailureKeepsOldWorkers(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.py")
	require.NoError(t, os.WriteFile(app, []byte("ok\n"), 0o644))
	h := start(t, Options{Workers: 2}, "GOHOST_FAKE_BOOT_FILE="+app)
	h.waitNote("READY=1", 10*time.Second)
	old := waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 })

	require.NoError(t, os.WriteFile(app, []byte("fail4\n"), 0o644))
	done := startLoad(h.addr, 2, 2, 100, 5*time.Millisecond)
	h.sigs <- syscall.SIGHUP
	h.waitNote("RELOADING=1", 5*time.Second)
	assert.Contains(t, h.waitNote("READY=1", 5*time.Second), "reload failed")
	res := <-done
	assert.Empty(t, res.failed)
	assert.Equal(t, 400, res.ok)
	for pid := range res.pids {
		assert.Contains(t, old, pid)
	}
	assert.Len(t, h.logs.lines("reload failed; keeping"), 1)
	assert.Len(t, h.logs.lines("booting worker"), 3, "one canary for the failed generation")
	assert.Equal(t, old, waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 }))

	require.NoError(t, os.WriteFile(app, []byte("ok again\n"), 0o644))
	h.sigs <- syscall.SIGHUP
	h.waitLog("reload complete", 5*time.Second)
	waitWorkers(t, 5*time.Second, func(p []int) bool {
		return len(p) == 2 && !slices.Contains(p, old[0]) && !slices.Contains(p, old[1])
	})
}

// --reload: the file the workers reported with "watch" changes → new
// generation; a "syntax error" is logged once and the old workers keep
// serving; fixing it reloads again.
func TestFileReload(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app.py")
	require.NoError(t, os.WriteFile(app, []byte("v1\n"), 0o644))
	h := start(t, Options{Workers: 1, Reload: true}, "GOHOST_FAKE_BOOT_FILE="+app)
	h.waitNote("READY=1", 10*time.Second)
	gen1 := waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 1 })

	require.NoError(t, os.WriteFile(app, []byte("v2\n"), 0o644))
	h.waitLog("reload complete", 5*time.Second)
	gen2 := waitWorkers(t, 5*time.Second, func(p []int) bool { return len(p) == 1 && p[0] != gen1[0] })
	assert.Contains(t, h.logs.lines("reloading")[0], "file changed: "+app)

	require.NoError(t, os.WriteFile(app, []byte("fail4\n"), 0o644))
	h.waitLog("reload failed", 5*time.Second)
	body, err := h.get("/")
	require.NoError(t, err)
	assert.Equal(t, gen2[0], pidOf(body))

	require.NoError(t, os.WriteFile(app, []byte("v3\n"), 0o644))
	waitWorkers(t, 5*time.Second, func(p []int) bool { return len(p) == 1 && p[0] != gen2[0] })
	assert.Len(t, h.logs.lines("reload complete"), 2)
	assert.Len(t, h.logs.lines("reload failed; keeping"), 1)
}

// A worker that crashes at every boot is respawned with growing delays, not
// in a tight loop; TERM still stops the master with 0.
func TestCrashLoopBackoff(t *testing.T) {
	h := start(t, Options{Workers: 1}, "GOHOST_FAKE_BOOT=crash")
	time.Sleep(3300 * time.Millisecond)
	h.sigs <- syscall.SIGTERM
	assert.Equal(t, ExitOK, h.wait(5*time.Second))

	var delays []time.Duration
	for _, l := range h.logs.lines("worker died") {
		_, v, ok := strings.Cut(l, "respawn_in=")
		require.True(t, ok, l)
		d, err := time.ParseDuration(strings.Fields(v)[0])
		require.NoError(t, err)
		delays = append(delays, d)
	}
	// 0.1 + 0.2 + 0.4 + 0.8 + 1.6 s: five or six deaths in 3.3 s, not hundreds.
	require.GreaterOrEqual(t, len(delays), 4, "delays %v", delays)
	assert.LessOrEqual(t, len(delays), 6, "delays %v", delays)
	for i, d := range delays {
		assert.Equal(t, backoffMin<<i, d, "delay %d", i)
	}
	assert.Len(t, h.logs.lines("booting worker"), len(delays))
}

// The heartbeat watchdog: a stopped (SIGSTOP) worker and a worker whose
// heartbeats stopped are sent SIGABRT, then SIGKILL, logged, and replaced.
func TestWatchdog(t *testing.T) {
	h := start(t, Options{Workers: 2, WatchdogTimeout: 3 * time.Second})
	h.waitNote("READY=1", 10*time.Second)
	before := waitWorkers(t, 2*time.Second, func(p []int) bool { return len(p) == 2 })

	frozen := before[0]
	require.NoError(t, syscall.Kill(frozen, syscall.SIGSTOP))
	go h.get("/hang?hb=0") // lands on either worker; both must be replaced
	waitWorkers(t, 10*time.Second, func(p []int) bool { return len(p) == 2 && !slices.Contains(p, frozen) })
	h.waitLog("worker missed heartbeats", time.Second)
	h.waitLog("killed by SIGKILL (sent by gohost: no heartbeat)", time.Second)
	body, err := h.get("/")
	require.NoError(t, err)
	assert.NotEqual(t, frozen, pidOf(body))
}
