package e2e

// wsgi.input (issue 3, point 4): the file API, large and chunked uploads,
// never reading past the body, bounded memory.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func postInput(t *testing.T, c *Conn, query string, body []byte, isChunked bool) inputResult {
	t.Helper()
	head := "POST /input?" + query + " HTTP/1.1\r\nHost: t\r\n"
	if isChunked {
		c.Send(head + "Transfer-Encoding: chunked\r\n\r\n")
		for off := 0; off < len(body); off += 7777 {
			end := min(off+7777, len(body))
			c.SendBytes([]byte(fmt.Sprintf("%x\r\n", end-off)))
			c.SendBytes(body[off:end])
			c.Send("\r\n")
		}
		c.Send("0\r\n\r\n")
	} else {
		c.SendBytes(append([]byte(fmt.Sprintf("%sContent-Length: %d\r\n\r\n", head, len(body))), body...))
	}
	r := c.MustRead("POST")
	require.Equal(t, 200, r.Code, "POST /input?%s: %s", query, r.Body)
	var in inputResult
	require.NoError(t, json.Unmarshal(r.Body, &in), "%s", r.Body)
	assert.Empty(t, in.BadTypes, "wsgi.input returned non-bytes")
	return in
}

func TestInputFileAPI(t *testing.T) {
	s := startServer(t, ServerOpts{})
	lines := "first line\nsecond\n\nfourth is a longer line of text\nno newline at end"
	body := []byte(lines)
	want := sha256hex(body)
	for _, transfer := range []string{"content-length", "chunked"} {
		isChunked := transfer == "chunked"
		t.Run(transfer, func(t *testing.T) {
			c := s.Dial(t)
			check := func(query string) inputResult {
				t.Helper()
				in := postInput(t, c, query, body, isChunked)
				assert.Equal(t, len(body), in.Len, query)
				assert.Equal(t, want, in.Sha256, query)
				assert.Equal(t, 0, in.TailLen, "%s: reading at the end must return b''", query)
				assert.Equal(t, "bytes", in.TailType, query)
				return in
			}
			in := check("mode=read")
			assert.Equal(t, 1, in.Count)
			check("mode=read_neg")
			in = check("mode=read_n&n=7")
			assert.LessOrEqual(t, in.MaxPiece, 7)
			in = check("mode=read_n&n=1")
			assert.Equal(t, len(body), in.Count, "read(1) returns one byte at a time")
			in = check("mode=readline")
			assert.Equal(t, []int{11, 7, 1, 32, 17}, in.Pieces, "readline() splits at each \\n")
			in = check("mode=readline_limit&limit=5")
			assert.LessOrEqual(t, in.MaxPiece, 5)
			assert.Equal(t, []int{5, 5, 1, 5, 2, 1, 5, 5, 5, 5, 5, 5, 2, 5, 5, 5, 2}, in.Pieces, "readline(5)")
			in = check("mode=readlines")
			assert.Equal(t, []int{11, 7, 1, 32, 17}, in.Pieces)
			// readlines(hint): the server may stop after the lines reaching
			// hint bytes (io semantics: [11, 7]) or ignore hint (PEP 3333);
			// either way whole lines, and read() gets the rest.
			in = postInput(t, c, "mode=readlines&hint=12", body, isChunked)
			assert.Contains(t, [][]int{{11, 7}, {11, 7, 1, 32, 17}}, in.Pieces, "readlines(12)")
			assert.Equal(t, len(body), in.Len+in.TailLen, "readlines(12) then read() covers the body")
			in = check("mode=iter")
			assert.Equal(t, []int{11, 7, 1, 32, 17}, in.Pieces, "iteration yields lines")
			in = check("mode=mixed&n=4")
			assert.Equal(t, []int{11, 4, 3, 1, 32, 17}, in.Pieces, "readline, read(4), readline…")
			// Keep-alive survived all of that.
			c.ExpectOpen(50 * time.Millisecond)
		})
	}
}

func TestInputEmptyBody(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	for _, mode := range []string{"read", "read_n", "readline", "readlines", "iter"} {
		c.Send("GET /input?mode=" + mode + " HTTP/1.1\r\nHost: t\r\n\r\n")
		r := c.MustRead("GET")
		require.Equal(t, 200, r.Code, mode)
		var in inputResult
		require.NoError(t, json.Unmarshal(r.Body, &in))
		assert.Equal(t, 0, in.Len, mode)
		assert.Equal(t, 0, in.TailLen, mode)
		assert.Equal(t, "bytes", in.TailType, mode)
	}
}

