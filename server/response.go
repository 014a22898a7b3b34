package server

import (
	"io"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// ResponseWriter sends the response to one request. It is used by the
// handler's goroutine only and is valid until the handler returns.
//
// Nothing is written by Start: the head goes out with the first non-empty
// Write (or Flush, SendFile, or when the handler returns). Every Write
// reaches the wire (the kernel's socket buffer) before it returns, so a
// streamed body arrives as it is produced; the head and the first chunk
// share one write system call. No write is delayed to be coalesced with the
// next: WriteFinal is how a caller that knows it has the last bytes gets a
// complete response in one system call (see WriteFinal).
//
// Framing is the server's. A Content-Length from the application is
// honoured: never more bytes are sent (Write returns ErrContentLength and
// drops the excess) and fewer close the connection. Without one, the body
// is chunked on HTTP/1.1 and close-delimited on HTTP/1.0. HEAD responses
// and 1xx/204/304 carry no body whatever the handler writes. Hop-by-hop
// headers from the application are dropped; "Connection: close" among them
// closes the connection after the response.
type ResponseWriter struct {
	c   *conn
	req *Request
	// h2, when set, is the HTTP/2 stream the response goes to (c is nil):
	// Start is shared, the wire methods hand over to h2 (see h2.go).
	h2 *h2stream

	// Recorded by Start (replaced by a later Start until the head is sent).
	started   bool
	status    string        // "200 OK"
	code      int           // 200
	hdr       []HeaderField // the application's headers minus hop-by-hop and Content-Length
	appCL     int64         // the application's Content-Length, -1 when none
	hasDate   bool
	hasServer bool
	appClose  bool // the application sent "Connection: close"

	// Set when the head is built (headSent is set before the head's write
	// so that a failed write is never retried with a second head).
	headSent    bool
	bodyAllowed bool  // body bytes go on the wire (not HEAD, 1xx, 204, 304)
	chunked     bool  // Transfer-Encoding: chunked
	cl          int64 // the Content-Length the head declared, -1 when none
	closeAfter  bool  // close the connection after this response

	written  int64 // body bytes written to the wire (framing excluded)
	done     bool  // the response is complete (WriteFinal, or finished)
	aborted  bool  // Abort was called
	panicked bool  // the handler panicked
	err      error // sticky write error

	buf  []byte      // head and small bodies, reused
	iov  [3][]byte   // backing array of bufs
	bufs net.Buffers // for writev of large bodies
}

// Framing constants.
var (
	crlf          = []byte("\r\n")
	lastChunk     = []byte("0\r\n\r\n")
	crlfLastChunk = []byte("\r\n0\r\n\r\n")
)

// copyLimit is the body size up to which a Write copies its bytes next to
// the head or chunk framing (one write system call); larger bodies are sent
// with writev.
const copyLimit = 16 << 10

func (w *ResponseWriter) reset(c *conn, req *Request) {
	buf, hdr := w.buf[:0], w.hdr[:0]
	clear(w.hdr)
	*w = ResponseWriter{c: c, req: req, buf: buf, hdr: hdr, appCL: -1, cl: -1}
}

// Start records the status line and headers of the response. Nothing is
// written yet. It may be called again to replace them until the head has
// been sent (PEP 3333: start_response with exc_info); after that it returns
// ErrHeadersSent. An invalid status or header makes Start return an error
// (wrapping ErrInvalidStatus or ErrInvalidHeader) and record nothing.
//
// status is "NNN reason": a 3-digit code 100–999, one space, and a reason
// of visible characters, spaces, tabs or obs-text (RFC 9112 §4). Header
// names must be tokens; values must not contain CR, LF, NUL or other
// control characters except HTAB (response splitting).
func (w *ResponseWriter) Start(status string, h []HeaderField) error {
	if w.headSent {
		return ErrHeadersSent
	}
	code, ok := parseStatus(status)
	if !ok {
		return &startError{ErrInvalidStatus, strconv.Quote(status)}
	}
	appCL := int64(-1)
	var hasDate, hasServer, appClose bool
	for i := range h {
		name, value := h[i].Name, h[i].Value
		if !validToken(name) {
			return &startError{ErrInvalidHeader, "name " + strconv.Quote(name)}
		}
		for j := 0; j < len(value); j++ {
			if !isValueByte[value[j]] {
				return &startError{ErrInvalidHeader, "value of " + name}
			}
		}
		switch headerClass(name) {
		case hcContentLength:
			n, ok := parseContentLength([]byte(value))
			if !ok || (appCL >= 0 && n != appCL) {
				return &startError{ErrInvalidHeader, "Content-Length " + strconv.Quote(value)}
			}
			appCL = n
		case hcConnection:
			forEachToken([]byte(value), func(tok []byte) {
				if equalFold(tok, "close") {
					appClose = true
				}
			})
		case hcDate:
			hasDate = true
		case hcServer:
			hasServer = true
		}
	}
	// Valid: record it.
	clear(w.hdr)
	w.hdr = w.hdr[:0]
	for i := range h {
		switch headerClass(h[i].Name) {
		case hcHopByHop, hcConnection, hcContentLength:
			continue
		}
		w.hdr = append(w.hdr, h[i])
	}
	w.started = true
	w.status, w.code = status, code
	w.appCL, w.hasDate, w.hasServer, w.appClose = appCL, hasDate, hasServer, appClose
	return nil
}

// Header classes that matter to the server.
const (
	hcOther = iota
	hcHopByHop
	hcConnection
	hcContentLength
	hcDate
	hcServer
)

// headerClass classifies a response header name. Hop-by-hop fields (RFC
// 9110 §7.6.1) are the server's business, not the application's.
func headerClass(name string) int {
	switch len(name) {
	case 2:
		if equalFoldString(name, "te") {
			return hcHopByHop
		}
	case 4:
		if equalFoldString(name, "date") {
			return hcDate
		}
	case 6:
		if equalFoldString(name, "server") {
			return hcServer
		}
	case 7:
		if equalFoldString(name, "trailer") || equalFoldString(name, "upgrade") {
			return hcHopByHop
		}
	case 10:
		if equalFoldString(name, "connection") {
			return hcConnection
		}
		if equalFoldString(name, "keep-alive") {
			return hcHopByHop
		}
	case 14:
		if equalFoldString(name, "content-length") {
			return hcContentLength
		}
	case 16:
		if equalFoldString(name, "proxy-connection") {
			return hcHopByHop
		}
	case 17:
		if equalFoldString(name, "transfer-encoding") {
			return hcHopByHop
		}
	}
	return hcOther
}

// parseStatus validates "NNN reason" and returns NNN.
func parseStatus(s string) (int, bool) {
	if len(s) < 4 || s[3] != ' ' || s[0] < '1' || s[0] > '9' || !isDigit(s[1]) || !isDigit(s[2]) {
		return 0, false
	}
	for i := 4; i < len(s); i++ {
		if !isValueByte[s[i]] { // HTAB / SP / VCHAR / obs-text
			return 0, false
		}
	}
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0'), true
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar[s[i]] {
			return false
		}
	}
	return true
}

