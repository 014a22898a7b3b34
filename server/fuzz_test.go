package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// parseForFuzz runs the head parser over data with the default limits.
func parseForFuzz(data []byte) (req Request, info headInfo, rest []byte, err error) {
	br := bufio.NewReaderSize(bytes.NewReader(data), readBufSize)
	p := parser{lineLimit: DefaultLimitRequestLine, fieldLimit: DefaultLimitRequestFieldSize,
		maxFields: DefaultLimitRequestFields}
	err = p.readHead(br, &req, &info)
	rest, _ = io.ReadAll(br)
	return
}

func FuzzParseRequest(f *testing.F) {
	for _, cases := range [][]requestCase{requestLineCases, fieldCases, framingCases} {
		for _, c := range cases {
			f.Add([]byte(c.raw))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, info, rest, err := parseForFuzz(data)
		if err != nil {
			var pe *protoError
			switch {
			case errors.As(err, &pe):
				switch pe.code {
				case 400, 408, 414, 431, 501, 505:
				default:
					t.Fatalf("unexpected status %d", pe.code)
				}
			case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			default:
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		checkParsed(t, data, req, info, rest)

		// Round trip: the request re-serialized parses to the same thing.
		var b strings.Builder
		b.WriteString(req.Method + " " + req.RequestURI + " " + req.Proto + "\r\n")
		for _, h := range req.Header {
			b.WriteString(h.Name + ": " + h.Value + "\r\n")
		}
		b.WriteString("\r\n")
		req2, info2, rest2, err := parseForFuzz([]byte(b.String()))
		if err != nil {
			t.Fatalf("re-serialized request rejected: %v\n%q", err, b.String())
		}
		if len(rest2) != 0 || info2 != info || fmt.Sprint(req2) != fmt.Sprint(req) {
			t.Fatalf("round trip differs:\n%+v\n%+v", req, req2)
		}

		// Differential: when net/http also accepts the head, both must agree
		// on the method, target, host and above all the body framing.
		head := data[:len(data)-len(rest)]
		hr, herr := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if herr == nil {
			if hr.Method != req.Method || hr.RequestURI != req.RequestURI {
				t.Fatalf("net/http disagrees on the request line: %q %q", hr.Method, hr.RequestURI)
			}
			if hr.ContentLength != req.ContentLength {
				t.Fatalf("net/http framing %d, ours %d", hr.ContentLength, req.ContentLength)
			}
		}
	})
}

// checkParsed holds the invariants of an accepted head.
func checkParsed(t *testing.T, data []byte, req Request, info headInfo, rest []byte) {
	t.Helper()
	consumed := data[:len(data)-len(rest)]
	if !bytes.HasSuffix(consumed, []byte("\r\n\r\n")) && !bytes.Equal(consumed, []byte("\r\n")) {
		t.Fatalf("head does not end with an empty line: %q", consumed)
	}
	if !validToken(req.Method) {
		t.Fatalf("method %q", req.Method)
	}
	switch {
	case req.Proto == "HTTP/1.1" && req.ProtoMinor == 1:
	case req.Proto == "HTTP/1.0" && req.ProtoMinor == 0:
	default:
		t.Fatalf("proto %q %d", req.Proto, req.ProtoMinor)
	}
	if req.RequestURI == "" || strings.ContainsAny(req.RequestURI, " \r\n\x00#") || req.Path == "" {
		t.Fatalf("target %q path %q", req.RequestURI, req.Path)
	}
	if req.RequestURI[0] == '/' && !strings.HasPrefix(req.RequestURI, req.Path) {
		t.Fatalf("path %q not a prefix of %q", req.Path, req.RequestURI)
	}
	if req.RawQuery != "" && !strings.HasSuffix(req.RequestURI, "?"+req.RawQuery) {
		t.Fatalf("query %q", req.RawQuery)
	}
	var hosts, cls, tes int
	for _, h := range req.Header {
		if !validToken(h.Name) {
			t.Fatalf("field name %q", h.Name)
		}
		for i := 0; i < len(h.Value); i++ {
			if !isValueByte[h.Value[i]] {
				t.Fatalf("field value %q", h.Value)
			}
		}
		if v := h.Value; v != "" && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			t.Fatalf("OWS kept in %q", v)
		}
		switch strings.ToLower(h.Name) {
		case "host":
			hosts++
		case "content-length":
			cls++
		case "transfer-encoding":
			tes++
		}
	}
	if hosts > 1 || (req.ProtoMinor == 1 && hosts != 1) || cls > 1 {
		t.Fatalf("hosts %d content-lengths %d", hosts, cls)
	}
	switch {
	case req.ContentLength == -1:
		if !info.chunked || cls != 0 || tes == 0 || req.ProtoMinor != 1 {
			t.Fatal("chunked inconsistent")
		}
	case req.ContentLength >= 0:
		if info.chunked || tes != 0 {
			t.Fatal("length inconsistent")
		}
		if req.ContentLength > 0 && cls != 1 {
			t.Fatal("length without Content-Length")
		}
	default:
		t.Fatalf("ContentLength %d", req.ContentLength)
	}
	if req.Close != info.connClose {
		t.Fatal("Close inconsistent")
	}
}

// slowReader returns at most step bytes per Read.
type slowReader struct {
	data []byte
	step int
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.step, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

const fuzzMaxTrailers = 8

func FuzzChunked(f *testing.F) {
	for _, c := range framingCases {
		if _, body, ok := strings.Cut(c.raw, "chunked\r\n\r\n"); ok {
			f.Add([]byte(body+"NEXT"), byte(3), byte(7))
		}
	}
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), byte(0), byte(0))
	f.Add([]byte("1;a=\"\\\"\"\r\nx\r\n0\r\nT: 1\r\n\r\nGET"), byte(1), byte(1))
	f.Fuzz(func(t *testing.T, data []byte, step, readSize byte) {
		s := int(step)
		if s == 0 {
			s = len(data) + 1
		}
		sr := &slowReader{data: data, step: s}
		br := bufio.NewReaderSize(sr, readBufSize)
		cr := chunkedReader{br: br, maxTrailers: fuzzMaxTrailers, trailerLine: DefaultLimitRequestFieldSize}
		buf := make([]byte, int(readSize)+1)
		var out []byte
		var err error
		for i := 0; ; i++ {
			var n int
			n, err = cr.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("n = %d", n)
			}
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
			if n == 0 && i > len(data)+10 {
				t.Fatal("no progress")
			}
		}
		if _, err2 := cr.Read(buf); err2 != err && !(err == io.EOF && err2 == io.EOF) {
			t.Fatalf("error not sticky: %v then %v", err, err2)
		}
		want, consumed, ok := refDecodeChunked(data)
		if ok != (err == io.EOF) {
			t.Fatalf("reference ok=%v, decoder err=%v", ok, err)
		}
		if !ok {
			if !errors.Is(err, ErrMalformedBody) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !bytes.Equal(out, want) {
			t.Fatalf("decoded %q, want %q", out, want)
		}
		rest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, data[consumed:]) {
			t.Fatalf("left %q, want %q: read past the body", rest, data[consumed:])
		}
	})
}

