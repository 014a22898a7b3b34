package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gohost/gohost/environ"
	"github.com/gohost/gohost/host/config"
	"github.com/gohost/gohost/host/logs"
	"github.com/gohost/gohost/host/master"
	"github.com/gohost/gohost/host/metrics"
	"github.com/gohost/gohost/host/proxyproto"
	"github.com/gohost/gohost/host/static"
	"github.com/gohost/gohost/host/tlsconf"
	"github.com/gohost/gohost/server"
)

// finalizeTimeout bounds Python's finalisation at exit: an app thread that
// never ends must not keep a stopping worker alive.
const finalizeTimeout = 5 * time.Second

// workerGCPercent is a worker's Go collector target when GOGC is not set. A
// worker's Go heap is small and made of short-lived request buffers:
// collecting at 50% growth instead of Go's 100% lowered the peak RSS per
// worker by ~1.7 MiB in the benchmark, with throughput and CPU per request
// unchanged within the noise (docs/PERFORMANCE.md, "Memory").
const workerGCPercent = 50

// setWorkerGC applies workerGCPercent unless the user chose GOGC.
func setWorkerGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(workerGCPercent)
	}
}

// runWorker is a worker process: Python, the thread pool and the HTTP
// server on the listeners inherited from the master.
func runWorker(cfg *config.Config, elog *logs.ErrorLog) int {
	setWorkerGC(os.Getenv)
	id, lns, ctl, _, err := master.WorkerFromEnv()
	if err != nil {
		elog.Error("worker boot failed", "err", err)
		return master.ExitWorkerBootError
	}
	defer ctl.Close()
	log := elog.Logger
	log.Info(fmt.Sprintf("Booting worker %d with pid: %d", id, os.Getpid()))

	interp, err := startPython(cfg, elog)
	if err != nil {
		reportLoadError(elog, err)
		if cfg.Reload {
			// Watch the file that broke, so that fixing it reloads even
			// when the last good code never imported it.
			ctl.Watch(failingFiles(err)...)
		}
		ctl.Exiting(err.Error())
		return exitCode(err)
	}
	if cfg.Reload {
		ctl.Watch(interp.AppFiles()...)
	}

	envCfg := environ.NewConfig()
	envCfg.RootPath = cfg.RootPath
	if envCfg.RootPath == "" {
		envCfg.RootPath = os.Getenv("SCRIPT_NAME") // gunicorn honours it too
	}
	envCfg.ForwardedAllowIPs = cfg.ForwardedAllowIPs
	if err := envCfg.Prepare(); err != nil {
		elog.Error("worker boot failed", "err", err)
		return master.ExitWorkerBootError
	}

	p := newPool(interp, cfg.Threads, envCfg, log)
	var recycleOnce sync.Once
	if max := ctl.MaxRequests(); max > 0 {
		p.afterRequest = func(n uint64) {
			if n >= uint64(max) {
				recycleOnce.Do(func() {
					ctl.Heartbeat(p.served.Load(), int(p.busy.Load())) // the master logs the count
					ctl.Recycle(fmt.Sprintf("max-requests %d reached", max))
				})
			}
		}
	}

	access, err := openAccessLog(cfg)
	if err != nil {
		elog.Error("worker boot failed", "err", err)
		return master.ExitWorkerBootError
	}
	mounts, err := static.ParseMounts(cfg.Static)
	if err != nil {
		elog.Error("worker boot failed", "err", err)
		return master.ExitWorkerBootError
	}
	// Static files are answered by Go; everything else reaches Python.
	scfg := serverConfig(cfg, elog, access, p.rec)
	scfg.AcceptGate = p.acceptGate
	if b := ctl.Board(); b != nil {
		p.board = b
		scfg.KeptConns = b.Add
		scfg.ShedKept = p.shedKept
	}
	if cfg.CertFile != "" {
		// A HUP starts new workers, which read the certificate afresh.
		certs, err := tlsconf.Load(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			elog.Error("worker boot failed", "err", err)
			return master.ExitWorkerBootError
		}
		scfg.TLS = certs.Config()
	}
	srv := server.New(scfg, static.New(mounts, p, log))
	if cfg.ProxyProtocol {
		// A load balancer in front speaks PROXY protocol; only the peers in
		// --forwarded-allow-ips are believed (the header is read in each
		// connection's goroutine, never in Accept).
		trusted, err := proxyproto.AllowList(cfg.ForwardedAllowIPs)
		if err != nil {
			elog.Error("worker boot failed", "err", err)
			return master.ExitWorkerBootError
		}
		for i, ln := range lns {
			lns[i] = proxyproto.Wrap(ln, trusted, cfg.ReadHeaderTimeout)
		}
	}
	if p.board != nil {
		p.board.Join(0) // from now on the siblings count on this worker
	}
	for _, ln := range lns {
		go func(ln net.Listener) {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, server.ErrServerClosed) {
				log.Error("serve", "addr", ln.Addr().String(), "err", err)
			}
		}(ln)
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGHUP, syscall.SIGABRT)
	ctx, stopHeartbeat := context.WithCancel(context.Background())
	defer stopHeartbeat()
	ctl.Ready()
	go ctl.RunHeartbeat(ctx, time.Second, func() (uint64, int) { return p.served.Load(), int(p.busy.Load()) })
	if cfg.MetricsBind != "" {
		go sendMetrics(ctx, ctl, p.rec, srv)
	}

	watchdog := time.NewTicker(time.Second)
	defer watchdog.Stop()
	graceful := true
	reason := ""
