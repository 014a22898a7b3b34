package security

import (
	"encoding/binary"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"
)

// v2Header builds a PROXY v2 PROXY-command header for TCP over IPv4.
func v2Header(src, dst string, sport, dport uint16) []byte {
	b := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c")
	b = append(b, net.ParseIP(src).To4()...)
	b = append(b, net.ParseIP(dst).To4()...)
	b = binary.BigEndian.AppendUint16(b, sport)
	return binary.BigEndian.AppendUint16(b, dport)
}

const envReq = "GET /env HTTP/1.1\r\nHost: a\r\nX-M: {P}\r\nConnection: close\r\n\r\n"

// proxyEnv sends prefix + a request for /env; it returns the environ, or
// nil and the reply when there was no 200.
func proxyEnv(t *testing.T, s *server, prefix []byte) (map[string]string, reply) {
	t.Helper()
	p, _ := uniquePaths("proxy")
	r := exchange(s.addr, append(prefix, fill(envReq, p, "")...), closeWait)
	if len(r.resps) != 1 || r.resps[0].status != 200 {
		return nil, r
	}
	var env map[string]string
	if err := json.Unmarshal(r.resps[0].body, &env); err != nil {
		t.Fatalf("%v: %s", err, r.resps[0].body)
	}
	return env, r
}

// TestProxyProtocol: --proxy-protocol end to end. From a trusted peer
// (loopback by default) the header is required and gives REMOTE_ADDR; from
// an untrusted one (--forwarded-allow-ips 10.0.0.1) a header closes the
// connection and plain requests pass.
func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	s := start(t, "--proxy-protocol")
	env, r := proxyEnv(t, s, []byte("PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n"))
	if env == nil {
		if len(r.resps) == 1 && r.resps[0].status == 400 {
			t.Skip("--proxy-protocol is not wired into the worker yet (the PROXY line was parsed as HTTP)")
		}
		t.Fatalf("v1 from a trusted peer: %s", r)
	}
	want(t, env, "REMOTE_ADDR", "203.0.113.7")
	want(t, env, "REMOTE_PORT", "5555")

	t.Run("v2", func(t *testing.T) {
		env, r := proxyEnv(t, s, v2Header("198.51.100.4", "10.0.0.1", 40000, 8000))
		if env == nil {
			t.Fatalf("v2: %s", r)
		}
		want(t, env, "REMOTE_ADDR", "198.51.100.4")
		want(t, env, "REMOTE_PORT", "40000")
	})
	t.Run("v2 LOCAL keeps the peer", func(t *testing.T) {
		env, r := proxyEnv(t, s, []byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"))
		if env == nil {
			t.Fatalf("LOCAL: %s", r)
		}
		want(t, env, "REMOTE_ADDR", "127.0.0.1")
	})
	t.Run("XFF after PROXY from an untrusted client", func(t *testing.T) {
		// The client (203.0.113.7) is not a trusted proxy: its
		// X-Forwarded-For is not believed.
		p, _ := uniquePaths("xff")
		raw := "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\nGET /env HTTP/1.1\r\nHost: a\r\nX-M: " + p +
			"\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n"
		r := exchange(s.addr, []byte(raw), closeWait)
		if len(r.resps) != 1 || !strings.Contains(string(r.resps[0].body), `"REMOTE_ADDR": "203.0.113.7"`) {
			t.Errorf("want REMOTE_ADDR 203.0.113.7; got %s", r)
		}
	})
	for name, prefix := range map[string]string{
		"no header":       "",
		"malformed v1":    "PROXY TCP4 203.0.113.7 127.0.0.1 05555 80\r\n",
		"v1 bare LF":      "PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\n",
		"v2 bad command":  "\r\n\r\n\x00\r\nQUIT\n\x22\x00\x00\x00",
		"v1 over 107":     "PROXY UNKNOWN " + strings.Repeat("x", 100) + "\r\n",
		"v1 wrong family": "PROXY TCP4 2001:db8::1 ::1 1 2\r\n",
	} {
		t.Run("trusted, "+name, func(t *testing.T) {
			p, _ := uniquePaths(name)
			r := exchange(s.addr, []byte(prefix+fill(envReq, p, "")), closeWait)
			if len(r.raw) != 0 || !r.closed {
				t.Errorf("want the connection closed without an answer; got %s", r)
			}
			if s.calls(p) != 0 {
				t.Errorf("app called")
			}
		})
	}
	t.Run("silent trusted peer closed after the header timeout", func(t *testing.T) {
		s := start(t, "--proxy-protocol", "--read-header-timeout", "1")
		start := time.Now()
		r := exchange(s.addr, nil, 5*time.Second)
		if !r.closed || len(r.raw) != 0 || time.Since(start) > 3*time.Second {
			t.Errorf("want a silent close after ~1s; got %s after %v", r, time.Since(start))
		}
	})

	t.Run("untrusted peer", func(t *testing.T) {
		s := start(t, "--proxy-protocol", "--forwarded-allow-ips", "10.0.0.1")
		env, r := proxyEnv(t, s, nil)
		if env == nil {
			t.Fatalf("plain request from an untrusted peer: %s", r)
		}
		want(t, env, "REMOTE_ADDR", "127.0.0.1")
		for name, prefix := range map[string][]byte{
			"v1": []byte("PROXY TCP4 203.0.113.7 127.0.0.1 5555 80\r\n"),
			"v2": v2Header("203.0.113.7", "127.0.0.1", 5555, 80),
		} {
			p, _ := uniquePaths(name)
			r := exchange(s.addr, append(prefix, fill(envReq, p, "")...), closeWait)
			if len(r.raw) != 0 || !r.closed {
				t.Errorf("%s header from an untrusted peer: want a close; got %s", name, r)
			}
			if s.calls(p) != 0 {
				t.Errorf("%s: app called", name)
			}
		}
	})
}
