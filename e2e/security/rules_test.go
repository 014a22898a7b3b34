package security

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ruleCase: request bytes → the one status expected. For 200 the app is
// called once for {P}; otherwise it is never called and the connection is
// closed. {S} is never called.
type ruleCase struct {
	name   string
	raw    string
	status int
}

const h11 = "GET {P} HTTP/1.1\r\nHost: a\r\n"

// parsingRules are issue 6 point 1 (RFC 9112) over the real binary.
var parsingRules = []ruleCase{
	// Request line.
	{"origin-form", h11 + "Connection: close\r\n\r\n", 200},
	{"absolute-form", "GET http://example.com{P}?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n", 200},
	{"asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-M: {P}\r\n\r\n", -200},
	{"asterisk-form GET", "GET * HTTP/1.1\r\nHost: a\r\nX-M: {P}\r\n\r\n", 400},
	{"absolute-form other scheme", "GET ftp://example.com{P} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"absolute-form userinfo", "GET http://u@example.com{P} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"authority-form GET", "GET example.com:443 HTTP/1.1\r\nHost: a\r\nX-M: {P}\r\n\r\n", 400},
	{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nX-M: {P}\r\n\r\n", 501},
	{"HTTP/2.0", "GET {P} HTTP/2.0\r\nHost: a\r\n\r\n", 505},
	{"HTTP/1.2", "GET {P} HTTP/1.2\r\nHost: a\r\n\r\n", 505},
	{"HTTP/0.9 version", "GET {P} HTTP/0.9\r\nHost: a\r\n\r\n", 505},
	{"lower-case version", "GET {P} http/1.1\r\nHost: a\r\n\r\n", 400},
	{"version garbage", "GET {P} HTTP/1.1x\r\nHost: a\r\n\r\n", 400},
	{"no version", "GET {P}\r\nHost: a\r\n\r\n", 400},
	{"double space", "GET  {P} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"tab separator", "GET\t{P} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"method not a token", "G@T {P} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"NUL in target", "GET {P}\x00 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"DEL in target", "GET {P}\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"fragment in target", "GET {P}#f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"bare CR in request line", "GET {P}\rx HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"bare LF after request line", "GET {P} HTTP/1.1\nHost: a\r\n\r\n", 400},
	{"too many empty lines first", strings.Repeat("\r\n", 20) + h11 + "\r\n", 400},
	{"TLS bytes on a cleartext port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03{P}\r\n\r\n", 400},

	// Field lines.
	{"bare LF field", h11 + "X: a\n\r\n", 400},
	{"bare CR in value", h11 + "X: a\rb\r\n\r\n", 400},
	{"space before colon", "GET {P} HTTP/1.1\r\nHost : a\r\n\r\n", 400},
	{"tab before colon", "GET {P} HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
	{"obs-fold", h11 + "X: a\r\n b\r\n\r\n", 400},
	{"obs-fold tab", h11 + "X: a\r\n\tb\r\n\r\n", 400},
	{"whitespace before first field", "GET {P} HTTP/1.1\r\n Host: a\r\n\r\n", 400},
	{"NUL in value", h11 + "X: a\x00b\r\n\r\n", 400},
	{"control in value", h11 + "X: a\x01b\r\n\r\n", 400},
	{"DEL in value", h11 + "X: a\x7fb\r\n\r\n", 400},
	{"no colon", h11 + "NoColon\r\n\r\n", 400},
	{"empty name", h11 + ": v\r\n\r\n", 400},
	{"name not a token", h11 + "X(y): v\r\n\r\n", 400},
	{"NUL in name", h11 + "X\x00Y: v\r\n\r\n", 400},
	{"missing Host", "GET {P} HTTP/1.1\r\n\r\n", 400},
	{"two Host", h11 + "Host: b\r\n\r\n", 400},
	{"Host with userinfo", "GET {P} HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
	{"Host with space", "GET {P} HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
	{"HTAB and obs-text in value", h11 + "X: a\tcaf\xe9\r\nConnection: close\r\n\r\n", 200},
	{"underscore header accepted (dropped)", h11 + "X_Y: v\r\nConnection: close\r\n\r\n", 200},

	// Framing.
	{"CL and TE", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	{"two CL", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
	{"CL not digits", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400},
	{"CL negative", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400},
	{"CL overflow", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", 400},
	{"CL empty", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400},
	{"TE chunked", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 200},
	{"TE chunked not final", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400},
	{"TE unknown coding then chunked", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br, chunked\r\n\r\n0\r\n\r\n", 501},
	{"TE without chunked", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
	{"TE on HTTP/1.0", "POST {P} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
	{"chunk size 0x", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk size empty", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400},
	{"chunk data longer than size", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", 400},
	{"chunk extension too long", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=" + strings.Repeat("b", 5000) + "\r\nhello\r\n0\r\n\r\n", 400},
	{"bad trailer", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n", 400},
	{"trailers accepted", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-T: v\r\n\r\n", 200},
}

// TestParsingRules: each rule of RFC 9112 the server enforces, over the
// real binary: the status, the connection closed, the app not called.
func TestParsingRules(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, c := range parsingRules {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.status == 200:
				expectAccepted(t, s, c.name, c.raw)
			case c.status == -200:
				// Accepted, marker in a header (asterisk-form has no path):
				// one 200 and the connection kept.
				p, _ := uniquePaths(c.name)
				r := exchange(s.addr, []byte(fill(c.raw, p, "")), 500*time.Millisecond)
				if len(r.resps) != 1 || r.resps[0].status != 200 {
					t.Errorf("want one 200; got %s", r)
				}
			default:
				expectRejected(t, s, c.name, c.raw, c.status)
			}
		})
	}
}

// TestLimits: issue 6 point 2 with custom flag values: the status, at the
// limit accepted, one byte over refused before the app runs.
func TestLimits(t *testing.T) {
	t.Parallel()
	s := start(t, "--limit-request-line", "200", "--limit-request-fields", "10",
		"--limit-request-field_size", "300", "--limit-request-body", "100000",
		"--body-prefetch", "262144") // a chunked body over the limit is seen before the app runs
	// The request line is "GET {P} HTTP/1.1" with {P} = /tNNNN (6 bytes).
	line := func(n int) string { // a request line of n bytes (CRLF excluded)
		return "GET {P}" + "?" + strings.Repeat("a", n-len("GET /t0000? HTTP/1.1")) + " HTTP/1.1\r\n"
	}
	fields := func(n int) string { return strings.Repeat("X-F: v\r\n", n) }
	field := func(n int) string { return "X-L: " + strings.Repeat("v", n-len("X-L: ")) + "\r\n" }
	chunked := func(n int) string {
		var b strings.Builder
		for n > 0 {
			k := min(n, 30000)
			b.WriteString(strings.ToUpper(hex(k)) + "\r\n" + strings.Repeat("c", k) + "\r\n")
			n -= k
		}
		return b.String() + "0\r\n\r\n"
	}
	for _, c := range []ruleCase{
		{"line at limit", line(200) + "Host: a\r\nConnection: close\r\n\r\n", 200},
		{"line over limit", line(201) + "Host: a\r\n\r\n", 414},
		{"line far over limit", line(20000) + "Host: a\r\n\r\n", 414},
		{"fields at limit", h11 + fields(8) + "Connection: close\r\n\r\n", 200},
		{"fields over limit", h11 + fields(10) + "\r\n", 431},
		{"field at limit", h11 + field(300) + "Connection: close\r\n\r\n", 200},
		{"field over limit", h11 + field(301) + "\r\n", 431},
		{"field far over limit", h11 + field(100000) + "\r\n", 431},
		{"body at limit", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n" + strings.Repeat("b", 100000), 200},
		{"body over limit (CL)", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 100001\r\n\r\n" + strings.Repeat("b", 100001), 413},
		{"body over limit, 100-continue", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 100001\r\nExpect: 100-continue\r\n\r\n", 413},
		{"huge CL", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 1099511627776\r\n\r\n", 413},
		{"chunked at limit", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked(100000), 200},
		{"chunked over limit (prefetch)", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(100001), 413},
		{"chunk size over limit", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n", 413},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.status == 200 {
				expectAccepted(t, s, c.name, c.raw)
			} else {
				expectRejected(t, s, c.name, c.raw, c.status)
			}
		})
	}

	// A chunked body that goes over the limit after the app started
	// reading it (past the 256 KiB prefetch): the app's read fails and the
	// answer is still 413.
	t.Run("chunked over limit while streaming", func(t *testing.T) {
		r := exchange(s.addr, []byte("POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked(300000)), closeWait)
		if len(r.resps) != 1 || r.resps[0].status != 413 || !r.closed {
			t.Errorf("want one 413 and a close; got %s", r)
		}
	})
}

func hex(n int) string {
	const digits = "0123456789abcdef"
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n >>= 4 {
		b = append([]byte{digits[n&15]}, b...)
	}
	return string(b)
}

// TestSlowloris: the head must be complete within --read-header-timeout
// of its first byte, however slowly it trickles (408, close); a connection
// that sends nothing is closed silently after the same time.
func TestSlowloris(t *testing.T) {
	t.Parallel()
	s := start(t, "--read-header-timeout", "2")
	t.Run("trickling head", func(t *testing.T) {
		t.Parallel()
		p, _ := uniquePaths("slowloris")
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		c.Write([]byte("GET " + p + " HTTP/1.1\r\nHost: a\r\n"))
		done := make(chan reply, 1)
		go func() {
			c.SetReadDeadline(time.Now().Add(8 * time.Second))
			done <- readReply(c)
		}()
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		var r reply
	loop:
		for i := 0; i < 40; i++ {
			select {
			case r = <-done:
				break loop
			case <-tick.C:
				c.Write([]byte("X-Slow: a\r\n")) // one more field, never the end
			}
		}
		el := time.Since(start)
		t.Logf("slowloris: trickling head answered %v after %s (--read-header-timeout 2)", statusList(r), ms(el))
		if len(r.resps) != 1 || r.resps[0].status != 408 || !r.closed {
			t.Errorf("want one 408 and a close; got %s", r)
		}
		if el < 1800*time.Millisecond || el > 3500*time.Millisecond {
			t.Errorf("answered after %v, want about 2s", el)
		}
		if s.calls(p) != 0 {
			t.Errorf("app called")
		}
	})
	t.Run("silent connection", func(t *testing.T) {
		t.Parallel()
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(8 * time.Second))
		r := readReply(c)
		el := time.Since(start)
		if len(r.raw) != 0 || !r.closed {
			t.Errorf("want a silent close; got %s", r)
		}
		if el < 1800*time.Millisecond || el > 3500*time.Millisecond {
			t.Errorf("closed after %v, want about 2s", el)
		}
	})
}

func statusList(r reply) []int {
	var out []int
	for _, x := range r.resps {
		out = append(out, x.status)
	}
	return out
}

// TestBodyReadTimeout: a client that stops sending its body gets 408 after
// --body-read-timeout, before the app runs (small body, prefetched) or
// while the app reads it (large body); either way the only Python thread is
// free again right after.
func TestBodyReadTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, "--body-read-timeout", "2", "--threads", "1")
	for _, c := range []struct {
		name   string
		raw    string
		called bool
	}{
		{"stalled in prefetch", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + strings.Repeat("z", 10), false},
		{"stalled while the app reads", "POST /upload?{P} HTTP/1.1\r\nHost: a\r\nContent-Length: 300000\r\n\r\n" + strings.Repeat("z", 150000), true},
	} {
		p, _ := uniquePaths(c.name)
		start := time.Now()
		r := exchange(s.addr, []byte(fill(c.raw, p, "")), 8*time.Second)
		el := time.Since(start)
		t.Logf("body read timeout, %s: %v after %s (--body-read-timeout 2)", c.name, statusList(r), ms(el))
		if len(r.resps) != 1 || r.resps[0].status != 408 || !r.closed {
			t.Errorf("%s: want one 408 and a close; got %s", c.name, r)
		}
		if el < 1800*time.Millisecond || el > 3500*time.Millisecond {
			t.Errorf("%s: answered after %v, want about 2s", c.name, el)
		}
		if got := s.calls(p) == 1; got != c.called {
			t.Errorf("%s: app called: %v, want %v", c.name, got, c.called)
		}
		st, lat, err := get(s.addr, "/next", 3*time.Second)
		if err != nil || st != 200 || lat > 500*time.Millisecond {
			t.Errorf("%s: next request %d in %v (%v): the Python thread is still held", c.name, st, lat, err)
		}
	}
}

// TestKeepAliveTimeout: an idle keep-alive connection is closed silently
// after --keep-alive; --keep-alive 0 closes after every response.
func TestKeepAliveTimeout(t *testing.T) {
	t.Parallel()
	t.Run("idle close", func(t *testing.T) {
		t.Parallel()
		s := start(t, "--keep-alive", "1")
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /ka HTTP/1.1\r\nHost: a\r\n\r\n"))
		br := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Close {
			t.Fatalf("response closes the connection; want keep-alive")
		}
		idleStart := time.Now()
		_, err = br.ReadByte()
		el := time.Since(idleStart)
		t.Logf("keep-alive: idle connection closed after %s (--keep-alive 1), err %v", ms(el), err)
		if err == nil || isTimeout(err) {
			t.Errorf("idle connection not closed: %v", err)
		}
		if el < 800*time.Millisecond || el > 2500*time.Millisecond {
			t.Errorf("closed after %v, want about 1s", el)
		}
	})
	t.Run("keep-alive 0", func(t *testing.T) {
		t.Parallel()
		s := start(t, "--keep-alive", "0")
		r := exchange(s.addr, []byte("GET /ka0 HTTP/1.1\r\nHost: a\r\n\r\nGET /ka0-second HTTP/1.1\r\nHost: a\r\n\r\n"), closeWait)
		if len(r.resps) != 1 || !r.closed || !r.resps[0].close {
			t.Errorf("--keep-alive 0 (\"0 = no keep-alive\"): want one response with Connection: close; got %s", r)
		}
		if s.calls("/ka0-second") != 0 {
			t.Errorf("second request served with --keep-alive 0")
		}
	})
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestMaxConnections: with --max-connections 2 and both slots held, a
// third client is not refused: it waits (in the listen backlog) and is
// served as soon as a slot frees.
func TestMaxConnections(t *testing.T) {
	t.Parallel()
	s := start(t, "--max-connections", "2", "--read-header-timeout", "10")
	var holders []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("GET /hold HTTP/1.1\r\nHost: a\r\n")) // an unfinished head holds the slot
		holders = append(holders, c)
	}
	time.Sleep(200 * time.Millisecond)

	type result struct {
		r  reply
		at time.Time
	}
	done := make(chan result, 1)
	go func() {
		r := exchange(s.addr, []byte("GET /third HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 8*time.Second)
		done <- result{r, time.Now()}
	}()
	select {
	case res := <-done:
		t.Fatalf("third connection answered while both slots were held: %s", res.r)
	case <-time.After(time.Second):
	}
	released := time.Now()
	holders[0].Close()
	res := <-done
	wait := res.at.Sub(released)
	t.Logf("max-connections: third client served %s after a slot freed", ms(wait))
	if len(res.r.resps) != 1 || res.r.resps[0].status != 200 {
		t.Fatalf("third client: %s", res.r)
	}
	if wait > time.Second {
		t.Errorf("third client served %v after a slot freed", wait)
	}
}

// TestHopByHop: hop-by-hop headers from the app are dropped (PEP 3333: "the
// server should ... ensure that these are not passed"; the app's
// Transfer-Encoding cannot change the framing), and the connection stays
// usable.
func TestHopByHop(t *testing.T) {
	t.Parallel()
	s := start(t)
	r := exchange(s.addr, []byte("GET /hop HTTP/1.1\r\nHost: a\r\n\r\nGET /hop HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), closeWait)
	if len(r.resps) != 2 {
		t.Fatalf("want two responses on one connection; got %s", r)
	}
	head, _, _ := bytes.Cut(r.raw, []byte("\r\n\r\n"))
	// (A field the app names in its Connection header, here X-Secret, is
	// passed on: harmless to the framing; RFC 9110 asks only intermediaries
	// to remove such fields.)
	for _, bad := range []string{"Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "X-Secret, ", "timeout=999"} {
		if bytes.Contains(bytes.ToLower(head), bytes.ToLower([]byte(bad))) {
			t.Errorf("hop-by-hop %q from the app reached the client:\n%s", bad, head)
		}
	}
	if r.resps[0].header.Get("X-Kept") != "1" || string(r.resps[0].body) != "hop" {
		t.Errorf("end-to-end header or body lost: %v %q", r.resps[0].header, r.resps[0].body)
	}
}

// TestForwardedTrust: --forwarded-allow-ips end to end. The default trusts
// 127.0.0.1 (this client): X-Forwarded-For, X-Forwarded-Proto and RFC 7239
// Forwarded are believed. With --forwarded-allow-ips 10.0.0.1 they are
// not.
func TestForwardedTrust(t *testing.T) {
	t.Parallel()
	xff := "X-Forwarded-For: 198.51.100.1, 203.0.113.5\r\nX-Forwarded-Proto: https\r\n"
	fwd := "Forwarded: for=198.51.100.2;proto=https, for=\"[2001:db8::7]:4711\"\r\n"
	t.Run("default trusts loopback", func(t *testing.T) {
		t.Parallel()
		s := start(t)
		env := getEnv(t, s, xff)
		want(t, env, "REMOTE_ADDR", "203.0.113.5") // the rightmost: the one our proxy saw
		want(t, env, "wsgi.url_scheme", "https")
		want(t, env, "HTTPS", "on")
		env = getEnv(t, s, fwd)
		want(t, env, "REMOTE_ADDR", "2001:db8::7")
		want(t, env, "REMOTE_PORT", "4711")
	})
	t.Run("untrusted loopback", func(t *testing.T) {
		t.Parallel()
		s := start(t, "--forwarded-allow-ips", "10.0.0.1")
		for _, h := range []string{xff, fwd} {
			env := getEnv(t, s, h)
			want(t, env, "REMOTE_ADDR", "127.0.0.1")
			want(t, env, "wsgi.url_scheme", "http")
			if _, ok := env["HTTPS"]; ok {
				t.Errorf("HTTPS set from an untrusted peer")
			}
		}
	})
}

// concurrently runs f n times at once and waits.
func concurrently(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); f(i) }(i)
	}
	wg.Wait()
}

// TestResponseSafety: issue 6 point 5. Whatever status, header or framing
// the app gives, the response cannot be split: invalid ones give 500 (and a
// close) before anything is written; valid responses keep the framing
// intact, so the pipelined second response always parses.
func TestResponseSafety(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, c := range []struct {
		name   string
		query  string // of /resp, already percent-encoded
		status int    // of the first response; 500 means closed after it
		body   string // expected first body (for 200)
	}{
		{"CRLF in value", "h=X-V:a%0D%0AX-Injected:%20yes", 500, ""},
		{"LF in value", "h=X-V:a%0AX-Injected:%20yes", 500, ""},
		{"CR in value", "h=X-V:a%0DX-Injected:%20yes", 500, ""},
		{"NUL in value", "h=X-V:a%00b", 500, ""},
		{"VT in value", "h=X-V:a%0Bb", 500, ""},
		{"DEL in value", "h=X-V:a%7Fb", 500, ""},
		{"space in name", "h=X%20V:a", 500, ""},
		{"empty name", "h=:a", 500, ""},
		{"second response in a header", "h=Set-Cookie:a=1%0D%0A%0D%0AHTTP/1.1%20200%20OK%0D%0AX-Injected:%20yes", 500, ""},
		{"status without reason", "status=200", 500, ""},
		{"status 99", "status=99%20X", 500, ""},
		{"status 1000", "status=1000%20X", 500, ""},
		{"status with LF", "status=200%20O%0AX-Injected:%20yes", 500, ""},
		{"status with NUL", "status=200%20OK%00", 500, ""},
		{"Content-Length not a number", "h=Content-Length:abc&body=hello", 500, ""},
		{"Content-Length negative", "h=Content-Length:-1&body=hello", 500, ""},
		{"Content-Length twice", "h=Content-Length:5&h=Content-Length:6&body=hello", 500, ""},
		{"Content-Length list", "h=Content-Length:5,5&body=hello", 500, ""},
		{"Content-Length 0x", "h=Content-Length:0x5&body=hello", 500, ""},
		{"HTAB and obs-text in value", "h=X-V:a%09caf%E9&body=ok", 200, "ok"},
		{"body longer than Content-Length: cut", "h=Content-Length:5&body=helloEXTRA", 200, "hello"},
		{"app Transfer-Encoding ignored", "h=Transfer-Encoding:chunked&body=x", 200, "x"},
		{"204 body dropped", "status=204%20No%20Content&body=abc", 204, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := "GET /resp?" + c.query + " HTTP/1.1\r\nHost: a\r\n\r\nGET /resp?body=second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
			r := exchange(s.addr, []byte(raw), closeWait)
			if bytes.Contains(r.raw, []byte("X-Injected")) {
				t.Fatalf("injected header on the wire: %s", r)
			}
			if len(r.resps) == 0 || r.resps[0].status != c.status {
				t.Fatalf("want %d first; got %s", c.status, r)
			}
			if c.status == 500 {
				if len(r.resps) != 1 || !r.closed {
					t.Errorf("want the connection closed after the 500; got %s", r)
				}
				return
			}
			if string(r.resps[0].body) != c.body || len(r.resps) != 2 || string(r.resps[1].body) != "second" {
				t.Errorf("framing broken: %s", r)
			}
		})
	}
	t.Run("body shorter than Content-Length: close", func(t *testing.T) {
		r := exchange(s.addr, []byte("GET /resp?h=Content-Length:10&body=hello HTTP/1.1\r\nHost: a\r\n\r\nGET /resp?body=second HTTP/1.1\r\nHost: a\r\n\r\n"), closeWait)
		if !r.closed || strings.Contains(string(r.raw), "second") {
			t.Errorf("want the connection closed after the short body; got %s", r)
		}
	})
	t.Run("app Connection: close honoured", func(t *testing.T) {
		r := exchange(s.addr, []byte("GET /resp?h=Connection:close&body=x HTTP/1.1\r\nHost: a\r\n\r\nGET /resp?body=second HTTP/1.1\r\nHost: a\r\n\r\n"), closeWait)
		if len(r.resps) != 1 || !r.closed || !r.resps[0].close {
			t.Errorf("want one response with Connection: close, then a close; got %s", r)
		}
	})
}

// TestUnreadBodyIsNotARequest: a body the app does not read is discarded
// as body (Content-Length or chunked), never parsed as the next request;
// after "Expect: 100-continue" without a 100, the connection is closed.
func TestUnreadBodyIsNotARequest(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, c := range []struct {
		name  string
		head  string // then the body: a whole request
		resps int
	}{
		{"Content-Length", "POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: {N}\r\n\r\n", 2},
		{"chunked", "POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n{X}\r\n", 2},
		{"Expect: 100-continue", "POST {P} HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: {N}\r\n\r\n", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, smug := uniquePaths(c.name)
			inner := "GET " + smug + " HTTP/1.1\r\nHost: a\r\n\r\n"
			head := strings.NewReplacer("{P}", p, "{N}", itoa(len(inner)), "{X}", hex(len(inner))).Replace(c.head)
			raw := head + inner
			if c.name == "chunked" {
				raw += "\r\n0\r\n\r\n"
			}
			raw += "GET " + p + "-after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
			r := exchange(s.addr, []byte(raw), closeWait)
			if len(r.resps) != c.resps || !r.closed {
				t.Errorf("want %d responses and a close; got %s", c.resps, r)
			}
			for _, x := range r.resps {
				if x.status != 200 {
					t.Errorf("status %d", x.status)
				}
			}
			if s.calls(smug) != 0 {
				t.Errorf("the unread body was served as a request")
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
