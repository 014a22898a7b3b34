package master

import (
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// notifier speaks systemd's sd_notify protocol: newline-separated
// VAR=value datagrams on $NOTIFY_SOCKET (a path, or "@name" for the abstract
// namespace). A nil notifier does nothing.
type notifier struct {
	conn *net.UnixConn
	log  *slog.Logger

	// systemd's watchdog (WatchdogSec=): WATCHDOG=1 every interval.
	wdInterval time.Duration
	wdLast     time.Time
}

func newNotifier(path string, log *slog.Logger) *notifier {
	if path == "" {
		return nil
	}
	// Go maps a leading '@' to the abstract namespace on Linux.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		log.Warn("sd_notify disabled", "socket", path, "err", err)
		return nil
	}
	n := &notifier{conn: conn, log: log}
	if us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
		if p := os.Getenv("WATCHDOG_PID"); p == "" || p == strconv.Itoa(os.Getpid()) {
			n.wdInterval = time.Duration(us) * time.Microsecond / 2
		}
	}
	return n
}

// send sends one notification made of lines such as "READY=1".
func (n *notifier) send(lines ...string) {
	if n == nil {
		return
	}
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, "\n", " ")
	}
	if _, err := n.conn.Write([]byte(strings.Join(lines, "\n") + "\n")); err != nil {
		n.log.Debug("sd_notify", "err", err)
	}
}

// watchdogTick pings systemd's watchdog when due. The loop calls it, so a
// wedged loop stops the pings and systemd restarts the service.
func (n *notifier) watchdogTick(now time.Time) {
	if n == nil || n.wdInterval == 0 || now.Sub(n.wdLast) < n.wdInterval {
		return
	}
	n.wdLast = now
	n.send("WATCHDOG=1")
}

// close closes the socket at exit.
func (n *notifier) close() {
	if n != nil {
		n.conn.Close()
	}
}

// monotonicUsec is the MONOTONIC_USEC= line systemd's Type=notify-reload
// wants next to RELOADING=1.
func monotonicUsec() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return "MONOTONIC_USEC=0"
	}
	return "MONOTONIC_USEC=" + strconv.FormatInt(ts.Nano()/1000, 10)
}
