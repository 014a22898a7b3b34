package metrics

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bucketIndex returns the index in Snapshot.Durations of the bucket whose
// upper bound is le (len(Buckets) for +Inf).
func bucketIndex(t *testing.T, le float64) int {
	t.Helper()
	for i, b := range Buckets {
		if b == le {
			return i
		}
	}
	t.Fatalf("no bucket le=%v", le)
	return -1
}

func TestRecorderCountsRequestsByMethodAndStatus(t *testing.T) {
	r := NewRecorder(4)
	for i := 0; i < 3; i++ {
		r.End("GET", 200, time.Millisecond, 12)
	}
	r.End("POST", 201, time.Millisecond, 8)
	r.End("GET", 404, time.Millisecond, 10)
	r.End("GET", 0, time.Millisecond, 0) // no response sent
	// Unknown, extension and lower-case methods share one label value so a
	// client cannot grow the label set.
	r.End("BREW", 418, time.Millisecond, 0)
	r.End("get", 200, time.Millisecond, 0)
	r.End("", 400, time.Millisecond, 0)
	for _, m := range []string{"HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		r.End(m, 204, time.Millisecond, 0)
	}

	s := r.Snapshot()
	assert.Equal(t, map[string]uint64{
		"GET 200":     3,
		"POST 201":    1,
		"GET 404":     1,
		"GET 0":       1,
		"OTHER 418":   1,
		"OTHER 200":   1,
		"OTHER 400":   1,
		"HEAD 204":    1,
		"PUT 204":     1,
		"PATCH 204":   1,
		"DELETE 204":  1,
		"OPTIONS 204": 1,
	}, s.Requests)
	assert.Equal(t, uint64(3*12+8+10), s.BytesOut)
	assert.Equal(t, 4, s.Threads)
}

func TestRecorderHistogramBuckets(t *testing.T) {
	r := NewRecorder(1)
	cases := []struct {
		d  time.Duration
		le float64 // -1: +Inf
	}{
		{0, 0.001},
		{500 * time.Microsecond, 0.001},
		{time.Millisecond, 0.001}, // upper bounds are inclusive (le)
		{time.Millisecond + time.Nanosecond, 0.0025},
		{3 * time.Millisecond, 0.005},
		{100 * time.Millisecond, 0.1},
		{250 * time.Millisecond, 0.25},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{30 * time.Second, 30},
		{30*time.Second + time.Nanosecond, -1},
		{time.Hour, -1},
	}
	want := make([]uint64, len(Buckets)+1)
	var sum float64
	for _, c := range cases {
		r.End("GET", 200, c.d, 0)
		i := len(Buckets)
		if c.le >= 0 {
			i = bucketIndex(t, c.le)
		}
		want[i]++
		sum += c.d.Seconds()
	}
	s := r.Snapshot()
	require.Len(t, s.Durations, len(Buckets)+1, "one count per bucket plus +Inf")
	assert.Equal(t, want, s.Durations, "per-bucket (non-cumulative) counts")
	assert.InDelta(t, sum, s.DurationSum, 1e-9)
	var total uint64
	for _, n := range s.Durations {
		total += n
	}
	assert.Equal(t, uint64(len(cases)), total)
	assert.Equal(t, uint64(len(cases)), s.Requests["GET 200"])
}

func TestRecorderBytesAndTimes(t *testing.T) {
	r := NewRecorder(2)
	r.AddBodyIn(100)
	r.AddBodyIn(0)
	r.AddBodyIn(-5) // ignored, not subtracted
	r.AddBodyIn(23)
	r.End("POST", 201, time.Millisecond, 7)
	r.End("POST", 201, time.Millisecond, -1) // unknown size: ignored
	r.AddGILWait(1500 * time.Millisecond)
	r.AddGILWait(500 * time.Millisecond)
	r.AddBusy(250 * time.Millisecond)
	r.AddBusy(time.Second)
	r.SetInFlight(3)

	s := r.Snapshot()
	assert.Equal(t, uint64(123), s.BytesIn)
	assert.Equal(t, uint64(7), s.BytesOut)
	assert.Equal(t, 2.0, s.GILWaitSeconds)
	assert.Equal(t, 1.25, s.BusySeconds)
	assert.Equal(t, int64(3), s.InFlight)
	assert.Equal(t, 2, s.Threads)

	r.SetInFlight(0)
	assert.Equal(t, int64(0), r.Snapshot().InFlight, "in-flight is a gauge: it goes back down")
}

func TestRecorderSnapshotIsACopy(t *testing.T) {
	r := NewRecorder(1)
	r.End("GET", 200, time.Millisecond, 1)
	s := r.Snapshot()
	s.Requests["GET 200"] = 99
	s.Durations[0] = 99
	again := r.Snapshot()
	assert.Equal(t, uint64(1), again.Requests["GET 200"])
	assert.Equal(t, uint64(1), again.Durations[0])
	r.End("GET", 200, time.Millisecond, 1)
	assert.Equal(t, uint64(1), again.Requests["GET 200"], "an old snapshot does not change")
	assert.Equal(t, uint64(1), again.Durations[0], "an old snapshot does not change")
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(8)
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r.End("GET", 200, 2*time.Millisecond, 3)
				r.AddBodyIn(2)
				r.AddBusy(time.Millisecond)
				_ = r.Snapshot()
			}
		}()
	}
	wg.Wait()
	s := r.Snapshot()
	assert.Equal(t, uint64(goroutines*each), s.Requests["GET 200"])
	assert.Equal(t, uint64(goroutines*each), s.Durations[bucketIndex(t, 0.0025)])
	assert.Equal(t, uint64(goroutines*each*3), s.BytesOut)
	assert.Equal(t, uint64(goroutines*each*2), s.BytesIn)
	assert.InDelta(t, float64(goroutines*each)/1000, s.BusySeconds, 1e-9)
}

func TestNormalizeMethod(t *testing.T) {
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		assert.Equal(t, m, NormalizeMethod(m))
	}
	for _, m := range []string{"", "get", "CONNECT", "TRACE", "PROPFIND", "X" + string(make([]byte, 1000))} {
		assert.Equal(t, "OTHER", NormalizeMethod(m), "%q", m)
	}
}
