package main

import (
	"fmt"
	"strings"
)

// matrix indexes a run's cells.
type matrix struct {
	info  runInfo
	cells map[[2]string]*cellResult // (server, workload)
}

func newMatrix(rf *resultsFile) *matrix {
	m := &matrix{info: rf.Info, cells: map[[2]string]*cellResult{}}
	for _, c := range rf.Cells {
		m.cells[[2]string{c.Server, c.Workload}] = c
	}
	return m
}

func (m *matrix) get(server, workload string) *cellResult {
	return m.cells[[2]string{server, workload}]
}

// okCell is get, but nil unless the cell was measured.
func (m *matrix) okCell(server, workload string) *cellResult {
	if c := m.get(server, workload); c.ok() {
		return c
	}
	return nil
}

func (m *matrix) label(server string) string {
	for _, s := range m.info.Servers {
		if s.Name == server {
			return s.Label
		}
	}
	if l, ok := serverLabels[server]; ok {
		return l
	}
	return server
}

// bestPeer is the WSGI peer with the most requests/s on a workload.
func (m *matrix) bestPeer(workload string) (string, *cellResult) {
	bestName, var_ := "", (*cellResult)(nil)
	for _, s := range m.info.Servers {
		if !s.Peer {
			continue
		}
		if c := m.okCell(s.Name, workload); c != nil && (var_ == nil || c.RPS > var_.RPS) {
			bestName, var_ = s.Name, c
		}
	}
	return bestName, var_
}

// rpsRatio is gohost's req/s over server's on a workload; ok=false when
// either is missing.
func (m *matrix) rpsRatio(workload, server string) (float64, bool) {
	g, p := m.okCell(srvGohost, workload), m.okCell(server, workload)
	if g == nil || p == nil || p.RPS == 0 {
		return 0, false
	}
	return g.RPS / p.RPS, true
}

// target is one line of the issue's targets.
type target struct {
	Workload string
	Kind     string // "rps" (gohost/peer >= Want), "p99" and "rss" (gohost/peer <= Want), "errors"
	Peer     string // server name, or "best" (the best peer by req/s)
	Want     float64
}

// issueTargets are the targets of issue 5.
var issueTargets = []target{
	{"hello", "rps", srvUWSGI, 1.5},
	{"hello", "rps", srvGunThr, 3},
	{"hello", "rps", srvCeiling, 0.7},
	{"hello-close", "rps", srvUWSGI, 1.0},
	{"flask", "rps", "best", 1.2},
	{"django", "rps", "best", 1.2},
	{"upload", "rps", "best", 1.5},
	{"stream", "rps", srvCeiling, 0.9},
	{"*", "p99", "best", 1},
	{"*", "rss", "gunicorn", 1},
	{"*", "errors", "", 0},
}

// targetRow is a target evaluated on a run.
type targetRow struct {
	Target   string
	Measured string
	Status   string // met | missed | not measured
	Margin   string
}

func (m *matrix) workloadNames() []string {
	var out []string
	for _, w := range m.info.Workloads {
		out = append(out, w.Name)
	}
	return out
}

func (m *matrix) hasWorkload(name string) bool {
	for _, w := range m.info.Workloads {
		if w.Name == name {
			return true
		}
	}
	return false
}

// evalTargets evaluates every target that the run's workloads cover.
func (m *matrix) evalTargets() []targetRow {
	var rows []targetRow
	for _, t := range issueTargets {
		switch t.Kind {
		case "rps":
			if m.hasWorkload(t.Workload) {
				rows = append(rows, m.evalRPS(t))
			}
		case "p99", "rss":
			for _, w := range m.workloadNames() {
				tt := t
				tt.Workload = w
				rows = append(rows, m.evalLower(tt))
			}
		case "errors":
			rows = append(rows, m.evalErrors())
		}
	}
	return rows
}

func (m *matrix) peerFor(t target) (string, *cellResult) {
	switch t.Peer {
	case "best":
		return m.bestPeer(t.Workload)
	case "gunicorn":
		// The smaller of gunicorn's two worker types: the stricter reading.
		var name string
		var best *cellResult
		for _, s := range []string{srvGunSync, srvGunThr} {
			if c := m.okCell(s, t.Workload); c != nil && (best == nil || c.RSSPeakMiB < best.RSSPeakMiB) {
				name, best = s, c
			}
		}
		return name, best
	}
	return t.Peer, m.okCell(t.Peer, t.Workload)
}

