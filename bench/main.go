// Command bench is gohost's benchmark harness (`make bench`): it serves the
// same WSGI apps (bench/apps) with gohost, uWSGI, gunicorn, waitress and a
// pure-Go ceiling, one server at a time on loopback, drives each with wrk,
// and writes BENCHMARKS.md and bench/chart.png.
//
//	go run ./bench              # full: 10 s per cell after a 2 s warm-up
//	go run ./bench -short       # 3 s per cell after a 1 s warm-up
//	go run ./bench -only gohost,uwsgi -workloads hello,flask
//	go run ./bench -render bench/results.json   # redraw report and chart only
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

const pythonBin = "/usr/bin/python3"

type config struct {
	Short         bool
	Only          string
	Workloads     string
	Out           string
	Chart         string
	JSON          string
	Render        string
	Workers       int
	Threads       int
	GohostThreads int // gohost --threads; 0: its default
	Connections   int
	StreamConns   int
	WrkThreads    int
	Duration      time.Duration
	Warmup        time.Duration
	Checks        int
	Rounds        int // each cell is run this many times, rounds interleaved; the median is reported
	Gohost        string
	GohostArgs    string
}

type harness struct {
	cfg        config
	root       string
	tmp        string
	env        []string // helper commands
	serverEnv  []string // servers, before a workload's own Env
	gohostBin  string
	gohostWhy  string
	ceilingBin string
}

// cellResult is one (server, workload) measurement.
type cellResult struct {
	Server   string `json:"server"`
	Workload string `json:"workload"`
	State    string `json:"state"` // ok | n/a | failed
	Reason   string `json:"reason,omitempty"`
	wrkResult
	Connections int       `json:"connections"`
	CPUSec      float64   `json:"cpu_s"`
	CPUPer1k    float64   `json:"cpu_s_per_1k"`
	RSSPeakMiB  float64   `json:"rss_peak_worker_mib"`
	RoundsRPS   []float64 `json:"rounds_rps,omitempty"` // req/s of every round, in run order (-rounds > 1)
	PSSPeakMiB  float64   `json:"pss_peak_worker_mib,omitempty"`
	Procs       int       `json:"worker_procs"`
	PostCheck   string    `json:"post_check_error,omitempty"`
	Load1       string    `json:"loadavg1_before,omitempty"` // 1-minute load average when the cell started
	probeResult
}

// ErrorText describes every error of a measured cell, "" when none.
func (c *cellResult) ErrorText() string {
	var parts []string
	if e := c.ErrorSummary(); e != "" {
		parts = append(parts, e)
	}
	if c.ProbeFail > 0 {
		parts = append(parts, fmt.Sprintf("%d/%d fresh-connection probes failed (%s)", c.ProbeFail, c.Probes, clipStr(c.ProbeErr, 160)))
	}
	if c.PostCheck != "" {
		parts = append(parts, "post-run check: "+clipStr(c.PostCheck, 200))
	}
	return strings.Join(parts, "; ")
}

func (c *cellResult) ok() bool { return c != nil && c.State == "ok" }

// TotalErrors counts wrk's errors plus a failed check after the run.
func (c *cellResult) TotalErrors() int64 {
	n := c.Errors() + int64(c.ProbeFail)
	if c.PostCheck != "" {
		n++
	}
	return n
}

type resultsFile struct {
	Info  runInfo       `json:"info"`
	Cells []*cellResult `json:"cells"`
}

