package e2e

// The Flask example (python/flaskapp) through net/http (issue 3, point 8).

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startFlask(t *testing.T, args ...string) *Server {
	t.Helper()
	return startServer(t, ServerOpts{
		App:     "flaskapp.app:application",
		NoChdir: true,
		Args:    append([]string{"--chdir", pythonDir, "--threads", "4"}, args...),
	})
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	require.NoError(t, json.Unmarshal(b, v), "%s", b)
}

func TestFlask(t *testing.T) {
	s := startFlask(t)

	t.Run("index", func(t *testing.T) {
		resp, b := s.Get(t, "/")
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, "Hello from gohost!\n", string(b))
		assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"))
	})

	t.Run("json", func(t *testing.T) {
		resp, err := httpClient.Get(s.URL("/json"))
		require.NoError(t, err)
		var v struct {
			Message string
			Answer  int
			Primes  []int
		}
		decodeJSON(t, resp, &v)
		assert.Equal(t, "hello", v.Message)
		assert.Equal(t, 42, v.Answer)
		assert.Equal(t, []int{2, 3, 5, 7, 11, 13}, v.Primes)
	})

	t.Run("form POST", func(t *testing.T) {
		resp, err := httpClient.PostForm(s.URL("/form"), url.Values{"name": {"Zoë"}, "n": {"42"}, "empty": {""}})
		require.NoError(t, err)
		var v map[string]string
		decodeJSON(t, resp, &v)
		assert.Equal(t, map[string]string{"name": "Zoë", "n": "42", "empty": ""}, v)
	})

	t.Run("multipart upload checksum", func(t *testing.T) {
		data := make([]byte, 3<<20+77)
		_, err := rand.Read(data)
		require.NoError(t, err)
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		require.NoError(t, mw.WriteField("comment", "e2e upload"))
		fw, err := mw.CreateFormFile("file", "random.bin")
		require.NoError(t, err)
		_, err = fw.Write(data)
		require.NoError(t, err)
		require.NoError(t, mw.Close())
		for _, chunkedReq := range []bool{false, true} {
			var rd io.Reader = bytes.NewReader(body.Bytes())
			if chunkedReq {
				rd = io.MultiReader(rd) // unknown length: net/http sends it chunked
			}
			req, err := http.NewRequest("POST", s.URL("/upload"), rd)
			require.NoError(t, err)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := httpClient.Do(req)
			require.NoError(t, err)
			var v struct {
				Name   string
				Size   int
				Sha256 string
				Fields map[string]string
			}
			decodeJSON(t, resp, &v)
			assert.Equal(t, "random.bin", v.Name)
			assert.Equal(t, len(data), v.Size, "chunked=%v", chunkedReq)
			assert.Equal(t, sha256hex(data), v.Sha256, "chunked=%v", chunkedReq)
			assert.Equal(t, "e2e upload", v.Fields["comment"])
		}
	})

	t.Run("hash raw body", func(t *testing.T) {
		data := make([]byte, 5<<20)
		_, err := rand.Read(data)
		require.NoError(t, err)
		for _, chunkedReq := range []bool{false, true} {
			var rd io.Reader = bytes.NewReader(data)
			if chunkedReq {
				rd = io.MultiReader(rd)
			}
			resp, err := httpClient.Post(s.URL("/hash"), "application/octet-stream", rd)
			require.NoError(t, err)
			var v struct {
				Size   int
				Sha256 string
			}
			decodeJSON(t, resp, &v)
			assert.Equal(t, len(data), v.Size, "chunked=%v", chunkedReq)
			assert.Equal(t, sha256hex(data), v.Sha256, "chunked=%v", chunkedReq)
		}
	})

	t.Run("streaming generator", func(t *testing.T) {
		for _, length := range []int{0, 1} {
			resp, err := httpClient.Get(s.URL(fmt.Sprintf("/stream?chunks=40&size=3000&length=%d", length)))
			require.NoError(t, err)
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode)
			assert.Equal(t, 40*3000, len(b))
			assert.Equal(t, resp.Header.Get("X-Expected-Sha256"), sha256hex(b))
			if length == 0 {
				assert.Equal(t, []string{"chunked"}, resp.TransferEncoding, "no Content-Length: chunked")
			} else {
				assert.Equal(t, int64(40*3000), resp.ContentLength)
			}
		}
		// Raw: the chunk framing of a big stream is exact.
		c := s.Dial(t)
		c.Send("GET /stream?chunks=200&size=5000&length=0 HTTP/1.1\r\nHost: t\r\n\r\n")
		r := c.MustRead("GET")
		assert.True(t, r.Chunked)
		assert.Equal(t, r.Get("X-Expected-Sha256"), sha256hex(r.Body))
	})

	t.Run("environ", func(t *testing.T) {
		resp, err := httpClient.Get(s.URL("/environ?a=b"))
		require.NoError(t, err)
		var v map[string]any
		decodeJSON(t, resp, &v)
		assert.Equal(t, "GET", v["REQUEST_METHOD"])
		assert.Equal(t, "a=b", v["QUERY_STRING"])
		assert.Equal(t, "HTTP/1.1", v["SERVER_PROTOCOL"])
		assert.Equal(t, true, v["wsgi.multithread"], "--threads 4")
		assert.Equal(t, true, v["wsgi.input_terminated"])
	})

	t.Run("errors", func(t *testing.T) {
		resp, _ := s.Get(t, "/nope")
		assert.Equal(t, 404, resp.StatusCode)
		resp, _ = s.Get(t, "/form")
		assert.Equal(t, 405, resp.StatusCode)
	})

	t.Run("concurrent clients", func(t *testing.T) {
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func(i int) {
				resp, err := httpClient.Get(s.URL(fmt.Sprintf("/stream?chunks=20&size=%d&length=0", 1000+i)))
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && sha256hex(b) != resp.Header.Get("X-Expected-Sha256") {
					err = fmt.Errorf("client %d: body digest mismatch", i)
				}
				errs <- err
			}(i)
		}
		for i := 0; i < 8; i++ {
			select {
			case err := <-errs:
				assert.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Fatal("concurrent requests did not finish")
			}
		}
	})
}

func TestFlaskFactoryForm(t *testing.T) {
	s := startServer(t, ServerOpts{App: "flaskapp.app:create_app()", NoChdir: true, Args: []string{"--chdir", pythonDir}})
	_, b := s.Get(t, "/")
	assert.Equal(t, "Hello from gohost!\n", string(b))
}
