package proxyproto

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pair opens a loopback connection through a Wrap listener and returns the
// client side and the accepted (wrapped) side.
func pair(t *testing.T, trusted bool, timeout time.Duration) (client net.Conn, server *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	wl := Wrap(ln, func(net.IP) bool { return trusted }, timeout)
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := wl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return client, c.(*Conn)
}

// readAll reads from c until EOF or error, bounded by a deadline.
func readAll(t *testing.T, c net.Conn) (string, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

// assertClosedByServer: the client sees EOF (or a reset) without any byte.
func assertClosedByServer(t *testing.T, client net.Conn) {
	t.Helper()
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 16)
	n, err := client.Read(b)
	if n != 0 || err == nil || isTimeout(err) {
		t.Fatalf("client read %q, %v: want the connection closed", b[:n], err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestTrustedV1(t *testing.T) {
	client, c := pair(t, true, 5*time.Second)
	go func() {
		client.Write([]byte("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n"))
		client.(*net.TCPConn).CloseWrite()
	}()
	got, err := readAll(t, c)
	if err != nil || got != "GET / HTTP/1.1\r\n" {
		t.Fatalf("read %q, %v", got, err)
	}
	if a := c.RemoteAddr().String(); a != "192.168.0.1:56324" {
		t.Errorf("RemoteAddr %s", a)
	}
	if a := c.LocalAddr().String(); a != "192.168.0.11:443" {
		t.Errorf("LocalAddr %s", a)
	}
	h, err := c.Header()
	if err != nil || h == nil || h.Version != 1 {
		t.Errorf("Header() = %+v, %v", h, err)
	}
}

// TestTrustedV2Fragmented: the header arrives one byte at a time (TCP may
// fragment it); the bytes after it arrive with its last byte.
func TestTrustedV2Fragmented(t *testing.T) {
	client, c := pair(t, true, 5*time.Second)
	hdr := v2(0x21, famTCP6, ip6Block("2001:db8::7", "2001:db8::1", 4321, 8000), tlv(0x02, []byte("example.com")))
	go func() {
		for i := range hdr[:len(hdr)-1] {
			client.Write(hdr[i : i+1])
			time.Sleep(time.Millisecond)
		}
		client.Write(append(hdr[len(hdr)-1:], "body"...))
		client.(*net.TCPConn).CloseWrite()
	}()
	got, err := readAll(t, c)
	if err != nil || got != "body" {
		t.Fatalf("read %q, %v", got, err)
	}
	if a := c.RemoteAddr().String(); a != "[2001:db8::7]:4321" {
		t.Errorf("RemoteAddr %s", a)
	}
}

// TestTrustedV2Large: a header over the initial buffer (TLVs) grows it, and
// what follows in the same segment is kept.
func TestTrustedV2Large(t *testing.T) {
	client, c := pair(t, true, 5*time.Second)
	hdr := v2(0x21, famTCP4, ip4Block("10.1.2.3", "10.0.0.1", 1, 2), tlv(0xE0, make([]byte, 1000)))
	go func() {
		client.Write(append(hdr, strings.Repeat("x", 3000)...))
		client.(*net.TCPConn).CloseWrite()
	}()
	got, err := readAll(t, c)
	if err != nil || got != strings.Repeat("x", 3000) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	if a := c.RemoteAddr().String(); a != "10.1.2.3:1" {
		t.Errorf("RemoteAddr %s", a)
	}
}

// TestRealEndpoints: LOCAL, UNKNOWN and UNSPEC keep the connection's own
// addresses.
func TestRealEndpoints(t *testing.T) {
	for name, hdr := range map[string][]byte{
		"v2 LOCAL":   v2(0x20, famUnspec),
		"v1 UNKNOWN": []byte("PROXY UNKNOWN\r\n"),
		"v2 UNSPEC":  v2(0x21, famUnspec),
		"v2 UDP4":    v2(0x21, famUDP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2)),
	} {
		t.Run(name, func(t *testing.T) {
			client, c := pair(t, true, 5*time.Second)
			go func() {
				client.Write(append(hdr, "ok"...))
				client.(*net.TCPConn).CloseWrite()
			}()
			got, err := readAll(t, c)
			if err != nil || got != "ok" {
				t.Fatalf("read %q, %v", got, err)
			}
			if c.RemoteAddr().String() != client.LocalAddr().String() || c.LocalAddr().String() != client.RemoteAddr().String() {
				t.Errorf("endpoints %s %s, want the real ones %s %s", c.RemoteAddr(), c.LocalAddr(), client.LocalAddr(), client.RemoteAddr())
			}
		})
	}
}

// TestTrustedRefused: from a trusted peer the header is required and must
// be valid; otherwise the connection is closed without a byte sent.
func TestTrustedRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"no header", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ErrNoHeader},
		{"malformed v1", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\nGET / HTTP/1.1\r\n\r\n", ErrInvalid},
		{"bare LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\nGET / HTTP/1.1\r\n\r\n", ErrInvalid},
		{"v2 bad command", string(v2(0x22, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2))), ErrInvalid},
		{"cut short", "PROXY TCP4 1.2.3.4", ErrInvalid},
		{"v2 cut short", string(v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2))[:20]), ErrInvalid},
		{"v1 too long", "PROXY UNKNOWN " + strings.Repeat("a", 200) + "\r\n", ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, c := pair(t, true, 5*time.Second)
			go func() {
				client.Write([]byte(tc.in))
				client.(*net.TCPConn).CloseWrite()
			}()
			n, err := c.Read(make([]byte, 64))
			if n != 0 || !errors.Is(err, tc.want) {
				t.Fatalf("Read = %d, %v; want %v", n, err, tc.want)
			}
			if _, err2 := c.Read(make([]byte, 1)); err2 != err {
				t.Errorf("second Read: %v, want the same error", err2)
			}
			assertClosedByServer(t, client)
			if c.RemoteAddr().String() != client.LocalAddr().String() {
				t.Errorf("RemoteAddr %s after refusal, want the peer", c.RemoteAddr())
			}
		})
	}
}

