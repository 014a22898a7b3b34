package e2e

// --threads: how many requests a worker runs in Python at once, and on
// which OS thread a request's Python code runs (host/pool.go).

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Requests are served on their connection's goroutine; --threads tokens,
// not a fixed set of threads, bound how many are inside the app at once.
func TestThreadsBoundRequestsInsideTheApp(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--threads", "2"}})
	var wg sync.WaitGroup
	peaks := make([]int, 5)
	for i := range peaks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body := s.Get(t, "/concurrent?ms=300")
			if assert.Equal(t, 200, resp.StatusCode) {
				peaks[i], _ = strconv.Atoi(string(body))
			}
		}()
	}
	wg.Wait()
	peak := 0
	for _, p := range peaks {
		peak = max(peak, p)
	}
	assert.Equal(t, 2, peak, "5 concurrent requests, --threads 2: two at a time inside the app (peaks seen: %v)", peaks)
}

// A streamed body's chunks are produced on the OS thread that called the
// app, even when the connection's goroutine blocks on the slow client in
// between and other requests keep the Go scheduler busy: apps keep
// thread-bound state (a SQLite cursor, Django's per-thread connection)
// from the call to the last chunk and close().
func TestStreamedResponseStaysOnTheAppsThread(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--threads", "4"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Background load: short requests on other connections.
	var load sync.WaitGroup
	for range 4 {
		load.Add(1)
		go func() {
			defer load.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL("/concurrent?ms=1"), nil)
				if resp, err := httpClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	defer func() { cancel(); load.Wait() }()

	for round := range 3 {
		c := s.Dial(t)
		c.Send("GET /thread_idents?n=40&size=65536 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		// Read slowly so that the server's writes block.
		time.Sleep(50 * time.Millisecond)
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		idents := map[string]int{}
		app := ""
		chunks := 0
		sc := bufio.NewScanner(c.br)
		sc.Buffer(make([]byte, 128<<10), 128<<10)
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, "app "); i >= 0 && app == "" {
				app = strings.TrimSpace(line[i+4:])
			}
			if i := strings.Index(line, "chunk "); i >= 0 {
				id := strings.TrimRight(line[i+6:], ".")
				idents[id]++
				if chunks++; chunks%8 == 0 {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		c.Close()
		require.NotEmpty(t, app, "round %d: the response names the app's thread", round)
		require.Equal(t, 40, chunks, "round %d: every chunk arrived", round)
		assert.Equal(t, map[string]int{app: 40}, idents, "round %d: every chunk on the app call's thread %s", round, app)
	}
}
