package server

import (
	"bufio"
	"io"
)

// Byte classes of RFC 9110/9112, as lookup tables.
var (
	// tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
	// "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA  (RFC 9110 §5.6.2)
	isTchar [256]bool
	// field-vchar / SP / HTAB: VCHAR, obs-text (0x80-0xFF), SP, HTAB
	// (RFC 9110 §5.5). Everything else (CR, LF, NUL, other CTLs, DEL) is
	// forbidden in a field value.
	isValueByte [256]bool
	// Bytes of a request-target: VCHAR and obs-text, minus '#' (a fragment
	// is never sent in a request). CTLs, SP and DEL are forbidden.
	isTargetByte [256]bool
	// Bytes of a Host value / authority: unreserved, pct-encoded,
	// sub-delims, ":" and the brackets of an IP-literal (RFC 3986 §3.2).
	isHostByte [256]bool
)

func init() {
	for c := '0'; c <= '9'; c++ {
		isTchar[c], isHostByte[c] = true, true
	}
	for c := 'a'; c <= 'z'; c++ {
		isTchar[c], isHostByte[c] = true, true
		isTchar[c-'a'+'A'], isHostByte[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		isTchar[c] = true
	}
	for _, c := range "-._~%!$&'()*+,;=:[]" {
		isHostByte[c] = true
	}
	for c := 0x21; c <= 0xff; c++ {
		if c != 0x7f {
			isValueByte[c], isTargetByte[c] = true, true
		}
	}
	isValueByte[' '], isValueByte['\t'] = true, true
	isTargetByte['#'] = false
}

// fieldIdx locates one field line inside parser.head.
type fieldIdx struct{ ns, ne, vs, ve int32 }

// parser reads and validates request heads. It keeps its buffers between
// requests of a connection so that a head costs one allocation: the string
// that all of Request's strings are slices of.
type parser struct {
	lineLimit  int // max request-line bytes (without CRLF); 0 = hardLineCap
	fieldLimit int // max field-line bytes (without CRLF)
	maxFields  int // max number of field lines

	head   []byte     // request line and field lines, each with its CRLF
	fields []fieldIdx // one per field line, in order
}

// headInfo is what the parser learned about framing and connection
// management, beyond what Request carries.
type headInfo struct {
	chunked   bool
	expect100 bool // HTTP/1.1 request with "Expect: 100-continue"
	connClose bool // "Connection: close" (or HTTP/1.0 without keep-alive)
	keepAlive bool // "Connection: keep-alive" was sent
}

// readHead reads one request head from br and fills req (and info). It
// consumes exactly the head, up to and including the empty line that ends
// it: the body (or the next pipelined request) stays in br. On error the
// connection must not be reused; a *protoError says what to answer.
//
// It does not touch req.Body, RemoteAddr, LocalAddr, TLS or Received.
func (p *parser) readHead(br *bufio.Reader, req *Request, info *headInfo) error {
	p.head = p.head[:0]
	p.fields = p.fields[:0]
	*info = headInfo{}

	// RFC 9112 §2.2: "a server that is expecting to receive and parse a
	// request-line SHOULD ignore at least one empty line (CRLF) received
	// prior to the request-line."
	lineLimit := p.lineLimit
	if lineLimit <= 0 || lineLimit > hardLineCap {
		lineLimit = hardLineCap
	}
	for empty := 0; ; empty++ {
		if err := p.readLine(br, lineLimit, errLineTooLong); err != nil {
			return err
		}
		if len(p.head) > 2 {
			break
		}
		if empty >= maxEmptyLines {
			return errTooManyEmpty
		}
		p.head = p.head[:0]
	}
	rl, err := parseRequestLine(p.head[:len(p.head)-2])
	if err != nil {
		return err
	}

	// Field lines up to the empty line.
	var (
		hostCount int
		hostIdx   int = -1
		clSeen    bool
		cl        int64
		te        teState
		connClose bool
		keepAlive bool
		expect100 bool
	)
	for {
		start := len(p.head)
		if err := p.readLine(br, p.fieldLimit, errFieldTooLong); err != nil {
			return err
		}
		line := p.head[start : len(p.head)-2]
		if len(line) == 0 {
			p.head = p.head[:start] // keep the final CRLF out of the string
			break
		}
		if len(p.fields) >= p.maxFields {
			return errTooManyFields
		}
		f, err := parseFieldLine(line, start)
		if err != nil {
			return err
		}
		p.fields = append(p.fields, f)
		name := line[:f.ne-f.ns]
		value := p.head[f.vs:f.ve]
		switch len(name) {
		case 4:
			if equalFold(name, "host") {
				hostCount++
				hostIdx = len(p.fields) - 1
				if !validHost(value) {
					return badRequest("invalid Host")
				}
			}
		case 6:
			if equalFold(name, "expect") && equalFold(value, "100-continue") {
				expect100 = true
			}
		case 10:
			if equalFold(name, "connection") {
				forEachToken(value, func(tok []byte) {
					if equalFold(tok, "close") {
						connClose = true
					} else if equalFold(tok, "keep-alive") {
						keepAlive = true
					}
				})
			}
		case 14:
			if equalFold(name, "content-length") {
				// RFC 9112 §6.3: several Content-Length fields, or a
				// list, make the framing ambiguous: refuse them all
				// (even identical values: the safest choice).
				if clSeen {
					return badRequest("several Content-Length fields")
				}
				clSeen = true
				n, ok := parseContentLength(value)
				if !ok {
					return badRequest("invalid Content-Length")
				}
				cl = n
			}
		case 17:
			if equalFold(name, "transfer-encoding") {
				if err := te.add(value); err != nil {
					return err
				}
			}
		}
	}

	// Framing (RFC 9112 §6.1, §6.3).
	minor := rl.minor
	if te.seen {
		switch {
		case minor == 0:
			// §6.1: a server MUST NOT... treat TE in HTTP/1.0 as valid
			// framing; refuse it.
			return badRequest("Transfer-Encoding in HTTP/1.0")
		case clSeen:
			// §6.1: "A server MAY reject a request that contains both
			// Content-Length and Transfer-Encoding" — we do (smuggling).
			return badRequest("both Content-Length and Transfer-Encoding")
		case te.chunkedCount == 0 || !te.lastChunked || te.chunkedCount > 1:
			// §6.3: chunked not final → 400; chunked twice → invalid.
			return badRequest("chunked is not the single final transfer coding")
		case te.codings > 1:
			return errTECoding // e.g. "gzip, chunked": coding unknown to us
		}
	}
	if minor == 1 && hostCount == 0 {
		// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request)
		// status code to any HTTP/1.1 request message that lacks a Host
		// header field and to any request message that contains more than
		// one Host header field line or a Host header field with an invalid
		// field value."
		return badRequest("missing Host")
	}
	if hostCount > 1 {
		return badRequest("several Host fields")
	}

	// One allocation: every string of req is a slice of s.
	s := string(p.head)
	req.Method = s[:rl.methodEnd]
	req.RequestURI = s[rl.targetStart:rl.targetEnd]
	req.Path = s[rl.pathStart:rl.pathEnd]
	if rl.pathStart == rl.pathEnd {
		// absolute-form without a path: "http://h" or "http://h?q".
		if req.Method == "OPTIONS" {
			req.Path = "*"
		} else {
			req.Path = "/"
		}
	}
	req.RawQuery = ""
	if rl.queryStart > 0 {
		req.RawQuery = s[rl.queryStart:rl.targetEnd]
	}
	if minor == 1 {
		req.Proto, req.ProtoMinor = "HTTP/1.1", 1
	} else {
		req.Proto, req.ProtoMinor = "HTTP/1.0", 0
	}
	hdr := req.Header[:0]
	for _, f := range p.fields {
		hdr = append(hdr, HeaderField{Name: s[f.ns:f.ne], Value: s[f.vs:f.ve]})
	}
	req.Header = hdr
	switch {
	case rl.hostEnd > 0:
		// RFC 9112 §3.2.2: with an absolute-form target the Host field is
		// ignored and the authority of the target is used.
		req.Host = s[rl.hostStart:rl.hostEnd]
	case hostIdx >= 0:
		req.Host = hdr[hostIdx].Value
	default:
		req.Host = ""
	}
	switch {
	case te.seen:
		req.ContentLength = -1
	case clSeen:
		req.ContentLength = cl
	default:
		req.ContentLength = 0
	}
	if minor == 1 {
		info.connClose = connClose
		info.expect100 = expect100
	} else {
		info.connClose = connClose || !keepAlive
	}
	info.keepAlive = keepAlive
	info.chunked = te.seen
	req.Close = info.connClose
	return nil
}

// readLine appends one line, CRLF included, from br to p.head. A line
// longer than limit bytes (CRLF excluded) is refused with tooLong; a line
// ended by a bare LF with errBareLF. I/O errors are returned as they are.
func (p *parser) readLine(br *bufio.Reader, limit int, tooLong error) error {
	start := len(p.head)
	for {
		frag, err := br.ReadSlice('\n')
		p.head = append(p.head, frag...)
		if err == nil {
			break
		}
		if err == bufio.ErrBufferFull {
			if len(p.head)-start > limit+1 { // +1: a CR may end the fragment
				return tooLong
			}
			continue
		}
		if isTimeout(err) {
			return errHeadTimeout // the peeked first byte came; the head did not
		}
		if err == io.EOF && len(p.head) > 0 {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	n := len(p.head) - start
	// RFC 9112 §2.2 allows a recipient to accept a bare LF as a line
	// terminator; we do not (a leniency that smuggling relies on).
	if n < 2 || p.head[len(p.head)-2] != '\r' {
		return errBareLF
	}
	if n-2 > limit {
		return tooLong
	}
	return nil
}

// requestLine holds offsets into the head of the parts of a request line.
type requestLine struct {
	methodEnd              int
	targetStart, targetEnd int
	pathStart, pathEnd     int
	queryStart             int // 0 when no '?'
	hostStart, hostEnd     int // authority of an absolute-form target; hostEnd 0 when none
	minor                  int
}

// parseRequestLine validates
//
//	request-line = method SP request-target SP HTTP-version
//
// (RFC 9112 §3) with single spaces, and classifies the target form.
func parseRequestLine(b []byte) (rl requestLine, err error) {
	i := 0
	for i < len(b) && isTchar[b[i]] {
		i++
	}
	if i == 0 || i >= len(b) || b[i] != ' ' {
		return rl, errRequestLine
	}
	rl.methodEnd = i
	rl.targetStart = i + 1
	j := rl.targetStart
	for j < len(b) && b[j] != ' ' {
		if !isTargetByte[b[j]] {
			return rl, errTarget
		}
		j++
	}
	if j == rl.targetStart || j >= len(b) {
		return rl, errRequestLine
	}
	rl.targetEnd = j
	// HTTP-version = HTTP-name "/" DIGIT "." DIGIT, case-sensitive.
	switch v := b[j+1:]; string(v) {
	case "HTTP/1.1":
		rl.minor = 1
	case "HTTP/1.0":
		rl.minor = 0
	default:
		if len(v) == 8 && string(v[:5]) == "HTTP/" && isDigit(v[5]) && v[6] == '.' && isDigit(v[7]) {
			return rl, errVersion
		}
		return rl, errRequestLine
	}
	method := b[:rl.methodEnd]
	t := b[rl.targetStart:rl.targetEnd]
	switch {
	case string(method) == "CONNECT":
		// authority-form is only for CONNECT, which a WSGI server does not
		// tunnel: 501, the app is never called. Any other form is invalid.
		if t[0] == '/' || t[0] == '*' || hasScheme(t) {
			return rl, errTarget
		}
		return rl, errConnect
	case t[0] == '/': // origin-form
		rl.pathStart = rl.targetStart
		rl.pathEnd = rl.targetEnd
	case len(t) == 1 && t[0] == '*': // asterisk-form, OPTIONS only
		if string(method) != "OPTIONS" {
			return rl, errTarget
		}
		rl.pathStart, rl.pathEnd = rl.targetStart, rl.targetEnd
		return rl, nil
	default: // absolute-form: http(s)://authority[/path][?query]
		k := schemeLen(t)
		if k == 0 || !(equalFold(t[:k], "http") || equalFold(t[:k], "https")) ||
			len(t) < k+3 || string(t[k:k+3]) != "://" {
			return rl, errTarget
		}
		a := k + 3
		e := a
		for e < len(t) && t[e] != '/' && t[e] != '?' {
			e++
		}
		if e == a || !validHost(t[a:e]) {
			return rl, errTarget // empty authority, or userinfo ('@')
		}
		rl.hostStart, rl.hostEnd = rl.targetStart+a, rl.targetStart+e
		rl.pathStart, rl.pathEnd = rl.targetStart+e, rl.targetEnd
	}
	for q := rl.pathStart; q < rl.targetEnd; q++ {
		if b[q] == '?' {
			rl.pathEnd = q
			rl.queryStart = q + 1
			break
		}
	}
	return rl, nil
}

// parseFieldLine validates one field line (CRLF removed) at offset off of
// the head:
//
//	field-line = field-name ":" OWS field-value OWS
//
// No whitespace is allowed before the colon or at the start of the line
// (obs-fold, RFC 9112 §5.2: a server MUST reject or replace it; we reject).
func parseFieldLine(line []byte, off int) (fieldIdx, error) {
	if line[0] == ' ' || line[0] == '\t' {
		return fieldIdx{}, errObsFold
	}
	i := 0
	for i < len(line) && isTchar[line[i]] {
		i++
	}
	if i == 0 || i >= len(line) || line[i] != ':' {
		// RFC 9112 §5.1: "A server MUST reject, with a response status code
		// of 400 (Bad Request), any received request message that contains
		// whitespace between a header field name and colon."
		return fieldIdx{}, errFieldName
	}
	vs, ve := i+1, len(line)
	for vs < ve && (line[vs] == ' ' || line[vs] == '\t') {
		vs++
	}
	for ve > vs && (line[ve-1] == ' ' || line[ve-1] == '\t') {
		ve--
	}
	for _, c := range line[vs:ve] {
		if !isValueByte[c] {
			return fieldIdx{}, errFieldValue
		}
	}
	return fieldIdx{int32(off), int32(off + i), int32(off + vs), int32(off + ve)}, nil
}

// teState accumulates the transfer codings of every Transfer-Encoding
// field line, in order.
type teState struct {
	seen         bool
	codings      int  // number of codings listed
	chunkedCount int  // how many of them are "chunked"
	lastChunked  bool // the last one listed is "chunked"
}

func (t *teState) add(v []byte) error {
	t.seen = true
	var err error
	n := 0
	forEachElement(v, func(el []byte) {
		n++
		if len(el) == 0 {
			err = badRequest("empty transfer coding")
			return
		}
		t.codings++
		t.lastChunked = equalFold(el, "chunked")
		if t.lastChunked {
			t.chunkedCount++
		}
	})
	if err == nil && t.codings == 0 {
		err = badRequest("empty Transfer-Encoding")
	}
	return err
}

// forEachElement calls f with each comma-separated element of a list
// value, OWS trimmed. Empty elements are passed too.
func forEachElement(v []byte, f func([]byte)) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		el := trimOWS(v[:i])
		f(el)
		if i == len(v) {
			return
		}
		v = v[i+1:]
		if len(v) == 0 {
			f(nil) // trailing comma: an empty element
		}
	}
}

// forEachToken is forEachElement without the empty elements.
func forEachToken(v []byte, f func([]byte)) {
	forEachElement(v, func(el []byte) {
		if len(el) > 0 {
			f(el)
		}
	})
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseContentLength accepts 1*DIGIT (RFC 9110 §8.6) up to 18 digits, so
// the value fits an int64 without overflow checks.
func parseContentLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// validHost checks a Host value or the authority of an absolute-form
// target: host [":" port] with the characters RFC 3986 allows; no userinfo.
// An empty Host value is valid (RFC 9112 §3.2).
func validHost(b []byte) bool {
	for _, c := range b {
		if !isHostByte[c] {
			return false
		}
	}
	return true
}

// hasScheme reports whether t starts with "scheme://".
func hasScheme(t []byte) bool {
	k := schemeLen(t)
	return k > 0 && len(t) >= k+3 && string(t[k:k+3]) == "://"
}

// schemeLen is the length of the scheme = ALPHA *( ALPHA / DIGIT / "+" /
// "-" / "." ) at the start of t, 0 when none.
func schemeLen(t []byte) int {
	if len(t) == 0 || !isAlpha(t[0]) {
		return 0
	}
	i := 1
	for i < len(t) && (isAlpha(t[i]) || isDigit(t[i]) || t[i] == '+' || t[i] == '-' || t[i] == '.') {
		i++
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// equalFold reports whether b equals the lower-case ASCII string s, ignoring
// ASCII case in b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// equalFoldString is equalFold for a string.
func equalFoldString(a, s string) bool {
	if len(a) != len(s) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
