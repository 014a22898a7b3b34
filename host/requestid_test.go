package host

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gohost/gohost/server"
)

func TestEnsureRequestIDKeepsTheClients(t *testing.T) {
	r := &server.Request{Header: []server.HeaderField{{Name: "x-request-id", Value: "abc-123"}}}
	assert.Equal(t, "abc-123", ensureRequestID(r))
	assert.Len(t, r.Header, 1)
}

func TestEnsureRequestIDGeneratesUniqueIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		r := &server.Request{}
		id := ensureRequestID(r)
		assert.Len(t, id, 28)
		assert.False(t, seen[id], "ids are unique")
		seen[id] = true
		assert.Equal(t, []server.HeaderField{{Name: requestIDHeader, Value: id}}, r.Header)
	}
}

func TestEnsureRequestIDReplacesUnusableOnes(t *testing.T) {
	r := &server.Request{Header: []server.HeaderField{{Name: "X-Request-Id", Value: strings.Repeat("x", 500)}}}
	id := ensureRequestID(r)
	assert.Len(t, id, 28)
	assert.Equal(t, id, r.Header[0].Value)
}

func TestHeaderValueJoinsRepeats(t *testing.T) {
	h := []server.HeaderField{{Name: "A", Value: "1"}, {Name: "b", Value: "x"}, {Name: "a", Value: "2"}}
	assert.Equal(t, "1, 2", headerValue(h, "A"))
	assert.Equal(t, "", headerValue(h, "C"))
}

func TestHasHeaderIgnoresCase(t *testing.T) {
	h := []server.HeaderField{{Name: "x-request-id", Value: "a"}}
	assert.True(t, hasHeader(h, "X-Request-Id"))
	assert.False(t, hasHeader(h, "X-Other"))
}
