package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	uploadSize  = 64 << 10
	streamSize  = 16 << 20
	streamChunk = 64 << 10
)

// workload is one row of the matrix: an app, a request shape, and what a
// correct answer is.
type workload struct {
	Name  string // key for -workloads
	Title string // for tables and the chart
	Dir   string // app directory (server --chdir), relative to the repo root
	App   string // module:callable
	Path  string
	Close bool // "Connection: close" on every request

	Method      string
	Body        []byte // request body (upload)
	ContentType string // of the request body

	FewConns bool     // driven with -stream-connections instead of -connections
	Env      []string // extra environment of the servers

	// What a correct response is: exactly WantBody, or a body whose sha256 is
	// WantSHA and whose length is WantLen.
	WantBody []byte
	WantType string // Content-Type prefix, "" = not checked
	WantSHA  string
	WantLen  int

	// Reference: WantBody/WantType come from running the app in-process
	// (bench/apps/reference.py) instead of being known in advance.
	Reference bool

	// How the pure-Go ceiling serves it: "constant" (WantBody), "upload", "stream".
	CeilingMode string

	bodyFile string // WantBody saved for the ceiling, set by prepare
	reqFile  string // Body saved for wrk, set by prepare
	refType  string // full Content-Type of the reference response
}

// uploadBody is the fixed 64 KiB request body of the upload workload:
// deterministic pseudo-random bytes (xorshift), so every run sends the same.
func uploadBody() []byte {
	b := make([]byte, uploadSize)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// streamBody is what bench/apps/stream.py answers: byte i is i % 256.
func streamSHA() string {
	h := sha256.New()
	chunk := make([]byte, streamChunk)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	for i := 0; i < streamSize/streamChunk; i++ {
		h.Write(chunk)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// djangoProject says which Django app the Django workload serves: the
// project's demo (python/djangoproject) when present, else bench/apps/djangobench.
type djangoProject struct {
	Dir, App, Path string
	Setup          []string // command, run from the repo root
	Env            []string // extra environment of the servers (and the reference run)
	Real           bool
}

func findDjango(root string) djangoProject {
	real := filepath.Join(root, "python/djangoproject")
	if fileExists(filepath.Join(real, "djangoproject/wsgi.py")) && fileExists(filepath.Join(real, "setup_demo.sh")) {
		return djangoProject{
			Dir: "python/djangoproject", App: "djangoproject.wsgi:application", Path: "/api/notes/",
			Setup: []string{"bash", "python/djangoproject/setup_demo.sh"}, Real: true,
			Env: []string{
				"DJANGO_SETTINGS_MODULE=bench_django_settings",
				"PYTHONPATH=" + filepath.Join(root, "bench/apps/djangoshim"),
			},
		}
	}
	return djangoProject{
		Dir: "bench/apps", App: "djangobench.wsgi:application", Path: "/",
		Setup: []string{pythonBin, "-c", "import os, runpy; os.chdir('bench/apps'); import sys; sys.path.insert(0, '.'); runpy.run_module('djangobench.setup_db', run_name='__main__')"},
	}
}

func allWorkloads(dj djangoProject) []*workload {
	up := uploadBody()
	hello := []byte("Hello, World!")
	return []*workload{
		{Name: "hello", Title: "hello (keep-alive)", Dir: "bench/apps", App: "hello:application", Path: "/",
			WantBody: hello, WantType: "text/plain", CeilingMode: "constant"},
		{Name: "hello-close", Title: "hello (Connection: close)", Dir: "bench/apps", App: "hello:application", Path: "/", Close: true,
			WantBody: hello, WantType: "text/plain", CeilingMode: "constant"},
		{Name: "flask", Title: "Flask JSON", Dir: "bench/apps", App: "flaskjson:application", Path: "/",
			Reference: true, CeilingMode: "constant"},
		{Name: "django", Title: "Django JSON (ORM, SQLite)", Dir: dj.Dir, App: dj.App, Path: dj.Path,
			Env: dj.Env, Reference: true, CeilingMode: "constant"},
		{Name: "upload", Title: "64 KiB upload, sha256", Dir: "bench/apps", App: "upload:application", Path: "/",
			Method: "POST", Body: up, ContentType: "application/octet-stream",
			WantBody: []byte(sha256hex(up)), WantType: "text/plain", CeilingMode: "upload"},
		{Name: "stream", Title: "16 MiB stream, 64 KiB chunks", Dir: "bench/apps", App: "stream:application", Path: "/",
			FewConns: true, WantSHA: streamSHA(), WantLen: streamSize, WantType: "application/octet-stream", CeilingMode: "stream"},
	}
}

// reference runs the app in-process with bench/apps/reference.py and
// returns its body and Content-Type.
func reference(ctx context.Context, root string, w *workload, env []string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonBin, filepath.Join(root, "bench/apps/reference.py"), w.App, w.Path)
	cmd.Dir = filepath.Join(root, w.Dir)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	setChildAttrs(cmd)
	if err := cmd.Run(); err != nil {
		return nil, "", fmt.Errorf("reference %s: %v: %s", w.App, err, lastLines(stderr.String(), 5))
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	status, ctype, _ := strings.Cut(lines[len(lines)-1], "|")
	if !strings.HasPrefix(status, "200") {
		return nil, "", fmt.Errorf("reference %s answered %q", w.App, status)
	}
	return stdout.Bytes(), ctype, nil
}

// checkOnce sends one request through Go's net/http client and verifies the
// status, Content-Type and body.
func checkOnce(client *http.Client, url string, w *workload) error {
	var body io.Reader
	if w.Body != nil {
		body = bytes.NewReader(w.Body)
	}
	method := w.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return err
	}
	if w.ContentType != "" {
		req.Header.Set("Content-Type", w.ContentType)
	}
	req.Close = w.Close
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, streamSize+1))
	if err != nil {
		return fmt.Errorf("reading body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, body %q", resp.StatusCode, clip(got, 200))
	}
	if w.WantType != "" && !strings.HasPrefix(resp.Header.Get("Content-Type"), w.WantType) {
		return fmt.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), w.WantType)
	}
	if w.WantSHA != "" {
		if len(got) != w.WantLen {
			return fmt.Errorf("body length %d, want %d", len(got), w.WantLen)
		}
		if s := sha256hex(got); s != w.WantSHA {
			return fmt.Errorf("body sha256 %s, want %s", s, w.WantSHA)
		}
		return nil
	}
	if !bytes.Equal(got, w.WantBody) {
		return fmt.Errorf("body %q, want %q", clip(got, 200), clip(w.WantBody, 200))
	}
	return nil
}