func (m *matrix) evalRPS(t target) targetRow {
	peerName, peer := m.peerFor(t)
	who := m.label(t.Peer)
	if t.Peer == "best" {
		who = "the best peer"
		if peerName != "" {
			who += " (" + m.label(peerName) + ")"
		}
	}
	row := targetRow{Target: fmt.Sprintf("%s: req/s ≥ %s× %s", t.Workload, trimFloat(t.Want), who)}
	g := m.okCell(srvGohost, t.Workload)
	if g == nil || peer == nil || peer.RPS == 0 {
		row.Status, row.Measured = "not measured", missingWhy(m, t.Workload, peerName)
		return row
	}
	r := g.RPS / peer.RPS
	row.Measured = fmt.Sprintf("%.2f× (%s vs %s req/s)", r, fmtNum(g.RPS), fmtNum(peer.RPS))
	row.Status, row.Margin = judgeAtLeast(r, t.Want)
	return row
}

func (m *matrix) evalLower(t target) targetRow {
	peerName, peer := m.peerFor(t)
	var row targetRow
	g := m.okCell(srvGohost, t.Workload)
	switch t.Kind {
	case "p99":
		row.Target = fmt.Sprintf("%s: p99 ≤ best peer's", t.Workload)
	case "rss":
		row.Target = fmt.Sprintf("%s: RSS per worker ≤ gunicorn's", t.Workload)
	}
	if peerName != "" {
		row.Target += " (" + m.label(peerName) + ")"
	}
	if g == nil || peer == nil {
		row.Status, row.Measured = "not measured", missingWhy(m, t.Workload, peerName)
		return row
	}
	var gv, pv float64
	var unit string
	if t.Kind == "p99" {
		gv, pv, unit = g.P99ms, peer.P99ms, "ms"
	} else {
		gv, pv, unit = g.RSSPeakMiB, peer.RSSPeakMiB, "MiB"
	}
	if pv == 0 {
		row.Status, row.Measured = "not measured", "peer figure is 0"
		return row
	}
	r := gv / pv
	row.Measured = fmt.Sprintf("%.2f× (%.2f vs %.2f %s)", r, gv, pv, unit)
	row.Status, row.Margin = judgeAtMost(r, t.Want)
	return row
}

func (m *matrix) evalErrors() targetRow {
	row := targetRow{Target: "no errors anywhere (gohost, every workload)"}
	var n int64
	var bad []string
	measured := 0
	for _, w := range m.workloadNames() {
		c := m.get(srvGohost, w)
		if c == nil || c.State == "n/a" {
			continue
		}
		measured++
		if c.State != "ok" {
			bad = append(bad, w+": "+c.Reason)
			n++
			continue
		}
		if e := c.TotalErrors(); e > 0 {
			n += e
			bad = append(bad, w+": "+c.ErrorText())
		}
	}
	if measured == 0 {
		row.Status, row.Measured = "not measured", "gohost not run"
		return row
	}
	if n == 0 {
		row.Status, row.Measured, row.Margin = "met", "0 errors", "—"
		return row
	}
	row.Status = "missed"
	row.Measured = clipStr(strings.Join(bad, "; "), 300)
	row.Margin = fmt.Sprintf("%d error(s)", n)
	return row
}

func missingWhy(m *matrix, workload, peer string) string {
	var why []string
	if c := m.get(srvGohost, workload); c == nil {
		why = append(why, "gohost not run")
	} else if !c.ok() {
		why = append(why, "gohost "+c.State+": "+clipStr(c.Reason, 120))
	}
	if peer == "" {
		why = append(why, "no peer measured")
	} else if c := m.get(peer, workload); c == nil {
		why = append(why, m.label(peer)+" not run")
	} else if !c.ok() {
		why = append(why, m.label(peer)+" "+c.State)
	}
	return strings.Join(why, "; ")
}

// judgeAtLeast: measured ratio r against a floor; the margin is how far
// above (met) or below (missed) the floor r is, relative to the floor.
func judgeAtLeast(r, want float64) (string, string) {
	d := (r/want - 1) * 100
	if r >= want {
		return "met", fmt.Sprintf("+%.0f%% over", d)
	}
	return "missed", fmt.Sprintf("%.0f%% short (needs %.2f× more)", -d, want/r)
}

