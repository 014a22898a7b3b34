package security

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The abuse tests are not parallel: their figures (latency, RSS) are
// measured on a machine doing nothing else. Each prints its figure with
// t.Logf; docs/SECURITY.md quotes them.

// TestAbuseIdleConnections: 2,000 connections that never finish a request
// (1,000 silent, 1,000 trickling one header byte per second) are held open
// while a normal client makes 100 requests, each on a new connection. Its
// p99 latency must stay under 200 ms.
func TestAbuseIdleConnections(t *testing.T) {
	const idle, trickle, requests = 1000, 1000, 100
	if lim := noFileLimit(); lim < 2*(idle+trickle)+500 {
		t.Skipf("RLIMIT_NOFILE %d is too low for %d connections", lim, idle+trickle)
	}
	// The head timeout is raised so that no abuser is dropped while the
	// figure is measured: the server must carry all 2,000 at once.
	s := start(t, "--max-connections", "5000", "--read-header-timeout", "60")
	wpid := s.workerPID()
	base := openFDs(wpid)

	conns := make([]net.Conn, idle+trickle)
	var dialErrs atomic.Int32
	sem := make(chan struct{}, 64)
	concurrently(len(conns), func(i int) {
		sem <- struct{}{}
		defer func() { <-sem }()
		c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
		if err != nil {
			dialErrs.Add(1)
			return
		}
		if i >= idle {
			c.Write([]byte("GET /trickle HTTP/1.1\r\nHost: a\r\nX-Trickle: "))
		}
		conns[i] = c
	})
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if n := dialErrs.Load(); n > 0 {
		t.Fatalf("%d of %d abusive connections could not connect", n, len(conns))
	}
	// Wait until the worker holds them all.
	deadline := time.Now().Add(10 * time.Second)
	const slack = 10 // descriptors of the readiness probes may close meanwhile
	for openFDs(wpid) < base+idle+trickle-slack && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	held := openFDs(wpid) - base

	stop := make(chan struct{})
	var trickled atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one byte per trickling connection per second
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, c := range conns[idle:] {
				c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := c.Write([]byte("a")); err == nil {
					trickled.Add(1)
				}
			}
		}
	}()

	var lat []time.Duration
	var failures int
	start := time.Now()
	for i := 0; i < requests && time.Since(start) < 30*time.Second; i++ {
		st, d, err := get(s.addr, "/normal", 5*time.Second)
		if err != nil || st != 200 {
			failures++
			continue
		}
		lat = append(lat, d)
		time.Sleep(40 * time.Millisecond) // spread over several trickling rounds
	}
	close(stop)
	wg.Wait()

	p50, p99, pmax := percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1)
	t.Logf("idle/trickling: worker held %d abusive connections (%d trickled bytes); normal client %d/%d OK, p50 %s, p99 %s, max %s",
		held, trickled.Load(), len(lat), requests, ms(p50), ms(p99), ms(pmax))
	if held < idle+trickle-slack {
		t.Errorf("the worker holds %d connections, want %d", held, idle+trickle)
	}
	if failures > 0 || len(lat) != requests {
		t.Errorf("normal client: %d failures, %d/%d answered", failures, len(lat), requests)
	}
	if p99 > 200*time.Millisecond {
		t.Errorf("normal client p99 %v, want < 200ms", p99)
	}
}

