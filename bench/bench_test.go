package main

import (
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const wrkSample = `Running 3s test @ http://127.0.0.1:40111/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.19ms    1.01ms  18.16ms   89.12%
    Req/Sec    11.85k     1.01k   13.26k    85.00%
  Latency Distribution
     50%    1.02ms
     75%    1.40ms
     90%    2.10ms
     99%    4.14ms
  71031 requests in 3.01s, 6.57MB read
  Socket errors: connect 0, read 12, write 3, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  23559.92
Transfer/sec:      2.18MB
`

func TestParseWrkTextFallback(t *testing.T) {
	r, err := parseWrkOutput(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if r.RPS != 23559.92 || r.Requests != 71031 || math.Abs(r.DurationSec-3.01) > 1e-9 {
		t.Errorf("rps/requests/duration = %v %v %v", r.RPS, r.Requests, r.DurationSec)
	}
	if r.P50ms != 1.02 || r.P90ms != 2.10 || r.P99ms != 4.14 {
		t.Errorf("percentiles = %v %v %v", r.P50ms, r.P90ms, r.P99ms)
	}
	if r.Read != 12 || r.Write != 3 || r.Timeout != 1 || r.Connect != 0 || r.Status != 7 {
		t.Errorf("errors = %+v", r)
	}
	if r.Errors() != 23 {
		t.Errorf("Errors() = %d, want 23", r.Errors())
	}
	if got := r.ErrorSummary(); got != "7 non-2xx, 12 read, 3 write, 1 timeout" {
		t.Errorf("ErrorSummary = %q", got)
	}
}

func TestParseWrkBenchJSONWins(t *testing.T) {
	out := wrkSample + `BENCHJSON {"requests":60000,"duration_us":3000000,"bytes":123,"connect":1,"read":2,"write":0,"status":4,"timeout":0,"p50_us":850,"p90_us":1500,"p99_us":3500,"max_us":9000}` + "\n"
	r, err := parseWrkOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 60000 || r.RPS != 20000 || r.DurationSec != 3 {
		t.Errorf("requests/rps/duration = %v %v %v", r.Requests, r.RPS, r.DurationSec)
	}
	if r.P50ms != 0.85 || r.P99ms != 3.5 || r.MaxMs != 9 {
		t.Errorf("latencies = %v %v %v", r.P50ms, r.P99ms, r.MaxMs)
	}
	if r.Connect != 1 || r.Read != 2 || r.Status != 4 {
		t.Errorf("errors = %+v", r)
	}
}

func TestParseWrkUnits(t *testing.T) {
	out := "  Latency Distribution\n     50%  250.00us\n     90%    1.50s\n     99%    2.00m\n  10 requests in 1.00m, 1KB read\nRequests/sec:      0.17\n"
	r, err := parseWrkOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.P50ms != 0.25 || r.P90ms != 1500 || r.P99ms != 120000 || r.DurationSec != 60 {
		t.Errorf("got %+v", r)
	}
}

func TestParseWrkGarbage(t *testing.T) {
	if _, err := parseWrkOutput("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Error("want an error for output without results")
	}
	if _, err := parseWrkOutput("BENCHJSON {broken\n"); err == nil {
		t.Error("want an error for a malformed BENCHJSON line")
	}
}

func TestLuaScript(t *testing.T) {
	s := luaScript(wrkOptions{Method: "POST", BodyFile: "/tmp/x", ContentType: "application/octet-stream", Close: true})
	for _, want := range []string{`wrk.method = "POST"`, `io.open("/tmp/x", "rb")`, `wrk.headers["Connection"] = "close"`, "done = function", "BENCHJSON"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if s := luaScript(wrkOptions{}); strings.Contains(s, "wrk.method") || strings.Contains(s, "Connection") {
		t.Errorf("GET keep-alive script sets method or Connection:\n%s", s)
	}
	args := strings.Join(wrkArgs(wrkOptions{URL: "http://x/", Threads: 2, Connections: 64, Duration: 3 * time.Second}, "s.lua"), " ")
	if args != "-t 2 -c 64 -d 3s --timeout 5s --latency -s s.lua http://x/" {
		t.Errorf("wrk args = %q", args)
	}
}

func TestParseProcStat(t *testing.T) {
	// A command name with spaces and parentheses.
	st, err := parseProcStat("4242 (uwsgi (worker 1)) S 4241 4241 4241 0 -1 4194560 1234 0 0 0 150 25 3 4 20 0 1 0 100 1000 200")
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != 4242 || st.PPID != 4241 || st.Ticks != 175 {
		t.Errorf("got %+v", st)
	}
	if _, err := parseProcStat("garbage"); err == nil {
		t.Error("want an error")
	}
}

func TestProcessTreeAndWorkers(t *testing.T) {
	procs := map[int]procStat{
		1:  {PID: 1, PPID: 0},
		10: {PID: 10, PPID: 1, Ticks: 5},
		11: {PID: 11, PPID: 10, Ticks: 7},
		12: {PID: 12, PPID: 10, Ticks: 9},
		13: {PID: 13, PPID: 12, Ticks: 1},
		20: {PID: 20, PPID: 1, Ticks: 100},
	}
	tree := processTree(10, procs)
	if len(tree) != 4 || tree[0].PID != 10 {
		t.Fatalf("tree = %+v", tree)
	}
	var ticks uint64
	for _, p := range tree {
		ticks += p.Ticks
	}
	if ticks != 22 {
		t.Errorf("ticks = %d", ticks)
	}
	if w := workerPIDs(tree); len(w) != 3 {
		t.Errorf("workers = %v", w)
	}
	if w := workerPIDs(processTree(20, procs)); len(w) != 1 || w[0] != 20 {
		t.Errorf("single-process workers = %v", w)
	}
	if processTree(99, procs) != nil {
		t.Error("tree of a missing pid should be nil")
	}
}

func TestParseVmRSS(t *testing.T) {
	v, ok := parseVmRSS([]byte("Name:\tuwsgi\nVmPeak:\t  99999 kB\nVmRSS:\t   14540 kB\nThreads:\t1\n"))
	if !ok || v != 14540 {
		t.Errorf("got %d %v", v, ok)
	}
	if _, ok := parseVmRSS([]byte("Name:\tkthreadd\n")); ok {
		t.Error("kernel threads have no VmRSS")
	}
}

// fixture builds a run with the given req/s (and p99, RSS) per server for
// each workload.
func fixture(rps map[string]map[string]float64) *resultsFile {
	rf := &resultsFile{}
	for _, s := range []string{srvGohost, srvUWSGI, srvUWSGI11, srvGunSync, srvGunThr, srvWaitress, srvCeiling} {
		peer := s != srvGohost && s != srvCeiling && s != srvUWSGI11
		rf.Info.Servers = append(rf.Info.Servers, serverInfo{Name: s, Label: serverLabels[s], Peer: peer})
	}
	for _, w := range []string{"hello", "hello-close", "flask", "django", "upload", "stream"} {
		rf.Info.Workloads = append(rf.Info.Workloads, workloadInfo{Name: w, Title: w, Conns: 64})
		for s, v := range rps[w] {
			rf.Cells = append(rf.Cells, &cellResult{Server: s, Workload: w, State: "ok",
				wrkResult: wrkResult{RPS: v, Requests: int64(v * 10), P99ms: 1e4 / v}, RSSPeakMiB: 20})
		}
	}
	return rf
}

func TestBestPeerAndRatios(t *testing.T) {
	rf := fixture(map[string]map[string]float64{
		"hello": {srvGohost: 30000, srvUWSGI: 20000, srvUWSGI11: 90000, srvGunThr: 15000, srvWaitress: 5000, srvCeiling: 45000},
	})
	m := newMatrix(rf)
	name, c := m.bestPeer("hello")
	if name != srvUWSGI || c.RPS != 20000 {
		t.Errorf("best peer = %s %v (uwsgi-http11 and the ceiling are not peers)", name, c)
	}
	if r, ok := m.rpsRatio("hello", srvUWSGI); !ok || r != 1.5 {
		t.Errorf("ratio = %v %v", r, ok)
	}
	if _, ok := m.rpsRatio("hello", srvGunSync); ok {
		t.Error("ratio against a server that did not run")
	}
	// A failed peer is not the best peer.
	rf.Cells = append(rf.Cells, &cellResult{Server: srvGunSync, Workload: "flask", State: "failed"})
	rf.Cells = append(rf.Cells, &cellResult{Server: srvWaitress, Workload: "flask", State: "ok", wrkResult: wrkResult{RPS: 10}})
	m = newMatrix(rf)
	if name, _ := m.bestPeer("flask"); name != srvWaitress {
		t.Errorf("best flask peer = %q", name)
	}
}

func TestJudge(t *testing.T) {
	if s, mg := judgeAtLeast(1.8, 1.5); s != "met" || mg != "+20% over" {
		t.Errorf("%s %s", s, mg)
	}
	if s, mg := judgeAtLeast(0.75, 1.5); s != "missed" || mg != "50% short (needs 2.00× more)" {
		t.Errorf("%s %s", s, mg)
	}
	if s, mg := judgeAtMost(0.5, 1); s != "met" || mg != "50% under" {
		t.Errorf("%s %s", s, mg)
	}
	if s, mg := judgeAtMost(1.25, 1); s != "missed" || mg != "25% over" {
		t.Errorf("%s %s", s, mg)
	}
}

func TestEvalTargets(t *testing.T) {
	rf := fixture(map[string]map[string]float64{
		"hello":       {srvGohost: 36000, srvUWSGI: 20000, srvGunThr: 15000, srvGunSync: 10000, srvCeiling: 45000},
		"hello-close": {srvGohost: 18000, srvUWSGI: 20000},
		"flask":       {srvGohost: 6000, srvGunThr: 4000, srvUWSGI: 5000},
		"stream":      {srvGohost: 95, srvCeiling: 100, srvUWSGI: 50},
	})
	rows := newMatrix(rf).evalTargets()
	byTarget := map[string]targetRow{}
	for _, r := range rows {
		byTarget[r.Target] = r
	}
	want := map[string]string{
		"hello: req/s ≥ 1.5× uWSGI http-socket":                 "met",    // 1.8×
		"hello: req/s ≥ 3× gunicorn gthread":                    "missed", // 2.4×
		"hello: req/s ≥ 0.7× pure-Go ceiling":                   "met",    // 0.8×
		"hello-close: req/s ≥ 1× uWSGI http-socket":             "missed", // 0.9×
		"flask: req/s ≥ 1.2× the best peer (uWSGI http-socket)": "met",    // 1.2×
		"django: req/s ≥ 1.2× the best peer":                    "not measured",
		"stream: req/s ≥ 0.9× pure-Go ceiling":                  "met",
		"hello: p99 ≤ best peer's (uWSGI http-socket)":          "met",
		"hello: RSS per worker ≤ gunicorn's (gunicorn sync)":    "met",
		"no errors anywhere (gohost, every workload)":           "met",
	}
	for target, status := range want {
		r, ok := byTarget[target]
		if !ok {
			t.Errorf("no target %q; have %v", target, keys(byTarget))
			continue
		}
		if r.Status != status {
			t.Errorf("%s: status %q (%s, %s), want %q", target, r.Status, r.Measured, r.Margin, status)
		}
	}
	if r := byTarget["hello: req/s ≥ 3× gunicorn gthread"]; r.Margin != "20% short (needs 1.25× more)" {
		t.Errorf("margin = %q", r.Margin)
	}

	// Errors anywhere in gohost's cells miss the errors target.
	rf.Cells[0].Read = 3
	for _, c := range rf.Cells {
		if c.Server == srvGohost && c.Workload == "flask" {
			c.ProbeFail, c.Probes = 1, 4
		}
	}
	for _, r := range newMatrix(rf).evalTargets() {
		if strings.HasPrefix(r.Target, "no errors") && (r.Status != "missed" || !strings.Contains(r.Measured, "probes failed")) {
			t.Errorf("errors target = %+v", r)
		}
	}
}

func keys(m map[string]targetRow) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRenderMarkdownKeepsNotes(t *testing.T) {
	rf := fixture(map[string]map[string]float64{"hello": {srvGohost: 30000, srvUWSGI: 20000}})
	rf.Cells = append(rf.Cells, &cellResult{Server: srvWaitress, Workload: "hello", State: "failed", Reason: "a | b"})
	md := renderMarkdown(rf, "profile says: the GIL", "bench/chart.png")
	for _, want := range []string{"## Requests per second", "## gohost / peer", "| hello | 1.50× |", "## Targets (issue 5)", "a \\| b", "![requests per second"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if got := extractNotes(md); got != "profile says: the GIL" {
		t.Errorf("notes round trip = %q", got)
	}
	if extractNotes("no markers") != "" {
		t.Error("notes without markers")
	}
}

func TestChartDraws(t *testing.T) {
	rf := fixture(map[string]map[string]float64{"hello": {srvGohost: 30000, srvUWSGI: 20000}, "stream": {srvCeiling: 120}})
	img := drawChart(rf)
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 400 {
		t.Errorf("chart size %v", b)
	}
	for _, c := range []struct{ v, step, top float64 }{{43000, 10000, 50000}, {27000, 10000, 30000}, {108, 50, 150}, {20000, 5000, 20000}} {
		if step, top := axis(c.v); step != c.step || top != c.top {
			t.Errorf("axis(%v) = %v %v, want %v %v", c.v, step, top, c.step, c.top)
		}
	}
	if niceMax(43000) != 50000 || niceMax(0) != 1 || niceMax(120) != 200 || niceMax(2400) != 2500 {
		t.Errorf("niceMax: %v %v %v %v", niceMax(43000), niceMax(0), niceMax(120), niceMax(2400))
	}
}

func TestUploadAndStreamExpectations(t *testing.T) {
	a, b := uploadBody(), uploadBody()
	if len(a) != uploadSize || string(a) != string(b) {
		t.Error("upload body must be fixed and 64 KiB")
	}
	if len(streamSHA()) != 64 {
		t.Error("stream sha")
	}
	if fmtNum(45210) != "45.2k" || fmtNum(312.4) != "312" || fmtNum(150000) != "150k" || fmtNum(9.5) != "9.50" {
		t.Errorf("fmtNum: %s %s %s %s", fmtNum(45210), fmtNum(312.4), fmtNum(150000), fmtNum(9.5))
	}
}

func TestParsePssFromSmapsRollup(t *testing.T) {
	rollup := "55d0c0000000-7ffd00000000 ---p 00000000 00:00 0    [rollup]\nRss:               44976 kB\nPss:               31234 kB\nPss_Anon:          24940 kB\nPss_File:           6294 kB\n"
	v, ok := parseKiB([]byte(rollup), "Pss:")
	if !ok || v != 31234 {
		t.Errorf("got %d %v, want the Pss line, not Pss_Anon or Pss_File", v, ok)
	}
	if v, ok := pssKiB(os.Getpid()); !ok || v <= 0 {
		t.Errorf("own PSS = %d %v", v, ok)
	}
}

func TestPickRoundShowsTheMedianUnlessARoundWentWrong(t *testing.T) {
	ok := func(rps float64) *cellResult {
		return &cellResult{State: "ok", wrkResult: wrkResult{RPS: rps}}
	}
	rounds := []*cellResult{ok(900), ok(1200), ok(1000)}
	got := pickRound(rounds)
	if got != rounds[2] {
		t.Errorf("picked %v req/s, want the median 1000", got.RPS)
	}
	if want := []float64{900, 1200, 1000}; len(got.RoundsRPS) != 3 || got.RoundsRPS[0] != want[0] || got.RoundsRPS[1] != want[1] || got.RoundsRPS[2] != want[2] {
		t.Errorf("rounds = %v, want %v in run order", got.RoundsRPS, want)
	}

	if got := pickRound([]*cellResult{ok(900), ok(1200)}); got.RPS != 900 {
		t.Errorf("two rounds: picked %v, want the lower median", got.RPS)
	}

	bad := ok(1500)
	bad.ProbeFail = 1
	worse := ok(1400)
	worse.ProbeFail = 2
	if got := pickRound([]*cellResult{ok(1000), bad, worse}); got != worse {
		t.Errorf("a round with errors must be shown, the one with most errors; picked %v", got.RPS)
	}

	failed := &cellResult{State: "failed", Reason: "server exited"}
	if got := pickRound([]*cellResult{ok(1000), failed, bad}); got != failed {
		t.Errorf("a failed round must be shown; picked %+v", got)
	}

	single := ok(5)
	if got := pickRound([]*cellResult{single}); got != single || got.RoundsRPS != nil {
		t.Errorf("one round: shown as is, with no per-round list")
	}
}

func TestCopyBinaryMakesAnExecutableCopyOfTheSameBytes(t *testing.T) {
	dir := t.TempDir()
	src := dir + "/linked"
	want := []byte("#!/bin/sh\necho copied\n")
	if err := os.WriteFile(src, want, 0o600); err != nil {
		t.Fatal(err)
	}
	dst := dir + "/gohost"
	if err := os.WriteFile(dst, []byte("an older, longer binary left from before"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyBinary(src, dst); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("copy holds %q, want %q", got, want)
	}
	out, err := exec.Command(dst).Output()
	if err != nil || string(out) != "copied\n" {
		t.Errorf("running the copy: %q, %v", out, err)
	}
	if err := copyBinary(dir+"/missing", dir+"/other"); err == nil {
		t.Error("copying a missing file succeeded")
	}
}
