package security

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cveCase is one published attack request. {P} is replaced by a unique
// path for the request itself, {S} by one for a request smuggled inside it;
// the app must never see {S}, and must not see {P} unless status is 200.
type cveCase struct {
	cve    string
	name   string
	raw    string
	status int // the one response expected; the connection is closed unless status is 200 and keep is set
}

// cveCases: the requests of the advisories, then the variants a fix must
// also cover. The shapes come from the advisories (GHSA/huntr/NVD texts)
// and the reporters' write-ups; docs/SECURITY.md lists the sources.
var cveCases = []cveCase{
	// gunicorn CVE-2024-1135 (GHSA-w3h3-4rj7-4ph4): conflicting
	// Transfer-Encoding treated as chunked "regardless of the final
	// encoding"; the PoC pairs "Transfer-Encoding: chunked,gzip" with a
	// Content-Length and hides a request to a restricted endpoint.
	{"CVE-2024-1135", "TE chunked,gzip with CL (published PoC)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked,gzip\r\n\r\n73\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n0\r\n\r\n", 400},
	{"CVE-2024-1135", "TE chunked with CL (TE.CL)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n5c\r\nGET {S} HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n", 400},
	{"CVE-2024-1135", "CL then TE (CL.TE)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 35\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-1135", "TE chunked, gzip (chunked not final)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-1135", "TE chunked then TE gzip lines",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-1135", "TE xchunked",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-1135", "TE xchunked with CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-1135", "TE chunked twice",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},

	// gunicorn CVE-2024-6827 (GHSA-hc5x-x2vx-497g): the Transfer-Encoding
	// value was not validated and an unknown one fell back to
	// Content-Length (TE.CL): the front end reads chunks, gunicorn reads
	// Content-Length bytes and takes the rest for a second request.
	{"CVE-2024-6827", "unknown coding falls back to CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\nContent-Length: 4\r\n\r\n5c\r\nGET {S} HTTP/1.1\r\nHost: a\r\nContent-Length: 15\r\n\r\nx=1\r\n0\r\n\r\n", 400},
	{"CVE-2024-6827", "identity with CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nContent-Length: 4\r\n\r\n5c\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-6827", "TE with a trailing comma and CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\nContent-Length: 4\r\n\r\n5c\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-6827", "TE with a parameter",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-6827", "TE empty with CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nContent-Length: 35\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-6827", "gzip only (no framing)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},

	// waitress CVE-2019-16785 (GHSA-pg36-wpm5-g57p): a bare LF accepted as
	// a line end; the advisory's example hides "Content-Length: 0" behind
	// an LF inside another field.
	{"CVE-2019-16785", "LF inside a field hides a CL (published)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nX-Header: x\nContent-Length: 0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16785", "LF-only request",
		"GET {P} HTTP/1.1\nHost: a\n\nGET {S} HTTP/1.1\nHost: a\n\n", 400},
	{"CVE-2019-16785", "LF-only end of head",
		"GET {P} HTTP/1.1\r\nHost: a\n\n", 400},
	{"CVE-2019-16785", "bare LF in chunk size line",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2019-16785", "bare LF after chunk data",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n", 400},

	// waitress CVE-2019-16786 (GHSA-g2xc-35jw-c63p): only a single
	// "chunked" value was recognised; "gzip, chunked" (or several lines)
	// fell through to Content-Length.
	{"CVE-2019-16786", "gzip, chunked with CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16786", "gzip, chunked (unsupported coding)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 501},
	{"CVE-2019-16786", "gzip line then chunked line",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 501},
	{"CVE-2019-16786", "TE on HTTP/1.0",
		"POST {P} HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},

	// waitress CVE-2019-16789 (GHSA-m5ff-3wj3-8ph4): whitespace-like bytes
	// around "chunked" stripped by Python's str.strip(), so waitress saw
	// chunked where a front end saw an invalid header and used
	// Content-Length; plus header injection through such bytes.
	{"CVE-2019-16789", "TE \\x0bchunked",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\nContent-Length: 35\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16789", "TE \\x0cchunked",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0cchunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16789", "TE \\x1cchunked",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x1cchunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16789", "TE \\x85chunked\\xa0 (obs-text) with CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x85chunked\xa0\r\nContent-Length: 35\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16789", "TE \\xa0chunked (obs-text)",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \xa0chunked\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16789", "bare CR header injection",
		"GET {P} HTTP/1.1\r\nHost: a\r\nX-Foo: a\rTransfer-Encoding: chunked\r\n\r\n", 400},
	{"CVE-2019-16789", "space before colon",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\nContent-Length: 35\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16789", "obs-fold continues TE",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 35\r\n\r\n0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16789", "NUL in a value",
		"GET {P} HTTP/1.1\r\nHost: a\r\nX-Foo: a\x00b\r\n\r\n", 400},

	// waitress CVE-2019-16792 (GHSA-4ppp-gpcr-7qf6): two Content-Length
	// fields, the front end using one and waitress the other.
	{"CVE-2019-16792", "two different CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 35\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2019-16792", "two identical CL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
	{"CVE-2019-16792", "CL list",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 35\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},

	// waitress CVE-2022-24761 (GHSA-4f7p-27jc-3c36): Python int() accepted
	// "+10", "0x0a", " 10" in chunk sizes and Content-Length; chunk
	// extensions were discarded without validation.
	{"CVE-2022-24761", "chunk size 0x prefix",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk size + prefix",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk size - prefix",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk size with spaces",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n 5 \r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk size with underscore",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n0123456789abcdef\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk size overflow",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000005\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "CL + prefix",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: +35\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2022-24761", "CL 0x prefix",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 0x23\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2022-24761", "CL with underscore",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 3_5\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk extension with NUL",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x00b\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk extension with bare LF",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk extension with bare CR",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a\rb\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk extension unterminated quote",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "chunk extension with whitespace before ;",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n", 400},
	{"CVE-2022-24761", "valid chunk extension is accepted",
		"POST {P} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;a=b;c=\"d\"\r\nhello\r\n0\r\n\r\n", 200},

	// waitress CVE-2024-49768 (GHSA-9298-4cf8-g4wj): a request pipelined
	// after one that closes the connection was still processed.
	{"CVE-2024-49768", "Connection: close then a pipelined request",
		"GET {P} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	{"CVE-2024-49768", "HTTP/1.0 then a pipelined request",
		"GET {P} HTTP/1.0\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	{"CVE-2024-49768", "POST with Connection: close and body, then a pipelined request",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhelloGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 200},
	{"CVE-2024-49768", "rejected request then a pipelined request",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhelloGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
	{"CVE-2024-49768", "body over the limit then a pipelined request",
		"POST {P} HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\nGET {S} HTTP/1.1\r\nHost: a\r\n\r\n", 413},
}

// TestCVERequests sends each published attack over a raw socket to a
// server with default settings (plus --limit-request-body 1 MiB for the
// 413 case) and checks the one safe answer.
func TestCVERequests(t *testing.T) {
	t.Parallel()
	s := start(t, "--limit-request-body", "1048576")
	for _, c := range cveCases {
		t.Run(c.cve+"/"+c.name, func(t *testing.T) {
			if c.status == 200 {
				r := expectAccepted(t, s, c.name, c.raw)
				if !r.closed {
					t.Errorf("connection not closed after a closing request: %s", r)
				}
				return
			}
			expectRejected(t, s, c.name, c.raw, c.status)
		})
	}
}

// TestCVE_2018_1000164_ResponseSplitting: gunicorn < 19.5 copied CR/LF from
// header values the app gave into the response ("Foo: Foo\r\nBar: Bar"
// became two headers). gohost answers 500 and never writes the injected
// line; the connection is closed.
func TestCVE_2018_1000164_ResponseSplitting(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, path := range []string{"/bad-header", "/bad-header-lf", "/bad-name", "/bad-status"} {
		r := exchange(s.addr, []byte("GET "+path+" HTTP/1.1\r\nHost: a\r\n\r\n"), 5*time.Second)
		if len(r.resps) != 1 || r.resps[0].status != 500 {
			t.Errorf("%s: want one 500; got %s", path, r)
		}
		if strings.Contains(string(r.raw), "X-Injected") {
			t.Errorf("%s: the injected header reached the wire: %s", path, r)
		}
		if !r.closed {
			t.Errorf("%s: connection left open", path)
		}
	}
}

// TestCVE_2024_49769_EarlyClose: waitress busy-looped on sockets whose
// client closed before getpeername(), running out of sockets. Here 500
// connections are opened and abandoned in five ways (closed at once, reset,
// closed mid-head, closed mid-body, closed without reading the response);
// afterwards the worker's descriptor count is back to where it was and a
// normal request is answered promptly.
func TestCVE_2024_49769_EarlyClose(t *testing.T) {
	s := start(t)
	wpid := s.workerPID()
	if _, _, err := get(s.addr, "/warm", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	before := openFDs(wpid)

	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for i := 0; i < 500; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
			if err != nil {
				return
			}
			tc := c.(*net.TCPConn)
			switch i % 5 {
			case 0: // connect and close at once
			case 1: // reset
				tc.SetLinger(0)
			case 2: // half a head
				tc.Write([]byte("GET /abandoned HTTP/1.1\r\nHost: a\r\nX-"))
			case 3: // half a body
				tc.Write([]byte("POST /abandoned HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nabc"))
			case 4: // a request whose response is never read, then a reset
				tc.Write([]byte("GET /stream?mib=1 HTTP/1.1\r\nHost: a\r\n\r\n"))
				time.Sleep(5 * time.Millisecond)
				tc.SetLinger(0)
			}
			c.Close()
		}(i)
	}
	wg.Wait()

	var after int
	deadline := time.Now().Add(5 * time.Second)
	for {
		after = openFDs(wpid)
		if after <= before || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, lat, err := get(s.addr, "/after", 5*time.Second)
	t.Logf("CVE-2024-49769: 500 abandoned connections; worker fds before %d, after %d; next request %d in %s", before, after, st, ms(lat))
	if after > before {
		t.Errorf("worker holds %d descriptors after the abandoned connections, %d before", after, before)
	}
	if err != nil || st != 200 || lat > 500*time.Millisecond {
		t.Errorf("next request: %d in %v (%v); want 200 within 500ms", st, lat, err)
	}
}

// TestCVE_2022_2255_ProxyHeaders: mod_wsgi passed X-Client-IP from an
// untrusted client through. In gohost only peers in --forwarded-allow-ips
// change REMOTE_ADDR or the scheme, and a header spelled with underscores
// never becomes the HTTP_ variable of the dashed one.
func TestCVE_2022_2255_ProxyHeaders(t *testing.T) {
	t.Parallel()
	spoof := "X-Forwarded-For: 6.6.6.6\r\nX-Client-IP: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\n" +
		"Forwarded: for=6.6.6.6;proto=https\r\nX-Forwarded-Proto: https\r\n"
	underscore := "X_Forwarded_For: 7.7.7.7\r\nX_Forwarded_Proto: https\r\nX-Forwarded_For: 7.7.7.7\r\n"

	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		s := start(t, "--forwarded-allow-ips", "10.0.0.1")
		env := getEnv(t, s, spoof+underscore)
		want(t, env, "REMOTE_ADDR", "127.0.0.1")
		want(t, env, "wsgi.url_scheme", "http")
		want(t, env, "HTTP_X_FORWARDED_FOR", "6.6.6.6") // a plain header, believed by nobody
		if _, ok := env["HTTP_X_FORWARDED_PROTO"]; !ok {
			t.Errorf("X-Forwarded-Proto missing from environ")
		}
		noKeyWith(t, env, "7.7.7.7")
	})
	t.Run("trusted peer, underscore spoof", func(t *testing.T) {
		t.Parallel()
		s := start(t) // default: 127.0.0.1,::1 trusted
		env := getEnv(t, s, underscore)
		want(t, env, "REMOTE_ADDR", "127.0.0.1")
		want(t, env, "wsgi.url_scheme", "http")
		noKeyWith(t, env, "7.7.7.7")
		// The dashed header from the trusted proxy is believed.
		env = getEnv(t, s, "X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n")
		want(t, env, "REMOTE_ADDR", "203.0.113.9")
		want(t, env, "wsgi.url_scheme", "https")
	})
}

// getEnv calls /env with extra header lines and returns the environ.
func getEnv(t *testing.T, s *server, extra string) map[string]string {
	t.Helper()
	r := exchange(s.addr, []byte("GET /env HTTP/1.1\r\nHost: a\r\n"+extra+"Connection: close\r\n\r\n"), 5*time.Second)
	if len(r.resps) != 1 || r.resps[0].status != 200 {
		t.Fatalf("GET /env: %s", r)
	}
	var env map[string]string
	if err := json.Unmarshal(r.resps[0].body, &env); err != nil {
		t.Fatalf("GET /env: %v: %s", err, r.resps[0].body)
	}
	return env
}

func want(t *testing.T, env map[string]string, k, v string) {
	t.Helper()
	if env[k] != v {
		t.Errorf("%s = %q, want %q", k, env[k], v)
	}
}

func noKeyWith(t *testing.T, env map[string]string, value string) {
	t.Helper()
	for k, v := range env {
		if strings.Contains(v, value) && k != "body" {
			t.Errorf("%s = %q: an underscore header reached the app", k, v)
		}
	}
}

// TestWriteFuzzSeeds writes the CVE requests into the seed corpus of
// server.FuzzParseRequest when GOHOST_WRITE_SEEDS=1 (run it after changing
// cveCases; the files are committed).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("GOHOST_WRITE_SEEDS") != "1" {
		t.Skip("set GOHOST_WRITE_SEEDS=1 to write server/testdata/fuzz/FuzzParseRequest/CVE-*")
	}
	dir := filepath.Join("..", "..", "server", "testdata", "fuzz", "FuzzParseRequest")
	for _, c := range cveCases {
		raw := fill(c.raw, "/", "/admin")
		name := c.cve + "_" + seedName(c.name)
		data := "go test fuzz v1\n[]byte(" + strconv.Quote(raw) + ")\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func seedName(s string) string {
	s = strings.NewReplacer("+", "plus", "\\x", "x").Replace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimRight(b.String(), "_")
}
