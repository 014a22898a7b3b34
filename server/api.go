package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"time"
)

// HeaderField is one header line, name and value exactly as received (or as
// the application gave them for a response). Order and duplicates are kept.
type HeaderField struct {
	Name  string
	Value string
}

// Request is one parsed HTTP/1.x request (or one HTTP/2 stream, see h2.go),
// handed to a Handler once its head (request line and header fields) is
// complete and valid. The body may still be arriving: read it through Body.
type Request struct {
	Method     string // e.g. "GET"; a valid token, case-sensitive
	RequestURI string // the request-target exactly as sent
	// Path is the raw (still percent-encoded) path of the target: for
	// origin-form "/a%20b?x" it is "/a%20b"; for absolute-form
	// "http://h/a?x" it is "/a"; for asterisk-form it is "*".
	Path       string
	RawQuery   string // what follows the first '?', raw; "" when none
	Proto      string // "HTTP/1.1", "HTTP/1.0" or "HTTP/2.0"
	ProtoMinor int    // 1 or 0 (0 for HTTP/2: tell it by Proto)
	// Header holds every field line in the order received, names with the
	// case the client used. Hop-by-hop fields are included. On HTTP/2 the
	// names are canonicalized ("Content-Type"), fields are sorted by name
	// (the wire order of different names is lost; values of one name keep
	// theirs), pseudo-header fields are left out and the first field is
	// "Host" with the value of :authority.
	Header []HeaderField
	// Host is the authority: from an absolute-form target if there was one,
	// else the Host header ("" only on HTTP/1.0 without Host).
	Host string
	// ContentLength is the declared body length, 0 when there is no body,
	// and -1 when the body is chunked (HTTP/2: when the client declared no
	// length and the stream did not end with its HEADERS frame).
	ContentLength int64
	Body          *Body
	RemoteAddr    net.Addr
	LocalAddr     net.Addr
	TLS           bool      // the connection is TLS
	Close         bool      // the connection will close after this response (always false on HTTP/2)
	Received      time.Time // when the first byte of the request line arrived
}

// Handler serves one request. It must call w.Start exactly once (or the
// server answers 500) and may then Write body bytes. When Serve returns the
// server completes the response, drains any unread body (bounded) and either
// reads the next request on the connection or closes it.
type Handler interface {
	Serve(w *ResponseWriter, r *Request)
}

// Gate is what Config.AcceptGate is told before an Accept.
type Gate struct {
	// Pending counts the connections accepted in the last 2 ms that have
	// not started a request yet (a burst accepted at once is not yet
	// visible as requests).
	Pending func() int
	// Wait blocks until a connection is queued on the listener (at once
	// when the listener cannot tell); an error means the listener is
	// closed. After a Wait the server accepts with a short deadline, as a
	// sibling may take the connection first.
	Wait func() error
	// Queued reports whether a connection still waits in the listener's
	// queue: false once a sibling took it. Always true when the listener
	// cannot tell.
	Queued func() bool
	// Draining is set after an overdue gate, until the queue is empty.
	Draining bool
	// Done is closed when the server shuts down.
	Done <-chan struct{}
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request)

// Serve calls f(w, r).
func (f HandlerFunc) Serve(w *ResponseWriter, r *Request) { f(w, r) }

// AccessEntry is what the server knows about a finished request, for the
// access log and metrics.
type AccessEntry struct {
	Request  *Request
	Status   int   // status code sent (0 when nothing was sent)
	BodySent int64 // response body bytes written to the client
	Duration time.Duration
}

// Config holds the limits and timeouts of a Server. Zero values mean the
// documented default (see DefaultConfig), never "unlimited", except where
// a field says so.
type Config struct {
	// Limits compatible with gunicorn's flags of the same names.
	LimitRequestLine      int   // max bytes of the request line; 0 = unlimited; default 4094 (414 beyond)
	LimitRequestFields    int   // max header fields; default 100 (431 beyond)
	LimitRequestFieldSize int   // max bytes of one header line; default 8190 (431 beyond)
	LimitRequestBody      int64 // max body bytes; 0 = unlimited (413 beyond)

	// BodyPrefetch is how many body bytes are read into memory before the
	// handler is called, so that a slow uploader of a small body never holds
	// a Python thread. Bodies with "Expect: 100-continue" are not prefetched.
	BodyPrefetch int // default 256 KiB; -1 disables

	ReadHeaderTimeout time.Duration // whole request head; default 10s (slowloris)
	BodyReadTimeout   time.Duration // each body read waits at most this; default 60s
	WriteTimeout      time.Duration // each response write waits at most this; default 60s
	KeepAliveTimeout  time.Duration // idle time between requests; default 5s; negative: no keep-alive
	MaxConnections    int           // concurrent connections; default 10000; extra ones wait in the backlog

	ServerHeader string // value of the Server header; default "gohost"

	// TLS, when set, makes Serve wrap every accepted connection with
	// tls.Server; the handshake runs in the connection's goroutine within
	// ReadHeaderTimeout. New uses a clone whose NextProtos (ALPN) lists
	// "h2" first when H2 is set and never otherwise, then "http/1.1".
	// Certificates may change at run time through GetCertificate (see
	// host/tlsconf).
	TLS *tls.Config
	// H2 serves HTTP/2 on TLS connections whose ALPN negotiates "h2" (see
	// h2.go). DefaultConfig sets it; a Config literal must set it to get
	// HTTP/2. Without TLS it has no effect.
	H2 bool
	// H2C serves cleartext HTTP/2 "with prior knowledge" (RFC 9113 §3.3):
	// a non-TLS connection whose first bytes are the HTTP/2 connection
	// preface. HTTP/1.1 Upgrade: h2c is not supported. Default off.
	H2C bool

	// AcceptGate, when set, is called before each Accept and may block
	// until this server is the right one to take the next connection: a
	// worker whose Python threads are all busy, or that has more
	// connections than a sibling, leaves it in the accept queue it shares
	// with its siblings. Before holding it should Wait for a connection to
	// be queued, so that it decides about a real one. See Gate.
	//
	// It returns accept = false when Done is closed. overdue = true means
	// it gave way only because it had held connections back for as long as
	// it may: nobody took them, so every sibling is busy too. The server
	// then drains the connections already queued, calling the gate with
	// Draining set before each (it should not hold them again), until an
	// Accept has to wait. Otherwise a queue built up while the gate was
	// shut would drain one connection per hold.
	AcceptGate func(Gate) (accept, overdue bool)

	ErrorLog  *slog.Logger       // nil = slog.Default()
	AccessLog func(*AccessEntry) // nil = none; called after each response (entry valid during the call only)

	// KeptConns, when set, is told +1 when a connection is first kept alive
	// after a response (or starts HTTP/2) and -1 when such a connection
	// closes: the running count of connections that last, which a worker
	// publishes to balance kept-alive connections across processes. A
	// connection that closes after one response is never counted: it
	// leaves within one request, and counting it made the workers hold
	// new connections back from each other for nothing that lasts. Called
	// from the connection's goroutine; it must not block.
	KeptConns func(delta int)

	// ShedKept, when set, is asked before each HTTP/1.1 response on a
	// connection counted in KeptConns; true makes it the connection's last
	// response (Connection: close), so that the client's next connection
	// can go to a worker with fewer. Called from the connection's
	// goroutine; it must not block.
	ShedKept func() bool

	// ConnState, when set, is called on every connection state change (see
	// ConnState), from the connection's goroutine (or Shutdown's). It must
	// not block.
	ConnState func(net.Conn, ConnState)
}
