package environ

// Header kinds: how a request header line is turned into environ entries.
const (
	kindPlain         uint8 = iota // HTTP_<NAME>, repeats joined with ", "
	kindDrop                       // not passed to the application at all
	kindHost                       // HTTP_HOST comes from Request.Host instead
	kindContentType                // CONTENT_TYPE, never HTTP_CONTENT_TYPE
	kindContentLength              // CONTENT_LENGTH, never HTTP_CONTENT_LENGTH
	kindCookie                     // HTTP_COOKIE, repeats joined with "; "
	kindXFF                        // X-Forwarded-For: also read by the proxy rules
	kindForwarded                  // Forwarded (RFC 7239): also read by the proxy rules
)

// knownHeader is an entry of the interned-key table.
type knownHeader struct {
	key  string // "HTTP_..." ("" for kinds that have no HTTP_ entry)
	kind uint8
}

// maxKnownName bounds the names looked up in knownHeaders (longer names are
// never in it), so that the lowercase copy fits a stack buffer.
const maxKnownName = 40

// knownHeaders maps a lowercase header name to its precomputed environ key,
// so that the headers of a typical request cost no allocation. Other names
// get their key built per request.
var knownHeaders = func() map[string]knownHeader {
	m := make(map[string]knownHeader)
	for _, name := range []string{
		"accept", "accept-charset", "accept-encoding", "accept-language",
		"access-control-request-headers", "access-control-request-method",
		"authorization", "cache-control", "connection", "dnt", "early-data",
		"expect", "if-match", "if-modified-since", "if-none-match", "if-range",
		"if-unmodified-since", "keep-alive", "max-forwards", "origin",
		"pragma", "priority", "proxy-authorization", "purpose", "range",
		"referer", "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform",
		"sec-fetch-dest", "sec-fetch-mode", "sec-fetch-site", "sec-fetch-user",
		"sec-gpc", "sec-purpose", "sec-websocket-extensions", "sec-websocket-key",
		"sec-websocket-protocol", "sec-websocket-version", "te", "traceparent",
		"tracestate", "transfer-encoding", "upgrade", "upgrade-insecure-requests",
		"user-agent", "via", "x-amzn-trace-id", "x-csrftoken", "x-csrf-token",
		"x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix",
		"x-forwarded-proto", "x-forwarded-protocol", "x-forwarded-ssl",
		"x-real-ip", "x-request-id", "x-requested-with", "x-scheme",
	} {
		m[name] = knownHeader{key: httpKey(name), kind: kindPlain}
	}
	m["host"] = knownHeader{kind: kindHost}
	m["content-type"] = knownHeader{kind: kindContentType}
	m["content-length"] = knownHeader{kind: kindContentLength}
	m["cookie"] = knownHeader{key: "HTTP_COOKIE", kind: kindCookie}
	m["x-forwarded-for"] = knownHeader{key: "HTTP_X_FORWARDED_FOR", kind: kindXFF}
	m["forwarded"] = knownHeader{key: "HTTP_FORWARDED", kind: kindForwarded}
	// httpoxy (CVE-2016-5385 and friends): a "Proxy" request header becomes
	// HTTP_PROXY, which CGI-style code mistakes for the proxy setting of the
	// process. No legitimate client sends it; nginx and Apache advise
	// clearing it, so it is dropped.
	m["proxy"] = knownHeader{kind: kindDrop}
	return m
}()

// httpKey builds "HTTP_" + the name uppercased with '-' replaced by '_'.
// Used to fill the table; appendHTTPKey is its allocation-free twin.
func httpKey(name string) string {
	return string(appendHTTPKey(nil, name))
}

// appendHTTPKey appends the environ key of header name to b. PEP 3333 defers
// to CGI here; RFC 3875 §4.1.18: "The HTTP header field name is converted to
// upper case, has all occurrences of "-" replaced with "_" and has "HTTP_"
// prepended to give the meta-variable name."
func appendHTTPKey(b []byte, name string) []byte {
	b = append(b, "HTTP_"...)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// isTchar reports whether c may appear in a token (RFC 9110 §5.6.2):
// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isToken reports whether s is a non-empty token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// lowerASCII returns c lowercased if it is an ASCII capital letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFoldASCII compares ASCII case-insensitively (never Unicode folding:
// "K" must not equal the Kelvin sign).
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// trimOWS removes optional whitespace (SP / HTAB) around a field value.
func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
