package logs

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func headers(kv ...string) func(string) string {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h.Get
}

func record() *AccessRecord {
	return &AccessRecord{
		Start:      fixed,
		Duration:   1234567 * time.Microsecond,
		RemoteAddr: "192.0.2.7:51234",
		Method:     "GET",
		Path:       "/items/42",
		Query:      "a=1&b=2",
		Proto:      "HTTP/1.1",
		Status:     200,
		Bytes:      5120,
		RequestHeader: headers(
			"Referer", "https://example.com/",
			"User-Agent", "curl/8.0",
			"Authorization", "Basic YWxpY2U6c2VjcmV0", // alice:secret
			"X-Request-Id", "req-1",
		),
		ResponseHeader: headers("Content-Type", "text/html", "X-Request-Id", "resp-1"),
		PID:            99,
	}
}

func line(t *testing.T, format string, r *AccessRecord) string {
	t.Helper()
	l, err := NewAccessLogger(nil, format)
	require.NoError(t, err)
	return string(l.AppendLine(nil, r))
}

func TestAccessDefaultFormat(t *testing.T) {
	assert.Equal(t,
		`192.0.2.7 - alice [23/Nov/2026:12:00:01 +0000] "GET /items/42?a=1&b=2 HTTP/1.1" 200 5120 "https://example.com/" "curl/8.0"`+"\n",
		line(t, DefaultAccessFormat, record()))

	// Missing values are "-", as gunicorn prints them.
	r := &AccessRecord{Start: fixed, Method: "POST", Path: "/", Proto: "HTTP/1.0", Status: 204}
	assert.Equal(t,
		`- - - [23/Nov/2026:12:00:00 +0000] "POST / HTTP/1.0" 204 - "-" "-"`+"\n",
		line(t, DefaultAccessFormat, r))
}

func TestAccessAtoms(t *testing.T) {
	r := record()
	tests := map[string]string{
		"%(h)s":                   "192.0.2.7",
		"%(l)s":                   "-",
		"%(u)s":                   "alice",
		"%(t)s":                   "[23/Nov/2026:12:00:01 +0000]",
		"%(r)s":                   "GET /items/42?a=1&b=2 HTTP/1.1",
		"%(s)s":                   "200",
		"%(m)s":                   "GET",
		"%(U)s":                   "/items/42",
		"%(q)s":                   "a=1&b=2",
		"%(H)s":                   "HTTP/1.1",
		"%(b)s":                   "5120",
		"%(B)s":                   "5120",
		"%(f)s":                   "https://example.com/",
		"%(a)s":                   "curl/8.0",
		"%(T)s":                   "1",
		"%(D)s":                   "1234567",
		"%(M)s":                   "1234",
		"%(L)s":                   "1.234567",
		"%(p)s":                   "<99>",
		"%({x-request-id}i)s":     "req-1",
		"%({X-Request-Id}o)s":     "resp-1",
		"%({content-type}o)s":     "text/html",
		"%({missing}i)s":          "-",
		"%({PATH}e)s":             "-", // environ atoms are not available
		"%(nope)s":                "-",
		"100%% %(s)d":             "100% 200",
		"50% off %(m)s":           "50% off GET",
		"trailing %":              "trailing %",
		"[%(s)s] (%(m)s)":         "[200] (GET)",
		`"%(r)s" %(s)s %(B)s`:     `"GET /items/42?a=1&b=2 HTTP/1.1" 200 5120`,
		"%(h)s|%(u)s|%(b)s|%(q)s": "192.0.2.7|alice|5120|a=1&b=2",
	}
	for format, want := range tests {
		assert.Equal(t, want+"\n", line(t, format, r), "format %q", format)
	}
}

