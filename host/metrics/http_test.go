package metrics

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var client = &http.Client{Timeout: 5 * time.Second}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := client.Get(url)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func listen(t *testing.T, agg *Aggregator, h *Health) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0", agg, h)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestHealthProbes(t *testing.T) {
	var h Health
	s := listen(t, NewAggregator(), &h)
	base := "http://" + s.Addr().String()

	code, hdr, body := get(t, base+"/healthz")
	assert.Equal(t, 200, code, "/healthz answers as soon as the master listens")
	assert.Equal(t, "ok\n", body)
	assert.True(t, strings.HasPrefix(hdr.Get("Content-Type"), "text/plain"))

	code, _, body = get(t, base+"/readyz")
	assert.Equal(t, 503, code, "/readyz before any worker is ready")
	assert.Equal(t, "not ready\n", body)
	assert.False(t, h.Ready())

	h.SetReady(true)
	code, _, body = get(t, base+"/readyz")
	assert.Equal(t, 200, code, "/readyz once a worker is ready")
	assert.Equal(t, "ready\n", body)
	assert.True(t, h.Ready())

	h.SetStopping()
	code, _, _ = get(t, base+"/readyz")
	assert.Equal(t, 503, code, "/readyz once a stop began")
	code, _, _ = get(t, base+"/healthz")
	assert.Equal(t, 200, code, "/healthz stays 200 while stopping: the process is alive")

	h.SetReady(true)
	code, _, _ = get(t, base+"/readyz")
	assert.Equal(t, 503, code, "stopping is final: a late SetReady(true) does not make /readyz pass")

	// HEAD works too (some probes use it).
	resp, err := client.Head(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

func TestHealthReadyFalse(t *testing.T) {
	var h Health
	h.SetReady(true)
	h.SetReady(false) // what the master reports when it begins to stop
	assert.False(t, h.Ready())
}

func TestMetricsEndpoint(t *testing.T) {
	agg := NewAggregator()
	agg.Update(1, Snapshot{Requests: map[string]uint64{"GET 200": 7}, Durations: make([]uint64, len(Buckets)+1), Threads: 3})
	var h Health
	s := listen(t, agg, &h)
	base := "http://" + s.Addr().String()

	code, hdr, body := get(t, base+"/metrics")
	require.Equal(t, 200, code)
	ct := hdr.Get("Content-Type")
	assert.True(t, strings.HasPrefix(ct, "text/plain; version=0.0.4"), "Content-Type %q", ct)
	assert.Equal(t, expfmt.TypeTextPlain, expfmt.ResponseFormat(hdr).FormatType(), "Content-Type %q", ct)

	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	require.NoError(t, err, "the body parses as the text format:\n%s", body)
	for _, name := range []string{"gohost_requests_total", "gohost_workers", "gohost_python_threads",
		"gohost_request_duration_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		assert.Contains(t, fams, name)
	}
	assert.Equal(t, 7.0, fams["gohost_requests_total"].Metric[0].GetCounter().GetValue())
	assert.Equal(t, 3.0, fams["gohost_python_threads"].Metric[0].GetGauge().GetValue())

	// gzip is negotiated like any promhttp handler.
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))

	code, _, _ = get(t, base+"/nope")
	assert.Equal(t, 404, code)
}

func TestListenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = Listen(ln.Addr().String(), NewAggregator(), &Health{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--metrics-bind "+ln.Addr().String())
}

func TestServerClose(t *testing.T) {
	s, err := Listen("127.0.0.1:0", NewAggregator(), &Health{})
	require.NoError(t, err)
	addr := s.Addr().String()
	code, _, _ := get(t, "http://"+addr+"/healthz")
	require.Equal(t, 200, code)
	require.NoError(t, s.Close())
	_, err = net.DialTimeout("tcp", addr, time.Second)
	assert.Error(t, err, "nothing listens after Close")
}