// TestUntrusted: an untrusted peer's bytes pass untouched, unless they are a
// PROXY header: then the connection is closed and nothing is believed.
func TestUntrusted(t *testing.T) {
	for _, in := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\n",
		"\r\n\r\nGET / HTTP/1.1\r\n",
		"PROXZ",
		"P",
		"\x16\x03\x01\x00\x05hello",
	} {
		t.Run("pass "+in, func(t *testing.T) {
			client, c := pair(t, false, 5*time.Second)
			go func() {
				client.Write([]byte(in))
				client.(*net.TCPConn).CloseWrite()
			}()
			got, err := readAll(t, c)
			if in == "P" {
				// A prefix of "PROXY " then EOF: undecided, refused as a
				// partial header.
				if got != "" || err == nil {
					t.Fatalf("read %q, %v", got, err)
				}
				return
			}
			if err != nil || got != in {
				t.Fatalf("read %q, %v; want %q", got, err, in)
			}
			if c.RemoteAddr().String() != client.LocalAddr().String() {
				t.Errorf("RemoteAddr %s", c.RemoteAddr())
			}
			if h, err := c.Header(); h != nil || err != nil {
				t.Errorf("Header() = %v, %v", h, err)
			}
		})
	}
	for name, in := range map[string]string{
		"v1":         "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n\r\n",
		"v1 UNKNOWN": "PROXY UNKNOWN\r\nGET / HTTP/1.1\r\n\r\n",
		"v1 garbage": "PROXY nonsense",
		"v2":         string(v2(0x21, famTCP4, ip4Block("1.2.3.4", "5.6.7.8", 1, 2))) + "GET / HTTP/1.1\r\n\r\n",
		"v2 LOCAL":   string(v2(0x20, famUnspec)),
	} {
		t.Run("refuse "+name, func(t *testing.T) {
			client, c := pair(t, false, 5*time.Second)
			go client.Write([]byte(in))
			n, err := c.Read(make([]byte, 64))
			if n != 0 || !errors.Is(err, ErrUntrusted) {
				t.Fatalf("Read = %d, %v; want ErrUntrusted", n, err)
			}
			assertClosedByServer(t, client)
			if c.RemoteAddr().String() != client.LocalAddr().String() {
				t.Errorf("RemoteAddr %s believed from an untrusted peer", c.RemoteAddr())
			}
		})
	}
}

