package master

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Environment of a worker process, set by the master.
const (
	EnvWorkerID    = "GOHOST_WORKER_ID"    // the worker's number, 1, 2, … in spawn order; its presence makes a process a worker
	EnvListenFDs   = "GOHOST_LISTEN_FDS"   // L: the listening sockets are fds 3 … 3+L-1 in --bind order
	EnvControlFD   = "GOHOST_CONTROL_FD"   // the worker's end of the control socket, 3+L
	EnvMaxRequests = "GOHOST_MAX_REQUESTS" // recycle after this many requests; 0 or absent: never
	EnvBoardFD     = "GOHOST_BOARD_FD"     // the connection board (host/board), 3+L+1; absent: no balancing
	EnvBoardSlot   = "GOHOST_BOARD_SLOT"   // the worker's slot on the board
)

// boardSlots is the size of the connection board: room for the workers of
// two generations during a reload, with TTIN to spare. A worker spawned
// when every slot is taken runs without balancing.
const boardSlots = 256

// listenFDStart is the first inherited listening fd (after stdin, stdout, stderr).
const listenFDStart = 3

// maxLine bounds one control message (a watched path is the longest).
const maxLine = 64 << 10

// Worker → master messages: one line each on the control socket.
const (
	msgReady     = "ready"   // ready: the app is loaded and the worker accepts connections
	msgHeartbeat = "hb"      // hb <served> <busy>: liveness, every second
	msgRecycle   = "recycle" // recycle <reason>: replace me (max-requests); keep accepting until TERM
	msgWatch     = "watch"   // watch <path>: reload when this file changes (--reload)
	msgExit      = "exit"    // exit <reason>: I am about to exit voluntarily
	msgMetrics   = "metrics" // metrics <json>: the worker's cumulative counts (--metrics-bind)
)

// message is one parsed control line.
type message struct {
	kind   string
	served uint64 // hb
	busy   int    // hb
	arg    string // recycle, watch, exit: the rest of the line
}

// parseMessage parses one control line without its newline. Unknown kinds are
// an error the master logs once per worker and otherwise ignores, so that
// newer workers can add messages.
func parseMessage(line string) (message, error) {
	kind, rest, _ := strings.Cut(line, " ")
	m := message{kind: kind}
	switch kind {
	case msgReady:
		return m, nil
	case msgHeartbeat:
		// Extra fields are ignored: room to grow.
		f := strings.Fields(rest)
		if len(f) < 2 {
			return m, fmt.Errorf("control: malformed heartbeat %q", line)
		}
		var err1, err2 error
		m.served, err1 = strconv.ParseUint(f[0], 10, 64)
		m.busy, err2 = strconv.Atoi(f[1])
		if err := errors.Join(err1, err2); err != nil {
			return m, fmt.Errorf("control: malformed heartbeat %q", line)
		}
		return m, nil
	case msgRecycle, msgExit, msgMetrics:
		m.arg = rest
		return m, nil
	case msgWatch:
		if rest == "" {
			return m, errors.New("control: watch without a path")
		}
		m.arg = rest
		return m, nil
	}
	return m, fmt.Errorf("control: unknown message %q", kind)
}
