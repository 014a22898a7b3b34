package server

import (
	"bufio"
	"bytes"
	"io"
	"sync"
	"time"
)

// bodyKind is how the length of a request body is known (RFC 9112 §6.3).
type bodyKind uint8

const (
	bodyNone    bodyKind = iota // no Content-Length, no Transfer-Encoding: empty
	bodyLength                  // Content-Length
	bodyChunked                 // Transfer-Encoding: chunked
	bodyStream                  // HTTP/2: the DATA frames of a stream (Body.h2)
)

// Body is the body of a Request. Reads return the decoded bytes (the
// chunked framing removed), io.EOF exactly at the end, and never consume
// anything past the body: a pipelined next request stays intact in the
// connection's buffer. A Body is used by one goroutine (the handler's) and
// is valid until the handler returns.
//
// Bytes prefetched before the handler was called come first. On the first
// Read of an HTTP/1.1 request that sent "Expect: 100-continue" (and has a
// body), "HTTP/1.1 100 Continue" is written before reading; a request whose
// handler never reads the body gets no 100 and its connection is closed
// after the response.
//
// Errors are sticky and typed: ErrBodyTooLarge, ErrBodyTimeout,
// ErrMalformedBody, io.ErrUnexpectedEOF (client gone mid-body); after any
// of them the server closes the connection once the handler returns (on
// HTTP/2, where the body is the stream's DATA frames, an error concerns
// that stream only: see h2.go).
type Body struct {
	c       *conn     // nil in unit tests and on HTTP/2: no 100 Continue, no deadlines
	h2      *h2stream // bodyStream: the stream the body is read from
	br      *bufio.Reader
	kind    bodyKind
	timeout time.Duration // per wire read

	remaining int64         // bodyLength: bytes not yet read from the wire
	ch        chunkedReader // bodyChunked: the decoder

	pre    []byte  // prefetched bytes not yet handed out
	preBuf *[]byte // pooled buffer backing pre (nil when pre is zero-copy)

	wireDone  bool  // the body's last byte has been read from the wire
	err       error // sticky wire error
	expect100 bool  // a 100 Continue is due before the first wire read
}

// reset prepares b for a new request body on br.
func (b *Body) reset(c *conn, br *bufio.Reader, kind bodyKind, cl int64, limit int64, maxFields, fieldLimit int, timeout time.Duration) {
	b.release()
	*b = Body{c: c, br: br, kind: kind, timeout: timeout}
	switch kind {
	case bodyNone:
		b.wireDone = true
	case bodyLength:
		b.remaining = cl
		b.wireDone = cl == 0
	case bodyChunked:
		b.ch = chunkedReader{br: br, limit: limit, maxTrailers: maxFields, trailerLine: fieldLimit}
	}
}

// release returns the prefetch buffer to its pool.
func (b *Body) release() {
	if b.preBuf != nil {
		putBuf(b.preBuf)
		b.preBuf = nil
	}
	b.pre = nil
}

