package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// runInfo describes a run: machine, versions, settings and the matrix.
type runInfo struct {
	Date      string      `json:"date"`
	Command   string      `json:"command"`
	Short     bool        `json:"short"`
	Nproc     int         `json:"nproc"`
	CPU       string      `json:"cpu"`
	Kernel    string      `json:"kernel"`
	MemTotal  string      `json:"mem_total"`
	LoadStart string      `json:"loadavg_start"`
	LoadEnd   string      `json:"loadavg_end"`
	Versions  [][2]string `json:"versions"`

	Workers     int    `json:"workers"`
	Threads     int    `json:"threads"`
	Connections int    `json:"connections"`
	StreamConns int    `json:"stream_connections"`
	WrkThreads  int    `json:"wrk_threads"`
	Duration    string `json:"duration"`
	Warmup      string `json:"warmup"`
	Checks      int    `json:"checks"`
	Rounds      int    `json:"rounds,omitempty"`
	Django      string `json:"django"`

	Servers   []serverInfo   `json:"servers"`
	Workloads []workloadInfo `json:"workloads"`
}

type serverInfo struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	Peer  bool   `json:"peer"`
	Note  string `json:"note"`
}

type workloadInfo struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	App   string `json:"app"`
	Path  string `json:"path"`
	Conns int    `json:"connections"`
	Shape string `json:"shape"`
}

func collectInfo(ctx context.Context, h *harness, servers []*serverDef, workloads []*workload, dj djangoProject) runInfo {
	cfg := h.cfg
	info := runInfo{
		Date:        time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Command:     strings.TrimSpace("go run ./bench " + strings.Join(os.Args[1:], " ")),
		Short:       cfg.Short,
		Nproc:       runtime.NumCPU(),
		CPU:         cpuModel(),
		Kernel:      readTrim("/proc/sys/kernel/osrelease"),
		MemTotal:    memTotal(),
		Workers:     cfg.Workers,
		Threads:     cfg.Threads,
		Connections: cfg.Connections,
		StreamConns: cfg.StreamConns,
		Rounds:      cfg.Rounds,
		WrkThreads:  cfg.WrkThreads,
		Duration:    cfg.Duration.String(),
		Warmup:      cfg.Warmup.String(),
		Checks:      cfg.Checks,
	}
	if dj.Real {
		info.Django = "python/djangoproject (" + dj.App + ", GET " + dj.Path + "), set up by its setup_demo.sh, served by every server with the settings module bench/apps/djangoshim/bench_django_settings.py (the demo's settings with the database path from BENCH_DJANGO_DB, set per run by the harness, which passes no GOHOST_* variable to the servers)"
	} else {
		info.Django = "bench/apps/djangobench (fallback: python/djangoproject not found)"
	}
	v := func(name, val string) { info.Versions = append(info.Versions, [2]string{name, val}) }
	out := func(name string, args ...string) string {
		c, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(c, name, args...)
		cmd.Env = h.env
		b, err := cmd.CombinedOutput()
		s := strings.TrimSpace(string(b))
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[:i]
		}
		if err != nil && s == "" {
			return "unavailable (" + err.Error() + ")"
		}
		return s
	}
	pyver := func(pkg string) string {
		return out(pythonBin, "-c", "import importlib.metadata as m; print(m.version('"+pkg+"'))")
	}
	v("Go", runtime.Version())
	v("Python", strings.TrimPrefix(out(pythonBin, "--version"), "Python "))
	v("gunicorn", strings.TrimSuffix(strings.TrimPrefix(out("gunicorn", "--version"), "gunicorn (version "), ")"))
	v("uWSGI", out("uwsgi", "--version"))
	v("waitress", pyver("waitress"))
	v("Flask", pyver("flask"))
	v("Django", pyver("django"))
	v("wrk", strings.TrimPrefix(strings.TrimSpace(strings.SplitN(out("wrk", "-v"), "Copyright", 2)[0]), "wrk "))
	rev := out("git", "-C", h.root, "rev-parse", "--short", "HEAD")
	if strings.Contains(rev, "unavailable") || strings.Contains(rev, "fatal") || strings.Contains(rev, "ambiguous") {
		rev = "no commit yet"
	}
	if st := out("git", "-C", h.root, "status", "--porcelain", "--untracked-files=no"); st != "" && !strings.Contains(st, "unavailable") {
		rev += " (with uncommitted changes)"
	}
	v("gohost rev", rev)
	if h.gohostBin != "" {
		v("gohost binary", out(h.gohostBin, "--version"))
	}
	for _, s := range servers {
		info.Servers = append(info.Servers, serverInfo{Name: s.Name, Label: s.Label, Peer: s.Peer, Note: s.Note})
	}
	for _, w := range workloads {
		conns := cfg.Connections
		if w.FewConns {
			conns = cfg.StreamConns
		}
		info.Workloads = append(info.Workloads, workloadInfo{
			Name: w.Name, Title: w.Title, App: w.Dir + " " + w.App, Path: w.Path, Conns: conns, Shape: shape(w),
		})
	}
	return info
}

func shape(w *workload) string {
	method := w.Method
	if method == "" {
		method = "GET"
	}
	s := method + " " + w.Path
	if w.Body != nil {
		s += fmt.Sprintf(" with a fixed %d-byte body", len(w.Body))
	}
	if w.Close {
		s += ", `Connection: close`"
	} else {
		s += ", keep-alive"
	}
	if w.WantSHA != "" {
		s += fmt.Sprintf("; checked: status, length %d, sha256", w.WantLen)
	} else if w.Reference {
		s += "; checked: status, body equal to the app's in-process answer"
	} else {
		s += "; checked: status, exact body"
		if w.Body != nil {
			s += " (sha256 hex of the request body)"
		}
	}
	return s
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				var kib int64
				fmt.Sscan(f[1], &kib)
				return fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
			}
		}
	}
	return "unknown"
}
