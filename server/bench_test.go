package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
)

const typicalHead = "GET /api/v1/items?page=2&sort=name HTTP/1.1\r\n" +
	"Host: example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=abcdef0123456789; theme=dark\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"\r\n"

func BenchmarkParseHead(b *testing.B) {
	data := []byte(typicalHead)
	rd := bytes.NewReader(data)
	br := bufio.NewReaderSize(rd, readBufSize)
	p := parser{lineLimit: DefaultLimitRequestLine, fieldLimit: DefaultLimitRequestFieldSize, maxFields: DefaultLimitRequestFields}
	var req Request
	var info headInfo
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		br.Reset(rd)
		if err := p.readHead(br, &req, &info); err != nil {
			b.Fatal(err)
		}
	}
}

// pipeListener hands out one net.Pipe server end per Dial.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return memAddr("pipe") }
func (l *pipeListener) Dial() net.Conn {
	c, s := net.Pipe()
	l.conns <- s
	return c
}

// roundTrips sends the same request over one connection b.N times and
// reads each complete response (its length is learned from the first).
func roundTrips(b *testing.B, serve func(net.Listener), closeFn func()) {
	l := newPipeListener()
	go serve(l)
	defer closeFn()
	c := l.Dial()
	defer c.Close()
	req := []byte("GET /hello HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	// Learn the response size (constant: the Date header has a fixed width).
	c.Write(req)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		b.Fatal(err)
	}
	io.ReadAll(res.Body)
	size := responseSize(res)
	buf := make([]byte, size+4096)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(br, buf[:size]); err != nil {
			b.Fatal(err)
		}
	}
}

func responseSize(res *http.Response) int {
	n := len("HTTP/1.1 ") + len(res.Status) + 2
	for k, vs := range res.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	if res.ContentLength >= 0 && res.Header.Get("Content-Length") == "" {
		n += len("Content-Length: ") + len(strconv.FormatInt(res.ContentLength, 10)) + 2
	}
	if len(res.TransferEncoding) > 0 {
		n += len("Transfer-Encoding: chunked\r\n")
	}
	n += 2
	if res.ContentLength >= 0 {
		n += int(res.ContentLength)
	}
	return n
}

var helloBody = []byte("Hello, World!")

// BenchmarkRoundTrip: our server, a trivial handler, one keep-alive
// connection over net.Pipe.
func BenchmarkRoundTrip(b *testing.B) {
	srv := New(quietConfig(), HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.Start("200 OK", []HeaderField{{"Content-Type", "text/plain"}, {"Content-Length", "13"}})
		w.Write(helloBody)
	}))
	roundTrips(b, func(l net.Listener) { srv.Serve(l) }, func() { srv.Close() })
}

// BenchmarkRoundTripNetHTTP is the same exchange with net/http, for
// comparison.
func BenchmarkRoundTripNetHTTP(b *testing.B) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "13")
		w.Write(helloBody)
	})}
	roundTrips(b, func(l net.Listener) { srv.Serve(l) }, func() { srv.Close() })
}
