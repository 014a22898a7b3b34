package metrics

import (
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// durations builds a Snapshot.Durations slice from le → count (le < 0 is +Inf).
func durations(t *testing.T, counts map[float64]uint64) []uint64 {
	d := make([]uint64, len(Buckets)+1)
	for le, n := range counts {
		if le < 0 {
			d[len(Buckets)] += n
			continue
		}
		d[bucketIndex(t, le)] += n
	}
	return d
}

// Two workers' snapshots with binary-exact float values, so that the
// exposition can be compared as text.
func workerA(t *testing.T) Snapshot {
	return Snapshot{
		Requests:       map[string]uint64{"GET 200": 3, "POST 201": 1},
		Durations:      durations(t, map[float64]uint64{0.001: 2, 0.25: 1, -1: 1}),
		DurationSum:    40.5,
		InFlight:       1,
		BytesIn:        100,
		BytesOut:       44,
		GILWaitSeconds: 0.25,
		BusySeconds:    1.5,
		Threads:        2,
	}
}

func workerB(t *testing.T) Snapshot {
	return Snapshot{
		Requests:       map[string]uint64{"GET 200": 2, "GET 404": 1},
		Durations:      durations(t, map[float64]uint64{0.005: 3}),
		DurationSum:    0.5,
		BytesOut:       34,
		GILWaitSeconds: 0.5,
		BusySeconds:    0.75,
		Threads:        2,
	}
}

// workerC is a fresh worker replacing one that exited: its counts start
// from zero, so they are smaller than what the retired worker had.
func workerC(t *testing.T) Snapshot {
	return Snapshot{
		Requests:       map[string]uint64{"GET 200": 1},
		Durations:      durations(t, map[float64]uint64{0.001: 1}),
		DurationSum:    0.25,
		BytesOut:       12,
		GILWaitSeconds: 0.125,
		BusySeconds:    0.25,
		Threads:        2,
	}
}

func TestAggregatorSumsLiveWorkers(t *testing.T) {
	a := NewAggregator()
	a.Update(101, workerA(t))
	a.Update(102, workerB(t))
	total, workers, restarts := a.Total()
	assert.Equal(t, 2, workers)
	assert.Empty(t, restarts)
	assert.Equal(t, map[string]uint64{"GET 200": 5, "POST 201": 1, "GET 404": 1}, total.Requests)
	assert.Equal(t, durations(t, map[float64]uint64{0.001: 2, 0.005: 3, 0.25: 1, -1: 1}), total.Durations)
	assert.Equal(t, 41.0, total.DurationSum)
	assert.Equal(t, int64(1), total.InFlight)
	assert.Equal(t, uint64(100), total.BytesIn)
	assert.Equal(t, uint64(78), total.BytesOut)
	assert.Equal(t, 0.75, total.GILWaitSeconds)
	assert.Equal(t, 2.25, total.BusySeconds)
	assert.Equal(t, 4, total.Threads)

	// A newer snapshot of the same worker replaces its previous one (they
	// are cumulative), it is not added to it.
	b := workerB(t)
	b.Requests["GET 200"] = 4
	b.Threads = 2
	a.Update(102, b)
	total, workers, _ = a.Total()
	assert.Equal(t, 2, workers)
	assert.Equal(t, uint64(7), total.Requests["GET 200"])
	assert.Equal(t, 4, total.Threads)
}

// counters lists the values that must never go down.
func counters(s Snapshot) map[string]float64 {
	m := map[string]float64{
		"duration_sum": s.DurationSum,
		"bytes_in":     float64(s.BytesIn),
		"bytes_out":    float64(s.BytesOut),
		"gil_wait":     s.GILWaitSeconds,
		"busy":         s.BusySeconds,
	}
	for k, n := range s.Requests {
		m["requests "+k] = float64(n)
	}
	for i, n := range s.Durations {
		m["bucket "+string(rune('a'+i))] = float64(n)
	}
	return m
}

func assertMonotonic(t *testing.T, before, after Snapshot, when string) {
	t.Helper()
	a := counters(after)
	for k, v := range counters(before) {
		assert.GreaterOrEqual(t, a[k], v, "%s: counter %s went down", when, k)
	}
}

func TestAggregatorRetireKeepsCountersMonotonic(t *testing.T) {
	a := NewAggregator()
	a.Update(101, workerA(t))
	a.Update(102, workerB(t))
	before, _, _ := a.Total()

	// Worker 101 is killed: its counts move to the retired totals.
	a.Retire(101, "killed")
	mid, workers, restarts := a.Total()
	assert.Equal(t, 1, workers)
	assert.Equal(t, map[string]uint64{"killed": 1}, restarts)
	assertMonotonic(t, before, mid, "after Retire")
	assert.Equal(t, int64(0), mid.InFlight, "in-flight counts live workers only")
	assert.Equal(t, 2, mid.Threads, "threads count live workers only")

	// Its replacement reports a much smaller snapshot.
	a.Update(103, workerC(t))
	after, workers, restarts := a.Total()
	assert.Equal(t, 2, workers)
	assert.Equal(t, map[string]uint64{"killed": 1}, restarts)
	assertMonotonic(t, mid, after, "after the replacement's first snapshot")
	assert.Equal(t, map[string]uint64{"GET 200": 6, "POST 201": 1, "GET 404": 1}, after.Requests)
	assert.Equal(t, uint64(8), sum(after.Durations))
	assert.Equal(t, 41.25, after.DurationSum)
	assert.Equal(t, uint64(90), after.BytesOut)
	assert.Equal(t, uint64(100), after.BytesIn)
	assert.Equal(t, 0.875, after.GILWaitSeconds)
	assert.Equal(t, 2.5, after.BusySeconds)
	assert.Equal(t, 4, after.Threads)

	// The replacement serves more: totals grow from there.
	c := workerC(t)
	c.Requests["GET 200"] = 5
	a.Update(103, c)
	later, _, _ := a.Total()
	assert.Equal(t, uint64(10), later.Requests["GET 200"])
}

func sum(xs []uint64) uint64 {
	var n uint64
	for _, x := range xs {
		n += x
	}
	return n
}

func TestAggregatorRestartsByCause(t *testing.T) {
	a := NewAggregator()
	a.Update(1, workerA(t))
	a.Update(2, workerB(t))
	a.Retire(1, "killed")
	a.Retire(2, "recycled")
	a.Retire(3, "recycled")       // never reported a snapshot (exited early)
	a.Retire(4, "app_load_error") // likewise
	a.Retire(5, "")               // no cause: not a restart
	a.Retire(1, "killed")         // a second exit of the same pid counts, adds nothing
	total, workers, restarts := a.Total()
	assert.Equal(t, 0, workers)
	assert.Equal(t, map[string]uint64{"killed": 2, "recycled": 2, "app_load_error": 1}, restarts)
	assert.Equal(t, map[string]uint64{"GET 200": 5, "POST 201": 1, "GET 404": 1}, total.Requests,
		"retiring a pid twice does not count its requests twice")

	// Total returns a copy: changing it does not change the aggregator.
	restarts["killed"] = 100
	total.Requests["GET 200"] = 100
	total2, _, restarts2 := a.Total()
	assert.Equal(t, uint64(2), restarts2["killed"])
	assert.Equal(t, uint64(5), total2.Requests["GET 200"])
}

func TestAggregatorRetireWithoutCauseFoldsCounts(t *testing.T) {
	a := NewAggregator()
	a.Update(1, workerA(t))
	a.Retire(1, "")
	total, workers, restarts := a.Total()
	assert.Equal(t, 0, workers)
	assert.Empty(t, restarts)
	assert.Equal(t, uint64(3), total.Requests["GET 200"])
	assert.Equal(t, 0, total.Threads)
}

func TestAggregatorShortDurationsSlice(t *testing.T) {
	// A snapshot with fewer buckets (say, from a worker of another
	// version) must not panic; what it has is added bucket by bucket.
	a := NewAggregator()
	a.Update(1, Snapshot{Requests: map[string]uint64{"GET 200": 2}, Durations: []uint64{1, 1}, Threads: 1})
	a.Update(2, Snapshot{Requests: map[string]uint64{"GET 200": 1}, Threads: 1})
	total, _, _ := a.Total()
	require.Len(t, total.Durations, len(Buckets)+1)
	assert.Equal(t, uint64(2), sum(total.Durations))
}

const helpText = `
# HELP gohost_gil_wait_seconds_total Time Python threads spent waiting to take the GIL.
# TYPE gohost_gil_wait_seconds_total counter
# HELP gohost_python_busy_seconds_total Time Python threads spent serving requests; divide its rate by gohost_python_threads for utilisation.
# TYPE gohost_python_busy_seconds_total counter
# HELP gohost_python_threads Python threads across all workers.
# TYPE gohost_python_threads gauge
# HELP gohost_request_body_bytes_total Request body bytes read.
# TYPE gohost_request_body_bytes_total counter
# HELP gohost_request_duration_seconds Time from a request's arrival to the end of its response.
# TYPE gohost_request_duration_seconds histogram
# HELP gohost_requests_in_flight Requests being served now.
# TYPE gohost_requests_in_flight gauge
# HELP gohost_requests_total Requests answered, by method and status code (0: none sent).
# TYPE gohost_requests_total counter
# HELP gohost_response_body_bytes_total Response body bytes sent.
# TYPE gohost_response_body_bytes_total counter
# HELP gohost_worker_restarts_total Worker processes that ended and were replaced, by cause.
# TYPE gohost_worker_restarts_total counter
# HELP gohost_workers Worker processes reporting.
# TYPE gohost_workers gauge
`

// exposition puts the HELP/TYPE lines before the samples (testutil parses
// the text format, where their order within a family does not matter as
// long as HELP/TYPE come first).
func exposition(samples string) string {
	// Group the samples under their family's HELP/TYPE lines.
	fam := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(samples), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		name := l[:strings.IndexAny(l, "{ ")]
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if strings.HasPrefix(name, "gohost_request_duration_seconds") {
				name = strings.TrimSuffix(name, suf)
			}
		}
		fam[name] = append(fam[name], l)
	}
	var b strings.Builder
	lines := strings.Split(strings.TrimSpace(helpText), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		name := strings.Fields(lines[i])[2]
		if len(fam[name]) == 0 {
			continue
		}
		b.WriteString(lines[i] + "\n" + lines[i+1] + "\n")
		for _, s := range fam[name] {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

var allNames = []string{
	"gohost_requests_total", "gohost_request_duration_seconds", "gohost_requests_in_flight",
	"gohost_request_body_bytes_total", "gohost_response_body_bytes_total", "gohost_worker_restarts_total",
	"gohost_gil_wait_seconds_total", "gohost_python_busy_seconds_total", "gohost_python_threads", "gohost_workers",
}

func TestAggregatorCollectEmpty(t *testing.T) {
	a := NewAggregator()
	want := exposition(`
gohost_gil_wait_seconds_total 0
gohost_python_busy_seconds_total 0
gohost_python_threads 0
gohost_request_body_bytes_total 0
gohost_request_duration_seconds_bucket{le="0.001"} 0
gohost_request_duration_seconds_bucket{le="0.0025"} 0
gohost_request_duration_seconds_bucket{le="0.005"} 0
gohost_request_duration_seconds_bucket{le="0.01"} 0
gohost_request_duration_seconds_bucket{le="0.025"} 0
gohost_request_duration_seconds_bucket{le="0.05"} 0
gohost_request_duration_seconds_bucket{le="0.1"} 0
gohost_request_duration_seconds_bucket{le="0.25"} 0
gohost_request_duration_seconds_bucket{le="0.5"} 0
gohost_request_duration_seconds_bucket{le="1"} 0
gohost_request_duration_seconds_bucket{le="2.5"} 0
gohost_request_duration_seconds_bucket{le="5"} 0
gohost_request_duration_seconds_bucket{le="10"} 0
gohost_request_duration_seconds_bucket{le="30"} 0
gohost_request_duration_seconds_bucket{le="+Inf"} 0
gohost_request_duration_seconds_sum 0
gohost_request_duration_seconds_count 0
gohost_requests_in_flight 0
gohost_response_body_bytes_total 0
gohost_worker_restarts_total{cause="app_load_error"} 0
gohost_worker_restarts_total{cause="boot_error"} 0
gohost_worker_restarts_total{cause="crashed"} 0
gohost_worker_restarts_total{cause="killed"} 0
gohost_worker_restarts_total{cause="memory"} 0
gohost_worker_restarts_total{cause="oom"} 0
gohost_worker_restarts_total{cause="recycled"} 0
gohost_worker_restarts_total{cause="reload"} 0
gohost_worker_restarts_total{cause="timeout"} 0
gohost_worker_restarts_total{cause="unresponsive"} 0
gohost_workers 0
`)
	require.NoError(t, testutil.CollectAndCompare(a, strings.NewReader(want), allNames...))
}

func TestAggregatorCollectExact(t *testing.T) {
	a := NewAggregator()
	a.Update(101, workerA(t))
	a.Update(102, workerB(t))
	a.Retire(101, "killed")
	a.Update(103, workerC(t))
	a.Retire(999, "recycled")

	// Retired 101 (A) + live 102 (B) + live 103 (C).
	want := exposition(`
gohost_gil_wait_seconds_total 0.875
gohost_python_busy_seconds_total 2.5
gohost_python_threads 4
gohost_request_body_bytes_total 100
gohost_request_duration_seconds_bucket{le="0.001"} 3
gohost_request_duration_seconds_bucket{le="0.0025"} 3
gohost_request_duration_seconds_bucket{le="0.005"} 6
gohost_request_duration_seconds_bucket{le="0.01"} 6
gohost_request_duration_seconds_bucket{le="0.025"} 6
gohost_request_duration_seconds_bucket{le="0.05"} 6
gohost_request_duration_seconds_bucket{le="0.1"} 6
gohost_request_duration_seconds_bucket{le="0.25"} 7
gohost_request_duration_seconds_bucket{le="0.5"} 7
gohost_request_duration_seconds_bucket{le="1"} 7
gohost_request_duration_seconds_bucket{le="2.5"} 7
gohost_request_duration_seconds_bucket{le="5"} 7
gohost_request_duration_seconds_bucket{le="10"} 7
gohost_request_duration_seconds_bucket{le="30"} 7
gohost_request_duration_seconds_bucket{le="+Inf"} 8
gohost_request_duration_seconds_sum 41.25
gohost_request_duration_seconds_count 8
gohost_requests_in_flight 0
gohost_requests_total{method="GET",status="200"} 6
gohost_requests_total{method="GET",status="404"} 1
gohost_requests_total{method="POST",status="201"} 1
gohost_response_body_bytes_total 90
gohost_worker_restarts_total{cause="app_load_error"} 0
gohost_worker_restarts_total{cause="boot_error"} 0
gohost_worker_restarts_total{cause="crashed"} 0
gohost_worker_restarts_total{cause="killed"} 1
gohost_worker_restarts_total{cause="memory"} 0
gohost_worker_restarts_total{cause="oom"} 0
gohost_worker_restarts_total{cause="recycled"} 1
gohost_worker_restarts_total{cause="reload"} 0
gohost_worker_restarts_total{cause="timeout"} 0
gohost_worker_restarts_total{cause="unresponsive"} 0
gohost_workers 2
`)
	require.NoError(t, testutil.CollectAndCompare(a, strings.NewReader(want), allNames...))

	// The histogram's count equals the requests' total.
	total, _, _ := a.Total()
	var reqs uint64
	for _, n := range total.Requests {
		reqs += n
	}
	assert.Equal(t, reqs, sum(total.Durations))
	// One series per family, except requests_total (3) and restarts (one
	// per known cause, from 0).
	assert.Equal(t, len(allNames)-2+3+len(RestartCauses), testutil.CollectAndCount(a))
}

func TestAggregatorCollectInFlight(t *testing.T) {
	a := NewAggregator()
	s := workerB(t)
	s.InFlight = 1
	a.Update(1, s)
	s2 := workerC(t)
	s2.InFlight = 2
	a.Update(2, s2)
	want := exposition("gohost_requests_in_flight 3\ngohost_python_threads 4\ngohost_workers 2")
	require.NoError(t, testutil.CollectAndCompare(a, strings.NewReader(want),
		"gohost_requests_in_flight", "gohost_python_threads", "gohost_workers"))
}

func TestAggregatorLint(t *testing.T) {
	a := NewAggregator()
	a.Update(1, workerA(t))
	a.Retire(1, "killed")
	problems, err := testutil.CollectAndLint(a)
	require.NoError(t, err)
	assert.Empty(t, problems, "promlint")
}

func TestAggregatorConcurrent(t *testing.T) {
	a := NewAggregator()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(pid int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				a.Update(pid, Snapshot{Requests: map[string]uint64{"GET 200": uint64(i + 1)}, Durations: make([]uint64, len(Buckets)+1), Threads: 1})
				_ = testutil.CollectAndCount(a)
			}
			a.Retire(pid, "recycled")
		}(w + 1)
	}
	wg.Wait()
	total, workers, restarts := a.Total()
	assert.Equal(t, 0, workers)
	assert.Equal(t, uint64(4*200), total.Requests["GET 200"])
	assert.Equal(t, uint64(4), restarts["recycled"])
}
