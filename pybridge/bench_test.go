//go:build cgo

package pybridge

import (
	"runtime"
	"testing"

	"github.com/gohost/gohost/environ"
)

// BenchmarkRoundTrip is one request through the bridge: environ built in C
// from a typical browser request's variables, the app called, its list body
// handed back and released.
func BenchmarkRoundTrip(b *testing.B) {
	vars := []environ.Var{
		{Key: "REQUEST_METHOD", Value: "GET"},
		{Key: "SCRIPT_NAME", Value: ""},
		{Key: "PATH_INFO", Value: "/hello"},
		{Key: "QUERY_STRING", Value: ""},
		{Key: "SERVER_NAME", Value: "127.0.0.1"},
		{Key: "SERVER_PORT", Value: "8000"},
		{Key: "SERVER_PROTOCOL", Value: "HTTP/1.1"},
		{Key: "REMOTE_ADDR", Value: "127.0.0.1"},
		{Key: "REMOTE_PORT", Value: "54321"},
		{Key: "wsgi.url_scheme", Value: "http"},
		{Key: "HTTP_HOST", Value: "127.0.0.1:8000"},
		{Key: "HTTP_USER_AGENT", Value: "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0"},
		{Key: "HTTP_ACCEPT", Value: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		{Key: "HTTP_ACCEPT_LANGUAGE", Value: "en-US,en;q=0.5"},
		{Key: "HTTP_ACCEPT_ENCODING", Value: "gzip, deflate, br"},
		{Key: "HTTP_CONNECTION", Value: "keep-alive"},
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		th, err := interp.NewThread()
		if err != nil {
			b.Error(err)
			return
		}
		defer th.Close()
		ex := &fakeExchange{}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ex.out.Reset()
			ex.sent = false
			th.Serve(ex, vars, nil, true)
		}
		b.StopTimer()
		if ex.out.String() != "Hello, World!" {
			b.Errorf("body %q", ex.out.String())
		}
	}()
	<-done
}
