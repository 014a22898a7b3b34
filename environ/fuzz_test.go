package environ

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gohost/gohost/server"
)

// refUnquote is an independent statement of Python's unquote_to_bytes: a
// "%" followed by two hex digits is one byte, anything else is itself.
func refUnquote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+1])) &&
			strings.ContainsRune("0123456789abcdefABCDEF", rune(s[i+2])) {
			hi := strings.IndexByte("0123456789abcdef", lowerASCII(s[i+1]))
			lo := strings.IndexByte("0123456789abcdef", lowerASCII(s[i+2]))
			b.WriteByte(byte(hi<<4 | lo))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// quoteAll percent-encodes every byte.
func quoteAll(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte('%')
		b.WriteByte(hex[s[i]>>4])
		b.WriteByte(hex[s[i]&15])
	}
	return b.String()
}

// parseHeaderBlob turns "Name: value\n..." into fields; a line without ':'
// becomes a field with an empty value.
func parseHeaderBlob(blob string) []server.HeaderField {
	var h []server.HeaderField
	for _, line := range strings.Split(blob, "\n") {
		if line == "" {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		h = append(h, server.HeaderField{Name: name, Value: value})
	}
	return h
}

func isCGIKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func FuzzAppend(f *testing.F) {
	f.Add("/a%2Fb%zz%ff", "q=1", "Host: example.com\nCookie: a=1\ncookie: b=2\n", "127.0.0.1:1", false, "")
	f.Add("/app/x", "", "X-Forwarded-For: 6.6.6.6, [2001:db8::1]:80\nX-Forwarded-Proto: https\nX_Forwarded_For: 1.1.1.1\n", "[::1]:2", true, "/app")
	f.Add("*", "", "Forwarded: for=\"[2001:db8::1]:4711\";proto=https, for=10.0.0.1\n", "10.0.0.2:3", false, "/app")
	f.Add("/apple", "x", "Content-Length: 5\nContent-Type: a\nHost: [::1]:99\n", "unix", true, "/app")
	f.Add("", "", "Forwarded: for=\"unterminated\nX-Forwarded-Ssl: off\nX-Forwarded-Proto: https\n", "203.0.113.1:4", false, "")

	c := &Config{
		ForwardedAllowIPs:   []string{"127.0.0.0/8", "::1", "10.0.0.0/8"},
		SecureSchemeHeaders: NewConfig().SecureSchemeHeaders,
	}
	f.Fuzz(func(t *testing.T, path, query, headers, peer string, tls bool, root string) {
		cfg := *c
		cfg.RootPath = root
		if cfg.Prepare() != nil {
			cfg.RootPath = ""
			require.NoError(t, cfg.Prepare())
		}
		r := &server.Request{
			Method: "GET", RequestURI: path, Path: path, RawQuery: query, Proto: "HTTP/1.1", ProtoMinor: 1,
			Header: parseHeaderBlob(headers), TLS: tls, ContentLength: -1,
			LocalAddr: tcp("127.0.0.1:8000"),
		}
		for _, h := range r.Header {
			if equalFoldASCII(h.Name, "host") {
				r.Host = h.Value
			}
		}
		if ap, err := netip.ParseAddrPort(peer); err == nil {
			r.RemoteAddr = net.TCPAddrFromAddrPort(ap)
		} else {
			r.RemoteAddr = unix("")
		}

		vars, _ := AppendChecked(nil, r, &cfg)
		env := make(map[string]string, len(vars))
		for _, v := range vars {
			_, dup := env[v.Key]
			require.False(t, dup, "duplicate key %q", v.Key)
			env[v.Key] = v.Value
			// Keys become str through latin-1: check they are the ASCII
			// names the spec allows (CGI names, HTTP_ + uppercased token
			// without '-', or the wsgi.* extension).
			switch {
			case v.Key == "wsgi.url_scheme":
			case strings.HasPrefix(v.Key, "HTTP_"):
				require.True(t, isToken(v.Key), "key %q", v.Key)
				require.Equal(t, strings.ToUpper(v.Key), v.Key)
				require.NotContains(t, v.Key[5:], "-")
				require.NotEqual(t, "HTTP_CONTENT_TYPE", v.Key)
				require.NotEqual(t, "HTTP_CONTENT_LENGTH", v.Key)
			default:
				require.True(t, isCGIKey(v.Key), "key %q", v.Key)
			}
		}
		for _, k := range []string{"REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SERVER_NAME",
			"SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "wsgi.url_scheme"} {
			require.Contains(t, env, k)
		}
		assert.NotEmpty(t, env["SERVER_NAME"])
		assert.True(t, isPort(env["SERVER_PORT"]), "SERVER_PORT %q", env["SERVER_PORT"])
		assert.True(t, isPort(env["REMOTE_PORT"]), "REMOTE_PORT %q", env["REMOTE_PORT"])
		_, err := netip.ParseAddr(env["REMOTE_ADDR"])
		assert.NoError(t, err, "REMOTE_ADDR %q", env["REMOTE_ADDR"])
		assert.Contains(t, []string{"http", "https"}, env["wsgi.url_scheme"])
		assert.Equal(t, query, env["QUERY_STRING"])

		// PATH_INFO is the decoded path, minus the root when it starts
		// with it; decoding round-trips.
		decoded := refUnquote(path)
		if decoded == "" && cfg.root == "" {
			decoded = "/"
		}
		sn, pi := env["SCRIPT_NAME"], env["PATH_INFO"]
		assert.Equal(t, cfg.root, sn)
		if sn != "" && (decoded == sn || strings.HasPrefix(decoded, sn+"/")) {
			assert.Equal(t, decoded, sn+pi)
		} else {
			assert.Equal(t, decoded, pi)
		}
		assert.Equal(t, pi, string(appendUnquote(nil, quoteAll(pi))))
	})
}