func main() {
	var cfg config
	flag.BoolVar(&cfg.Short, "short", false, "short mode: 3 s per cell after a 1 s warm-up")
	flag.StringVar(&cfg.Only, "only", "", "comma-separated servers to run (default all): gohost,uwsgi,uwsgi-http11,gunicorn-sync,gunicorn-gthread,waitress,ceiling")
	flag.StringVar(&cfg.Workloads, "workloads", "", "comma-separated workloads (default all): hello,hello-close,flask,django,upload,stream")
	flag.StringVar(&cfg.Out, "out", "BENCHMARKS.md", "Markdown report to write")
	flag.StringVar(&cfg.Chart, "chart", "bench/chart.png", "chart image to write (\"\" = none)")
	flag.StringVar(&cfg.JSON, "json", "bench/results.json", "raw results to write (\"\" = none)")
	flag.StringVar(&cfg.Render, "render", "", "only redraw -out and -chart from this results JSON")
	flag.IntVar(&cfg.Workers, "workers", 2, "worker processes per server")
	flag.IntVar(&cfg.Threads, "threads", 4, "threads per worker (gunicorn gthread, waitress)")
	flag.IntVar(&cfg.GohostThreads, "gohost-threads", 0, "gohost --threads (0: gohost's default, 2)")
	flag.IntVar(&cfg.Connections, "connections", 64, "wrk connections")
	flag.IntVar(&cfg.StreamConns, "stream-connections", 8, "wrk connections for the 16 MiB stream")
	flag.IntVar(&cfg.WrkThreads, "wrk-threads", 2, "wrk threads")
	flag.DurationVar(&cfg.Duration, "duration", 0, "timed run per cell (default 10s, 3s with -short)")
	flag.DurationVar(&cfg.Warmup, "warmup", 0, "warm-up per cell (default 2s, 1s with -short)")
	flag.IntVar(&cfg.Rounds, "rounds", 0, "runs of every cell, interleaved, the median reported (default 3, 1 with -short)")
	flag.IntVar(&cfg.Checks, "checks", 5, "requests checked (status and body) before timing each cell")
	flag.StringVar(&cfg.Gohost, "gohost", "bin/gohost", "gohost binary; if missing, ./cmd/gohost is built into a temp dir")
	flag.StringVar(&cfg.GohostArgs, "gohost-args", "", "extra gohost flags (space-separated)")
	flag.Parse()
	if cfg.Duration == 0 {
		cfg.Duration = map[bool]time.Duration{false: 10 * time.Second, true: 3 * time.Second}[cfg.Short]
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = map[bool]int{false: 3, true: 1}[cfg.Short]
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = map[bool]time.Duration{false: 2 * time.Second, true: time.Second}[cfg.Short]
	}

	root, err := findRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := os.Chdir(root); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if cfg.Render != "" {
		if err := renderOnly(cfg); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := func() (code int) {
		defer func() {
			if r := recover(); r != nil {
				killAll()
				panic(r)
			}
		}()
		return run(ctx, cfg, root)
	}()
	stop()
	killAll()
	os.Exit(code)
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/gohost/gohost") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the gohost repository")
		}
		dir = parent
	}
}

func splitList(s string) map[string]bool {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	m := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			m[f] = true
		}
	}
	return m
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, cfg config, root string) int {
	tmp, err := os.MkdirTemp("", "gohost-bench-")
	if err != nil {
		logf("%v", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	h := &harness{cfg: cfg, root: root, tmp: tmp}
	// Servers get the caller's environment without GOHOST_* (which would
	// configure gohost alone, and which gohost rejects when they look like
	// a misspelt setting).
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOHOST_") {
			h.serverEnv = append(h.serverEnv, kv)
		}
	}
	db := filepath.Join(tmp, "django.sqlite3")
	h.serverEnv = append(h.serverEnv,
		"PYTHONPYCACHEPREFIX="+filepath.Join(tmp, "pycache"), // keep __pycache__ out of the tree
		"BENCH_DJANGO_DB="+db,
	)
	// Helper commands (Django setup) get the demo project's own variables.
	h.env = append(append([]string{}, h.serverEnv...),
		"GOHOST_DJANGO_DB="+db,
		"GOHOST_DJANGO_STATIC_ROOT="+filepath.Join(tmp, "static"),
	)
	_ = os.MkdirAll(filepath.Join(tmp, "logs"), 0o755)

	servers := allServers(h)
	dj := findDjango(root)
	workloads := allWorkloads(dj)
	if sel := splitList(cfg.Only); sel != nil {
		servers = filterServers(servers, sel)
	}
	if sel := splitList(cfg.Workloads); sel != nil {
		workloads = filterWorkloads(workloads, sel)
	}
	if len(servers) == 0 || len(workloads) == 0 {
		logf("nothing selected (servers %q, workloads %q)", cfg.Only, cfg.Workloads)
		return 2
	}

	prepErr := h.prepare(ctx, servers, workloads, dj)
	info := collectInfo(ctx, h, servers, workloads, dj)
	info.LoadStart = loadAvg()
	var cells []*cellResult
	total := len(servers) * len(workloads) * cfg.Rounds
	i := 0
	// Workload-major: the servers compared on a workload run back to back,
	// so drift in the machine's load skews their ratios less; with several
	// rounds every server runs once per round before the next round starts.
	for _, w := range workloads {
		runs := make(map[string][]*cellResult, len(servers))
		for round := 1; round <= cfg.Rounds; round++ {
			for _, s := range servers {
				i++
				if ctx.Err() != nil {
					logf("interrupted")
					return 130
				}
				var c *cellResult
				if e := prepErr[w.Name]; e != nil {
					c = &cellResult{Server: s.Name, Workload: w.Name, State: "failed", Reason: "setup: " + e.Error()}
				} else {
					c = h.runCell(ctx, s, w)
				}
				runs[s.Name] = append(runs[s.Name], c)
				logf("[%d/%d] %-16s %-12s %s", i, total, s.Name, w.Name, cellSummary(c))
			}
		}
		for _, s := range servers {
			cells = append(cells, pickRound(runs[s.Name]))
		}
	}
	if ctx.Err() != nil {
		logf("interrupted")
		return 130
	}
	info.LoadEnd = loadAvg()
	rf := &resultsFile{Info: info, Cells: cells}
	if err := writeOutputs(cfg, rf); err != nil {
		logf("%v", err)
		return 1
	}
	return 0
}