// Write sends body bytes (the head first if not yet sent) and returns once
// they are written to the connection. It returns the number of bytes of p
// accepted: for HEAD, 1xx, 204 and 304 responses all of p is accepted and
// dropped.
func (w *ResponseWriter) Write(p []byte) (int, error) { return w.write(p, false) }

// WriteFinal is Write for the last bytes of the body: the response is
// complete when it returns (further writes return ErrResponseDone). If the
// head has not been sent and the application gave no Content-Length, the
// head declares Content-Length: len(p) instead of chunked framing (which
// also lets an HTTP/1.0 client keep the connection). Head, body and (for a
// chunked body) the terminating chunk go out in one system call.
func (w *ResponseWriter) WriteFinal(p []byte) (int, error) { return w.write(p, true) }

func (w *ResponseWriter) write(p []byte, final bool) (int, error) {
	switch {
	case !w.started:
		return 0, ErrNotStarted
	case w.done || w.aborted:
		return 0, ErrResponseDone
	case w.err != nil:
		return 0, w.err
	case len(p) == 0 && !final:
		return 0, nil
	}
	if w.h2 != nil {
		return w.h2.write(p, final)
	}
	headPending := !w.headSent
	if headPending {
		finalLen := int64(-1)
		if final {
			finalLen = int64(len(p))
		}
		w.buildHead(finalLen)
	}
	if final {
		w.done = true
	}
	if !w.bodyAllowed {
		if headPending {
			w.send(nil, true, false)
		}
		return len(p), w.err
	}
	var lenErr error
	if w.cl >= 0 {
		if rem := w.cl - w.written; int64(len(p)) > rem {
			p = p[:rem]
			lenErr = ErrContentLength
		}
	}
	n := w.send(p, headPending, final)
	if w.err != nil {
		return n, w.err
	}
	return n, lenErr
}