// refDecodeChunked is a second, whole-buffer implementation of the strict
// chunked grammar the decoder implements.
func refDecodeChunked(d []byte) (out []byte, consumed int, ok bool) {
	i := 0
	line := func() ([]byte, bool) {
		j := bytes.IndexByte(d[i:], '\n')
		if j < 1 || j+1 > maxChunkLine || d[i+j-1] != '\r' {
			return nil, false
		}
		l := d[i : i+j-1]
		i += j + 1
		return l, true
	}
	out = []byte{}
	for {
		l, ok := line()
		if !ok {
			return nil, 0, false
		}
		k := 0
		for k < len(l) && strings.IndexByte("0123456789abcdefABCDEF", l[k]) >= 0 {
			k++
		}
		if k == 0 {
			return nil, 0, false
		}
		size, err := strconv.ParseInt(string(l[:k]), 16, 64)
		if err != nil || !refExt(string(l[k:])) {
			return nil, 0, false
		}
		if size == 0 {
			for n := 0; ; n++ {
				l, ok := line()
				if !ok {
					return nil, 0, false
				}
				if len(l) == 0 {
					return out, i, true
				}
				if n >= fuzzMaxTrailers || !refField(string(l)) {
					return nil, 0, false
				}
			}
		}
		if int64(len(d)-i) < size+2 {
			return nil, 0, false
		}
		out = append(out, d[i:i+int(size)]...)
		i += int(size)
		if d[i] != '\r' || d[i+1] != '\n' {
			return nil, 0, false
		}
		i += 2
	}
}

const tcharSet = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func refToken(s string) int {
	k := 0
	for k < len(s) && strings.IndexByte(tcharSet, s[k]) >= 0 {
		k++
	}
	return k
}

func refVisible(c byte) bool { return c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f) }

func refExt(s string) bool {
	for s != "" {
		if s[0] != ';' {
			return false
		}
		s = s[1:]
		k := refToken(s)
		if k == 0 {
			return false
		}
		s = s[k:]
		if s == "" || s[0] != '=' {
			continue
		}
		s = s[1:]
		if s != "" && s[0] == '"' {
			j := 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
				if j >= len(s) || !refVisible(s[j]) {
					return false
				}
			}
			if j >= len(s) {
				return false
			}
			s = s[j+1:]
			continue
		}
		k = refToken(s)
		if k == 0 {
			return false
		}
		s = s[k:]
	}
	return true
}

func refField(s string) bool {
	k := refToken(s)
	if k == 0 || k >= len(s) || s[k] != ':' {
		return false
	}
	for i := k + 1; i < len(s); i++ {
		if !refVisible(s[i]) {
			return false
		}
	}
	return true
}

// TestWriteFuzzCorpus writes the seed corpus under testdata/fuzz (run with
// GOHOST_WRITE_CORPUS=1 after changing the request tables).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("GOHOST_WRITE_CORPUS") == "" {
		t.Skip("set GOHOST_WRITE_CORPUS=1 to regenerate testdata/fuzz")
	}
	write := func(target, name string, vals ...string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, name)
		content := "go test fuzz v1\n" + strings.Join(vals, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, cases := range [][]requestCase{requestLineCases, fieldCases, framingCases} {
		for _, c := range cases {
			write("FuzzParseRequest", c.name, "[]byte("+strconv.Quote(c.raw)+")")
			if _, body, ok := strings.Cut(c.raw, "chunked\r\n\r\n"); ok {
				write("FuzzChunked", c.name, "[]byte("+strconv.Quote(body+"GET / HTTP/1.1\r\n")+")", "byte('\\x03')", "byte('\\x07')")
			}
		}
	}
}