func TestAccessAtomEdgeCases(t *testing.T) {
	r := &AccessRecord{
		Start: fixed, Duration: 50 * time.Microsecond, RemoteAddr: "[2001:db8::1]:443",
		Method: "GET", Path: "/a\"b\x01\xff", Proto: "HTTP/1.1", Status: 500,
		RequestHeader: headers("User-Agent", `evil"agent`, "Authorization", "Bearer xyz"),
	}
	assert.Equal(t, `2001:db8::1 - 0 0 0.000050 "evil\"agent" "GET /a\"b\x01\xff HTTP/1.1"`+"\n",
		line(t, `%(h)s %(u)s %(B)s %(M)s %(L)s "%(a)s" "%(r)s"`, r))

	r = &AccessRecord{RemoteAddr: "10.0.0.1", PID: 0}
	got := line(t, "%(h)s %(p)s", r)
	assert.Equal(t, "10.0.0.1 <"+itoa(os.Getpid())+">\n", got)

	_, err := NewAccessLogger(nil, "%(h)s %(unterminated")
	assert.EqualError(t, err, `access log format: unterminated "%(unterminated" at byte 6`)
	assert.Error(t, CheckFormat("%(h)"))
	assert.NoError(t, CheckFormat(DefaultAccessFormat))
	assert.NoError(t, CheckFormat(JSONFormat))
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestAccessJSON(t *testing.T) {
	got := line(t, JSONFormat, record())
	require.True(t, strings.HasSuffix(got, "}\n"))
	assert.Equal(t, `{"ts":"2026-11-23T12:00:01.234Z","remote":"192.0.2.7","method":"GET","path":"/items/42",`+
		`"query":"a=1&b=2","proto":"HTTP/1.1","status":200,"bytes":5120,"duration_ms":1234.567,`+
		`"referer":"https://example.com/","user_agent":"curl/8.0","request_id":"req-1"}`+"\n", got)

	// Hostile bytes still give valid JSON with the expected values.
	r := &AccessRecord{
		Start: fixed, Method: "GET", Path: "/caf\xe9/\"q\"\\\n", Query: "x=\u2028",
		Proto: "HTTP/1.1", Status: 404,
		ResponseHeader: headers("X-Request-ID", "from-app"),
	}
	got = line(t, JSONFormat, r)
	assert.Equal(t, 1, strings.Count(got, "\n"), "one line")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(got), &m))
	assert.Equal(t, "/caf\ufffd/\"q\"\\\n", m["path"])
	assert.Equal(t, "x=\u2028", m["query"])
	assert.Equal(t, "", m["remote"])
	assert.Equal(t, "", m["referer"])
	assert.Equal(t, "from-app", m["request_id"], "falls back to the response header")
	assert.Equal(t, float64(404), m["status"])
	assert.Equal(t, float64(0), m["duration_ms"])
	keys := []string{"ts", "remote", "method", "path", "query", "proto", "status", "bytes",
		"duration_ms", "referer", "user_agent", "request_id"}
	assert.Len(t, m, len(keys))
	for _, k := range keys {
		assert.Contains(t, m, k)
	}
}

func TestAccessLoggerNilIsOff(t *testing.T) {
	l, err := OpenAccessLog("", DefaultAccessFormat)
	require.NoError(t, err)
	assert.Nil(t, l)
	l.Log(record()) // no panic
	assert.NoError(t, l.Reopen())
	assert.NoError(t, l.Close())
}

// countingWriter records each Write call.
type countingWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, string(p))
	w.mu.Unlock()
	return len(p), nil
}

func TestAccessLogOneWritePerLineConcurrent(t *testing.T) {
	w := &countingWriter{}
	l, err := NewAccessLogger(w, DefaultAccessFormat)
	require.NoError(t, err)
	want := string(l.AppendLine(nil, record()))
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l.Log(record())
			}
		}()
	}
	wg.Wait()
	require.Len(t, w.writes, 1600)
	for _, got := range w.writes {
		require.Equal(t, want, got)
	}
}

func TestAccessLogFileReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := OpenAccessLog(path, JSONFormat)
	require.NoError(t, err)
	defer l.Close()
	l.Log(record())
	require.NoError(t, os.Rename(path, path+".1"))
	require.NoError(t, l.Reopen())
	r := record()
	r.Status = 201
	l.Log(r)

	old, err := os.ReadFile(path + ".1")
	require.NoError(t, err)
	cur, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(old), `"status":200`)
	assert.Equal(t, 1, bytes.Count(cur, []byte("\n")))
	assert.Contains(t, string(cur), `"status":201`)

	_, err = OpenAccessLog(path, "%(bad")
	assert.Error(t, err)
	_, err = OpenAccessLog(filepath.Join(t.TempDir(), "x", "y"), JSONFormat)
	assert.ErrorContains(t, err, "access log: open ")
}

func BenchmarkAccessLogDefault(b *testing.B) {
	l, _ := NewAccessLogger(discard{}, DefaultAccessFormat)
	r := record()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r)
	}
}

func BenchmarkAccessLogJSON(b *testing.B) {
	l, _ := NewAccessLogger(discard{}, JSONFormat)
	r := record()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(r)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