// Read reads decoded body bytes into p.
func (b *Body) Read(p []byte) (int, error) {
	if len(b.pre) > 0 {
		n := copy(p, b.pre)
		b.pre = b.pre[n:]
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.wireDone {
		return 0, io.EOF
	}
	if b.expect100 {
		// RFC 9110 §10.1.1: the server sends 100 when it is ready to read
		// the body; reading it is that moment.
		b.expect100 = false
		if b.c != nil {
			if err := b.c.writeContinue(); err != nil {
				b.err = err
				return 0, err
			}
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	return b.readWire(p)
}

// TakePrefetched returns the body bytes already in memory and removes them
// from the body: the next Read continues after them. complete reports that
// they are the whole (rest of the) body. The bytes stay valid until the
// handler returns.
func (b *Body) TakePrefetched() (data []byte, complete bool) {
	data = b.pre
	b.pre = nil
	return data, b.wireDone && b.err == nil
}

// unread reports whether body bytes remain on the wire.
func (b *Body) unread() bool { return !b.wireDone && b.err == nil }

// readWire reads decoded bytes from the connection, with the read deadline
// of a body read, and maps errors to the typed ones.
func (b *Body) readWire(p []byte) (n int, err error) {
	if b.kind == bodyStream {
		return b.h2.readBody(p)
	}
	if b.c != nil && (b.kind != bodyLength || b.br.Buffered() == 0) {
		b.c.setReadDeadline(time.Now().Add(b.timeout))
	}
	switch b.kind {
	case bodyLength:
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.br.Read(p)
		b.remaining -= int64(n)
		if b.remaining == 0 {
			b.wireDone = true
		}
		if n > 0 {
			return n, nil // a read error, if any, comes again on the next call
		}
	case bodyChunked:
		n, err = b.ch.Read(p)
		if err == io.EOF {
			b.wireDone = true
			if n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		if n > 0 && err == nil {
			return n, nil
		}
		if n > 0 {
			// Hand out the data; the error is sticky and comes next.
			b.err = mapBodyErr(err)
			return n, nil
		}
	}
	if err == nil {
		return 0, nil
	}
	b.err = mapBodyErr(err)
	return 0, b.err
}

func mapBodyErr(err error) error {
	switch {
	case err == io.EOF:
		return io.ErrUnexpectedEOF
	case isTimeout(err):
		return ErrBodyTimeout
	}
	return err
}

// prefetch reads the body into memory when its decoded size is at most max
// bytes (a Content-Length body larger than max is left on the wire
// entirely; a chunked body is read up to max bytes). A body already in the
// read buffer is taken without copying: nothing reads the connection again
// before the handler returns.
func (b *Body) prefetch(max int) error {
	switch b.kind {
	case bodyLength:
		if b.wireDone || b.remaining > int64(max) {
			return nil
		}
		n := int(b.remaining)
		if b.br.Buffered() >= n {
			b.pre, _ = b.br.Peek(n)
			b.br.Discard(n)
			b.remaining = 0
			b.wireDone = true
			return nil
		}
		b.preBuf = getBuf(n)
		buf := (*b.preBuf)[:n]
		got := 0
		for got < n {
			k, err := b.readWire(buf[got:])
			got += k
			if err != nil {
				return err
			}
		}
		b.pre = buf
	case bodyChunked:
		size := min(max, 4<<10)
		b.preBuf = getBuf(size)
		buf := (*b.preBuf)[:0]
		for !b.wireDone && len(buf) < max {
			if len(buf) == cap(buf) {
				nb := getBuf(min(max, 2*cap(buf)))
				buf = append((*nb)[:0], buf...)
				putBuf(b.preBuf)
				b.preBuf = nb
			}
			k, err := b.readWire(buf[len(buf):min(cap(buf), max)])
			buf = buf[:len(buf)+k]
			if err == io.EOF {
				break // empty rest: wireDone is set
			}
			if err != nil {
				b.pre = buf
				return err
			}
			if b.err != nil { // data came with an error: report it now
				b.pre = buf
				return b.err
			}
		}
		b.pre = buf
	}
	return nil
}

// undrainable reports whether what is left of a Content-Length body on the
// wire is more than max bytes, so that the connection will close after the
// response instead of draining it: the head must then say "Connection:
// close" (RFC 9112 §9.6). A chunked body's length is unknown: it is drained
// when it turns out short and the connection closes otherwise.
func (b *Body) undrainable(max int64) bool {
	return !b.wireDone && b.err == nil && b.kind == bodyLength && b.remaining > max
}

// drain reads and discards what is left of the body on the wire, at most
// max bytes, and reports whether the body ended (so the connection can be
// reused). The caller has set the read deadline.
func (b *Body) drain(max int64, scratch []byte) bool {
	b.pre = nil
	if b.err != nil {
		return false
	}
	switch b.kind {
	case bodyLength:
		if b.remaining > max {
			return false
		}
		for b.remaining > 0 {
			k, err := b.br.Discard(int(b.remaining))
			b.remaining -= int64(k)
			if err != nil {
				return false
			}
		}
		b.wireDone = true
		return true
	case bodyChunked:
		var total int64
		for !b.wireDone {
			n, err := b.ch.Read(scratch)
			total += int64(n)
			if err == io.EOF {
				b.wireDone = true
				break
			}
			if err != nil || total > max {
				return false
			}
		}
		return true
	}
	return true
}

// Chunked decoder states.
const (
	csSize     = iota // expecting a chunk-size line
	csData            // inside chunk data
	csCRLF            // expecting the CRLF after chunk data
	csTrailers        // after the last-chunk line: trailer section
	csDone            // last-chunk and trailer section read
)

// chunkedReader decodes the chunked transfer coding (RFC 9112 §7.1)
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// strictly: no whitespace in chunk lines, CRLF (never a bare LF) after
// every line and after the data, hex sizes that fit in int63, extensions
// parsed (and ignored) within one 4 KiB line, trailer fields validated and
// discarded, bounded in number and size. It reads nothing after the final
// CRLF. Errors are sticky; framing errors are ErrMalformedBody.
type chunkedReader struct {
	br          *bufio.Reader
	state       int
	n           int64 // data bytes left in the current chunk
	total       int64 // declared data bytes so far
	limit       int64 // max total; 0 = none
	maxTrailers int   // max trailer fields (0 = none allowed... see below)
	trailerLine int   // max bytes of a trailer line
	err         error
}

// Read decodes into p. It returns as soon as it has data and the next step
// would have to wait for the network, so a streaming client is served
// chunk by chunk. It returns io.EOF (possibly with data) once the body ended.
func (cr *chunkedReader) Read(p []byte) (n int, err error) {
	if cr.err != nil {
		return 0, cr.err
	}
	for n < len(p) || cr.state == csDone {
		switch cr.state {
		case csSize:
			if n > 0 && !cr.lineBuffered() {
				return n, nil
			}
			if err := cr.readSize(); err != nil {
				cr.err = err
				return n, err
			}
			if cr.n == 0 {
				cr.state = csTrailers
				continue
			}
			cr.state = csData
		case csTrailers:
			if n > 0 && !cr.trailersBuffered() {
				return n, nil
			}
			if err := cr.readTrailers(); err != nil {
				cr.err = err
				return n, err
			}
			cr.state = csDone
		case csData:
			if n > 0 && cr.br.Buffered() == 0 {
				return n, nil
			}
			m := len(p) - n
			if int64(m) > cr.n {
				m = int(cr.n)
			}
			k, err := cr.br.Read(p[n : n+m])
			n += k
			cr.n -= int64(k)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				cr.err = err
				return n, err
			}
			if cr.n == 0 {
				cr.state = csCRLF
			}
		case csCRLF:
			if n > 0 && cr.br.Buffered() < 2 {
				return n, nil
			}
			b, err := cr.br.Peek(2)
			if err != nil {
				cr.err = eofToUnexpected(err)
				return n, cr.err
			}
			if b[0] != '\r' || b[1] != '\n' {
				cr.err = ErrMalformedBody
				return n, cr.err
			}
			cr.br.Discard(2)
			cr.state = csSize
		case csDone:
			return n, io.EOF
		}
	}
	return n, nil
}

// lineBuffered reports whether a whole line is already in the buffer.
func (cr *chunkedReader) lineBuffered() bool {
	b, _ := cr.br.Peek(cr.br.Buffered())
	for _, c := range b {
		if c == '\n' {
			return true
		}
	}
	return false
}

// trailersBuffered reports whether the whole trailer section is already in
// the buffer.
func (cr *chunkedReader) trailersBuffered() bool {
	b, _ := cr.br.Peek(cr.br.Buffered())
	return bytes.HasPrefix(b, crlf) || bytes.Contains(b, headEnd)
}

// readLine returns the next line without its CRLF, as a slice of the
// buffer (valid until the next read).
func (cr *chunkedReader) readLine() ([]byte, error) {
	line, err := cr.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, ErrMalformedBody // longer than maxChunkLine
	case err != nil:
		return nil, eofToUnexpected(err)
	case len(line) < 2 || line[len(line)-2] != '\r':
		return nil, ErrMalformedBody // bare LF
	case len(line) > maxChunkLine:
		return nil, ErrMalformedBody
	}
	return line[:len(line)-2], nil
}

func eofToUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (cr *chunkedReader) readSize() error {
	line, err := cr.readLine()
	if err != nil {
		return err
	}
	size, rest, ok := parseChunkSize(line)
	if !ok || !validChunkExt(rest) {
		return ErrMalformedBody
	}
	if cr.limit > 0 && size > cr.limit-cr.total {
		return ErrBodyTooLarge
	}
	cr.total += size
	cr.n = size
	return nil
}

// parseChunkSize parses chunk-size = 1*HEXDIG at the start of line and
// returns what follows it. ok is false when there is no digit or the
// value overflows int64.
func parseChunkSize(line []byte) (size int64, rest []byte, ok bool) {
	i := 0
	for ; i < len(line); i++ {
		v := unhex(line[i])
		if v < 0 {
			break
		}
		if size > (1<<63-1)>>4 {
			return 0, nil, false // overflow
		}
		size = size<<4 | int64(v)
	}
	if i == 0 {
		return 0, nil, false
	}
	return size, line[i:], true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// validChunkExt checks
//
//	chunk-ext = *( ";" chunk-ext-name [ "=" chunk-ext-val ] )
//	chunk-ext-val = token / quoted-string
//
// without the BWS the RFC tolerates (strict).
func validChunkExt(b []byte) bool {
	for len(b) > 0 {
		if b[0] != ';' {
			return false
		}
		b = b[1:]
		i := 0
		for i < len(b) && isTchar[b[i]] {
			i++
		}
		if i == 0 {
			return false
		}
		b = b[i:]
		if len(b) == 0 || b[0] != '=' {
			continue
		}
		b = b[1:]
		if len(b) > 0 && b[0] == '"' {
			j, ok := quotedStringLen(b)
			if !ok {
				return false
			}
			b = b[j:]
			continue
		}
		i = 0
		for i < len(b) && isTchar[b[i]] {
			i++
		}
		if i == 0 {
			return false
		}
		b = b[i:]
	}
	return true
}

// quotedStringLen returns the length of the quoted-string at the start of
// b (RFC 9110 §5.6.4).
func quotedStringLen(b []byte) (int, bool) {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++
			if i >= len(b) || !isValueByte[b[i]] {
				return 0, false
			}
		case !isValueByte[c]:
			return 0, false
		}
	}
	return 0, false
}

// readTrailers reads the trailer section after the last chunk and
// discards it: field lines (validated like header fields, bounded in
// number and size) up to an empty line.
func (cr *chunkedReader) readTrailers() error {
	for count := 0; ; count++ {
		line, err := cr.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if count >= cr.maxTrailers || (cr.trailerLine > 0 && len(line) > cr.trailerLine) {
			return ErrMalformedBody
		}
		if _, err := parseFieldLine(line, 0); err != nil {
			return ErrMalformedBody
		}
	}
}

// Pools of body buffers by size class.
var bufClasses = [...]int{4 << 10, 16 << 10, 64 << 10, 256 << 10}

var bufPools [len(bufClasses)]sync.Pool

// getBuf returns a buffer with capacity at least n (len = cap).
func getBuf(n int) *[]byte {
	for i, size := range bufClasses {
		if n <= size {
			if v := bufPools[i].Get(); v != nil {
				return v.(*[]byte)
			}
			b := make([]byte, size)
			return &b
		}
	}
	b := make([]byte, n)
	return &b
}

func putBuf(b *[]byte) {
	for i, size := range bufClasses {
		if cap(*b) == size {
			*b = (*b)[:size]
			bufPools[i].Put(b)
			return
		}
	}
}
