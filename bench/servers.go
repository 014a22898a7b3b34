package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// serverDef is one column of the matrix.
type serverDef struct {
	Name  string // key for -only
	Label string // in tables and the chart
	Peer  bool   // a WSGI peer that counts for "best peer"
	Note  string // how it is run, for BENCHMARKS.md
	// Cmd returns the command serving w on addr, or an error meaning n/a.
	Cmd func(h *harness, addr string, w *workload) (*exec.Cmd, error)
}

const (
	srvGohost   = "gohost"
	srvUWSGI    = "uwsgi"
	srvUWSGI11  = "uwsgi-http11"
	srvGunSync  = "gunicorn-sync"
	srvGunThr   = "gunicorn-gthread"
	srvWaitress = "waitress"
	srvCeiling  = "ceiling"
)

// gohostNote describes gohost's command line: its default --threads (2,
// chosen by measurement: docs/PERFORMANCE.md) unless -gohost-threads says.
func gohostNote(h *harness, workers string) string {
	threads := "(default: 2 threads)"
	if h.cfg.GohostThreads > 0 {
		threads = "--threads " + strconv.Itoa(h.cfg.GohostThreads)
	}
	return fmt.Sprintf("`gohost -w %s %s -b ADDR --chdir DIR MODULE:app`%s", workers, threads, extraNote(h.cfg.GohostArgs))
}

func allServers(h *harness) []*serverDef {
	workers := strconv.Itoa(h.cfg.Workers)
	threads := strconv.Itoa(h.cfg.Threads)
	uwsgi := func(socketOpt string, extra ...string) func(h *harness, addr string, w *workload) (*exec.Cmd, error) {
		return func(h *harness, addr string, w *workload) (*exec.Cmd, error) {
			args := []string{"--plugin", "python3", socketOpt, addr,
				"--processes", workers, "--master", "--disable-logging", "--die-on-term", "--need-app",
				"--listen", "1024"}
			args = append(args, extra...)
			args = append(args, "--chdir", filepath.Join(h.root, w.Dir), "--module", w.App)
			return exec.Command("uwsgi", args...), nil
		}
	}
	return []*serverDef{
		{Name: srvGohost, Label: "gohost",
			Note: gohostNote(h, workers),
			Cmd: func(h *harness, addr string, w *workload) (*exec.Cmd, error) {
				if h.gohostBin == "" {
					return nil, fmt.Errorf("no gohost binary: %s", h.gohostWhy)
				}
				args := []string{"-w", workers, "-b", addr, "--chdir", filepath.Join(h.root, w.Dir)}
				if h.cfg.GohostThreads > 0 {
					args = append(args, "--threads", strconv.Itoa(h.cfg.GohostThreads))
				}
				args = append(args, strings.Fields(h.cfg.GohostArgs)...)
				args = append(args, w.App)
				return exec.Command(h.gohostBin, args...), nil
			}},
		{Name: srvUWSGI, Label: "uWSGI http-socket", Peer: true,
			Note: fmt.Sprintf("`uwsgi --plugin python3 --http-socket ADDR --processes %s --master --disable-logging --die-on-term --need-app --listen 1024 --add-header 'Connection: close' --chdir DIR --module MODULE:app`. uWSGI's --http-socket has no keep-alive (`--http-keepalive` belongs to the --http router, not to --http-socket): it closes every connection after the response, but answers HTTP/1.1 without `Connection: close`, so wrk would try its next request on the closed socket and count a read error per request; `--add-header 'Connection: close'` makes the close explicit and lets clients reconnect cleanly (and faster)", workers),
			Cmd:  uwsgi("--http-socket", "--add-header", "Connection: close")},
		{Name: srvUWSGI11, Label: "uWSGI http11-socket",
			Note: "as above with `--http11-socket` (keep-alive) instead of `--http-socket` and without the added header. Each worker serves one connection at a time for as long as the client keeps it open, so with more connections than workers most clients wait: its req/s and latencies come from the few connections served, and the fresh-connection probe shows the starvation. Shown for reference; not counted as a peer for the targets (the issue names --http-socket)",
			Cmd:  uwsgi("--http11-socket")},
		{Name: srvGunSync, Label: "gunicorn sync", Peer: true,
			Note: fmt.Sprintf("`gunicorn -w %s -k sync -b ADDR --chdir DIR MODULE:app` (sync workers close every connection)", workers),
			Cmd: func(h *harness, addr string, w *workload) (*exec.Cmd, error) {
				return exec.Command("gunicorn", "-w", workers, "-k", "sync", "-b", addr, "--log-level", "warning",
					"--chdir", filepath.Join(h.root, w.Dir), w.App), nil
			}},
		{Name: srvGunThr, Label: "gunicorn gthread", Peer: true,
			Note: fmt.Sprintf("`gunicorn -w %s -k gthread --threads %s -b ADDR --chdir DIR MODULE:app`", workers, threads),
			Cmd: func(h *harness, addr string, w *workload) (*exec.Cmd, error) {
				return exec.Command("gunicorn", "-w", workers, "-k", "gthread", "--threads", threads, "-b", addr, "--log-level", "warning",
					"--chdir", filepath.Join(h.root, w.Dir), w.App), nil
			}},
		{Name: srvWaitress, Label: "waitress", Peer: true,
			Note: fmt.Sprintf("`waitress-serve --listen=ADDR --threads=%s MODULE:app` run in DIR: one process (waitress has no worker processes)", threads),
			Cmd: func(h *harness, addr string, w *workload) (*exec.Cmd, error) {
				return exec.Command("waitress-serve", "--listen="+addr, "--threads="+threads, w.App), nil
			}},
		{Name: srvCeiling, Label: "pure-Go ceiling",
			Note: "`bench/ceiling`: Go net/http answering the same bytes with no Python (one process, GOMAXPROCS = all cores)",
			Cmd: func(h *harness, addr string, w *workload) (*exec.Cmd, error) {
				if h.ceilingBin == "" {
					return nil, fmt.Errorf("ceiling not built")
				}
				args := []string{"-addr", addr, "-mode", w.CeilingMode}
				if w.CeilingMode == "constant" {
					args = append(args, "-body", w.bodyFile, "-type", w.WantTypeFull())
				}
				return exec.Command(h.ceilingBin, args...), nil
			}},
	}
}

// serverLabels names servers in reports even when a run left some out.
var serverLabels = map[string]string{
	srvGohost: "gohost", srvUWSGI: "uWSGI http-socket", srvUWSGI11: "uWSGI http11-socket",
	srvGunSync: "gunicorn sync", srvGunThr: "gunicorn gthread", srvWaitress: "waitress", srvCeiling: "pure-Go ceiling",
}

func extraNote(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return " plus `" + s + "`"
}

// WantTypeFull is the Content-Type the ceiling answers for a constant body.
func (w *workload) WantTypeFull() string {
	if w.refType != "" {
		return w.refType
	}
	if w.WantType != "" {
		return w.WantType
	}
	return "text/plain"
}
