package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Many short connections at once (Connection: close, as from clients
// without keep-alive or a load balancer's health checks), spread over two
// workers: every response arrives whole and no worker dies. This drives the
// accept path, the sockets served without entering the poller and closed
// from the connection's goroutine, and the pooled connection state, at the
// rate the benchmark's Connection: close workload does. (The race that once
// crashed a worker there, a per-connection timer firing as its connection
// closed, is too narrow to show up reliably in a few seconds: server's
// TestLatePendingTimerLeavesTheNextConnectionAlone covers it.) Bounded: 64
// clients, at most 3 s and 20,000 connections.
func TestWireShortConnectionChurn(t *testing.T) {
	s := startServer(t, ServerOpts{Workers: 2})
	const clients, maxConns = 64, 20000
	deadline := time.Now().Add(3 * time.Second)
	var done, failed atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && done.Add(1) <= maxConns {
				if err := shortRequest(s.Addr); err != nil {
					failed.Add(1)
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	n := min(done.Load()-clients, maxConns) // each client's last Add did not run a request
	t.Logf("%d connections, %d failed", n, failed.Load())
	assert.Zero(t, failed.Load(), "first failure: %v", firstErr)
	assert.Greater(t, n, int64(200), "enough connections to mean something")
	assert.Zero(t, procCount(s, "worker died"), "no worker died; stderr:\n%s", s.Stderr.String())
}

// shortRequest sends one request on a new connection and reads the whole
// response, which must be a 200 whose body matches its Content-Length,
// followed by the server's close.
func shortRequest(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /headers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(res.Body) // io.ErrUnexpectedEOF when cut short
	if err != nil {
		return err
	}
	if res.StatusCode != 200 || len(body) == 0 {
		return fmt.Errorf("status %d, %d body bytes", res.StatusCode, len(body))
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return fmt.Errorf("after the response: %v, want the server's close", err)
	}
	return nil
}