// TestHeaderTimeout: a trusted peer that sends nothing, or half a header,
// is closed after the header timeout.
func TestHeaderTimeout(t *testing.T) {
	for _, in := range []string{"", "PROXY TCP4 1.2.3.4"} {
		client, c := pair(t, true, 300*time.Millisecond)
		client.Write([]byte(in))
		start := time.Now()
		_, err := c.Read(make([]byte, 8))
		el := time.Since(start)
		if !isTimeout(err) {
			t.Errorf("%q: err %v, want a timeout", in, err)
		}
		if el < 250*time.Millisecond || el > 2*time.Second {
			t.Errorf("%q: refused after %v, want ~300ms", in, el)
		}
		assertClosedByServer(t, client)
	}
}

// TestCallerDeadline: an earlier caller read deadline bounds the header
// read; the caller's deadline (not the header's) applies after it.
func TestCallerDeadline(t *testing.T) {
	client, c := pair(t, true, 10*time.Second)
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	start := time.Now()
	if _, err := c.Read(make([]byte, 8)); !isTimeout(err) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v; want the caller's 200ms deadline", err, time.Since(start))
	}
	_ = client

	client, c = pair(t, true, 200*time.Millisecond)
	client.Write([]byte("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"))
	if h, err := c.Header(); err != nil || h == nil {
		t.Fatalf("Header: %v", err)
	}
	go func() {
		time.Sleep(500 * time.Millisecond) // past the header timeout
		client.Write([]byte("late"))
	}()
	b := make([]byte, 8)
	n, err := c.Read(b)
	if err != nil || string(b[:n]) != "late" {
		t.Fatalf("read %q, %v: the header deadline outlived the header", b[:n], err)
	}
}

// TestAcceptNotBlocked: a silent client does not delay Accept, and a
// RemoteAddr call waits for the header.
func TestAcceptNotBlocked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	wl := Wrap(ln, nil, 5*time.Second) // nil: loopback trusted
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	start := time.Now()
	c1, err := wl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	good, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	c2, err := wl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if el := time.Since(start); el > time.Second {
		t.Fatalf("Accept took %v behind a silent client", el)
	}

	var wg sync.WaitGroup
	var addr string
	wg.Add(1)
	go func() { defer wg.Done(); addr = c2.RemoteAddr().String() }()
	time.Sleep(50 * time.Millisecond)
	good.Write([]byte("PROXY TCP4 203.0.113.5 10.0.0.1 5555 80\r\n"))
	wg.Wait()
	if addr != "203.0.113.5:5555" {
		t.Fatalf("RemoteAddr %s", addr)
	}
}

// TestUnixPeerTrusted: a Unix-socket peer is checked as 127.0.0.1.
func TestUnixPeerTrusted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var checked net.IP
	wl := Wrap(ln, func(ip net.IP) bool { checked = ip; return true }, time.Second)
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := wl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client.Write([]byte("PROXY TCP4 198.51.100.1 10.0.0.1 1000 80\r\n"))
	if a := c.RemoteAddr().String(); a != "198.51.100.1:1000" {
		t.Errorf("RemoteAddr %s", a)
	}
	if !checked.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("trust checked %v", checked)
	}
}

// TestWritesPassThrough: writes (including ReadFrom) go to the peer.
func TestWritesPassThrough(t *testing.T) {
	client, c := pair(t, true, time.Second)
	client.Write([]byte("PROXY UNKNOWN\r\n"))
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("file-bytes")
	f.Seek(0, 0)
	defer f.Close()
	if _, err := c.Write([]byte("hello ")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(c, f); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, client)
	if err != nil || got != "hello file-bytes" {
		t.Fatalf("client read %q, %v", got, err)
	}
}
