package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Buckets are the request-duration histogram's upper bounds in seconds.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Snapshot is one worker's cumulative counts since it started.
type Snapshot struct {
	Requests       map[string]uint64 `json:"requests"`  // "METHOD STATUS" → count
	Durations      []uint64          `json:"durations"` // per bucket (not cumulative), last = +Inf
	DurationSum    float64           `json:"duration_sum"`
	InFlight       int64             `json:"in_flight"`
	BytesIn        uint64            `json:"bytes_in"`
	BytesOut       uint64            `json:"bytes_out"`
	GILWaitSeconds float64           `json:"gil_wait_seconds"`
	BusySeconds    float64           `json:"busy_seconds"` // Python threads inside a request
	Threads        int               `json:"threads"`
}

// Recorder counts one worker's requests. It is safe for concurrent use.
type Recorder struct {
	threads  int
	inFlight atomic.Int64
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64
	gilWait  atomic.Int64 // nanoseconds
	busy     atomic.Int64 // nanoseconds

	mu          sync.Mutex // guards the request counts and histogram
	requests    map[reqKey]uint64
	durations   []uint64
	durationSum float64
}

type reqKey struct {
	method string
	status int
}

// NewRecorder returns a Recorder for a worker with threads Python threads.
func NewRecorder(threads int) *Recorder {
	return &Recorder{threads: threads, requests: make(map[reqKey]uint64), durations: make([]uint64, len(Buckets)+1)}
}

// SetInFlight records how many requests are being served now.
func (r *Recorder) SetInFlight(n int) { r.inFlight.Store(int64(n)) }

// AddBodyIn adds request body bytes read.
func (r *Recorder) AddBodyIn(n int64) { r.bytesIn.Add(uint64(max(n, 0))) }

// End records a finished request: its method, status (0 when none was
// sent), time from arrival to completion and response body bytes.
func (r *Recorder) End(method string, status int, d time.Duration, out int64) {
	r.bytesOut.Add(uint64(max(out, 0)))
	sec := d.Seconds()
	i := 0
	for i < len(Buckets) && sec > Buckets[i] {
		i++
	}
	k := reqKey{NormalizeMethod(method), status}
	r.mu.Lock()
	r.requests[k]++
	r.durations[i]++
	r.durationSum += sec
	r.mu.Unlock()
}

// AddGILWait adds time a Python thread waited to take the GIL.
func (r *Recorder) AddGILWait(d time.Duration) { r.gilWait.Add(int64(d)) }

// AddBusy adds time a Python thread spent serving a request.
func (r *Recorder) AddBusy(d time.Duration) { r.busy.Add(int64(d)) }

// Snapshot returns the counts so far.
func (r *Recorder) Snapshot() Snapshot {
	s := Snapshot{
		Requests:       make(map[string]uint64),
		InFlight:       r.inFlight.Load(),
		BytesIn:        r.bytesIn.Load(),
		BytesOut:       r.bytesOut.Load(),
		GILWaitSeconds: time.Duration(r.gilWait.Load()).Seconds(),
		BusySeconds:    time.Duration(r.busy.Load()).Seconds(),
		Threads:        r.threads,
	}
	r.mu.Lock()
	for k, n := range r.requests {
		s.Requests[k.method+" "+strconv.Itoa(k.status)] = n
	}
	s.Durations = append([]uint64(nil), r.durations...)
	s.DurationSum = r.durationSum
	r.mu.Unlock()
	return s
}

// NormalizeMethod keeps the label set bounded: unknown methods are "OTHER".
func NormalizeMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
		return m
	}
	return "OTHER"
}