loop:
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGUSR1:
				reopenLogs(elog, access)
				continue
			case syscall.SIGHUP:
				continue // reload is the master's business
			case syscall.SIGABRT:
				// The master saw no heartbeat: say what Python is doing.
				elog.Error(fmt.Sprintf("WORKER ABORTED by the master (pid: %d); Python stacks:\n%s", os.Getpid(), dumpStacks(interp)))
				ctl.Exiting("aborted")
				return master.ExitWorkerTimeout
			case syscall.SIGTERM:
				reason = "TERM"
			default:
				reason, graceful = sig.String(), false
			}
			break loop
		case <-ctl.MasterGone():
			reason = "master gone"
			break loop
		case <-watchdog.C:
			if cfg.Timeout <= 0 {
				continue
			}
			if line, age, late := p.overdue(cfg.Timeout); late {
				reportTimeout(elog, dumpStacks(interp), line, age, cfg.Timeout)
				ctl.Exiting("timeout")
				return master.ExitWorkerTimeout
			}
		}
	}

	log.Info(fmt.Sprintf("Worker exiting (pid: %d): %s", os.Getpid(), reason))
	if p.board != nil {
		p.board.Leave() // accepts no more: the siblings must not wait for it
	}
	if graceful {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.GracefulTimeout)
		srv.Shutdown(sctx)
		cancel()
	} else {
		srv.Close()
	}
	stopHeartbeat()
	// Finalising Python under a request still running would end its OS
	// thread from inside Python; a request that outlives the server's
	// shutdown (QUIT, or a handler ignoring it) gets finalizeTimeout.
	finalize := p.idle(finalizeTimeout)
	// A last heartbeat and metrics snapshot: the master logs how many
	// requests this worker served, and its counters keep the last second.
	ctl.Heartbeat(p.served.Load(), 0)
	if cfg.MetricsBind != "" {
		sendSnapshot(ctl, p.rec, srv)
	}
	ctl.Exiting(reason)
	if !finalize {
		log.Warn("A request is still running in Python; exiting without finalisation")
	} else {
		finalized := make(chan struct{})
		go func() { interp.Close(); close(finalized) }()
		select {
		case <-finalized:
		case <-time.After(finalizeTimeout):
			log.Warn("Python finalisation did not finish; exiting anyway")
		}
	}
	if access != nil {
		access.Close()
	}
	return master.ExitOK
}