// pickRound chooses the round of a cell that the report shows: the one with
// the median req/s (the lower median for an even count), unless a round
// failed or had errors: then the first failed round, or else the round
// with the most errors, so that no round's failure is hidden by the others.
// The chosen cell carries every round's req/s.
func pickRound(rounds []*cellResult) *cellResult {
	if len(rounds) == 1 {
		return rounds[0]
	}
	var pick *cellResult
	for _, c := range rounds {
		if !c.ok() {
			pick = c
			break
		}
		if n := c.TotalErrors(); n > 0 && (pick == nil || n > pick.TotalErrors()) {
			pick = c
		}
	}
	if pick == nil {
		sorted := append([]*cellResult(nil), rounds...)
		sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].RPS < sorted[b].RPS })
		pick = sorted[(len(sorted)-1)/2]
	}
	pick.RoundsRPS = make([]float64, len(rounds))
	for i, c := range rounds {
		pick.RoundsRPS[i] = c.RPS
	}
	return pick
}

func filterServers(all []*serverDef, sel map[string]bool) []*serverDef {
	var out []*serverDef
	for _, s := range all {
		if sel[s.Name] || (sel["gunicorn"] && strings.HasPrefix(s.Name, "gunicorn")) {
			out = append(out, s)
		}
	}
	return out
}

func filterWorkloads(all []*workload, sel map[string]bool) []*workload {
	var out []*workload
	for _, w := range all {
		if sel[w.Name] {
			out = append(out, w)
		}
	}
	return out
}

func cellSummary(c *cellResult) string {
	if !c.ok() {
		return c.State + ": " + c.Reason
	}
	s := fmt.Sprintf("%9.0f req/s  p50 %6.2f ms  p99 %7.2f ms  cpu %.3f s/1k  rss %.1f MiB x%d",
		c.RPS, c.P50ms, c.P99ms, c.CPUPer1k, c.RSSPeakMiB, c.Procs)
	s += fmt.Sprintf("  probe max %.1f ms", c.ProbeMaxMs)
	if e := c.ErrorText(); e != "" {
		s += "  ERRORS: " + e
	}
	return s
}

// prepare builds the ceiling, finds gohost, sets up Django and computes the
// reference responses. Errors are per workload (its cells then fail).
func (h *harness) prepare(ctx context.Context, servers []*serverDef, workloads []*workload, dj djangoProject) map[string]error {
	errs := map[string]error{}
	for _, s := range servers {
		switch s.Name {
		case srvCeiling:
			bin := filepath.Join(h.tmp, "ceiling")
			if out, err := h.command(ctx, 5*time.Minute, "go", "build", "-o", bin, "./bench/ceiling"); err != nil {
				logf("building the ceiling failed: %v: %s", err, out)
			} else {
				h.ceilingBin = bin
			}
		case srvGohost:
			h.findGohost(ctx)
		}
	}
	for _, w := range workloads {
		if w.Name == "django" {
			logf("setting up Django (%s)", dj.Dir)
			if out, err := h.command(ctx, 3*time.Minute, dj.Setup[0], dj.Setup[1:]...); err != nil {
				errs[w.Name] = fmt.Errorf("%s: %v: %s", strings.Join(dj.Setup, " "), err, lastLines(out, 5))
				continue
			}
		}
		if w.Reference {
			body, ctype, err := reference(ctx, h.root, w, append(append([]string{}, h.serverEnv...), w.Env...))
			if err != nil {
				errs[w.Name] = err
				continue
			}
			w.WantBody, w.refType = body, ctype
			if i := strings.IndexByte(ctype, ';'); i >= 0 {
				w.WantType = strings.TrimSpace(ctype[:i])
			} else {
				w.WantType = ctype
			}
		}
		if w.WantBody != nil {
			w.bodyFile = filepath.Join(h.tmp, "body-"+w.Name)
			if err := os.WriteFile(w.bodyFile, w.WantBody, 0o644); err != nil {
				errs[w.Name] = err
			}
		}
		if w.Body != nil {
			w.reqFile = filepath.Join(h.tmp, "req-"+w.Name)
			if err := os.WriteFile(w.reqFile, w.Body, 0o644); err != nil {
				errs[w.Name] = err
			}
		}
	}
	return errs
}