// send writes [head] [chunk-size CRLF] p [CRLF] [last-chunk] in one system
// call (copying p when small, writev otherwise) and returns how many bytes
// of p were written. The head, when pending, is already in w.buf.
func (w *ResponseWriter) send(p []byte, headPending, final bool) int {
	b := w.buf
	if !headPending {
		b = b[:0]
	}
	var tail []byte
	if w.chunked {
		if len(p) > 0 {
			b = strconv.AppendInt(b, int64(len(p)), 16)
			b = append(b, crlf...)
			tail = crlf
			if final {
				tail = crlfLastChunk
			}
		} else if final {
			tail = lastChunk
		}
	}
	if len(b) == 0 && len(tail) == 0 {
		if len(p) == 0 {
			return 0
		}
		n, err := w.c.write(p)
		w.written += int64(n)
		w.setErr(err)
		return n
	}
	prefix := len(b)
	if len(p) <= copyLimit {
		b = append(b, p...)
		b = append(b, tail...)
		w.buf = b[:0]
		n, err := w.c.write(b)
		w.setErr(err)
		sent := min(max(n-prefix, 0), len(p))
		w.written += int64(sent)
		return sent
	}
	w.buf = b[:0]
	w.iov = [3][]byte{b, p, tail}
	w.bufs = w.iov[:]
	n64, err := w.c.writeBuffers(&w.bufs)
	w.iov = [3][]byte{}
	w.setErr(err)
	sent := int(min(max(n64-int64(prefix), 0), int64(len(p))))
	w.written += int64(sent)
	return sent
}

func (w *ResponseWriter) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
		w.closeAfter = true
	}
}

// buildHead decides the framing and connection management of the response
// and puts its head into w.buf. finalLen is the whole body length when it
// is known (WriteFinal, or the handler returned), else -1.
func (w *ResponseWriter) buildHead(finalLen int64) {
	c, req := w.c, w.req
	w.headSent = true
	code := w.code
	noBody := code < 200 || code == 204 || code == 304
	isHead := req.Method == "HEAD"
	w.bodyAllowed = !noBody && !isHead

	b := append(w.buf[:0], "HTTP/1.1 "...)
	b = append(b, w.status...)
	b = append(b, crlf...)
	for _, f := range w.hdr {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, crlf...)
	}
	if !w.hasDate {
		b = appendDate(b, time.Now())
	}
	if !w.hasServer {
		b = append(b, c.srv.serverLine...)
	}
	lengthKnown := true
	switch {
	case noBody:
		// RFC 9110 §8.6: no Content-Length in 1xx/204; a 304 may repeat
		// the one of the 200 it stands for. No body, no chunked framing.
		if code == 304 && w.appCL >= 0 {
			b = appendContentLength(b, w.appCL)
		}
		if code < 200 {
			w.closeAfter = true // a 1xx as final response: the exchange is broken
		}
	case w.appCL >= 0:
		b = appendContentLength(b, w.appCL)
		w.cl = w.appCL
	case finalLen >= 0 && (!isHead || finalLen > 0):
		b = appendContentLength(b, finalLen)
		w.cl = finalLen
	case isHead:
		lengthKnown = false // a HEAD without length: nothing to frame
	case req.ProtoMinor == 1:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
		w.chunked = true
	default:
		lengthKnown = false
		w.closeAfter = true // HTTP/1.0: the body ends when the connection closes
	}
	if req.Close || w.appClose || c.srv.shuttingDown() || c.body.err != nil || c.srv.cfg.KeepAliveTimeout < 0 || c.shed() {
		w.closeAfter = true
	}
	if c.body.undrainable(drainMax) {
		// The handler has not read the body and it is too long to drain:
		// the connection will close, so the response says so.
		w.closeAfter = true
	}
	if c.body.expect100 && c.body.unread() {
		// The client waits for a 100 it will never get; it may or may not
		// send the body. Do not read it: close after the response.
		c.body.expect100 = false
		w.closeAfter = true
	}
	if req.ProtoMinor == 0 && !lengthKnown {
		w.closeAfter = true
	}
	if w.closeAfter {
		b = append(b, "Connection: close\r\n"...)
	} else if req.ProtoMinor == 0 {
		// HTTP/1.0 keep-alive: the client asked for it (else req.Close)
		// and the response length is known.
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	b = append(b, crlf...)
	w.buf = b
}

func appendContentLength(b []byte, n int64) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, crlf...)
}

// Flush sends the head now if it has not been sent. Body bytes are never
// buffered, so there is nothing else to flush.
func (w *ResponseWriter) Flush() error {
	if !w.started {
		return ErrNotStarted
	}
	if !w.headSent && !w.aborted {
		if w.h2 != nil {
			w.h2.buildHead(-1)
			w.h2.flush()
		} else {
			w.buildHead(-1)
			w.send(nil, true, false)
		}
	}
	return w.err
}

