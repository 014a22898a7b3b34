package host

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gohost/gohost/host/config"
	"github.com/gohost/gohost/host/listen"
	"github.com/gohost/gohost/host/logs"
	"github.com/gohost/gohost/host/master"
	"github.com/gohost/gohost/host/metrics"
	"github.com/gohost/gohost/host/static"
	"github.com/gohost/gohost/host/tlsconf"
)

// Version is gohost's version, set by cmd/gohost.
var Version = "dev"

// Main runs gohost with cfg and returns the process exit code.
func Main(cfg *config.Config) int {
	elog, err := logs.OpenErrorLog(cfg.ErrorLogFile, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gohost: %v\n", err)
		return master.ExitError
	}
	defer elog.Close()
	if _, isWorker := os.LookupEnv(config.EnvWorkerID); isWorker {
		return runWorker(cfg, elog) // the master's working directory is inherited
	}
	if _, isCheck := os.LookupEnv(config.EnvPreflight); isCheck {
		return checkApp(cfg, elog)
	}
	// --chdir first, like gunicorn: relative unix sockets, --static and
	// --pythonpath then mean the same in the master and the workers.
	if cfg.Chdir != "" {
		if err := os.Chdir(cfg.Chdir); err != nil {
			fmt.Fprintf(os.Stderr, "gohost: --chdir: %v\n", err)
			return master.ExitError
		}
	}
	return runMaster(cfg, elog)
}

// runMaster binds the listeners (or takes systemd's) and supervises workers.
func runMaster(cfg *config.Config, elog *logs.ErrorLog) int {
	// Workers inherit these signals' default handling unless we catch them
	// early: a HUP or TERM during start-up must not kill the master.
	early := make(chan os.Signal, 8)
	signal.Notify(early, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGUSR1)
	// Settings that only workers use are still checked here, so that a
	// mistake is one line before anything starts.
	if _, err := static.ParseMounts(cfg.Static); err != nil {
		fmt.Fprintf(os.Stderr, "gohost: %v\n", err)
		return master.ExitError
	}
	if cfg.CertFile != "" {
		if _, err := tlsconf.Load(cfg.CertFile, cfg.KeyFile); err != nil {
			fmt.Fprintf(os.Stderr, "gohost: %v\n", err)
			return master.ExitError
		}
	}
	// Metrics and probes are served by the master, summed over workers,
	// from the start: /healthz answers (and /readyz says 503) while the
	// app is first imported.
	var (
		agg    *metrics.Aggregator
		health metrics.Health
	)
	if cfg.MetricsBind != "" {
		agg = metrics.NewAggregator()
		ms, err := metrics.Listen(cfg.MetricsBind, agg, &health)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gohost: %v\n", err)
			return master.ExitError
		}
		defer ms.Close()
		elog.Info("Metrics at: http://" + ms.Addr().String() + "/metrics")
	}
	// Import the app once before binding: a syntax error, a missing module
	// or a non-callable is reported (one line + traceback) and gohost exits
	// before anything listens.
	if code := preflight(); code != master.ExitOK {
		return code
	}
	lns, err := listen.FromSystemd()
	ownSockets := err == nil && len(lns) == 0 // systemd's sockets are systemd's to remove
	if ownSockets {
		lns, err = listen.Listen(cfg.Bind)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gohost: %v\n", err)
		return master.ExitError
	}
	files, err := listen.Files(lns)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gohost: %v\n", err)
		return master.ExitError
	}
	// The *os.File duplicates are what workers inherit and what the master
	// closes when it stops accepting; these originals are closed now. A unix
	// socket's file must outlive this Close (the workers still serve it) and
	// is removed when the master exits, as gunicorn does.
	var socketFiles []string
	for _, ln := range lns {
		if ul, ok := ln.(*net.UnixListener); ok && ownSockets {
			ul.SetUnlinkOnClose(false)
			socketFiles = append(socketFiles, ul.Addr().String())
		}
		ln.Close()
	}
	defer func() {
		for _, f := range socketFiles {
			os.Remove(f)
		}
	}()
	addrs := make([]string, len(lns))
	for i, ln := range lns {
		addrs[i] = displayAddr(ln.Addr().Network(), ln.Addr().String(), cfg.CertFile != "")
	}
	elog.Info(fmt.Sprintf("Starting gohost %s", Version))
	elog.Info("Listening at: " + strings.Join(addrs, ", "))
	elog.Info(fmt.Sprintf("Using %d workers × %d Python threads", cfg.Workers, cfg.Threads))
	opts := master.Options{
		Workers:           cfg.Workers,
		GracefulTimeout:   cfg.GracefulTimeout,
		Timeout:           cfg.Timeout,
		MaxRequests:       cfg.MaxRequests,
		MaxRequestsJitter: cfg.MaxRequestsJitter,
		MaxWorkerMemoryMB: cfg.MaxWorkerMemoryMB,
		Reload:            cfg.Reload,
		ReloadExtraFiles:  cfg.ReloadExtraFiles,
		PidFile:           cfg.PidFile,
		Listeners:         files,
		Log:               elog.Logger,
		Reopen: func() {
			if err := elog.Reopen(); err != nil {
				elog.Error("reopen error log", "err", err)
			}
		},
		// The channel that has been catching signals since start-up: one
		// that arrived while binding is acted on, none is lost.
		Signals:    early,
		AppChecked: true,
		OnReady:    health.SetReady,
	}
	if agg != nil {
		opts.OnMetrics = func(pid int, payload string) {
			var s metrics.Snapshot
			if json.Unmarshal([]byte(payload), &s) == nil {
				agg.Update(pid, s)
			}
		}
		opts.OnWorkerExit = agg.Retire
	}
	return master.Run(opts)
}

func displayAddr(network, addr string, tls bool) string {
	switch {
	case network == "unix":
		return "unix:" + addr
	case tls:
		return "https://" + addr
	}
	return "http://" + addr
}

// preflight runs this binary once more with the same arguments to import
// the app (the master itself never loads Python) and returns its exit code.
func preflight() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gohost: %v\n", err)
		return master.ExitError
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), config.EnvPreflight+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return master.ExitOK
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "gohost: checking the app: %v\n", err)
		return master.ExitWorkerBootError
	}
}

// checkApp is the preflight process: import the app and report.
func checkApp(cfg *config.Config, elog *logs.ErrorLog) int {
	if _, err := startPython(cfg, elog); err != nil {
		reportLoadError(elog, err)
		return exitCode(err)
	}
	return master.ExitOK // no finalisation: nothing here needs to run at exit
}

// exitCode maps a worker's start-up error to the protocol's exit codes.
func exitCode(err error) int {
	var load *appLoadError
	if errors.As(err, &load) {
		return master.ExitAppLoadError
	}
	return master.ExitWorkerBootError
}
