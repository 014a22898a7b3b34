package logs

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultAccessFormat is gunicorn's default --access-log-format.
const DefaultAccessFormat = `%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`

// JSONFormat is the --access-log-format value selecting JSON lines.
const JSONFormat = "json"

// AccessRecord is what the access log knows about one finished request.
type AccessRecord struct {
	Start      time.Time     // when the request head arrived
	Duration   time.Duration // from Start until the response was complete
	RemoteAddr string        // client "ip:port" or "ip"; "" on a unix socket
	Method     string
	Path       string // the request target's path as sent, undecoded
	Query      string // without the '?'
	Proto      string // "HTTP/1.1"
	Status     int
	Bytes      int64 // response body bytes sent

	// RequestHeader and ResponseHeader return the value of a header by
	// case-insensitive name, "" when absent. Either may be nil.
	RequestHeader  func(name string) string
	ResponseHeader func(name string) string

	PID int // the worker's; 0: the AccessLogger's process
}

// End is when the response was complete: the time %(t)s and "ts" print,
// the time gunicorn logs.
func (r *AccessRecord) End() time.Time {
	if r.Start.IsZero() {
		return time.Now()
	}
	return r.Start.Add(r.Duration)
}

func (r *AccessRecord) reqHeader(name string) string {
	if r.RequestHeader == nil {
		return ""
	}
	return r.RequestHeader(name)
}

func (r *AccessRecord) respHeader(name string) string {
	if r.ResponseHeader == nil {
		return ""
	}
	return r.ResponseHeader(name)
}

// host is %(h)s: the remote address without its port.
func (r *AccessRecord) host() string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// user is %(u)s: the user name of HTTP Basic authorization, as gunicorn.
func (r *AccessRecord) user() string {
	auth := r.reqHeader("Authorization")
	if len(auth) < 6 || !strings.EqualFold(auth[:6], "basic ") {
		return ""
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(auth[6:]))
	if err != nil {
		return ""
	}
	u, _, _ := strings.Cut(string(dec), ":")
	return u
}

// atom is one %(name)s of a gunicorn access log format.
type atom uint8

const (
	atomLiteral    atom = iota
	atomUnknown         // printed as "-", as gunicorn's SafeAtoms does
	atomH               // h remote address
	atomL               // l "-"
	atomU               // u user name (Basic auth)
	atomT               // t [10/Oct/2000:13:55:36 -0700]
	atomR               // r request line "GET /p?q HTTP/1.1"
	atomS               // s status
	atomM               // m method
	atomURL             // U path
	atomQ               // q query string
	atomProto           // H protocol
	atomB               // b body bytes, "-" for 0
	atomBytes           // B body bytes
	atomF               // f Referer
	atomA               // a User-Agent
	atomSecs            // T whole seconds
	atomMicros          // D microseconds
	atomMillis          // M milliseconds
	atomDecimal         // L seconds with 6 decimals
	atomPID             // p <PID>
	atomReqHeader       // {name}i
	atomRespHeader      // {name}o
)

var atomNames = map[string]atom{
	"h": atomH, "l": atomL, "u": atomU, "t": atomT, "r": atomR, "s": atomS,
	"m": atomM, "U": atomURL, "q": atomQ, "H": atomProto, "b": atomB,
	"B": atomBytes, "f": atomF, "a": atomA, "T": atomSecs, "D": atomMicros,
	"M": atomMillis, "L": atomDecimal, "p": atomPID,
}

type segment struct {
	atom atom
	text string // the literal, or the header name of {name}i / {name}o
}

// compileFormat splits a gunicorn format into literals and atoms. Python's
// "%%" is a literal '%'; any conversion letter after "%(name)" is taken as s.
func compileFormat(format string) ([]segment, error) {
	var segs []segment
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			segs = append(segs, segment{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			lit.WriteByte(c)
			continue
		}
		switch format[i+1] {
		case '%':
			lit.WriteByte('%')
			i++
			continue
		case '(':
		default:
			lit.WriteByte(c)
			continue
		}
		end := strings.IndexByte(format[i+2:], ')')
		if end < 0 || i+2+end+1 >= len(format) {
			return nil, fmt.Errorf("access log format: unterminated %q at byte %d", format[i:], i)
		}
		name := format[i+2 : i+2+end]
		i += 2 + end + 1 // at the conversion letter
		flush()
		segs = append(segs, parseAtom(name))
	}
	flush()
	return segs, nil
}

