package e2e

// Helpers for ops_test.go: metrics scraping and probes on --metrics-bind,
// and a server start that leaves every setting to the caller (startServer
// always passes -w, which the config-precedence tests must not).

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// opsServer is a gohost started with --metrics-bind.
type opsServer struct {
	*Server
	MetricsAddr string
}

// startOps starts gohost with --metrics-bind on a free loopback port.
func startOps(t *testing.T, o ServerOpts) *opsServer {
	t.Helper()
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(t, "127.0.0.1"))
	o.Args = append([]string{"--metrics-bind", maddr}, o.Args...)
	s := startServer(t, o)
	return &opsServer{Server: s, MetricsAddr: maddr}
}

var opsClient = &http.Client{
	Timeout: 5 * time.Second,
	Transport: &http.Transport{
		DisableCompression: true,
		DisableKeepAlives:  true, // each probe is a fresh connection, like the kubelet's
	},
}

// probe GETs path on addr and returns the status, or -1 when nothing
// answered (refused, reset, timeout).
func probe(addr, path string) int {
	resp, err := opsClient.Get("http://" + addr + path)
	if err != nil {
		return -1
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metricsSnap is one parsed /metrics scrape.
type metricsSnap struct {
	fams map[string]*dto.MetricFamily
	raw  string
}

// scrapeErr fetches and parses /metrics.
func scrapeErr(addr string) (*metricsSnap, error) {
	resp, err := opsClient.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(b)))
	if err != nil {
		return nil, fmt.Errorf("parsing /metrics: %w\n%s", err, b)
	}
	return &metricsSnap{fams: fams, raw: string(b)}, nil
}

func scrape(t testing.TB, addr string) *metricsSnap {
	t.Helper()
	m, err := scrapeErr(addr)
	require.NoError(t, err)
	return m
}

// waitMetrics scrapes until cond holds or d passes, and returns the last
// scrape (cond may be false on it: the caller asserts what it expects).
func waitMetrics(t testing.TB, addr string, d time.Duration, cond func(*metricsSnap) bool) *metricsSnap {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m := scrape(t, addr)
		if cond(m) || time.Now().After(deadline) {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func matches(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] {
				found = lp.GetValue() == labels[i+1]
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// Has reports whether a series of name with the given label pairs exists.
func (s *metricsSnap) Has(name string, labels ...string) bool {
	f := s.fams[name]
	if f == nil {
		return false
	}
	for _, m := range f.Metric {
		if matches(m, labels) {
			return true
		}
	}
	return false
}

// Sum adds the values of every series of name whose labels include the
// given pairs (k1, v1, k2, v2, …); 0 when none. Histograms give their count.
func (s *metricsSnap) Sum(name string, labels ...string) float64 {
	f := s.fams[name]
	if f == nil {
		return 0
	}
	var v float64
	for _, m := range f.Metric {
		if matches(m, labels) {
			v += value(m)
		}
	}
	return v
}

// Histogram returns the (only) series of a histogram family.
func (s *metricsSnap) Histogram(name string) *dto.Histogram {
	f := s.fams[name]
	if f == nil || len(f.Metric) == 0 {
		return nil
	}
	return f.Metric[0].GetHistogram()
}

// Series lists name's series as "labels value" lines, for messages.
func (s *metricsSnap) Series(name string) string {
	var b strings.Builder
	for _, l := range strings.Split(s.raw, "\n") {
		if strings.HasPrefix(l, name) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// gohostLines returns the gohost_* samples of the scrape, for messages.
func (s *metricsSnap) gohostLines() string { return s.Series("gohost_") }

// ---------------------------------------------------------------- raw runs

// rawServer is gohost started with exactly the given arguments.
type rawServer struct {
	Cmd    *exec.Cmd
	Stdout *syncBuffer
	Stderr *syncBuffer
	exited chan struct{}
	err    error
}

// startRaw starts gohost with args (nothing added) in dir with env added to
// the cleaned environment; it is killed (group) at cleanup.
func startRaw(t *testing.T, dir string, env []string, args ...string) *rawServer {
	t.Helper()
	cmd := exec.Command(gohostBin, args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(false), env...)
	r := &rawServer{Cmd: cmd, Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.Stdout, r.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	go func() { r.err = cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-r.exited:
		case <-time.After(5 * time.Second):
			t.Errorf("gohost pid %d did not exit within 5s of SIGTERM", cmd.Process.Pid)
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-r.exited
		if t.Failed() {
			t.Logf("gohost stderr (tail):\n%s", tail(r.Stderr.String(), 6000))
		}
	})
	return r
}

// waitDial waits until addr accepts TCP connections.
func waitDial(t *testing.T, addr string, d time.Duration, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("gohost exited before listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing accepts on %s after %s", addr, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// workerPIDs returns the children of the master that are gohost workers.
func workerPIDs(master int) []int {
	var out []int
	for _, p := range treePIDs(master) {
		if p != master {
			out = append(out, p)
		}
	}
	return out
}
