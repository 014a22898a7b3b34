package master

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMessage(t *testing.T) {
	for _, tc := range []struct {
		line string
		want message
		err  bool
	}{
		{"ready", message{kind: "ready"}, false},
		{"hb 12 3", message{kind: "hb", served: 12, busy: 3}, false},
		{"hb 12 3 4096", message{kind: "hb", served: 12, busy: 3}, false}, // extra fields: room to grow
		{"hb 12", message{kind: "hb"}, true},
		{"hb x 1", message{kind: "hb"}, true},
		{"recycle max-requests 1000", message{kind: "recycle", arg: "max-requests 1000"}, false},
		{"watch /srv/app/my module.py", message{kind: "watch", arg: "/srv/app/my module.py"}, false},
		{"watch", message{kind: "watch"}, true},
		{"exit graceful stop", message{kind: "exit", arg: "graceful stop"}, false},
		{"hello", message{kind: "hello"}, true},
	} {
		got, err := parseMessage(tc.line)
		if tc.err {
			assert.Error(t, err, tc.line)
			continue
		}
		require.NoError(t, err, tc.line)
		assert.Equal(t, tc.want, got, tc.line)
	}
}

// The Control's lines are exactly what parseMessage reads; Recycle is sent
// once; closing the master's end closes MasterGone.
func TestControlWire(t *testing.T) {
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "pair")
		defer f.Close()
		c, err := net.FileConn(f)
		require.NoError(t, err)
		return c.(*net.UnixConn)
	}
	masterEnd, ctl := conn(pair[0]), newControl(conn(pair[1]), 7)
	defer ctl.Close()
	assert.Equal(t, 7, ctl.MaxRequests())

	require.NoError(t, ctl.Ready())
	require.NoError(t, ctl.Heartbeat(5, 2))
	require.NoError(t, ctl.Recycle("max-requests\n7"))
	require.NoError(t, ctl.Recycle("again"))
	require.NoError(t, ctl.Watch("/a/b.py", "/c d.py"))
	assert.Error(t, ctl.Watch("/bad\nname.py"))
	require.NoError(t, ctl.Exiting("graceful stop"))
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	go ctl.RunHeartbeat(ctx, time.Second, func() (uint64, int) { return 9, 0 })

	want := []message{
		{kind: "ready"},
		{kind: "hb", served: 5, busy: 2},
		{kind: "recycle", arg: "max-requests 7"},
		{kind: "watch", arg: "/a/b.py"},
		{kind: "watch", arg: "/c d.py"},
		{kind: "exit", arg: "graceful stop"},
		{kind: "hb", served: 9},
	}
	sc := bufio.NewScanner(masterEnd)
	for _, w := range want {
		require.True(t, sc.Scan())
		got, err := parseMessage(sc.Text())
		require.NoError(t, err, sc.Text())
		assert.Equal(t, w, got)
	}

	masterEnd.Close()
	select {
	case <-ctl.MasterGone():
	case <-time.After(2 * time.Second):
		t.Fatal("MasterGone not closed after the master's end closed")
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second, reset: 30 * time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.next(time.Second))
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, got)
	assert.Equal(t, 100*ms, b.next(31*time.Second), "a long-lived worker ends the crash loop")
	assert.Equal(t, 200*ms, b.next(0))
}

func TestParseVmRSS(t *testing.T) {
	rss, err := parseVmRSS([]byte("Name:\tpython3\nVmPeak:\t  999 kB\nVmRSS:\t   20480 kB\nThreads:\t4\n"))
	require.NoError(t, err)
	assert.Equal(t, uint64(20480<<10), rss)
	_, err = parseVmRSS([]byte("Name:\tkthreadd\n"))
	assert.Error(t, err)

	self, err := readRSS(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, self, uint64(1<<20))
}

func TestOOMCounter(t *testing.T) {
	dir := t.TempDir()
	v2 := filepath.Join(dir, "memory.events")
	require.NoError(t, os.WriteFile(v2, []byte("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n"), 0o644))
	v1 := filepath.Join(dir, "memory.oom_control")
	require.NoError(t, os.WriteFile(v1, []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 4\n"), 0o644))
	n, err := readOOMKills(v1)
	require.NoError(t, err)
	assert.Equal(t, uint64(4), n)

	c := &oomCounter{path: v2, last: 1}
	assert.False(t, c.increased())
	require.NoError(t, os.WriteFile(v2, []byte("oom 2\noom_kill 2\n"), 0o644))
	assert.True(t, c.increased())
	assert.False(t, c.increased(), "each kill is reported once")
	assert.False(t, (&oomCounter{}).increased(), "no cgroup counter: never")
}

func TestPidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "x.pid")
	require.Error(t, writePidFile(path, testLogger(t)), "missing directory")

	path = filepath.Join(t.TempDir(), "x.pid")
	require.NoError(t, os.WriteFile(path, []byte("1\n"), 0o644)) // a live process: overwritten with a warning
	require.NoError(t, writePidFile(path, testLogger(t)))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(data))
	removePidFile(path)
	assert.NoFileExists(t, path)

	// Someone else's pid file is left alone.
	require.NoError(t, os.WriteFile(path, []byte("1\n"), 0o644))
	removePidFile(path)
	assert.FileExists(t, path)
}

func TestNotifier(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "n")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer l.Close()
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := newNotifier(sock, testLogger(t))
	require.NotNil(t, n)
	defer n.close()

	read := func() string {
		buf := make([]byte, 1024)
		l.SetReadDeadline(time.Now().Add(time.Second))
		k, err := l.Read(buf)
		require.NoError(t, err)
		return string(buf[:k])
	}
	n.send("RELOADING=1", monotonicUsec(), "STATUS=a\nb")
	got := read()
	assert.Regexp(t, `^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*\nSTATUS=a b\n$`, got)

	now := time.Now()
	n.watchdogTick(now)
	assert.Equal(t, "WATCHDOG=1\n", read())
	n.watchdogTick(now.Add(50 * time.Millisecond)) // not due: half of WATCHDOG_USEC
	n.watchdogTick(now.Add(120 * time.Millisecond))
	assert.Equal(t, "WATCHDOG=1\n", read())

	var none *notifier // no NOTIFY_SOCKET
	none.send("READY=1")
	assert.Nil(t, newNotifier("", nil))
}

func TestWorkerEnv(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify")
	t.Setenv("LISTEN_FDS", "2")
	t.Setenv(EnvWorkerID, "9")
	t.Setenv("GOHOST_LOG_LEVEL", "debug")
	env := workerEnv([]string{"EXTRA=1"})
	assert.Contains(t, env, "GOHOST_LOG_LEVEL=debug")
	assert.Contains(t, env, "EXTRA=1")
	for _, kv := range env {
		assert.NotRegexp(t, `^(NOTIFY_SOCKET|LISTEN_FDS|GOHOST_WORKER_ID)=`, kv)
	}
}