func parseAtom(name string) segment {
	if a, ok := atomNames[name]; ok {
		return segment{atom: a}
	}
	if len(name) > 3 && name[0] == '{' && name[len(name)-2] == '}' {
		h := name[1 : len(name)-2]
		switch name[len(name)-1] {
		case 'i':
			return segment{atom: atomReqHeader, text: h}
		case 'o':
			return segment{atom: atomRespHeader, text: h}
		}
	}
	return segment{atom: atomUnknown}
}

// AccessLogger writes one line per request. It is safe for concurrent use;
// a nil *AccessLogger logs nothing (access log off).
type AccessLogger struct {
	w    io.Writer
	file *File // set when opened by path: Reopen and Close act on it
	segs []segment
	json bool
	pid  int
}

// NewAccessLogger returns an AccessLogger writing to w in format: gunicorn
// atoms, or JSONFormat.
func NewAccessLogger(w io.Writer, format string) (*AccessLogger, error) {
	l := &AccessLogger{w: w, pid: os.Getpid()}
	if format == JSONFormat {
		l.json = true
		return l, nil
	}
	segs, err := compileFormat(format)
	if err != nil {
		return nil, err
	}
	l.segs = segs
	return l, nil
}

// CheckFormat reports whether format is a usable --access-log-format.
func CheckFormat(format string) error {
	if format == JSONFormat {
		return nil
	}
	_, err := compileFormat(format)
	return err
}

// OpenAccessLog opens the access log at path ("-": stdout) in format. The
// path "" means no access log: it returns nil, nil, and nil logs nothing.
func OpenAccessLog(path, format string) (*AccessLogger, error) {
	if path == "" {
		return nil, nil
	}
	if err := CheckFormat(format); err != nil {
		return nil, err
	}
	f, err := OpenFile(path, os.Stdout)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	l, _ := NewAccessLogger(f, format)
	l.file = f
	return l, nil
}

// Log formats r and writes it as one line with one write. Write errors are
// dropped: a full disk must not fail requests.
func (l *AccessLogger) Log(r *AccessRecord) {
	if l == nil {
		return
	}
	bp := getBuf()
	*bp = l.AppendLine((*bp)[:0], r)
	l.w.Write(*bp)
	putBuf(bp)
}

// AppendLine appends r's log line, newline included, to dst.
func (l *AccessLogger) AppendLine(dst []byte, r *AccessRecord) []byte {
	if l.json {
		return l.appendJSON(dst, r)
	}
	for _, s := range l.segs {
		dst = l.appendAtom(dst, r, s)
	}
	return append(dst, '\n')
}

// Reopen reopens the log file at its path (SIGUSR1 after rotation).
func (l *AccessLogger) Reopen() error {
	if l == nil || l.file == nil {
		return nil
	}
	return l.file.Reopen()
}

// Close closes the log file opened by OpenAccessLog.
func (l *AccessLogger) Close() error {
	if l == nil || l.file == nil {
		return nil
	}
	return l.file.Close()
}

func (l *AccessLogger) pidOf(r *AccessRecord) int {
	if r.PID != 0 {
		return r.PID
	}
	return l.pid
}