func TestInputLargeUploads(t *testing.T) {
	s := startServer(t, ServerOpts{})
	for _, tc := range []struct {
		size      int
		n         int
		isChunked bool
	}{
		{1<<20 + 17, 65536, false},
		{3 << 20, 4096, false},
		{5<<20 + 3, 1 << 20, true},
		{2 << 20, 100000, true},
		{64 << 10, 1, false},
	} {
		t.Run(fmt.Sprintf("%d-read(%d)-chunked=%v", tc.size, tc.n, tc.isChunked), func(t *testing.T) {
			body := make([]byte, tc.size)
			_, err := rand.Read(body)
			require.NoError(t, err)
			c := s.Dial(t)
			in := postInput(t, c, fmt.Sprintf("mode=read_n&n=%d", tc.n), body, tc.isChunked)
			assert.Equal(t, tc.size, in.Len)
			assert.Equal(t, sha256hex(body), in.Sha256)
			assert.LessOrEqual(t, in.MaxPiece, tc.n)
		})
	}
	// readline over a 1 MiB "line" without a newline, and readline(limit).
	body := []byte(strings.Repeat("L", 1<<20) + "\nend")
	c := s.Dial(t)
	in := postInput(t, c, "mode=readline", body, false)
	assert.Equal(t, sha256hex(body), in.Sha256)
	assert.Equal(t, []int{1<<20 + 1, 3}, in.Pieces)
	in = postInput(t, c, "mode=readline_limit&limit=300000", body, true)
	assert.Equal(t, sha256hex(body), in.Sha256)
	assert.Equal(t, []int{300000, 300000, 300000, 148577, 3}, in.Pieces)
}

func TestInputNeverReadsPastBody(t *testing.T) {
	s := startServer(t, ServerOpts{})
	c := s.Dial(t)
	// read(1 MiB) on a 10-byte body followed by the next request in the same
	// segment: the app gets exactly 10 bytes, the next request is intact.
	c.Send("POST /input?mode=read_n&n=1048576 HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789" +
		"POST /input?mode=read HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" +
		"POST /input?mode=readline HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked("x\ny") +
		"GET /environ HTTP/1.1\r\nHost: t\r\n\r\n")
	var in inputResult
	r := c.MustRead("POST")
	require.NoError(t, json.Unmarshal(r.Body, &in))
	assert.Equal(t, 10, in.Len)
	assert.Equal(t, "0123456789", in.Head)
	r = c.MustRead("POST")
	require.NoError(t, json.Unmarshal(r.Body, &in))
	assert.Equal(t, "abc", in.Head)
	r = c.MustRead("POST")
	require.NoError(t, json.Unmarshal(r.Body, &in))
	assert.Equal(t, "x\ny", in.Head)
	assert.Equal(t, []int{2, 1}, in.Pieces)
	r = c.MustRead("GET")
	assert.Equal(t, 200, r.Code)
	assert.Contains(t, string(r.Body), `"REQUEST_METHOD": "GET"`)
}

func TestInputStreamed100MiBUploadBoundedMemory(t *testing.T) {
	s := startServer(t, ServerOpts{})
	workerPID := s.WorkerPID(t)
	master := s.Cmd.Process.Pid
	pids := treePIDs(master)
	if !contains(pids, workerPID) {
		pids = append(pids, workerPID)
	}
	rss := func() (total int64, per map[int]int64) {
		per = map[int]int64{}
		for _, p := range pids {
			per[p] = procRSS(p)
			total += per[p]
		}
		return
	}
	base, basePer := rss()
	t.Logf("baseline RSS %d MiB %v", base>>20, basePer)

	const size = 100 << 20
	var peak int64
	var peakPer map[int]int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if v, per := rss(); v > peak {
				peak, peakPer = v, per
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	c := s.Dial(t)
	h := sha256.New()
	buf := make([]byte, 256<<10)
	for i := range buf {
		buf[i] = byte(i * 31)
	}
	c.Send(fmt.Sprintf("POST /input?mode=read_n&n=65536 HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", size))
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(90*time.Second)))
	for sent := 0; sent < size; sent += len(buf) {
		buf[0] = byte(sent >> 18) // vary the content
		_, err := c.Write(buf)
		require.NoError(t, err, "upload stopped after %d bytes", sent)
		h.Write(buf)
	}
	r, err := c.ReadTimeout("POST", 60*time.Second)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	require.Equal(t, 200, r.Code, "%s", r.Body)
	var in inputResult
	require.NoError(t, json.Unmarshal(r.Body, &in))
	assert.Equal(t, size, in.Len)
	assert.Equal(t, hex.EncodeToString(h.Sum(nil)), in.Sha256)
	t.Logf("peak RSS %d MiB %v (growth %d MiB)", peak>>20, peakPer, (peak-base)>>20)
	assert.Less(t, peak-base, int64(32<<20),
		"a 100 MiB upload read with read(65536) must stream: RSS grew by %d MiB", (peak-base)>>20)
}

func TestInputBodyLimit(t *testing.T) {
	s := startServer(t, ServerOpts{Args: []string{"--limit-request-body", "1000"}})
	before := s.Hits(t)
	c := s.Dial(t)
	c.Send("POST /input?mode=read HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n" + strings.Repeat("y", 1001))
	r := c.MustRead("POST")
	assert.Equal(t, 413, r.Code, "body over --limit-request-body")
	assert.Equal(t, before, s.Hits(t), "app not called for a declared body over the limit")
	c = s.Dial(t)
	in := postInput(t, c, "mode=read", make([]byte, 1000), false)
	assert.Equal(t, 1000, in.Len)
	// A chunked body that grows past the limit is cut off too.
	c = s.Dial(t)
	c.Send("POST /input?mode=read HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(strings.Repeat("z", 600), strings.Repeat("z", 600)))
	r, err := c.Read("POST")
	if err == nil {
		assert.Contains(t, []int{413, 500}, r.Code, "chunked body over the limit must not be accepted: %s", r.Body)
	}
}