// findGohost uses -gohost if it exists, else builds ./cmd/gohost; either
// way the server runs from a copy in the temp dir (see copyBinary).
func (h *harness) findGohost(ctx context.Context) {
	p := h.cfg.Gohost
	if !filepath.IsAbs(p) {
		p = filepath.Join(h.root, p)
	}
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		p = h.buildGohost(ctx)
		if p == "" {
			return
		}
	}
	bin := filepath.Join(h.tmp, "gohost")
	if err := copyBinary(p, bin); err != nil {
		h.gohostWhy = fmt.Sprintf("copy %s: %v", p, err)
		logf("gohost: %s", h.gohostWhy)
		return
	}
	h.gohostBin = bin
}

// buildGohost builds ./cmd/gohost into the temp dir and returns its path,
// or "" with h.gohostWhy set.
func (h *harness) buildGohost(ctx context.Context) string {
	matches, _ := filepath.Glob(filepath.Join(h.root, "cmd/gohost/*.go"))
	if len(matches) == 0 {
		h.gohostWhy = h.cfg.Gohost + " missing and cmd/gohost has no Go files"
		logf("gohost: %s", h.gohostWhy)
		return ""
	}
	bin := filepath.Join(h.tmp, "gohost-built")
	logf("gohost: %s missing, building ./cmd/gohost", h.cfg.Gohost)
	if out, err := h.command(ctx, 10*time.Minute, "go", "build", "-o", bin, "./cmd/gohost"); err != nil {
		h.gohostWhy = fmt.Sprintf("%s missing and `go build ./cmd/gohost` failed: %s", h.cfg.Gohost, lastLines(out, 3))
		logf("gohost: %s", h.gohostWhy)
		return ""
	}
	return bin
}

