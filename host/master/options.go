package master

import (
	"log/slog"
	"os"
	"runtime"
	"time"
)

// Exit codes. They are the master ↔ worker protocol as much as the process's
// status: a worker that exits with ExitWorkerBootError or ExitAppLoadError
// during the first boot stops the master instead of starting a fork loop
// (gunicorn's WORKER_BOOT_ERROR and APP_LOAD_ERROR).
const (
	ExitOK              = 0 // clean stop
	ExitError           = 1 // the master itself failed (no listeners, cannot spawn, ...)
	ExitWorkerBootError = 3 // the worker could not set itself up (bad fds, Python missing, ...)
	ExitAppLoadError    = 4 // the WSGI app could not be imported; the worker already logged the traceback
	ExitWorkerTimeout   = 5 // a request ran past --timeout; the worker already logged the stack dump
)

// Options configure Run. The zero value of every field except Listeners is
// usable; see each field for its default.
type Options struct {
	// Workers is the number of worker processes (-w). 0 means runtime.NumCPU().
	Workers int

	// GracefulTimeout bounds a graceful stop of one worker (--graceful-timeout):
	// after TERM it has this long to finish in-flight requests, then it is
	// sent SIGKILL. 0 means 30s.
	GracefulTimeout time.Duration

	// Timeout is --timeout, the longest a request may run. The worker enforces
	// it itself (stack dump, exit 5); the master only uses it to size the
	// heartbeat watchdog: max(Timeout, 10s) + 5s unless WatchdogTimeout is set.
	Timeout time.Duration

	// MaxRequests (--max-requests) and MaxRequestsJitter
	// (--max-requests-jitter): each worker gets the limit
	// MaxRequests + rand[0, MaxRequestsJitter] in GOHOST_MAX_REQUESTS and sends
	// "recycle" when it is reached. 0 disables.
	MaxRequests, MaxRequestsJitter int

	// MaxWorkerMemoryMB (--max-worker-memory): a worker whose RSS passes this
	// many MiB is replaced (replacement first, then a graceful stop). 0 disables.
	MaxWorkerMemoryMB int

	// Reload (--reload) watches the files the workers report with "watch"
	// plus ReloadExtraFiles (--reload-extra-file) and reloads on change.
	Reload           bool
	ReloadExtraFiles []string

	// PidFile (--pid) is written at start and removed at exit.
	PidFile string

	// Listeners are the bound listening sockets in --bind order. They become
	// fds 3… of every worker. Run owns them: it closes them when it starts
	// stopping, so that new connections are refused rather than queued on a
	// socket nobody will accept from again. Required.
	Listeners []*os.File

	// WorkerCommand is the argv of a worker. Default: os.Executable() with
	// os.Args[1:]. A command without a slash is looked up in $PATH.
	WorkerCommand []string

	// WorkerEnv is appended to the master's environment for workers.
	WorkerEnv []string

	// Log receives the master's log records. Default: slog.Default().
	Log *slog.Logger

	// Reopen is called on SIGUSR1 before the signal is forwarded to the
	// workers: the master reopens its own log files here.
	Reopen func()

	// Signals, when not nil, replaces the process's signals: Run reads the
	// signals it acts on (TERM, INT, QUIT, HUP, TTIN, TTOU, USR1) from this
	// channel instead of calling signal.Notify. Tests and embedders use it.
	// SIGCHLD is always taken from the process.
	Signals <-chan os.Signal

	// NotifySocket is the systemd notification socket. Default: $NOTIFY_SOCKET.
	NotifySocket string

	// WatchdogTimeout overrides the heartbeat watchdog (see Timeout): a ready
	// worker silent for longer is sent SIGABRT, then SIGKILL.
	WatchdogTimeout time.Duration

	// AppChecked tells that the app was imported successfully just before
	// Run (host's preflight): the first generation then boots every worker
	// at once instead of one canary first.
	AppChecked bool

	// OnMetrics, when set, receives each worker's "metrics" message payload
	// (the worker's cumulative counts, opaque to the master).
	OnMetrics func(pid int, payload string)

	// OnWorkerExit, when set, is told of every worker that ended, with a
	// short cause label for counting ("stopped", "recycled", "timeout",
	// "crashed", "killed", "oom", …).
	OnWorkerExit func(pid int, cause string)

	// OnReady, when set, is told when the master starts serving (true: the
	// first generation is ready) and when it begins stopping (false).
	OnReady func(ready bool)

	// BootTimeout bounds a worker's boot (spawn to "ready"). Default:
	// max(Timeout, 30s). A worker that takes longer is killed like a silent one.
	BootTimeout time.Duration
}

// Durations the flags do not expose.
const (
	defaultGracefulTimeout = 30 * time.Second
	minWatchdog            = 10 * time.Second
	watchdogGrace          = 5 * time.Second
	minBootTimeout         = 30 * time.Second
	maxFastStop            = 5 * time.Second // QUIT → SIGKILL
	backoffMin             = 100 * time.Millisecond
	backoffMax             = 10 * time.Second
	backoffReset           = 30 * time.Second // a worker up this long ends a crash loop
	reloadDebounce         = 200 * time.Millisecond
	tickInterval           = 100 * time.Millisecond
	memoryInterval         = time.Second
	exitDrainTimeout       = 500 * time.Millisecond // wait for the control stream after reaping
)

// withDefaults returns o with every default filled in.
func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = runtime.NumCPU()
	}
	if o.GracefulTimeout <= 0 {
		o.GracefulTimeout = defaultGracefulTimeout
	}
	if o.WatchdogTimeout <= 0 {
		o.WatchdogTimeout = max(o.Timeout, minWatchdog) + watchdogGrace
	}
	if o.BootTimeout <= 0 {
		o.BootTimeout = max(o.Timeout, minBootTimeout)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.NotifySocket == "" {
		o.NotifySocket = os.Getenv("NOTIFY_SOCKET")
	}
	return o
}

// fastStopTimeout is how long a QUIT worker gets before SIGKILL.
func (o *Options) fastStopTimeout() time.Duration { return min(o.GracefulTimeout, maxFastStop) }

// abortGrace is how long a worker sent SIGABRT (watchdog, boot timeout) gets to
// dump its stacks and die before SIGKILL.
func (o *Options) abortGrace() time.Duration {
	return max(time.Second, min(5*time.Second, o.WatchdogTimeout/2))
}