func serverConfig(cfg *config.Config, elog *logs.ErrorLog, access *logs.AccessLogger, rec *metrics.Recorder) server.Config {
	sc := server.Config{
		LimitRequestLine:      cfg.LimitRequestLine,
		LimitRequestFields:    cfg.LimitRequestFields,
		LimitRequestFieldSize: cfg.LimitRequestFieldSize,
		LimitRequestBody:      cfg.LimitRequestBody,
		BodyPrefetch:          cfg.BodyPrefetch,
		ReadHeaderTimeout:     cfg.ReadHeaderTimeout,
		BodyReadTimeout:       cfg.BodyReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		KeepAliveTimeout:      keepAlive(cfg.KeepAlive),
		MaxConnections:        cfg.MaxConnections,
		ServerHeader:          cfg.ServerHeader,
		H2:                    cfg.HTTP2,
		H2C:                   cfg.H2C,
		ErrorLog:              elog.Logger,
	}
	pid := os.Getpid()
	// Every answered request, the app's and the server's own (400, 413, …),
	// is counted and, with --access-logfile, logged.
	sc.AccessLog = func(e *server.AccessEntry) {
		r := e.Request
		rec.End(r.Method, e.Status, e.Duration, e.BodySent)
		if access == nil {
			return
		}
		access.Log(&logs.AccessRecord{
			Start:         r.Received,
			Duration:      e.Duration,
			RemoteAddr:    addrString(r.RemoteAddr),
			Method:        r.Method,
			Path:          r.Path,
			Query:         r.RawQuery,
			Proto:         r.Proto,
			Status:        e.Status,
			Bytes:         e.BodySent,
			RequestHeader: func(name string) string { return headerValue(r.Header, name) },
			PID:           pid,
		})
	}
	return sc
}

// keepAlive maps --keep-alive to the server's setting: 0 turns keep-alive
// off (every response closes its connection), as with gunicorn.
func keepAlive(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func openAccessLog(cfg *config.Config) (*logs.AccessLogger, error) {
	if cfg.AccessLogFile == "" {
		return nil, nil
	}
	return logs.OpenAccessLog(cfg.AccessLogFile, cfg.AccessLogFormat)
}

func reopenLogs(elog *logs.ErrorLog, access *logs.AccessLogger) {
	if err := elog.Reopen(); err != nil {
		elog.Error("reopen error log", "err", err)
	}
	if access != nil {
		if err := access.Reopen(); err != nil {
			elog.Error("reopen access log", "err", err)
		}
	}
}

// reportTimeout logs what a request past --timeout was doing, like
// faulthandler, before the worker exits to be replaced.
func reportTimeout(elog *logs.ErrorLog, stacks, line string, age, limit time.Duration) {
	elog.Error(fmt.Sprintf("WORKER TIMEOUT (pid: %d): request %q has run %.1fs (--timeout %s); Python stacks:\n%s",
		os.Getpid(), line, age.Seconds(), limit, stacks))
}

// sendMetrics reports the worker's counts to the master every second.
func sendMetrics(ctx context.Context, ctl *master.Control, rec *metrics.Recorder, srv *server.Server) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if sendSnapshot(ctl, rec, srv) != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func sendSnapshot(ctl *master.Control, rec *metrics.Recorder, srv *server.Server) error {
	rec.SetInFlight(srv.ActiveRequests())
	b, err := json.Marshal(rec.Snapshot())
	if err != nil {
		return err
	}
	return ctl.Metrics(b)
}

// failingFiles finds the source files named in a load error's traceback.
func failingFiles(err error) []string {
	var files []string
	for _, line := range strings.Split(err.Error()+"\n"+tracebackOf(err), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, `File "`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok && strings.HasSuffix(name, ".py") {
				files = append(files, name)
			}
		}
	}
	return files
}

// stackDumpWait bounds the wait for the GIL when dumping stacks: C code that
// never releases it must not stop the worker from being replaced.
const stackDumpWait = 3 * time.Second

func dumpStacks(interp interface{ DumpStacks() string }) string {
	out := make(chan string, 1)
	go func() { out <- interp.DumpStacks() }()
	select {
	case s := <-out:
		return s
	case <-time.After(stackDumpWait):
		return "(unavailable: the GIL was not released within 3s — the request is stuck in C code holding it)"
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	if a.Network() == "unix" {
		return ""
	}
	return a.String()
}

func headerValue(h []server.HeaderField, name string) string {
	var out string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			if out != "" {
				out += ", "
			}
			out += f.Value
		}
	}
	return out
}
