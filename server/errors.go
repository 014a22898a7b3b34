package server

import (
	"errors"
	"io"
	"net"
	"os"
	"strconv"
)

// Errors returned to handlers and callers. They are sentinels: compare with
// errors.Is.
var (
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("server: Server closed")

	// ErrHeadersSent is returned by Start once the response head is on the
	// wire: the status and headers can no longer change.
	ErrHeadersSent = errors.New("server: response head already sent")
	// ErrNotStarted is returned by Write, SendFile and Flush before Start.
	ErrNotStarted = errors.New("server: response written before Start")
	// ErrResponseDone is returned by writes after WriteFinal or Abort.
	ErrResponseDone = errors.New("server: response already complete")
	// ErrContentLength is returned by a write that would exceed the
	// Content-Length the application declared; the excess is dropped.
	ErrContentLength = errors.New("server: write exceeds declared Content-Length")
	// ErrInvalidStatus and ErrInvalidHeader are wrapped by the errors of
	// Start when the status line or a header field is not valid.
	ErrInvalidStatus = errors.New("server: invalid response status")
	ErrInvalidHeader = errors.New("server: invalid response header")

	// ErrBodyTooLarge is returned by Body.Read when a chunked body goes over
	// Config.LimitRequestBody.
	ErrBodyTooLarge = errors.New("server: request body too large")
	// ErrBodyTimeout is returned by Body.Read when the client sent nothing
	// for Config.BodyReadTimeout.
	ErrBodyTimeout = errors.New("server: timeout reading request body")
	// ErrMalformedBody is returned by Body.Read when the chunked framing of
	// the body is invalid.
	ErrMalformedBody = errors.New("server: malformed chunked request body")
)

// startError is what Start returns: which rule a status or header broke.
type startError struct {
	kind   error // ErrInvalidStatus or ErrInvalidHeader
	detail string
}

func (e *startError) Error() string { return e.kind.Error() + ": " + e.detail }
func (e *startError) Unwrap() error { return e.kind }

// protoError is a request the server refuses before calling the handler.
// It becomes a wire reply (status, "Connection: close", a short text body)
// in exactly one place: conn.replyError.
type protoError struct {
	code   int    // HTTP status to answer
	reason string // for the debug log only
}

func (e *protoError) Error() string {
	return "server: " + strconv.Itoa(e.code) + " " + statusText(e.code) + ": " + e.reason
}

func badRequest(reason string) error { return &protoError{400, reason} }

// Protocol errors without variable detail, allocated once.
var (
	errBareLF          = &protoError{400, "line not terminated by CRLF"}
	errRequestLine     = &protoError{400, "malformed request line"}
	errTarget          = &protoError{400, "malformed request-target"}
	errObsFold         = &protoError{400, "obs-fold or whitespace before field line"}
	errFieldName       = &protoError{400, "malformed field name"}
	errFieldValue      = &protoError{400, "forbidden byte in field value"}
	errVersion         = &protoError{505, "unsupported HTTP version"}
	errLineTooLong     = &protoError{414, "request line too long"}
	errFieldTooLong    = &protoError{431, "header field line too long"}
	errTooManyFields   = &protoError{431, "too many header fields"}
	errTooManyEmpty    = &protoError{400, "too many empty lines before request line"}
	errHeadTimeout     = &protoError{408, "timeout reading request head"}
	errContentTooLarge = &protoError{413, "Content-Length over limit"}
	errConnect         = &protoError{501, "CONNECT not supported"}
	errTECoding        = &protoError{501, "unsupported transfer coding"}
)

// statusText is the reason phrase of the statuses the server itself sends.
func statusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 400:
		return "Bad Request"
	case 408:
		return "Request Timeout"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 503:
		return "Service Unavailable"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}

// replyStatus maps an error met while reading a request (head or
// prefetched body) to the status the server answers with, or 0 when the
// client is gone or never started a request and the connection should just
// close. This is the one switch from errors to wire replies.
func replyStatus(err error) int {
	var pe *protoError
	switch {
	case errors.As(err, &pe):
		return pe.code
	case errors.Is(err, ErrBodyTooLarge):
		return 413
	case errors.Is(err, ErrBodyTimeout), isTimeout(err):
		return 408
	case errors.Is(err, ErrMalformedBody):
		return 400
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return 0
	}
	return 0 // connection-level failure (reset, ...): nobody to answer
}

func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
