package master

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gohost/gohost/host/board"
)

// writeTimeout bounds one control write; the master reads continuously, so a
// write that takes longer means the master is wedged or gone.
const writeTimeout = 5 * time.Second

// Control is a worker's end of the control socket. Its methods are safe for
// concurrent use; each sends one line.
type Control struct {
	conn        *net.UnixConn
	maxRequests int
	board       *board.Board // nil: the master gave none

	mu     sync.Mutex // serializes writes on conn
	closed bool       // guarded by mu

	recycled atomic.Bool   // Recycle sends at most once
	gone     chan struct{} // closed when the master's end is closed (the master died)
}

// WorkerFromEnv sets up a worker process from the environment the master
// gave it. ok is false (and everything else zero) when the process is not a
// worker: GOHOST_WORKER_ID is not set. When ok is true and err is not nil the
// worker must exit with ExitWorkerBootError.
//
// It takes over the inherited fds (3 … 3+L: the listeners, then the control
// socket, then the connection board if any; the fds are closed, the returned
// values hold close-on-exec duplicates or mappings, so the app's subprocesses
// inherit nothing) and removes the GOHOST_* protocol variables from the
// environment.
func WorkerFromEnv() (id int, lns []net.Listener, ctl *Control, ok bool, err error) {
	idStr, ok := os.LookupEnv(EnvWorkerID)
	if !ok {
		return 0, nil, nil, false, nil
	}
	defer func() {
		if err != nil {
			for _, ln := range lns {
				ln.Close()
			}
			lns, ctl = nil, nil
		}
	}()
	id, err = strconv.Atoi(idStr)
	if err != nil {
		return 0, nil, nil, true, fmt.Errorf("%s=%q: %w", EnvWorkerID, idStr, err)
	}
	nfds, err := envInt(EnvListenFDs)
	if err != nil {
		return id, nil, nil, true, err
	}
	ctlFD, err := envInt(EnvControlFD)
	if err != nil {
		return id, nil, nil, true, err
	}
	maxReq, err := envInt(EnvMaxRequests)
	if err != nil {
		maxReq = 0 // optional
	}
	for i := range nfds {
		f := os.NewFile(uintptr(listenFDStart+i), fmt.Sprintf("gohost-listener-%d", i))
		ln, lerr := net.FileListener(f) // dups the fd close-on-exec
		f.Close()
		if lerr != nil {
			return id, lns, nil, true, fmt.Errorf("inherited listener fd %d: %w", listenFDStart+i, lerr)
		}
		lns = append(lns, ln)
	}
	f := os.NewFile(uintptr(ctlFD), "gohost-control")
	c, cerr := net.FileConn(f)
	f.Close()
	if cerr != nil {
		return id, lns, nil, true, fmt.Errorf("control fd %d: %w", ctlFD, cerr)
	}
	uc, isUnix := c.(*net.UnixConn)
	if !isUnix {
		c.Close()
		return id, lns, nil, true, fmt.Errorf("control fd %d is not a unix socket", ctlFD)
	}
	b, err := boardFromEnv()
	if err != nil {
		uc.Close()
		return id, lns, nil, true, err
	}
	for _, k := range []string{EnvWorkerID, EnvListenFDs, EnvControlFD, EnvMaxRequests, EnvBoardFD, EnvBoardSlot} {
		os.Unsetenv(k)
	}
	ctl = newControl(uc, maxReq)
	ctl.board = b
	return id, lns, ctl, true, nil
}

// boardFromEnv maps the connection board the master passed, if any.
func boardFromEnv() (*board.Board, error) {
	if _, ok := os.LookupEnv(EnvBoardFD); !ok {
		return nil, nil
	}
	fd, err := envInt(EnvBoardFD)
	if err != nil {
		return nil, err
	}
	slot, err := envInt(EnvBoardSlot)
	if err != nil {
		return nil, err
	}
	return board.Open(fd, slot)
}

// Board is the connection board shared with the sibling workers, or nil.
func (c *Control) Board() *board.Board { return c.board }

func newControl(conn *net.UnixConn, maxRequests int) *Control {
	c := &Control{conn: conn, maxRequests: maxRequests, gone: make(chan struct{})}
	go c.watchMaster()
	return c
}

func envInt(name string) (int, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return 0, fmt.Errorf("%s is not set", name)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: not a count", name, v)
	}
	return n, nil
}

// watchMaster closes c.gone when the master's end of the socket closes. The
// master never writes, so the only thing a read can return is EOF (or an
// error): the master process is gone, and the worker should stop.
func (c *Control) watchMaster() {
	var buf [64]byte
	for {
		if _, err := c.conn.Read(buf[:]); err != nil {
			close(c.gone)
			return
		}
	}
}

// MaxRequests is the number of requests after which the worker should send
// Recycle; 0 means never. The master already applied --max-requests-jitter.
func (c *Control) MaxRequests() int { return c.maxRequests }

// MasterGone is closed when the master process has exited (its end of the
// control socket closed). An orphaned worker should stop gracefully.
func (c *Control) MasterGone() <-chan struct{} { return c.gone }

// Ready tells the master the app is loaded and the worker is accepting.
func (c *Control) Ready() error { return c.send(msgReady) }

// Heartbeat reports liveness: requests served so far and requests in flight.
// Send it every second (RunHeartbeat does); a worker silent for the watchdog
// timeout is killed.
func (c *Control) Heartbeat(served uint64, busy int) error {
	return c.send(msgHeartbeat + " " + strconv.FormatUint(served, 10) + " " + strconv.Itoa(busy))
}

// Metrics sends the worker's cumulative counts (one line of JSON) for the
// master's --metrics-bind endpoint.
func (c *Control) Metrics(payload []byte) error {
	return c.send(msgMetrics + " " + oneLine(string(payload)))
}

// RunHeartbeat sends a Heartbeat with stats() every interval until ctx ends
// or a write fails, and returns why it stopped.
func (c *Control) RunHeartbeat(ctx context.Context, interval time.Duration, stats func() (served uint64, busy int)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.gone:
			return errors.New("control: master gone")
		case <-t.C:
			if err := c.Heartbeat(stats()); err != nil {
				return err
			}
		}
	}
}

// Recycle asks the master to replace this worker (e.g. --max-requests was
// reached). The worker keeps accepting: the master starts a replacement,
// waits until it is ready, then sends TERM. Only the first call sends.
func (c *Control) Recycle(reason string) error {
	if c.recycled.Swap(true) {
		return nil
	}
	return c.send(msgRecycle + " " + oneLine(reason))
}

// Watch reports files whose change should reload the workers under --reload
// (the app's imported .py files). Paths should be absolute; a path with a
// newline cannot be sent and is an error.
func (c *Control) Watch(paths ...string) error {
	var b strings.Builder
	for _, p := range paths {
		if p == "" || strings.ContainsAny(p, "\n\r") {
			return fmt.Errorf("control: cannot watch %q", p)
		}
		b.WriteString(msgWatch + " " + p + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	return c.write(b.String())
}

// Exiting tells the master why the worker is about to exit on its own; the
// reason appears in the master's log line about the worker's death.
func (c *Control) Exiting(reason string) error { return c.send(msgExit + " " + oneLine(reason)) }

// Close closes the control socket. Further sends fail.
func (c *Control) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	return c.conn.Close()
}

func (c *Control) send(line string) error { return c.write(line + "\n") }

func (c *Control) write(s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("control: closed")
	}
	c.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.conn.Write([]byte(s))
	return err
}

// oneLine makes a free-text reason safe to send as the rest of a line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}