// judgeAtMost: measured ratio r against a ceiling.
func judgeAtMost(r, want float64) (string, string) {
	if r <= want {
		return "met", fmt.Sprintf("%.0f%% under", (1-r/want)*100)
	}
	return "missed", fmt.Sprintf("%.0f%% over", (r/want-1)*100)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

// fmtNum renders req/s compactly: 45210 -> "45.2k", 312.4 -> "312".
func fmtNum(v float64) string {
	switch {
	case v >= 100000:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func clipStr(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	return s
}

const (
	notesBegin = "<!-- notes:begin (kept across runs of the harness) -->"
	notesEnd   = "<!-- notes:end -->"
)

// extractNotes returns the hand-written notes section of a previous report.
func extractNotes(md string) string {
	i := strings.Index(md, notesBegin)
	j := strings.Index(md, notesEnd)
	if i < 0 || j < i {
		return ""
	}
	return strings.Trim(md[i+len(notesBegin):j], "\n")
}

func renderMarkdown(rf *resultsFile, notes, chart string) string {
	m := newMatrix(rf)
	info := rf.Info
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	p("# Benchmarks\n\n")
	p("Written by the harness in `bench/` (`make bench`, i.e. `go run ./bench`); do not edit by hand except between the notes markers.\n\n")
	mode := "full"
	if info.Short {
		mode = "short"
	}
	p("Run: %s, %s mode: `%s`.  \n", info.Date, mode, info.Command)
	p("Machine: %d cores, %s, Linux %s, %s RAM. Load average before / after: %s / %s. ",
		info.Nproc, info.CPU, info.Kernel, info.MemTotal, info.LoadStart, info.LoadEnd)
	p("The load generator (wrk) runs on the same cores as the server, so every figure includes that contention; figures from a shared or busy machine are noisy.\n\n")
	p("Versions: ")
	for i, v := range info.Versions {
		if i > 0 {
			p(", ")
		}
		p("%s %s", v[0], v[1])
	}
	p(".\n\n")

	p("## Method\n\n")
	p("One server at a time on 127.0.0.1 (a fresh server per cell, started in the app's directory, with the caller's environment less any GOHOST_* variable), %d worker processes each, %d threads where the server has threads. ", info.Workers, info.Threads)
	p("Before timing, %d requests through Go's net/http client check status, Content-Type and body; the harness then waits until the server's processes are idle (less than 10%% of a core for two 300 ms windows: every worker has loaded the app), then wrk warms up for %s and measures for %s (%d wrk threads, %d connections; %d for the stream). ",
		info.Checks, info.Warmup, info.Duration, info.WrkThreads, info.Connections, info.StreamConns)
	if info.Rounds > 1 {
		p("Every cell ran %d times, the rounds interleaved (for each workload, every server once per round before the next round), and the figures shown for a cell are those of its round with the median req/s; a round that failed or had errors is shown instead, so that none is hidden. Every round's req/s is in the last column of All figures. ", info.Rounds)
	}
	p("One more checked request follows the timed run. Errors are wrk's socket errors (connect, read, write, timeout) plus responses with status ≥ 400, counted by a Lua `done()` hook, plus failed fresh-connection probes: during the timed run the harness sends one checked request on a new connection every 500 ms (2 s for the stream; 5 s timeout), which catches a server that serves a few connections and starves the others (wrk never sees requests that never complete). ")
	p("CPU is user+system time of the server's whole process tree (/proc/PID/stat) over the timed run, per 1,000 requests. ")
	p("RSS is the largest VmRSS of any single worker process (the children of the started process, or the process itself if it has none) sampled every 100 ms during warm-up and run; PSS, sampled with it from /proc/PID/smaps_rollup, counts a page shared by n processes as 1/n (the server's binary and libraries shared by its master and workers, a forking master's copy-on-write memory), so it is each worker's share of the memory the server uses, where RSS counts every shared page in full in every process. The targets compare RSS, as the issue states them. gohost runs from a copy of its binary made by the harness, as the peers run from files dpkg wrote: a binary fresh from the linker sits in the page cache in a state that maps more of it into every process (for the same bytes, a hello worker's peak RSS under load 1.4 MiB higher, 2.8 MiB idle; docs/PERFORMANCE.md, \"Measuring RSS\"). \"load\" is the 1-minute load average when the cell started: on a machine shared with other work, compare cells of similar load. Cells run workload by workload, every server in turn, so the servers compared on one workload run minutes apart at most.\n\n")
	p("Servers:\n\n")
	for _, s := range info.Servers {
		p("- **%s** — %s\n", s.Label, s.Note)
	}
	p("\nWorkloads:\n\n")
	for _, w := range info.Workloads {
		p("- **%s** (`%s`) — `%s`: %s; %d connections\n", w.Title, w.Name, w.App, w.Shape, w.Conns)
	}
	p("\nDjango: %s.\n\n", info.Django)

	if chart != "" {
		p("![requests per second by workload and server](%s)\n\n", chart)
	}

	// Requests/s overview.
	p("## Requests per second\n\n| workload |")
	for _, s := range info.Servers {
		p(" %s |", s.Label)
	}
	p("\n|---|")
	for range info.Servers {
		p("---:|")
	}
	p("\n")
	for _, w := range info.Workloads {
		p("| %s |", w.Title)
		for _, s := range info.Servers {
			p(" %s |", shortCell(m.get(s.Name, w.Name)))
		}
		p("\n")
	}

	// Ratios.
	if hasServer(info, srvGohost) {
		p("\n## gohost / peer (req/s ratio)\n\n| workload |")
		var others []serverInfo
		for _, s := range info.Servers {
			if s.Name != srvGohost {
				others = append(others, s)
				p(" %s |", s.Label)
			}
		}
		p(" best peer |\n|---|")
		for range others {
			p("---:|")
		}
		p("---:|\n")
		for _, w := range info.Workloads {
			p("| %s |", w.Title)
			for _, s := range others {
				if r, ok := m.rpsRatio(w.Name, s.Name); ok {
					p(" %.2f× |", r)
				} else {
					p(" — |")
				}
			}
			if name, _ := m.bestPeer(w.Name); name != "" {
				r, ok := m.rpsRatio(w.Name, name)
				if ok {
					p(" %.2f× (%s) |", r, m.label(name))
				} else {
					p(" — (%s) |", m.label(name))
				}
			} else {
				p(" — |")
			}
			p("\n")
		}
	}

	// Targets.
	p("\n## Targets (issue 5)\n\n")
	p("\"Best peer\" is the WSGI peer with the most requests/s on that workload (uWSGI --http-socket, gunicorn sync and gthread, waitress; not uWSGI --http11-socket, which starves connections, nor the pure-Go ceiling). RSS is compared with the smaller of gunicorn sync and gthread.\n\n")
	p("| target | measured (gohost / peer) | status | margin |\n|---|---|---|---|\n")
	met, missed, nm := 0, 0, 0
	for _, r := range m.evalTargets() {
		switch r.Status {
		case "met":
			met++
		case "missed":
			missed++
		default:
			nm++
		}
		status := r.Status
		if status == "missed" {
			status = "**missed**"
		}
		p("| %s | %s | %s | %s |\n", mdEscape(r.Target), mdEscape(r.Measured), status, mdEscape(r.Margin))
	}
	p("\n%d met, %d missed, %d not measured.\n", met, missed, nm)

	// Full figures.
	p("\n## All figures\n\n")
	rounds, roundsSep := "", ""
	if info.Rounds > 1 {
		rounds, roundsSep = " req/s per round |", "---|"
	}
	p("| workload | server | req/s | p50 ms | p99 ms | new-conn probe max ms | CPU s / 1k req | peak RSS / worker MiB | peak PSS / worker MiB | procs | requests | load | errors |%s\n", rounds)
	p("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|%s\n", roundsSep)
	for _, w := range info.Workloads {
		for _, s := range info.Servers {
			c := m.get(s.Name, w.Name)
			if c == nil {
				continue
			}
			if !c.ok() {
				p("| %s | %s | %s | | | | | | | | | %s | %s |%s\n", w.Name, s.Label, c.State, c.Load1, mdEscape(clipStr(c.Reason, 400)), roundsCell(info, c))
				continue
			}
			errs := mdEscape(c.ErrorText())
			if errs == "" {
				errs = "0"
			}
			pss := "—" // results from before the harness sampled PSS
			if c.PSSPeakMiB > 0 {
				pss = fmt.Sprintf("%.1f", c.PSSPeakMiB)
			}
			p("| %s | %s | %.0f | %.2f | %.2f | %.1f | %.3f | %.1f | %s | %d | %d | %s | %s |%s\n",
				w.Name, s.Label, c.RPS, c.P50ms, c.P99ms, c.ProbeMaxMs, c.CPUPer1k, c.RSSPeakMiB, pss, c.Procs, c.Requests, c.Load1, errs, roundsCell(info, c))
		}
	}

	p("\n## Notes\n\n%s\n", notesBegin)
	if strings.TrimSpace(notes) != "" {
		p("%s\n", notes)
	} else {
		p("(Analysis of missed targets and profiles goes here; the harness keeps this section when it rewrites the file.)\n")
	}
	p("%s\n", notesEnd)
	return b.String()
}

func hasServer(info runInfo, name string) bool {
	for _, s := range info.Servers {
		if s.Name == name {
			return true
		}
	}
	return false
}

func shortCell(c *cellResult) string {
	switch {
	case c == nil:
		return ""
	case c.State == "n/a":
		return "n/a"
	case !c.ok():
		return "failed"
	}
	s := fmt.Sprintf("%.0f", c.RPS)
	if c.TotalErrors() > 0 {
		s += " (errors)"
	}
	return s
}

// roundsCell is the "req/s per round" cell of a row (with its leading
// space), or "" when the run had one round.
func roundsCell(info runInfo, c *cellResult) string {
	if info.Rounds <= 1 {
		return ""
	}
	parts := make([]string, len(c.RoundsRPS))
	for i, v := range c.RoundsRPS {
		parts[i] = fmt.Sprintf("%.0f", v)
	}
	return " " + strings.Join(parts, ", ") + " |"
}
