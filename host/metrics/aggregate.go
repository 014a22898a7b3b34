package metrics

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Aggregator sums the workers' snapshots for the master. It is a
// prometheus.Collector and safe for concurrent use.
type Aggregator struct {
	mu       sync.Mutex
	live     map[int]Snapshot // by worker pid
	retired  Snapshot         // counters of workers that have exited
	restarts map[string]uint64

	descRequests, descDuration, descInFlight, descBytesIn, descBytesOut,
	descRestarts, descGILWait, descBusy, descThreads, descWorkers *prometheus.Desc
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("gohost_"+name, help, labels, nil)
	}
	return &Aggregator{
		live:     make(map[int]Snapshot),
		retired:  Snapshot{Requests: map[string]uint64{}, Durations: make([]uint64, len(Buckets)+1)},
		restarts: make(map[string]uint64),

		descRequests: d("requests_total", "Requests answered, by method and status code (0: none sent).", "method", "status"),
		descDuration: d("request_duration_seconds", "Time from a request's arrival to the end of its response."),
		descInFlight: d("requests_in_flight", "Requests being served now."),
		descBytesIn:  d("request_body_bytes_total", "Request body bytes read."),
		descBytesOut: d("response_body_bytes_total", "Response body bytes sent."),
		descRestarts: d("worker_restarts_total", "Worker processes that ended and were replaced, by cause.", "cause"),
		descGILWait:  d("gil_wait_seconds_total", "Time Python threads spent waiting to take the GIL."),
		descBusy:     d("python_busy_seconds_total", "Time Python threads spent serving requests; divide its rate by gohost_python_threads for utilisation."),
		descThreads:  d("python_threads", "Python threads across all workers."),
		descWorkers:  d("workers", "Worker processes reporting."),
	}
}

// Update stores a worker's latest snapshot.
func (a *Aggregator) Update(pid int, s Snapshot) {
	a.mu.Lock()
	a.live[pid] = s
	a.mu.Unlock()
}

// RestartCauses are the causes a worker can be replaced for; their series
// start at 0 so that rate() and increase() see the first restart.
var RestartCauses = []string{"recycled", "memory", "reload", "timeout", "unresponsive", "crashed", "killed", "oom", "app_load_error", "boot_error"}

// Retire folds an exited worker's last counts into the totals, and counts
// a restart by cause. "stopped" (the master stopping it for good, or
// TTOU) and "" are not restarts.
func (a *Aggregator) Retire(pid int, cause string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.live[pid]; ok {
		add(&a.retired, s)
		delete(a.live, pid)
	}
	if cause != "" && cause != "stopped" {
		a.restarts[cause]++
	}
}

// Total returns the sum over live and exited workers (InFlight and Threads
// count live workers only).
func (a *Aggregator) Total() (total Snapshot, workers int, restarts map[string]uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	total = Snapshot{Requests: map[string]uint64{}, Durations: make([]uint64, len(Buckets)+1)}
	add(&total, a.retired)
	for _, s := range a.live {
		add(&total, s)
		total.InFlight += s.InFlight
		total.Threads += s.Threads
	}
	restarts = make(map[string]uint64, len(a.restarts))
	for k, v := range a.restarts {
		restarts[k] = v
	}
	return total, len(a.live), restarts
}

// add sums the cumulative counters of s into dst.
func add(dst *Snapshot, s Snapshot) {
	for k, n := range s.Requests {
		dst.Requests[k] += n
	}
	for i := range dst.Durations {
		if i < len(s.Durations) {
			dst.Durations[i] += s.Durations[i]
		}
	}
	dst.DurationSum += s.DurationSum
	dst.BytesIn += s.BytesIn
	dst.BytesOut += s.BytesOut
	dst.GILWaitSeconds += s.GILWaitSeconds
	dst.BusySeconds += s.BusySeconds
}

// Describe implements prometheus.Collector.
func (a *Aggregator) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{a.descRequests, a.descDuration, a.descInFlight, a.descBytesIn, a.descBytesOut,
		a.descRestarts, a.descGILWait, a.descBusy, a.descThreads, a.descWorkers} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (a *Aggregator) Collect(ch chan<- prometheus.Metric) {
	t, workers, restarts := a.Total()
	for k, n := range t.Requests {
		method, status, _ := strings.Cut(k, " ")
		ch <- prometheus.MustNewConstMetric(a.descRequests, prometheus.CounterValue, float64(n), method, status)
	}
	buckets := make(map[float64]uint64, len(Buckets))
	var cum, count uint64
	for i, b := range Buckets {
		cum += t.Durations[i]
		buckets[b] = cum
	}
	count = cum + t.Durations[len(Buckets)]
	ch <- prometheus.MustNewConstHistogram(a.descDuration, count, t.DurationSum, buckets)
	ch <- prometheus.MustNewConstMetric(a.descInFlight, prometheus.GaugeValue, float64(t.InFlight))
	ch <- prometheus.MustNewConstMetric(a.descBytesIn, prometheus.CounterValue, float64(t.BytesIn))
	ch <- prometheus.MustNewConstMetric(a.descBytesOut, prometheus.CounterValue, float64(t.BytesOut))
	for _, cause := range RestartCauses { // every known cause, from 0
		ch <- prometheus.MustNewConstMetric(a.descRestarts, prometheus.CounterValue, float64(restarts[cause]), cause)
	}
	for cause, n := range restarts {
		if !slices.Contains(RestartCauses, cause) {
			ch <- prometheus.MustNewConstMetric(a.descRestarts, prometheus.CounterValue, float64(n), cause)
		}
	}
	ch <- prometheus.MustNewConstMetric(a.descGILWait, prometheus.CounterValue, t.GILWaitSeconds)
	ch <- prometheus.MustNewConstMetric(a.descBusy, prometheus.CounterValue, t.BusySeconds)
	ch <- prometheus.MustNewConstMetric(a.descThreads, prometheus.GaugeValue, float64(t.Threads))
	ch <- prometheus.MustNewConstMetric(a.descWorkers, prometheus.GaugeValue, float64(workers))
}
