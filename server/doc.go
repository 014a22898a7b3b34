// Package server is gohost's HTTP front end: a pure-Go, strict HTTP/1.0 and
// HTTP/1.1 server written for WSGI hosting, with optional TLS and HTTP/2.
// HTTP/1.x does not use net/http: the package owns framing, limits and
// timeouts so that a request reaches the (Python) handler only once its
// head is complete and valid and its small body is in memory.
//
// # TLS and HTTP/2
//
// With Config.TLS, Serve wraps each accepted connection in tls.Server; the
// handshake runs in the connection's goroutine within ReadHeaderTimeout and
// Request.TLS is set. With Config.H2 (DefaultConfig's choice), ALPN offers
// "h2" and a connection that negotiates it is served by
// golang.org/x/net/http2; with Config.H2C, a cleartext connection that
// opens with the HTTP/2 preface is too (prior knowledge; no Upgrade). Each
// stream becomes a Request (Proto "HTTP/2.0") with a Body and a
// ResponseWriter bound to the stream and goes to the same Handler, under
// the same limits and timeouts (see h2.go for the rules); a response that
// cannot be completed resets the stream. Shutdown sends HTTP/2 connections
// a GOAWAY and waits for their open streams.
//
// # Guarantees
//
//   - Request heads are parsed strictly per RFC 9112: single-space request
//     line, token method, HTTP/1.0 or HTTP/1.1 only (505 for other
//     versions), CRLF line ends only, no obs-fold, no whitespace before a
//     colon, no control characters in values, exactly one Host on
//     HTTP/1.1. Message framing that could be read two ways (several
//     Content-Length fields, Content-Length with Transfer-Encoding, chunked
//     not final, Transfer-Encoding on HTTP/1.0) is refused with 400; other
//     transfer codings get 501. Such requests, and those over the limits of
//     Config (414, 431, 413), are answered by the server with "Connection:
//     close" and never reach the handler.
//   - A body of at most Config.BodyPrefetch bytes is read before the
//     handler is called (unless the client sent "Expect: 100-continue"), so
//     a slow uploader never occupies a handler. Larger bodies stream through
//     Body.Read; 100 Continue is sent on the first Read, never otherwise.
//   - Body reads never consume past the body: pipelined requests are served
//     in order.
//   - Every ResponseWriter.Write reaches the connection before it returns;
//     the server chooses the framing (Content-Length, chunked or
//     close-delimited) and never sends more than a declared Content-Length.
//   - Each phase has a deadline: ReadHeaderTimeout from a request's first
//     byte to the end of its head (408 when it expires mid-head; a new
//     connection also gets ReadHeaderTimeout to send its first byte),
//     KeepAliveTimeout between requests (silent close), BodyReadTimeout per
//     body read, WriteTimeout per write (a client that stops reading makes
//     the handler's Write fail).
//
// # Connection state machine
//
// Each connection runs one goroutine, conn.serve: deferred cleanup first,
// then one straight loop
//
//	idle wait (Peek, idle deadline) → claim New/Idle→Reading
//	→ read head (header deadline) → prefetch body (body deadline)
//	→ Active: handler → finish response → drain unread body (bounded)
//	→ Idle, or return (close)
//
// with the transitions documented on ConnState. Errors before the handler
// are turned into replies in one place (replyStatus). Shutdown closes New
// and Idle connections at once (a CAS that the connection's own claim
// races against), and Reading or Active ones after their response.
//
// # Lifetimes
//
// A Request, its Body, the ResponseWriter and the bytes returned by
// Body.TakePrefetched belong to the server and are valid only until the
// handler returns: the server reuses them for the next request. The strings
// of a Request are ordinary immutable Go strings and may be kept.
package server