// SendFile sends n bytes of f from offset off (n = -1: up to the end of
// the file) as body bytes, the head first if not yet sent. When the body
// is not chunked and the connection is TCP, the kernel copies the file
// (sendfile); otherwise it is read and written in chunks. It moves the
// file offset. The bytes count against a declared Content-Length like
// Write's.
func (w *ResponseWriter) SendFile(f *os.File, off, n int64) (int64, error) {
	switch {
	case !w.started:
		return 0, ErrNotStarted
	case w.done || w.aborted:
		return 0, ErrResponseDone
	case w.err != nil:
		return 0, w.err
	}
	if n < 0 {
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		n = max(st.Size()-off, 0)
	}
	if w.h2 != nil {
		return w.h2.sendFile(f, off, n)
	}
	if !w.headSent {
		w.buildHead(-1)
		w.send(nil, true, false)
		if w.err != nil {
			return 0, w.err
		}
	}
	if !w.bodyAllowed || n == 0 {
		return n, nil
	}
	var lenErr error
	if w.cl >= 0 {
		if rem := w.cl - w.written; n > rem {
			n = rem
			lenErr = ErrContentLength
		}
	}
	var sent int64
	var err error
	if w.chunked {
		sent, err = w.copyChunked(f, off, n)
	} else {
		sent, err = w.sendfile(f, off, n)
	}
	if err != nil {
		return sent, err
	}
	return sent, lenErr
}

// sendfileSegment bounds the bytes sent under one write deadline.
const sendfileSegment = 1 << 20

func (w *ResponseWriter) sendfile(f *os.File, off, n int64) (int64, error) {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	var sent int64
	for sent < n {
		seg := min(n-sent, sendfileSegment)
		w.c.armWrite()
		// io.CopyN reaches (*net.TCPConn).ReadFrom with an
		// *io.LimitedReader over an *os.File: sendfile(2).
		k, err := io.CopyN(w.c.rwc, f, seg)
		sent += k
		w.written += k
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF // file shorter than announced
			}
			w.setErr(err)
			return sent, err
		}
	}
	return sent, nil
}

func (w *ResponseWriter) copyChunked(f *os.File, off, n int64) (int64, error) {
	bp := getBuf(64 << 10)
	defer putBuf(bp)
	buf := *bp
	var sent int64
	for sent < n {
		k, err := f.ReadAt(buf[:min(int64(len(buf)), n-sent)], off+sent)
		if k > 0 {
			m := w.send(buf[:k], false, false)
			sent += int64(m)
			if w.err != nil {
				return sent, w.err
			}
		}
		if err != nil {
			if err == io.EOF {
				if sent < n {
					err = io.ErrUnexpectedEOF
				} else {
					err = nil
				}
			}
			if err != nil {
				w.setErr(err)
				return sent, err
			}
		}
	}
	return sent, nil
}

// HeadersSent reports whether the response head has been written (or is
// being written): Start can no longer change it.
func (w *ResponseWriter) HeadersSent() bool { return w.headSent }

// Status returns the status code recorded by Start, 0 before Start.
func (w *ResponseWriter) Status() int { return w.code }

// Abort marks the response as impossible to complete (the application
// failed after the head was sent): no terminating chunk is written and the
// connection is closed once the handler returns, so the client sees a
// truncated response (on HTTP/2 the stream is reset instead). Called
// before the head is sent, the server answers 500 instead and closes the
// connection.
func (w *ResponseWriter) Abort() {
	w.aborted = true
	w.closeAfter = true
}

// finish completes the response after the handler returned: 500 when the
// handler never called Start (or panicked or aborted before the head), the
// head when nothing was written, the terminating chunk of a chunked body.
func (w *ResponseWriter) finish() {
	switch {
	case !w.headSent && (!w.started || w.panicked || w.aborted):
		// Nothing sent yet: answer 500 instead. After a panic or Abort
		// the connection closes too (Abort already set closeAfter).
		if w.panicked {
			w.closeAfter = true
		}
		w.aborted = false
		w.Start("500 Internal Server Error", internalErrorHeader)
		w.write(internalErrorBody, true)
	case w.panicked || w.aborted:
		w.closeAfter = true
	case !w.headSent:
		w.buildHead(0)
		w.send(nil, true, false)
		w.done = true
	case w.chunked && !w.done && w.err == nil:
		w.send(nil, false, true)
		w.done = true
	}
	if w.err != nil || (w.bodyAllowed && w.cl >= 0 && w.written < w.cl) {
		w.closeAfter = true // the client cannot know where this response ends
	}
}

var (
	internalErrorHeader = []HeaderField{{"Content-Type", "text/plain; charset=utf-8"}}
	internalErrorBody   = []byte("Internal Server Error\n")
)

// The Date header line, formatted at most once per second.
type dateLine struct {
	sec  int64
	line []byte // "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
}

var cachedDate atomic.Pointer[dateLine]

func appendDate(b []byte, now time.Time) []byte {
	sec := now.Unix()
	d := cachedDate.Load()
	if d == nil || d.sec != sec {
		line := now.UTC().AppendFormat([]byte("Date: "), "Mon, 02 Jan 2006 15:04:05 GMT")
		d = &dateLine{sec: sec, line: append(line, crlf...)}
		cachedDate.Store(d)
	}
	return append(b, d.line...)
}
