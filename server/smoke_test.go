package server

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	ts := newTestServer(t, Config{}, nil)
	out := ts.do("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	t.Logf("%q", out)
	rs := parseResponses(t, out)
	require.Len(t, rs, 2)
	require.Equal(t, "GET /a?b=1 x|", rs[0].Body)
	require.Equal(t, "POST /p? x|hello", rs[1].Body)
}
