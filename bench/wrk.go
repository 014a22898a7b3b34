package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkOptions describe one wrk invocation.
type wrkOptions struct {
	URL         string
	Threads     int
	Connections int
	Duration    time.Duration
	Timeout     time.Duration // per-request timeout given to wrk
	Method      string        // "" = GET
	BodyFile    string        // request body read by the Lua script
	ContentType string
	Close       bool // send "Connection: close"
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	Requests    int64   `json:"requests"`
	DurationSec float64 `json:"duration_s"`
	RPS         float64 `json:"rps"`
	Bytes       int64   `json:"bytes"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Connect     int64   `json:"err_connect"`
	Read        int64   `json:"err_read"`
	Write       int64   `json:"err_write"`
	Timeout     int64   `json:"err_timeout"`
	Status      int64   `json:"err_status"` // responses with status >= 400 (wrk's "Non-2xx or 3xx")
}

// Errors is the total of every kind of error wrk counted.
func (r wrkResult) Errors() int64 {
	return r.Connect + r.Read + r.Write + r.Timeout + r.Status
}

// ErrorSummary is a short human form, "" when there were none.
func (r wrkResult) ErrorSummary() string {
	var parts []string
	add := func(n int64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(r.Status, "non-2xx")
	add(r.Connect, "connect")
	add(r.Read, "read")
	add(r.Write, "write")
	add(r.Timeout, "timeout")
	return strings.Join(parts, ", ")
}

// luaScript builds the wrk script of a run: request shape, and a done()
// hook that prints one machine-readable line the harness parses.
func luaScript(o wrkOptions) string {
	var b strings.Builder
	if o.Method != "" && o.Method != "GET" {
		fmt.Fprintf(&b, "wrk.method = %q\n", o.Method)
	}
	if o.BodyFile != "" {
		fmt.Fprintf(&b, "do\n  local f = assert(io.open(%q, \"rb\"))\n  wrk.body = f:read(\"*a\")\n  f:close()\nend\n", o.BodyFile)
	}
	if o.ContentType != "" {
		fmt.Fprintf(&b, "wrk.headers[\"Content-Type\"] = %q\n", o.ContentType)
	}
	if o.Close {
		b.WriteString("wrk.headers[\"Connection\"] = \"close\"\n")
	}
	b.WriteString(`
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f,"max_us":%.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`)
	return b.String()
}

// benchJSON is the line printed by the done() hook.
type benchJSON struct {
	Requests   float64 `json:"requests"`
	DurationUs float64 `json:"duration_us"`
	Bytes      float64 `json:"bytes"`
	Connect    float64 `json:"connect"`
	Read       float64 `json:"read"`
	Write      float64 `json:"write"`
	Status     float64 `json:"status"`
	Timeout    float64 `json:"timeout"`
	P50us      float64 `json:"p50_us"`
	P90us      float64 `json:"p90_us"`
	P99us      float64 `json:"p99_us"`
	MaxUs      float64 `json:"max_us"`
}

var (
	reRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	reNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	reSockErr  = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	reReqTotal = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h)`)
	reLatPct   = regexp.MustCompile(`(?m)^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m|h)\s*$`)
)

// parseDuration converts wrk's "1.23ms"-style numbers to milliseconds.
func wrkUnitToMs(v float64, unit string) float64 {
	switch unit {
	case "us":
		return v / 1000
	case "ms":
		return v
	case "s":
		return v * 1000
	case "m":
		return v * 60 * 1000
	case "h":
		return v * 3600 * 1000
	}
	return v
}

// parseWrkOutput reads wrk's stdout (run with --latency and the harness's
// Lua script). The BENCHJSON line is authoritative; the human-readable lines
// are a fallback and a cross-check for the error counters.
func parseWrkOutput(out string) (wrkResult, error) {
	var r wrkResult
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.Index(line, "BENCHJSON ")
		if i < 0 {
			continue
		}
		var j benchJSON
		if err := json.Unmarshal([]byte(line[i+len("BENCHJSON "):]), &j); err != nil {
			return r, fmt.Errorf("bad BENCHJSON line %q: %v", line, err)
		}
		found = true
		r.Requests = int64(j.Requests)
		r.DurationSec = j.DurationUs / 1e6
		if r.DurationSec > 0 {
			r.RPS = j.Requests / r.DurationSec
		}
		r.Bytes = int64(j.Bytes)
		r.Connect, r.Read, r.Write = int64(j.Connect), int64(j.Read), int64(j.Write)
		r.Status, r.Timeout = int64(j.Status), int64(j.Timeout)
		r.P50ms, r.P90ms, r.P99ms, r.MaxMs = j.P50us/1000, j.P90us/1000, j.P99us/1000, j.MaxUs/1000
	}
	if found {
		return r, nil
	}
	// Fallback: the text report.
	m := reRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output")
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	if m := reReqTotal.FindStringSubmatch(out); m != nil {
		r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
		d, _ := strconv.ParseFloat(m[2], 64)
		r.DurationSec = wrkUnitToMs(d, m[3]) / 1000
	}
	if m := reNon2xx.FindStringSubmatch(out); m != nil {
		r.Status, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reSockErr.FindStringSubmatch(out); m != nil {
		r.Connect, _ = strconv.ParseInt(m[1], 10, 64)
		r.Read, _ = strconv.ParseInt(m[2], 10, 64)
		r.Write, _ = strconv.ParseInt(m[3], 10, 64)
		r.Timeout, _ = strconv.ParseInt(m[4], 10, 64)
	}
	for _, m := range reLatPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		ms := wrkUnitToMs(v, m[3])
		switch m[1] {
		case "50":
			r.P50ms = ms
		case "90":
			r.P90ms = ms
		case "99":
			r.P99ms = ms
		}
	}
	return r, nil
}

// wrkArgs is the wrk command line for o with its script at scriptPath.
func wrkArgs(o wrkOptions, scriptPath string) []string {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return []string{
		"-t", strconv.Itoa(o.Threads),
		"-c", strconv.Itoa(o.Connections),
		"-d", fmt.Sprintf("%ds", int(o.Duration.Round(time.Second)/time.Second)),
		"--timeout", fmt.Sprintf("%ds", int(timeout/time.Second)),
		"--latency",
		"-s", scriptPath,
		o.URL,
	}
}

// runWrk runs wrk once, bounded to its duration plus a grace period.
func runWrk(ctx context.Context, o wrkOptions, scriptPath string) (wrkResult, string, error) {
	if err := os.WriteFile(scriptPath, []byte(luaScript(o)), 0o644); err != nil {
		return wrkResult{}, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Duration+o.Timeout+20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wrk", wrkArgs(o, scriptPath)...)
	setChildAttrs(cmd)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, string(out), fmt.Errorf("wrk: %v: %s", err, lastLines(string(out), 5))
	}
	r, perr := parseWrkOutput(string(out))
	return r, string(out), perr
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