func (l *AccessLogger) appendAtom(b []byte, r *AccessRecord, s segment) []byte {
	switch s.atom {
	case atomLiteral:
		return append(b, s.text...)
	case atomH:
		return appendSafe(b, r.host())
	case atomU:
		return appendSafe(b, r.user())
	case atomT:
		b = append(b, '[')
		b = r.End().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
		return append(b, ']')
	case atomR:
		b = appendSafe(b, r.Method)
		b = append(b, ' ')
		b = appendEscaped(b, r.Path)
		if r.Query != "" {
			b = append(b, '?')
			b = appendEscaped(b, r.Query)
		}
		b = append(b, ' ')
		return appendEscaped(b, r.Proto)
	case atomS:
		return strconv.AppendInt(b, int64(r.Status), 10)
	case atomM:
		return appendSafe(b, r.Method)
	case atomURL:
		return appendSafe(b, r.Path)
	case atomQ:
		return appendEscaped(b, r.Query) // "" when none, as gunicorn
	case atomProto:
		return appendSafe(b, r.Proto)
	case atomB:
		if r.Bytes == 0 {
			return append(b, '-')
		}
		return strconv.AppendInt(b, r.Bytes, 10)
	case atomBytes:
		return strconv.AppendInt(b, r.Bytes, 10)
	case atomF:
		return appendSafe(b, r.reqHeader("Referer"))
	case atomA:
		return appendSafe(b, r.reqHeader("User-Agent"))
	case atomSecs:
		return strconv.AppendInt(b, int64(r.Duration/time.Second), 10)
	case atomMicros:
		return strconv.AppendInt(b, int64(r.Duration/time.Microsecond), 10)
	case atomMillis:
		return strconv.AppendInt(b, int64(r.Duration/time.Millisecond), 10)
	case atomDecimal:
		us := int64(r.Duration / time.Microsecond)
		b = strconv.AppendInt(b, us/1e6, 10)
		b = append(b, '.')
		frac := strconv.FormatInt(us%1e6, 10)
		b = append(b, "000000"[len(frac):]...)
		return append(b, frac...)
	case atomPID:
		b = append(b, '<')
		b = strconv.AppendInt(b, int64(l.pidOf(r)), 10)
		return append(b, '>')
	case atomReqHeader:
		return appendSafe(b, r.reqHeader(s.text))
	case atomRespHeader:
		return appendSafe(b, r.respHeader(s.text))
	}
	return append(b, '-') // atomL, atomUnknown
}

// appendSafe appends s escaped, or "-" when it is empty (gunicorn's
// placeholder for a missing value).
func appendSafe(b []byte, s string) []byte {
	if s == "" {
		return append(b, '-')
	}
	return appendEscaped(b, s)
}

// appendEscaped appends s with '"' as \" (gunicorn's SafeAtoms), and '\\'
// and bytes outside printable ASCII as \xNN, so a value can neither end a
// quoted field nor forge a line.
func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c >= 0x7f:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendJSON appends one JSON object:
// {"ts":…,"remote":…,"method":…,"path":…,"query":…,"proto":…,"status":…,
// "bytes":…,"duration_ms":…,"referer":…,"user_agent":…,"request_id":…}
func (l *AccessLogger) appendJSON(b []byte, r *AccessRecord) []byte {
	b = append(b, `{"ts":"`...)
	b = r.End().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, `","remote":`...)
	b = appendJSONString(b, r.host())
	b = append(b, `,"method":`...)
	b = appendJSONString(b, r.Method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, r.Path)
	b = append(b, `,"query":`...)
	b = appendJSONString(b, r.Query)
	b = append(b, `,"proto":`...)
	b = appendJSONString(b, r.Proto)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, r.Bytes, 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(r.Duration)/float64(time.Millisecond), 'f', 3, 64)
	b = append(b, `,"referer":`...)
	b = appendJSONString(b, r.reqHeader("Referer"))
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, r.reqHeader("User-Agent"))
	b = append(b, `,"request_id":`...)
	id := r.reqHeader("X-Request-ID")
	if id == "" {
		id = r.respHeader("X-Request-ID")
	}
	b = appendJSONString(b, id)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string. Bytes that are not UTF-8
// (raw paths may hold any) become U+FFFD, so the line stays valid JSON.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else if r == '\u2028' || r == '\u2029' {
			b = append(b, `\u202`...)
			b = append(b, hex[r&15])
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