// copyBinary copies the gohost binary to dst, as installing it would. A file
// the linker has just written sits in the page cache in a state the kernel
// maps more of into every process that runs it: the same bytes run where
// `go build` left them gave a hello worker 2.8 MiB more resident file pages
// when idle, and a peak RSS under load 1.4 MiB higher, than copied or read
// back after `echo 3 > /proc/sys/vm/drop_caches` (docs/PERFORMANCE.md,
// "Measuring RSS"). The peers run from files dpkg wrote; gohost runs from a
// copy, as from a package, a container image or after a reboot.
func copyBinary(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	// Chmod: O_CREATE's mode does not apply to a file left from an earlier run.
	if err := out.Chmod(0o755); err != nil {
		out.Close()
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// command runs a bounded helper command from the repo root with the harness env.
func (h *harness) command(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = h.root
	cmd.Env = h.env
	setChildAttrs(cmd)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runCell starts srv for w, checks its answers, warms it up, measures it
// and stops it.
func (h *harness) runCell(ctx context.Context, srv *serverDef, w *workload) *cellResult {
	c := &cellResult{Server: srv.Name, Workload: w.Name, State: "failed"}
	if f := strings.Fields(loadAvg()); len(f) > 0 {
		c.Load1 = f[0]
	}
	c.Connections = h.cfg.Connections
	if w.FewConns {
		c.Connections = h.cfg.StreamConns
	}
	port, err := freePort()
	if err != nil {
		c.Reason = err.Error()
		return c
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd, err := srv.Cmd(h, addr, w)
	if err != nil {
		c.State, c.Reason = "n/a", err.Error()
		return c
	}
	if cmd.Env == nil {
		cmd.Env = append(append([]string{}, h.serverEnv...), w.Env...)
	}
	if cmd.Dir == "" {
		// Start every server in the app directory as well as passing --chdir:
		// same for all, and it does not depend on --chdir putting the
		// directory on sys.path.
		cmd.Dir = filepath.Join(h.root, w.Dir)
	}
	logPath := filepath.Join(h.tmp, "logs", srv.Name+"-"+w.Name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		c.Reason = err.Error()
		return c
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	p, err := startProc(cmd)
	if err != nil {
		if srv.Name == srvGohost {
			c.State = "n/a"
		}
		c.Reason = "start: " + err.Error()
		return c
	}
	defer p.Stop(5 * time.Second)
	serverLog := func() string {
		b, _ := os.ReadFile(logPath)
		return lastLines(string(b), 6)
	}
	if err := waitListening(p, port, 60*time.Second); err != nil {
		c.Reason = err.Error() + "; log: " + serverLog()
		return c
	}
	url := "http://" + addr + w.Path
	if err := check(url, w, h.cfg.Checks); err != nil {
		c.Reason = err.Error() + "; log: " + serverLog()
		return c
	}
	if waited, ok := waitIdle(p.pid, 300*time.Millisecond, 0.03, 60*time.Second); !ok {
		logf("%s/%s: server still busy after %s, measuring anyway", srv.Name, w.Name, waited.Round(time.Millisecond))
	}
	opts := wrkOptions{
		URL: url, Threads: h.cfg.WrkThreads, Connections: c.Connections, Timeout: 10 * time.Second,
		Method: w.Method, BodyFile: w.reqFile, ContentType: w.ContentType, Close: w.Close,
	}
	script := filepath.Join(h.tmp, "wrk-"+w.Name+".lua")
	sampler := startRSSSampler(p.pid, 100*time.Millisecond)
	warm := opts
	warm.Duration = h.cfg.Warmup
	if _, out, err := runWrk(ctx, warm, script); err != nil {
		sampler.Stop()
		c.Reason = fmt.Sprintf("warm-up: %v %s; log: %s", err, lastLines(out, 3), serverLog())
		return c
	}
	opts.Duration = h.cfg.Duration
	stopProbe := make(chan struct{})
	probeDone := make(chan *probeResult, 1)
	probeEvery := 500 * time.Millisecond
	if w.FewConns {
		probeEvery = 2 * time.Second // each probe of the stream downloads 16 MiB
	}
	go func() { probeDone <- probe(url, w, probeEvery, 5*time.Second, stopProbe) }()
	cpu0 := treeCPUSeconds(p.pid)
	r, out, err := runWrk(ctx, opts, script)
	cpu1 := treeCPUSeconds(p.pid)
	peak, procs := sampler.Stop()
	close(stopProbe)
	c.probeResult = *<-probeDone
	if err != nil {
		c.Reason = fmt.Sprintf("%v %s; log: %s", err, lastLines(out, 3), serverLog())
		return c
	}
	c.State = "ok"
	c.wrkResult = r
	c.CPUSec = cpu1 - cpu0
	if r.Requests > 0 {
		c.CPUPer1k = c.CPUSec / float64(r.Requests) * 1000
	}
	c.RSSPeakMiB = float64(peak.RSS) / 1024
	c.PSSPeakMiB = float64(peak.PSS) / 1024
	c.Procs = procs
	if p.hasExited() {
		c.PostCheck = "server exited during the run; log: " + serverLog()
	} else if err := check(url, w, 1); err != nil {
		c.PostCheck = err.Error()
	}
	if r.Requests == 0 {
		c.State, c.Reason = "failed", "no request completed"
	}
	return c
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	f := strings.Fields(readTrim("/proc/loadavg"))
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

func writeOutputs(cfg config, rf *resultsFile) error {
	if cfg.JSON != "" {
		b, err := json.MarshalIndent(rf, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.JSON, append(b, '\n'), 0o644); err != nil {
			return err
		}
		logf("wrote %s", cfg.JSON)
	}
	return writeReport(cfg, rf)
}

func writeReport(cfg config, rf *resultsFile) error {
	notes := ""
	if old, err := os.ReadFile(cfg.Out); err == nil {
		notes = extractNotes(string(old))
	}
	if cfg.Chart != "" {
		if err := writeChart(cfg.Chart, rf); err != nil {
			return fmt.Errorf("chart: %v", err)
		}
		logf("wrote %s", cfg.Chart)
	}
	md := renderMarkdown(rf, notes, chartLink(cfg))
	if err := os.WriteFile(cfg.Out, []byte(md), 0o644); err != nil {
		return err
	}
	logf("wrote %s", cfg.Out)
	return nil
}

// chartLink is the chart's path relative to the report.
func chartLink(cfg config) string {
	if cfg.Chart == "" {
		return ""
	}
	rel, err := filepath.Rel(filepath.Dir(cfg.Out), cfg.Chart)
	if err != nil {
		return cfg.Chart
	}
	return filepath.ToSlash(rel)
}

func renderOnly(cfg config) error {
	b, err := os.ReadFile(cfg.Render)
	if err != nil {
		return err
	}
	var rf resultsFile
	if err := json.Unmarshal(b, &rf); err != nil {
		return err
	}
	return writeReport(cfg, &rf)
}