// TestAbuseStalledReader: a client asks for a 100 MiB response and stops
// reading. With one Python thread and --write-timeout 2, the app's write
// fails once the socket buffers are full and the write has waited 2 s; the
// thread is then free: another client's request, sent at the same time, is
// answered within write-timeout + 1 s.
func TestAbuseStalledReader(t *testing.T) {
	s := start(t, "--threads", "1", "--write-timeout", "2")

	// A small receive buffer, so that the stall starts after a few hundred
	// KiB rather than after the kernel's autotuned megabytes.
	d := net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	stalled, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := stalled.Write([]byte("GET /stream?mib=100 HTTP/1.1\r\nHost: a\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(stalled, 4096)
	stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentLength != 100<<20 {
		t.Fatalf("Content-Length %d", resp.ContentLength)
	}
	// The stalled client reads nothing more from now on; the app is
	// writing, holding the only Python thread.
	stallStart := time.Now()

	st, lat, err := get(s.addr, "/next", 10*time.Second)
	t.Logf("stalled reader: with --threads 1 --write-timeout 2, a request sent as the 100 MiB response stalled was answered (%d) after %s", st, ms(lat))
	if err != nil || st != 200 {
		t.Fatalf("other client: %d, %v", st, err)
	}
	if lat > 3*time.Second {
		t.Errorf("other client waited %v, want < write-timeout + 1s = 3s", lat)
	}

	// The stalled response was cut: resuming, the client gets the buffered
	// bytes and then the close, far short of 100 MiB.
	stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, resp.Body)
	t.Logf("stalled reader: its response was cut after %s of 100 MiB (%v), %s after the stall began", mib(n), err, ms(time.Since(stallStart)))
	if n >= 100<<20 || isTimeout(err) {
		t.Errorf("stalled response: %d bytes, %v; want cut and closed", n, err)
	}
}

// TestAbuseSlowUploads: 100 clients upload at once, slowly (8 MiB each at
// 2.5 MiB/s): 50 to an app that streams wsgi.input in 64 KiB reads, 25 with
// Content-Length and 25 chunked to a server with --limit-request-body 1 MiB.
// The streamed uploads arrive whole, the others get 413, and neither
// worker's RSS grows by more than 64 MiB: never a whole body in memory
// (the streaming worker receives 400 MiB, 50 × 8 MiB in flight at once).
//
// The issue asks for 1 GiB per client; that is 100 GiB through loopback
// and minutes of CPU on a 2-core CI machine. The bound does not depend on
// the size: a server that buffered bodies would hold at least 8 MiB per
// concurrent upload, 400 MiB here, far above the 64 MiB allowed.
func TestAbuseSlowUploads(t *testing.T) {
	const (
		clients   = 50 // per server
		size      = 8 << 20
		piece     = 256 << 10
		interval  = 100 * time.Millisecond // 2.5 MiB/s per client
		limit     = 1 << 20
		rssGrowth = 64 << 20
	)
	stream := start(t, "--threads", "50", "--body-read-timeout", "10")
	limited := start(t, "--threads", "4", "--limit-request-body", strconv.Itoa(limit))
	pids := map[string]int{"streaming": stream.workerPID(), "limited": limited.workerPID()}
	base := map[string]int64{}
	for name, pid := range pids {
		base[name] = procStatus(pid, "VmRSS")
	}

	peak := map[string]int64{}
	var mu sync.Mutex
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() { // sample RSS every 50 ms
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			mu.Lock()
			for name, pid := range pids {
				peak[name] = max(peak[name], procStatus(pid, "VmRSS"))
			}
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	type result struct {
		kind   string
		status int
		body   string
		err    error
		sent   int64
	}
	results := make([]result, 2*clients)
	began := time.Now()
	concurrently(2*clients, func(i int) {
		var addr, kind string
		switch {
		case i < clients:
			addr, kind = stream.addr, "stream"
		case i < clients+clients/2:
			addr, kind = limited.addr, "limited CL"
		default:
			addr, kind = limited.addr, "limited chunked"
		}
		st, body, sent, err := slowUpload(addr, kind == "limited chunked", size, piece, interval)
		results[i] = result{kind, st, body, err, sent}
	})
	took := time.Since(began)
	close(stop)
	<-sampled

	var streamed int64
	bad := 0
	for _, r := range results {
		ok := false
		switch r.kind {
		case "stream":
			ok = r.status == 200 && r.body == strconv.Itoa(size)
			if ok {
				streamed += size
			}
		default:
			ok = r.status == 413
		}
		if !ok {
			bad++
			if bad <= 5 {
				t.Errorf("%s upload: status %d body %q after %d bytes sent, err %v", r.kind, r.status, r.body, r.sent, r.err)
			}
		}
	}
	t.Logf("slow uploads: %d clients in %s; %s streamed through the app; 50 got 413 (limit 1 MiB)", 2*clients, took.Round(100*time.Millisecond), mib(streamed))
	for _, name := range []string{"streaming", "limited"} {
		growth := peak[name] - base[name]
		t.Logf("slow uploads: %s worker RSS %s before, peak %s (+%s; bound +%s)", name, mib(base[name]), mib(peak[name]), mib(growth), mib(rssGrowth))
		if growth > rssGrowth {
			t.Errorf("%s worker RSS grew by %s, bound %s: bodies are being buffered", name, mib(growth), mib(rssGrowth))
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d uploads did not get the expected answer", bad, len(results))
	}
}

// slowUpload POSTs size bytes to /upload in pieces every interval, reading
// the response concurrently (a 413 may come before the body is sent), and
// returns the status and body. It stops sending once a response arrived.
func slowUpload(addr string, chunked bool, size, piece int, interval time.Duration) (int, string, int64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, "", 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	head := "POST /upload HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += "Content-Length: " + strconv.Itoa(size) + "\r\n\r\n"
	}
	type resp struct {
		status int
		body   string
		err    error
	}
	got := make(chan resp, 1)
	go func() {
		r, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			got <- resp{err: err}
			return
		}
		b, err := io.ReadAll(r.Body)
		got <- resp{r.StatusCode, string(b), err}
	}()
	if _, err := c.Write([]byte(head)); err != nil {
		r := <-got
		return r.status, r.body, 0, r.err
	}
	data := []byte(strings.Repeat("u", piece))
	var sent int64
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for sent < int64(size) {
		select {
		case r := <-got:
			return r.status, r.body, sent, r.err
		case <-tick.C:
		}
		var err error
		if chunked {
			_, err = fmt.Fprintf(c, "%x\r\n%s\r\n", len(data), data)
		} else {
			_, err = c.Write(data)
		}
		if err != nil {
			break // the server answered and closed: read the answer
		}
		sent += int64(len(data))
	}
	if chunked && sent >= int64(size) {
		c.Write([]byte("0\r\n\r\n"))
	}
	r := <-got
	return r.status, r.body, sent, r.err
}
