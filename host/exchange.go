package host

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"

	"github.com/gohost/gohost/pybridge"
	"github.com/gohost/gohost/server"
)

// exchange is pybridge's view of one request: reads go to the request body,
// writes to the ResponseWriter. One per pool token, reset per request.
type exchange struct {
	w        *server.ResponseWriter
	r        *server.Request
	log      *slog.Logger
	bodyErr  error // the first error reading the body, to answer with its status
	bodyRead int64 // body bytes given to the app

	requestID string // echoed as X-Request-Id unless the app sets one
}

func (e *exchange) reset(w *server.ResponseWriter, r *server.Request) {
	e.w, e.r, e.bodyErr, e.bodyRead, e.requestID = w, r, nil, 0, ""
}

func (e *exchange) ReadBody(p []byte) (int, error) {
	n, err := e.r.Body.Read(p)
	e.bodyRead += int64(n)
	if err != nil && !errors.Is(err, io.EOF) {
		if e.bodyErr == nil {
			e.bodyErr = err
		}
		return n, bodyError{err}
	}
	return n, err
}

func (e *exchange) Start(status string, headers []server.HeaderField) error {
	if e.requestID != "" && !hasHeader(headers, requestIDHeader) {
		headers = append(headers, server.HeaderField{Name: requestIDHeader, Value: e.requestID})
	}
	return e.w.Start(status, headers)
}

func (e *exchange) Write(p []byte) error {
	_, err := e.w.Write(p)
	return allowExcess(err)
}

func (e *exchange) WriteFinal(p []byte) error {
	_, err := e.w.WriteFinal(p)
	return allowExcess(err)
}

// allowExcess lets the app go on after writing more than its Content-Length:
// the server has dropped the excess.
func allowExcess(err error) error {
	if errors.Is(err, server.ErrContentLength) {
		return nil
	}
	return err
}

func (e *exchange) SendFile(f *os.File, offset int64) error {
	_, err := e.w.SendFile(f, offset, -1)
	return err
}

func (e *exchange) HeadersSent() bool { return e.w.HeadersSent() }

// Fail answers an app error: a short error response while nothing is sent
// (its status from a failed body read when that caused it), else an abort.
func (e *exchange) Fail(err *pybridge.PyError) {
	code := bodyErrorStatus(e.bodyErr)
	if code == 0 || code >= 500 {
		e.log.Error("Error handling request " + e.r.RequestURI + "\n" + err.Traceback)
	} else {
		e.log.Info("Request body failed: "+e.r.RequestURI, "err", e.bodyErr)
	}
	if e.w.HeadersSent() {
		e.w.Abort()
		return
	}
	if code == 0 {
		code = 500
	}
	e.fail(code)
}

// fail answers with a short error response and closes the connection.
func (e *exchange) fail(code int) {
	text := statusText(code)
	body := text + "\n"
	if e.w.Start(strconv.Itoa(code)+" "+text, []server.HeaderField{
		{Name: "Content-Type", Value: "text/plain; charset=utf-8"},
		{Name: "Content-Length", Value: strconv.Itoa(len(body))},
		{Name: "Connection", Value: "close"},
	}) == nil {
		e.w.Write([]byte(body))
	}
}

func (e *exchange) LogError(err *pybridge.PyError) {
	e.log.Error("Error closing response of " + e.r.RequestURI + "\n" + err.Traceback)
}

// bodyError carries a body read failure to pybridge, which reports timeouts
// and size overruns to the app as such.
type bodyError struct{ err error }

func (b bodyError) Error() string   { return b.err.Error() }
func (b bodyError) Unwrap() error   { return b.err }
func (b bodyError) Timeout() bool   { return errors.Is(b.err, server.ErrBodyTimeout) }
func (b bodyError) StatusCode() int { return bodyErrorStatus(b.err) }

// bodyErrorStatus is the status that answers a failed body read; 0 when err
// is nil or says nothing about the request (a broken connection).
func bodyErrorStatus(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, server.ErrBodyTooLarge):
		return 413
	case errors.Is(err, server.ErrBodyTimeout):
		return 408
	case errors.Is(err, server.ErrMalformedBody):
		return 400
	}
	return 0
}

func statusText(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 408:
		return "Request Timeout"
	case 413:
		return "Content Too Large"
	}
	return "Internal Server Error"
}