// check verifies n responses, on one keep-alive client (or fresh
// connections when the workload closes them).
func check(url string, w *workload, n int) error {
	tr := &http.Transport{DisableKeepAlives: w.Close, MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	for i := 0; i < n; i++ {
		if err := checkOnce(client, url, w); err != nil {
			return fmt.Errorf("check %d/%d: %v", i+1, n, err)
		}
	}
	return nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// probeResult is what the fresh-connection probe saw during a timed run.
type probeResult struct {
	Probes     int     `json:"probes"`
	ProbeFail  int     `json:"probe_failures"`
	ProbeMaxMs float64 `json:"probe_max_ms"`
	ProbeErr   string  `json:"probe_error,omitempty"`
}

// probe sends one checked request on a new connection every interval until
// stop is closed. wrk alone cannot see a server that serves a few
// connections and starves the rest (their requests never complete, so they
// never show in wrk's latencies): a new client that cannot get an answer
// within timeout is counted as a failure.
func probe(url string, w *workload, every, timeout time.Duration, stop <-chan struct{}) *probeResult {
	res := &probeResult{}
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: timeout}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return res
		case <-t.C:
		}
		start := time.Now()
		err := checkOnce(client, url, w)
		ms := float64(time.Since(start).Microseconds()) / 1000
		res.Probes++
		if ms > res.ProbeMaxMs {
			res.ProbeMaxMs = ms
		}
		if err != nil {
			res.ProbeFail++
			if res.ProbeErr == "" {
				res.ProbeErr = err.Error()
			}
		}
	}
}
