package host

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync/atomic"

	"github.com/gohost/gohost/server"
)

// Request ids (X-Request-Id): a request that brings one keeps it; one that
// does not gets a new id. Either way the app sees it as HTTP_X_REQUEST_ID,
// the response carries it back (unless the app set its own) and the access
// log can print it, so one id follows the request through proxy, app and
// logs.

const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an id taken from a client: it is logged and echoed.
const maxRequestIDLen = 200

var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newRequestID is unique per process start: a random prefix and a counter.
func newRequestID() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], idCounter.Add(1))
	return idPrefix + hex.EncodeToString(b[:])
}

// hasHeader reports whether h has a field called name (any case).
func hasHeader(h []server.HeaderField, name string) bool {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// ensureRequestID returns the request's id, adding a generated one to its
// header fields when it has none (or an unusable one).
func ensureRequestID(r *server.Request) string {
	for i, f := range r.Header {
		if strings.EqualFold(f.Name, requestIDHeader) {
			if f.Value != "" && len(f.Value) <= maxRequestIDLen {
				return f.Value
			}
			id := newRequestID()
			r.Header[i].Value = id
			return id
		}
	}
	id := newRequestID()
	r.Header = append(r.Header, server.HeaderField{Name: requestIDHeader, Value: id})
	return id
}
